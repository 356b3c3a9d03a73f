"""Reading a tracked job's cached log and status for the live pages: short queries, nothing held.

A line's number (its `L<n>` anchor) is its rank in the job's log, counted from 1 in id order, stored
in `LogLine.number` by the poller: it inserts a job's lines in upstream order, so ids and numbers
grow together and nothing here counts.

Every function here runs in a worker thread (sync_to_async) and gives its database connection back
before returning: an open stream sleeps for minutes between two changes, and must not keep a
connection while it does (two hundred open pages would otherwise hold two hundred connections).
"""

from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from functools import wraps

from asgiref.sync import sync_to_async
from django.db import connection

from dashboard.core.rows import columns, rows

from .models import JobEvent, LogLine, TrackedJob

HEAD = 300  # lines a long log's page shows from its start
TAIL = 1000  # and from its end; the middle is fetched on demand
MAX_CURSOR = 2**62  # past any id; a larger number would overflow the database's integer


def short[**P, R](read: Callable[P, R]) -> Callable[P, R]:
    """Run `read`, then hand the connection back (unless a test transaction is holding it)."""

    @wraps(read)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return read(*args, **kwargs)
        finally:
            if not connection.in_atomic_block:
                connection.close()

    return wrapper


def parse_cursor(value: str | None) -> int | None:
    """A line id from `?after=` or `Last-Event-ID`: digits only, else None (the caller answers 404)."""
    if value is None or not value.isascii() or not value.isdigit() or int(value) > MAX_CURSOR:
        return None
    return int(value)


@dataclass
class Page:
    """What a job page shows of its log: all of it, or a head and a tail around a gap."""

    head: list[LogLine]
    tail: list[LogLine] = field(default_factory=list)
    total: int = 0
    hidden: int = 0  # lines between head and tail, loaded on demand

    @property
    def last_id(self) -> int:
        lines = self.tail or self.head
        return lines[-1].pk if lines else 0

    @property
    def gap_after(self) -> int:
        return self.head[-1].pk if self.head else 0

    @property
    def gap_before(self) -> int:
        return self.tail[0].pk if self.tail else 0

    @property
    def gap_first(self) -> int:
        """The number of the first line the gap stands for (0 without a gap)."""
        return len(self.head) + 1 if self.hidden else 0

    @property
    def gap_last(self) -> int:
        return self.total - len(self.tail) if self.hidden else 0


@dataclass
class Update:
    """What changed since a cursor: new lines (at most `limit`), the job and its status events."""

    job: TrackedJob
    lines: list[LogLine]
    events: list[JobEvent]
    more: bool  # more lines than `limit` were waiting

    @property
    def finished(self) -> bool:
        """Nothing more will come: the stream ends with a "done" event."""
        return not self.more and settled(self.job)


def settled(job: TrackedJob) -> bool:
    """Nothing more will be recorded for this job: it ended and its log is complete, or tracking stopped."""
    return job.gone or bool(job.untrackable_reason) or (job.is_finished and job.logs_complete)


# A job's status changes and its count of lines: read by the page and by every live update, so plain
# SQL (the ORM's build took about 0.4 ms of CPU each). Only names from the models are formatted in.
_EVENTS = f"SELECT {columns(JobEvent)} FROM {JobEvent._meta.db_table} WHERE job_id = %s ORDER BY id"  # noqa: S608
_LINE_COUNT = f"SELECT COUNT(*) FROM {LogLine._meta.db_table} WHERE job_id = %s"  # noqa: S608


def events_of(job_pk: int) -> list[JobEvent]:
    return rows(JobEvent, _EVENTS, [job_pk])


def read_page(job_pk: int) -> tuple[Page, list[JobEvent]]:
    """The job page's log and events. Not `short`: the page's request ends at once, and Django hands
    its connection back then; closing it here made the page's next query open a new one."""
    with connection.cursor() as cursor:
        cursor.execute(_LINE_COUNT, [job_pk])
        total = cursor.fetchone()[0]
    lines = LogLine.objects.filter(job_id=job_pk)
    if total <= HEAD + TAIL:
        page = Page(head=list(lines.order_by("id")) if total else [], total=total)
    else:
        head = list(lines.order_by("id")[:HEAD])
        tail = list(lines.order_by("-id")[:TAIL])[::-1]
        page = Page(head=head, tail=tail, total=total, hidden=total - HEAD - TAIL)
    return page, events_of(job_pk)


@short
def read_update(job_pk: int, after: int, limit: int) -> Update:
    job = TrackedJob.objects.get(pk=job_pk)
    lines = list(LogLine.objects.filter(job_id=job_pk, id__gt=after).order_by("id")[: limit + 1])
    return Update(job=job, lines=lines[:limit], events=events_of(job_pk), more=len(lines) > limit)


@short
def count_after(job_pk: int, after: int) -> int:
    """How many of the job's lines come after the line `after`: what a stream has still to send."""
    return LogLine.objects.filter(job_id=job_pk, id__gt=after).count()


@short
def read_range(job_pk: int, after: int, before: int | None, limit: int) -> tuple[list[LogLine], bool]:
    """Lines after `after` (and before `before`); whether more remain in that range."""
    lines = LogLine.objects.filter(job_id=job_pk, id__gt=after)
    if before is not None:
        lines = lines.filter(id__lt=before)
    found = list(lines.order_by("id")[: limit + 1])
    return found[:limit], len(found) > limit


@short
def read_window(job_pk: int, first: int, last: int) -> tuple[list[LogLine], int]:
    """Lines `first` to `last` by number (1-based, inclusive), and how many lines the log has."""
    lines = LogLine.objects.filter(job_id=job_pk)
    total = lines.count()
    return list(lines.filter(number__gte=first, number__lte=last).order_by("number")), total


aread_window = sync_to_async(read_window)
aread_update = sync_to_async(read_update)
aread_range = sync_to_async(read_range)
acount_after = sync_to_async(count_after)


RAW_CHUNK = 5000  # lines per query of the raw text


@short
def _raw_chunk(job_pk: int, after: int) -> list[tuple[int, object, str, str, bool]]:
    lines = LogLine.objects.filter(job_id=job_pk, id__gt=after).order_by("id")
    return list(lines.values_list("id", "logged_at", "level", "message", "truncated")[:RAW_CHUNK])


def _as_text(rows: list[tuple[int, object, str, str, bool]]) -> str:
    return "".join(
        f"{logged_at:%Y-%m-%dT%H:%M:%S.%fZ} {level.upper():5} {message}"
        f"{' [cut: the line was longer than 64 KiB]' if truncated else ''}\n"
        for _, logged_at, level, message, truncated in rows
    )


async def araw_text(job_pk: int) -> AsyncIterator[str]:
    """The cached log as text, one line per row, a chunk at a time (a 100,000-line log is never
    held in memory whole)."""
    after = 0
    while rows := await sync_to_async(_raw_chunk)(job_pk, after):
        after = rows[-1][0]
        yield _as_text(rows)


def raw_text(job_pk: int) -> Iterator[str]:
    """The same for a WSGI server, which iterates synchronously."""
    after = 0
    while rows := _raw_chunk(job_pk, after):
        after = rows[-1][0]
        yield _as_text(rows)
