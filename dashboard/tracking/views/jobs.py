"""A tracked job's live endpoints: the event stream, its polling fallback, log ranges and raw text.

All of them read the poller's cache, never upstream, after `access.viewable_job` has checked with
the viewer's own token (answer cached) that they may see the job: a stranger, an unknown id or a
malformed cursor gets a 404, never someone else's log.

Events (Server-Sent Events, and the same objects in the polling fallback's JSON):
  line    id = the last LogLine pk of the batch (the resume cursor);
          data = {"first": number of the first line, "last": its pk, "count": n, "html": rows}
  status  data = {"status": "running", "finished": false, "log_state": "live", "html": {id: outer HTML}}
          log_state: "live" (more lines may come), "catching_up" (the job is over but this client
          has lines still to receive: a burst being sent), "finished" (all of it sent), "stopped"
          (tracking stopped: deleted upstream, or nobody's token works)
          sent at the start and whenever what the page shows of the job changed
  done    data = {"status": "completed"}, the last event: nothing more will come
"""

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Mapping
from contextlib import aclosing
from typing import TypedDict

from asgiref.sync import sync_to_async
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse, StreamingHttpResponse
from django.template.loader import render_to_string
from django.urls import reverse
from django.views.decorators.http import require_GET

from dashboard.core import tracker as poller_tracker
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page
from dashboard.services.nexical import NexicalAPI

from .. import live, logs
from ..access import Sight, viewable_job
from ..metrics import OPEN_STREAMS
from ..models import JobEvent, LogLine, TrackedJob
from ..timeline import timeline

BATCH = 500  # lines per event: a burst is sent in a few messages, not one huge one
KEEPALIVE = 15.0  # seconds: proxies close an idle connection; a comment line keeps it open
RANGE_LIMIT = 5000  # lines per "load hidden lines" request, and per window (`?from=&to=`)
LIVE_TEMPLATE = "tracking/_job_live.html"
ROWS_TEMPLATE = "tracking/_log_viewer.html#log_rows"
PARTS = {"job-facts": "facts", "job-timeline": "timeline", "job-notices": "notices", "log-state": "log_state"}


def _ids(team_id: int, project_id: int, branch_id: int, job_id: int) -> dict[str, int]:
    return {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}


def _cursor(request: HttpRequest, name: str = "after") -> int:
    """The cursor of `?after=`, or the Last-Event-ID header of a reconnecting EventSource: that one
    repeats the URL it first opened, so the header, where it really got to, wins."""
    value = request.GET.get(name)
    if name == "after" and "Last-Event-ID" in request.headers:
        value = request.headers["Last-Event-ID"]
    cursor = logs.parse_cursor(value if value is not None else "0")
    if cursor is None:
        raise Http404("Malformed cursor.")
    return cursor


def job_key(job: TrackedJob) -> str:
    """How the shared stream of several jobs names a job: "team.project.branch.job"."""
    return ".".join(str(part) for part in _job_args(job))


def _job_args(job: TrackedJob) -> list[int]:
    return [job.team_id, job.project_id, job.branch_id, job.job_id]


def _page_url(job: TrackedJob) -> str:
    return reverse("orchestrator:job_detail", args=_job_args(job))


class StatusPayload(TypedDict):
    """A stream's `status` event: the parts of the page a status change redraws, by element id."""

    status: str
    finished: bool
    log_state: str
    behind: int
    html: Mapping[str, str]


class LinePayload(TypedDict):
    """A stream's `line` event: new log lines, rendered."""

    first: int
    last: int
    count: int
    html: str


def rows_html(lines: list[LogLine]) -> str:
    return render_to_string(ROWS_TEMPLATE, {"lines": lines}) if lines else ""


def log_state(job: TrackedJob, catching_up: bool) -> str:
    """What the log is doing, for the sentence under it (see the module's docstring)."""
    if not logs.settled(job):
        return "live"
    if catching_up:
        return "catching_up"
    return "finished" if job.is_finished and not job.gone and not job.untrackable_reason else "stopped"


