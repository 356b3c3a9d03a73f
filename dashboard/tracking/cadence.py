"""How often the poller looks at a job: attention decides, so upstream calls go where someone is looking."""

import random
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Case, DateTimeField, Q, Value, When

from .models import Status

# A job whose page was touched this recently counts as watched by someone.
VIEWED_WINDOW = timedelta(seconds=10)
# Running and viewed: new lines at least every 0.5 s (the pass itself takes some of it).
VIEWED_RUNNING = timedelta(seconds=0.4)
RUNNING = timedelta(seconds=3)
# Pending jobs only need their branch list; a viewer wants to see the start within a second or so.
VIEWED_PENDING = timedelta(seconds=1)
PENDING = timedelta(seconds=2)
# A job of the same branch due within this is served with the due one (one list call, logs together).
TAKE_ALONG = timedelta(seconds=1.5)
# How stale a job's status may be before its branch list is fetched again.
VIEWED_STATUS = timedelta(seconds=1)
STATUS = timedelta(seconds=3)
# Watched projects are listed for jobs started elsewhere (CLI, CI) this often.
SCAN = timedelta(seconds=10)
# Errors: 2 s, 4 s, 8 s … up to 2 minutes, jittered so many jobs do not retry in step.
BACKOFF_FIRST = 2.0
BACKOFF_MAX = 120.0


def is_viewed(last_viewed_at: datetime | None, now: datetime) -> bool:
    return last_viewed_at is not None and last_viewed_at >= now - VIEWED_WINDOW


def logs_wanted(last_viewed_at: datetime | None, logs_read_at: datetime | None, now: datetime) -> bool:
    """Whether a running job's log is read this pass: always while viewed, else once a minute."""
    if is_viewed(last_viewed_at, now):
        return True
    # Rarely (settings.POLLER_UNWATCHED_LOG_SECONDS, a minute): the lines wait upstream, and the read
    # after the job ends brings every one of them into the cache.
    every = timedelta(seconds=settings.POLLER_UNWATCHED_LOG_SECONDS)
    return logs_read_at is None or now - logs_read_at >= every


def status_stale(status_checked_at: datetime | None, viewed: bool, now: datetime) -> bool:
    if status_checked_at is None:
        return True
    return now - status_checked_at >= (VIEWED_STATUS if viewed else STATUS)


def next_poll_at(status: str, now: datetime) -> Case:
    """When the job is next due, as an expression: it reads `last_viewed_at` in the UPDATE itself,
    so a viewer who arrived during the pass is not overwritten by what the pass saw at its start."""
    if status == Status.RUNNING:
        viewed, other = VIEWED_RUNNING, RUNNING
    else:
        viewed, other = VIEWED_PENDING, PENDING
    return Case(
        When(Q(last_viewed_at__gte=now - VIEWED_WINDOW), then=Value(now + viewed)),
        default=Value(now + other),
        output_field=DateTimeField(),
    )


def backoff(error_count: int) -> timedelta:
    """The wait after the `error_count`-th failure in a row."""
    seconds = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, error_count - 1))
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))
