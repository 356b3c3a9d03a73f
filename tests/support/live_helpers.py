"""Helpers of the live-page tests: a job in the sandbox seen by the dashboard, rows recorded as the
poller records them, and a reader of Server-Sent Events."""

import asyncio
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from asgiref.sync import sync_to_async
from django.db import transaction
from django.db.models import Max
from django.urls import reverse
from django.utils import timezone

from dashboard.core.models import PollerHeartbeat
from dashboard.tracking.channel import announce
from dashboard.tracking.models import JobEvent, LogLine, TrackedJob


@dataclass
class Scene:
    ids: list[int]  # team, project, branch, job
    job: dict  # the upstream job as created
    api_path: str

    def url(self, name: str = "orchestrator:job_detail") -> str:
        return reverse(name, args=self.ids)

    def tracked(self) -> TrackedJob:
        team_id, project_id, branch_id, job_id = self.ids
        return TrackedJob.objects.get(
            team_id=team_id, project_id=project_id, branch_id=branch_id, job_id=job_id
        )


def job_scene(cast) -> Scene:
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    ids = [cast.team["id"], project["id"], branch["id"], job["id"]]
    return Scene(ids=ids, job=job, api_path="/teams/{}/projects/{}/branches/{}/jobs/{}".format(*ids))


def record_lines(tracked: TrackedJob, messages: list[str], level: str = "info") -> list[LogLine]:
    """Insert log lines the way the poller does: one transaction, then the channel's notice."""
    with transaction.atomic():
        start = (tracked.log_lines.aggregate(top=Max("upstream_id"))["top"] or 0) + 1
        stored = tracked.log_lines.aggregate(top=Max("number"))["top"] or 0
        lines = [
            LogLine.objects.create(
                job=tracked,
                upstream_id=start + i,
                number=stored + 1 + i,
                level=level,
                message=message,
                logged_at=datetime.now(UTC),
            )
            for i, message in enumerate(messages)
        ]
        announce(tracked.pk)
    return lines


def record_status(tracked: TrackedJob, to_status: str, *, logs_complete: bool = False, **fields) -> None:
    """A status change as the poller records it: the job's fields and one event row."""
    with transaction.atomic():
        now = datetime.now(UTC)
        if to_status == "running":
            fields.setdefault("started_at", now)
        if to_status in ("completed", "failed"):
            fields.setdefault("completed_at", now)
        TrackedJob.objects.filter(pk=tracked.pk).update(
            status=to_status, logs_complete=logs_complete, **fields
        )
        JobEvent.objects.create(job=tracked, from_status=tracked.status, to_status=to_status, at=now)
        announce(tracked.pk)
    tracked.refresh_from_db()


def poller_passed(seconds_ago: float = 0.0, name: str = "test-poller") -> datetime:
    """A poller's heartbeat, as if its last pass ended `seconds_ago` (the live pages read it)."""
    at = timezone.now() - timedelta(seconds=seconds_ago)
    PollerHeartbeat.objects.update_or_create(name=name, defaults={"last_pass_at": at, "passes": 1})
    return at


@dataclass
class Event:
    event: str
    data: dict
    id: str | None


class EventReader:
    """Reads an SSE body (an async iterator of byte chunks) event by event; comments are counted."""

    def __init__(self, chunks):
        self.chunks = aiter(chunks)
        self.buffer = ""
        self.comments = 0
        self.retry: int | None = None

    async def next(self, timeout: float = 10.0) -> Event:
        return await asyncio.wait_for(self._next(), timeout)

    async def _next(self) -> Event:
        while True:
            while "\n\n" in self.buffer:
                block, self.buffer = self.buffer.split("\n\n", 1)
                event = self._parse(block)
                if event is not None:
                    return event
            chunk = await anext(self.chunks)
            self.buffer += chunk.decode() if isinstance(chunk, bytes) else chunk

    def _parse(self, block: str) -> Event | None:
        fields: dict[str, str] = {}
        for line in block.split("\n"):
            if line.startswith(":"):
                self.comments += 1
                continue
            name, _, value = line.partition(": ")
            fields[name] = value
        if "retry" in fields:
            self.retry = int(fields["retry"])
        if "event" not in fields:
            return None
        return Event(event=fields["event"], data=json.loads(fields["data"]), id=fields.get("id"))


def poll_once(passes: int = 1) -> None:
    """Make poller passes, as `runpoller --once` does, in a thread of its own (a running event loop,
    such as Playwright's, forbids asyncio.run in the caller's; signals are the command's only extra)."""
    import threading

    from dashboard.services import http
    from dashboard.tracking.poller import Poller

    failures: list[BaseException] = []

    def everything_due() -> None:
        # The clock is what is faked here: each pass behaves as if the cadence's wait had passed.
        TrackedJob.objects.update(next_poll_at=timezone.now(), status_checked_at=None)

    async def run() -> None:
        poller = Poller(name="tests")
        try:
            for _ in range(passes):
                await sync_to_async(everything_due)()
                await poller.run_pass()
        finally:
            await http.aclose()

    def in_thread() -> None:
        try:
            asyncio.run(run())
        except BaseException as error:
            failures.append(error)

    thread = threading.Thread(target=in_thread)
    thread.start()
    thread.join(timeout=60)
    if failures:
        raise failures[0]