def status_payload(
    job: TrackedJob,
    sight: Sight,
    events: list[JobEvent],
    tracker: poller_tracker.Tracker,
    catching_up: bool = False,
    behind: int = 0,
) -> StatusPayload:
    """`catching_up`: this client has more lines waiting (a burst still being sent), so a finished
    job must not yet say that nothing more will be added; `behind`: how many (the page says so)."""
    state = log_state(job, catching_up)
    context = {
        "behind": behind,
        "job": job,
        "sight": sight,
        "timeline": timeline(job, events),
        "live": state == "live",
        "log_state": state,
        "tracker": tracker,
        "page_url": _page_url(job),
    }
    html = {element: render_to_string(f"{LIVE_TEMPLATE}#{part}", context) for element, part in PARTS.items()}
    return {
        "status": job.status,
        "finished": job.is_finished,
        "log_state": state,
        "behind": behind,
        "html": html,
    }


def line_payload(lines: list[LogLine]) -> LinePayload:
    return {"first": lines[0].number, "last": lines[-1].pk, "count": len(lines), "html": rows_html(lines)}


def sse(event: str, data: Mapping[str, object], event_id: int | None = None) -> str:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n"


async def _read_update(job_pk: int, after: int, limit: int) -> logs.Update:
    """What follows `after`, numbered: from the process's watcher when its buffer of the job holds
    the cursor (no query), else from the database (a reconnect far behind, a job no stream watches)."""
    return live.watcher().update(job_pk, after, limit) or await _read_database(job_pk, after, limit)


async def _read_database(job_pk: int, after: int, limit: int) -> logs.Update:
    return await logs.aread_update(job_pk, after, limit)


# One event of a job's stream: its name, its data and its SSE id (a line event's cursor), or None
# when nothing changed for KEEPALIVE seconds (the stream then sends a keepalive comment).
type Sent = tuple[str, Mapping[str, object], int | None] | None


async def job_events(job_pk: int, sight: Sight, after: int) -> AsyncGenerator[Sent]:
    """A job's events until it is done; between changes it waits on the process's watcher, which also
    reads the new rows once for all the job's streams: no query of its own while it keeps up. Used by
    the job's own stream and by the shared stream of several jobs (views/streams.py)."""
    watcher = live.watcher()
    await watcher.join(job_pk)
    OPEN_STREAMS.inc()
    try:
        # The access check and the join read the database: give the connection back (to the pool on
        # PostgreSQL) now, not when the stream ends, since an open page would otherwise hold it for hours.
        await live.release_connection()
        shown = None
        while True:
            change = watcher.next_change(job_pk)  # before the read: a change during it still wakes us
            update = watcher.update(job_pk, after, BATCH)
            if update is None:  # behind the process's buffer: read the database, then let go of it
                update = await _read_database(job_pk, after, BATCH)
                await live.release_connection()
            if update.lines:
                after = update.lines[-1].pk
                yield "line", line_payload(update.lines), after
            # The watcher re-reads the heartbeat and wakes every stream when the tracker stops or
            # comes back, so the notice changes without a reload.
            tracker = watcher.tracker or await poller_tracker.aread()
            behind = await logs.acount_after(job_pk, after) if update.more else 0
            status = status_payload(update.job, sight, update.events, tracker, update.more, behind)
            if status != shown:
                shown = status
                yield "status", status, None
            if update.finished:
                yield "done", {"status": update.job.status}, None
                return
            if update.more:
                continue
            while not await _changed(change, KEEPALIVE):
                yield None
    finally:
        OPEN_STREAMS.dec()
        watcher.leave(job_pk)


async def _stream(job_pk: int, sight: Sight, after: int) -> AsyncIterator[str]:
    yield "retry: 2000\n\n"  # reconnect soon after a dropped connection, with Last-Event-ID
    # aclosing: when the client leaves, the job's events must leave the watcher now, not at GC.
    async with aclosing(job_events(job_pk, sight, after)) as events:
        async for sent in events:
            yield ": keepalive\n\n" if sent is None else sse(*sent)


