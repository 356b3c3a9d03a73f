"""The shared live stream: the events of several jobs in one Server-Sent Events connection.

A browser allows six HTTP/1.1 connections per host, so a stream per job page freezes the seventh tab
and every other page of the dashboard with it. Instead one tab of the browser (the leader, see
static/js/livestreams.js and docs/live-streams.md) opens this stream for the jobs that all its tabs
show, and passes each event on to the tab that shows the job.

    GET /live/events?job=<team>.<project>.<branch>.<job>:<after>&job=…

Each job is checked exactly as its own stream is (`access.viewable_job`, the viewer's own token): a
job the viewer may not see gets one `refused` event naming it (the key the client sent, nothing
else) and none of its rows. The events of the others are those of the job's own stream
(views/jobs.py), each with `"job": key` added to its data and without an SSE id: the leader keeps
every job's cursor itself and reopens the stream with them, so a reconnect resumes each job where
it stopped. The stream ends with `reopen` after ACCESS_SECONDS, so access is checked again at least
that often; it ends by itself once every job in it is done.

While no job has anything new, a `beat` event comes every LIVE_KEEPALIVE_SECONDS (`{"every": s}`).
It keeps proxies from closing an idle connection, as the comment line of a job's own stream does,
and it is an event so that the leader passes it on: the other tabs then know the leader still runs,
and poll on their own when it has gone silent (a tab the browser froze still holds the lock).
"""

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.views.decorators.http import require_GET

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page
from dashboard.services.errors import UpstreamError
from dashboard.services.nexical import NexicalAPI

from .. import logs
from ..access import ACCESS_SECONDS, Sight, viewable_job
from .jobs import Sent, job_events, sse

logger = logging.getLogger(__name__)

MAX_JOBS = 50  # jobs per stream: more live tabs than anyone reads, and a bound on one request's work
QUEUE = 64  # events waiting for a slow client, over all jobs: past it the jobs wait too

type Wanted = tuple[str, dict[str, int], int]  # key, the job's ids, the cursor
type Streamed = tuple[str, int, Sight, int]  # key, the TrackedJob pk, what the viewer's token saw, cursor


def _parse(values: list[str]) -> list[Wanted] | str:
    """The jobs of `?job=` (each once), or a sentence saying what is wrong with the request."""
    if not values:
        return "Name at least one job: ?job=<team>.<project>.<branch>.<job>:<after>."
    wanted: dict[str, Wanted] = {}
    for value in values:
        key, _, after = value.partition(":")
        parts = [logs.parse_cursor(part) for part in key.split(".")]
        cursor = logs.parse_cursor(after or "0")
        if len(parts) != 4 or cursor is None or any(part is None for part in parts):
            return f"Each job is <team>.<project>.<branch>.<job>:<after>, in digits; {value[:80]!r} is not."
        team_id, project_id, branch_id, job_id = (part or 0 for part in parts)
        ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
        wanted.setdefault(key, (key, ids, cursor))
    if len(wanted) > MAX_JOBS:
        return f"A stream follows at most {MAX_JOBS} jobs; this one asked for {len(wanted)}."
    return list(wanted.values())


async def _allowed(
    request: AuthenticatedRequest, api: NexicalAPI, wanted: list[Wanted]
) -> tuple[list[Streamed], list[str]]:
    """The jobs the viewer may see, and the keys of those they may not. One after another: the page
    of each job has just asked the same question, so the answers are nearly always cached."""
    streamed, refused = [], []
    for key, ids, after in wanted:
        try:
            tracked, sight = await viewable_job(request, api, ids)
        except Http404:
            refused.append(key)
            continue
        streamed.append((key, tracked.pk, sight, after))
    return streamed, refused


async def _multiplex(
    request: AuthenticatedRequest, api: NexicalAPI, wanted: list[Wanted], lifetime: float
) -> AsyncIterator[str]:
    """The events of every job the viewer may see, as they come; beats while none has anything new.

    The checks run inside the stream, after its headers: the browser then knows at once that the
    stream is open (a busy server may take seconds over twenty checks), and a refusal is an event.
    """
    yield "retry: 2000\n\n"
    try:
        jobs, refused = await _allowed(request, api, wanted)
    except UpstreamError as error:
        # Nexical could not say: the stream ends, and the leader tries again two seconds later.
        logger.warning("The shared live stream could not check access: %s", type(error).__name__)
        return
    for key in refused:
        yield sse("refused", {"job": key})
    # None in place of an event: that job's events ended (True if they failed).
    queue: asyncio.Queue[tuple[str, Sent, bool]] = asyncio.Queue(QUEUE)

    async def pump(key: str, job_pk: int, sight: Sight, after: int) -> None:
        failed = False
        try:
            async with aclosing(job_events(job_pk, sight, after)) as events:
                async for sent in events:
                    if sent is not None:
                        await queue.put((key, sent, False))
        except Exception:
            logger.exception("A job's live events failed")
            failed = True
        await queue.put((key, None, failed))

    tasks = [asyncio.create_task(pump(*job)) for job in jobs]
    loop = asyncio.get_running_loop()
    deadline = loop.time() + lifetime
    running = len(tasks)
    every = settings.LIVE_KEEPALIVE_SECONDS
    try:
        while running:
            wait = min(every, deadline - loop.time())
            if wait <= 0:
                yield sse("reopen", {})  # access is checked again when the leader reopens
                return
            try:
                key, sent, failed = await asyncio.wait_for(queue.get(), wait)
            except TimeoutError:
                yield sse("beat", {"every": every})
                continue
            if failed:
                return  # the leader reconnects with its cursors, and the job is read afresh
            if sent is None:
                running -= 1
                continue
            event, data, _ = sent
            yield sse(event, {"job": key, **data})
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def live_stream(request: AuthenticatedRequest, api: NexicalAPI) -> StreamingHttpResponse | HttpResponse:
    wanted = _parse(request.GET.getlist("job"))
    if isinstance(wanted, str):
        return HttpResponse(wanted, status=400, content_type="text/plain; charset=utf-8")
    if not isinstance(request, ASGIRequest):
        # Under WSGI a stream would hold a server thread for as long as the tabs are open. 204 tells
        # EventSource not to reconnect; the tabs then poll their jobs' `job_updates` instead.
        return HttpResponse(status=204)
    events = _multiplex(request, api, wanted, ACCESS_SECONDS)
    response = StreamingHttpResponse(events, content_type="text/event-stream")
    response["Cache-Control"] = "no-cache"
    response["X-Accel-Buffering"] = "no"  # nginx would otherwise hold events back in its buffer
    response["Content-Encoding"] = "identity"  # and a compressing proxy until it has a block
    return response
