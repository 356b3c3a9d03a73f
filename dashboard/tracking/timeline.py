"""A job's status history as the page shows it: each status, when it began and how long it lasted."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from dashboard.core.humanize import duration

from .models import JobEvent, Status, TrackedJob

# What the time spent in a status is called, finished and still going on.
VERBS = {Status.PENDING: ("waited", "waiting for"), Status.RUNNING: ("ran", "running for")}


@dataclass(frozen=True)
class Step:
    status: str
    at: datetime
    lasted: timedelta | None  # None for a finished job's last status
    ongoing: bool

    @property
    def took(self) -> str:
        if self.lasted is None or self.status not in VERBS:
            return ""
        done, going = VERBS[Status(self.status)]
        return f"{going if self.ongoing else done} {duration(self.lasted)}"


def timeline(job: TrackedJob, events: list[JobEvent]) -> list[Step]:
    """pending -> running -> completed/failed. A status the poller never saw (a job that ran and
    finished between two looks) is filled in from upstream's own timestamps when it gave them."""
    seen = {Status(event.to_status): event.at for event in events}
    known = {Status.PENDING: job.created_at, Status.RUNNING: job.started_at}
    if job.is_finished:
        known[Status(job.status)] = job.completed_at
    points = {status: known.get(status) or at for status, at in seen.items()}
    for status, at in known.items():
        if at is not None:
            points.setdefault(status, at)
    order = [Status.PENDING, Status.RUNNING, Status.COMPLETED, Status.FAILED]
    ordered = [(status, points[status]) for status in order if status in points]
    steps = []
    for index, (status, at) in enumerate(ordered):
        following = ordered[index + 1][1] if index + 1 < len(ordered) else None
        ongoing = following is None and not job.is_finished
        end = following or (timezone.now() if ongoing else None)
        steps.append(Step(status=status, at=at, lasted=end - at if end else None, ongoing=ongoing))
    return steps