async def _changed(event: asyncio.Event, timeout: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), timeout)
    except TimeoutError:
        return False
    return True


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_stream(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> StreamingHttpResponse | HttpResponse:
    after = _cursor(request)
    tracked, sight = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    if not isinstance(request, ASGIRequest):
        # Under WSGI a stream would hold a server thread for as long as the page is open. 204 tells
        # EventSource not to reconnect; the page then polls `job_updates` instead.
        return HttpResponse(status=204)
    response = StreamingHttpResponse(_stream(tracked.pk, sight, after), content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back in its buffer
    # A compressing middleware or proxy buffers until it has a block to compress: declaring the
    # body's encoding makes Django's GZipMiddleware (and most proxies) leave the stream alone.
    response["Content-Encoding"] = "identity"
    return response


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_updates(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    """The polling fallback: the events a stream would have sent since `?after=`, as JSON."""
    after = _cursor(request)
    tracked, sight = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    update = await _read_update(tracked.pk, after, logs.TAIL)
    events = []
    if update.lines:
        after = update.lines[-1].pk
        events.append({"event": "line", "id": after, "data": line_payload(update.lines)})
    tracker = await poller_tracker.aread()
    behind = await logs.acount_after(tracked.pk, after) if update.more else 0
    status = status_payload(update.job, sight, update.events, tracker, update.more, behind)
    events.append({"event": "status", "data": status})
    if update.finished:
        events.append({"event": "done", "data": {"status": update.job.status}})
    response = JsonResponse({"after": after, "more": update.more, "events": events})
    response["Cache-Control"] = "no-store"
    return response


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_log_lines(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    """A range of lines by cursor (`?after=` and optional `?before=`): the hidden middle of a long log;
    or a window by line number (`?from=N&to=M`, inclusive): what the viewer shows around the reader."""
    if "from" in request.GET:
        return await _window(request, api, _ids(team_id, project_id, branch_id, job_id))
    after = _cursor(request)
    before = _cursor(request, "before") if "before" in request.GET else None
    tracked, _ = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    lines, more = await logs.aread_range(tracked.pk, after, before, RANGE_LIMIT)
    body = {"more": more, **(line_payload(lines) if lines else {"count": 0, "html": ""})}
    return JsonResponse(body)


def _line_number(value: str | None) -> int | None:
    if value is None or not value.isascii() or not value.isdigit() or len(value) > 12:
        return None
    return int(value) or None


async def _window(request: AuthenticatedRequest, api: NexicalAPI, ids: dict[str, int]) -> HttpResponse:
    """Lines `from` to `to` by number, at most RANGE_LIMIT of them (a longer ask is cut short): JSON
    {"from", "to" (the last line sent, or from - 1 when none), "count", "total", "html"}."""
    tracked, _ = await viewable_job(request, api, ids)
    first = _line_number(request.GET.get("from"))
    last = _line_number(request.GET.get("to", request.GET.get("from")))
    if first is None or last is None or last < first:
        sentence = "Ask for lines by number: from=N&to=M, with 1 <= N <= M."
        return JsonResponse({"error": sentence}, status=400)
    last = min(last, first + RANGE_LIMIT - 1)
    lines, total = await logs.aread_window(tracked.pk, first, last)
    body = {"from": first, "to": first + len(lines) - 1, "count": len(lines), "total": total}
    return JsonResponse({**body, "html": rows_html(lines)})


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_log_raw(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> StreamingHttpResponse | HttpResponse:
    """The whole cached log as plain text (`?download=1`: as a file), streamed in chunks."""
    tracked, _ = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    chunks = logs.araw_text(tracked.pk) if isinstance(request, ASGIRequest) else logs.raw_text(tracked.pk)
    response = StreamingHttpResponse(chunks, content_type="text/plain; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    if request.GET.get("download"):
        response["Content-Disposition"] = f'attachment; filename="job-{tracked.job_id}.log"'
    return response


def _page_reads(job_pk: int) -> tuple[logs.Page, list[JobEvent], poller_tracker.Tracker]:
    """The job page's reads, in one trip to the request's thread: its log, its events, the poller."""
    return (*logs.read_page(job_pk), poller_tracker.read())


async def live_job_context(job: TrackedJob, sight: Sight) -> dict[str, object]:
    """What the job page shows of a tracked job: its facts, history and the start of its log."""
    log, events, tracker = await sync_to_async(_page_reads)(job.pk)
    names = ("stream", "updates", "log_lines", "log_raw", "log_search", "log_outline", "log_levels")
    urls = {name: reverse(f"tracking:job_{name}", args=_job_args(job)) for name in names}
    return {
        "page_url": _page_url(job),
        "job": job,
        "sight": sight,
        "timeline": timeline(job, events),
        "log": log,
        "log_urls": urls,
        "live_url": reverse("tracking:live_stream"),
        "live_job": job_key(job),
        # The viewer listens for more only while more can come.
        "live": not logs.settled(job),
        "tracker": tracker,
    }
