"""The one watcher of each web process: it wakes the live streams of a job when the poller writes to it.

A stream must not poll the database on its own: two hundred people watching a deploy would then make
two hundred queries a tick. Instead every stream of the process waits on an asyncio.Event of its job,
and this watcher alone notices new rows and sets the events of the jobs that changed:

- on SQLite it asks, a few times a second, which jobs got LogLine or JobEvent rows past the newest
  ids it has seen (one query per tick, however many streams are open);
- on PostgreSQL it LISTENs on the `tracking` channel, where the poller sends the TrackedJob pk in
  the transaction that inserts the rows, so no query is made at all between changes.

The poller's heartbeat is read every few seconds as well: when the poller stops (or comes back) every
stream is woken, so each page says "Live updates paused: the tracker has not run since 12:04" (or
stops saying it) without a reload.

Some changes add no row (the last fetch marks the log complete, the poller starts failing or
recovers, the job is deleted upstream); one query a second over the jobs being watched in this
process catches those, on both databases, and the same look marks those jobs as viewed for the
poller (their logs are then fetched at least twice a second), in one UPDATE, not one per stream.

When a job changes, the watcher also reads its new rows (and its TrackedJob row) once for the whole
process, into a bounded buffer per watched job, the `Feed`: a woken stream takes what follows its
cursor from there, without a query. Only a stream whose cursor is behind the buffer (a reconnect far
behind, a burst larger than the buffer) reads from the database itself. So when lines arrive too,
the process makes the same queries for two hundred viewers as for one.

The watcher starts with the first stream and stops when the last one leaves; a stream that opens
while it winds down (the next job page, a tab's shared stream reopened with one more job) starts a
new one. It belongs to an event loop (uvicorn runs one per process; tests run one per test).
"""

import asyncio
import bisect
import contextvars
import copy
import logging
import weakref
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection, connections
from django.db.models import Max, Value
from django.utils import timezone

from dashboard.core import tracker as poller_tracker

from .channel import CHANNEL
from .logs import Update
from .models import JobEvent, LogLine, TrackedJob

logger = logging.getLogger(__name__)

TICK = 0.1  # seconds between two checks for new rows on SQLite (one cheap indexed query)
STATE_EVERY = 1.0  # seconds between two checks of the watched jobs' other fields
# The poller polls a running job's logs sub-second while it was viewed within ~10 s.
TOUCH_EVERY = 4.0
TRACKER_EVERY = 3.0  # seconds between two reads of the poller's heartbeat
RECONNECT_DELAY = 2.0  # seconds before listening again after the LISTEN connection failed
BUFFER = 3000  # newest log lines kept in memory per watched job (a few MB at most)


@dataclass
class Feed:
    """What the watcher last read of one watched job, shared by all its streams in this process.

    `lines` holds every line of the job with an id above `floor`, up to the newest one read, in id
    order (each with its stored number). It is only ever
    changed on the event loop (never from a worker thread), so a stream reads it consistently.
    """

    job: TrackedJob
    events: list[JobEvent]
    lines: list[LogLine]
    floor: int

    @property
    def last_line(self) -> int:
        return self.lines[-1].pk if self.lines else self.floor

    @property
    def last_event(self) -> int:
        return self.events[-1].pk if self.events else 0

    def extend(self, job: TrackedJob, events: list[JobEvent], lines: list[LogLine]) -> None:
        """Add rows read after `last_line` / `last_event`, then drop the oldest past BUFFER."""
        self.job = job
        self.events = [*self.events, *events]  # a new list: a stream may hold the previous one
        kept = [*self.lines, *lines]
        dropped = max(0, len(kept) - BUFFER)
        if dropped:
            self.floor = kept[dropped - 1].pk
        self.lines = kept[dropped:]

    def update(self, after: int, limit: int) -> Update | None:
        """What follows the cursor `after`, or None when the cursor is outside the buffer."""
        if not self.floor <= after <= self.last_line:
            return None
        start = bisect.bisect_right(self.lines, after, key=lambda line: line.pk)
        found = self.lines[start : start + limit + 1]
        # Copies: a stream's view of a line must not change under another stream.
        lines = [copy.copy(line) for line in found[:limit]]
        return Update(job=self.job, lines=lines, events=self.events, more=len(found) > limit)


# What a page shows beside the log, as `_changed_states` reads it: status, logs_complete, error_count,
# last_error_at, gone, untrackable_reason.
type JobState = tuple[str, bool, int, datetime | None, bool, str]


class Watcher:
    """Per-job change signals for the streams of one event loop."""

    def __init__(self) -> None:
        self._viewers: Counter[int] = Counter()
        self._changed: dict[int, asyncio.Event] = {}
        self._states: dict[int, JobState] = {}
        self._feeds: dict[int, Feed] = {}
        self._reading = asyncio.Lock()  # one feed read at a time, so none reads over another
        self._task: asyncio.Task[None] | None = None  # None while no watcher runs
        # Replaced by each start of the task (_ensure_running); this first one is never waited on. An
        # Event binds to a loop only when first awaited, so creating it outside the loop is harmless.
        self._started = asyncio.Event()
        self._touched_at = -TOUCH_EVERY
        self._tracker_read_at = -TRACKER_EVERY
        # The poller as last read (None until the first read): what every stream of the loop shows.
        self.tracker: poller_tracker.Tracker | None = None
        self.queries = 0  # database round trips made by the watcher, for the benchmark and the tests

    # --- what streams use ---------------------------------------------------------------------

    async def join(self, job_pk: int) -> None:
        """Count a stream of this job; returns once changes after this moment will be noticed and
        the job's feed is read."""
        self._viewers[job_pk] += 1
        try:
            self._ensure_running()
            await self._started.wait()
            async with self._reading:  # after a refresh in progress, which then covers this job
                if job_pk not in self._feeds and self._task is not None:
                    self._feeds[job_pk] = await sync_to_async(self._load)(job_pk)
        except BaseException:  # cancelled while joining (the client went away): not a viewer
            self.leave(job_pk)
            raise

    def leave(self, job_pk: int) -> None:
        self._viewers[job_pk] -= 1
        if self._viewers[job_pk] <= 0:
            del self._viewers[job_pk]
            self._changed.pop(job_pk, None)
            self._states.pop(job_pk, None)
            self._feeds.pop(job_pk, None)

    def update(self, job_pk: int, after: int, limit: int) -> Update | None:
        """What follows `after` from the job's feed, without a query; None when the caller must
        read the database itself (no feed for this job, or the cursor is outside its buffer)."""
        feed = self._feeds.get(job_pk)
        return feed.update(after, limit) if feed is not None else None

    def next_change(self, job_pk: int) -> asyncio.Event:
        """The event set by the job's next change. Take it before reading the rows, so a change that
        lands between the read and the wait still wakes the stream."""
        self._ensure_running()  # a stream never waits on a watcher that is gone (it stopped or failed)
        event = self._changed.get(job_pk)
        if event is None:
            event = self._changed[job_pk] = asyncio.Event()
        return event

    @property
    def watching(self) -> int:
        return sum(self._viewers.values())

    # --- the loop -----------------------------------------------------------------------------

    def _ensure_running(self) -> None:
        if self._task is not None:
            return
        started = self._started = asyncio.Event()
        # A context of its own: the request that happens to start it must not lend it its thread
        # for database calls (asgiref ends that thread with the request).
        self._task = asyncio.get_running_loop().create_task(
            self._run(started), name="tracking-watcher", context=contextvars.Context()
        )

    def _keeps_watching(self) -> bool:
        """Whether any stream is left; if not, the watcher is over from this moment, in the same step
        as the check. Its task still awaits its cleanup, and a stream that joins meanwhile (the next
        job page, a new leader tab's shared stream) must start a new watcher, not count on this one."""
        if self._viewers:
            return True
        self._task = None
        return False

    def _wake(self, job_pks: Iterable[int]) -> None:
        for pk in job_pks:
            event = self._changed.pop(pk, None)
            if event is not None:
                event.set()

    async def _run(self, started: asyncio.Event) -> None:
        try:
            if connection.vendor == "postgresql":
                await self._listen(started)
            else:
                await self._poll(started)
        except Exception:
            logger.exception("The live-update watcher stopped")
            self._feeds.clear()  # no longer kept current: streams read the database themselves
            self._wake(list(self._changed))  # and re-read rather than wait for a dead watcher
        finally:
            if self._task is asyncio.current_task():
                self._task = None  # failed: the next stream to wait starts another
            started.set()  # this task's own event: a newer task may have replaced self._started
            await sync_to_async(close_old_connections)()

    async def _poll(self, started: asyncio.Event) -> None:
        """SQLite: ask for new rows a few times a second, one query for the whole process."""
        newest = await sync_to_async(self._newest_ids)()
        started.set()
        last_state_check = 0.0
        loop = asyncio.get_running_loop()
        while self._keeps_watching():
            await asyncio.sleep(TICK)
            changed, newest = await sync_to_async(self._changes_since)(*newest)
            await self._refresh(changed)
            if loop.time() - last_state_check >= STATE_EVERY:
                last_state_check = loop.time()
                await self._look_at_states()

    async def _listen(self, started: asyncio.Event) -> None:
        """PostgreSQL: LISTEN, and read the other fields once a second (a NOTIFY comes with rows only)."""
        import psycopg

        params = connections["default"].get_connection_params()
        for unusable in ("cursor_factory", "context"):  # Django's own classes, for sync connections
            params.pop(unusable, None)
        while self._keeps_watching():
            try:
                async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as listener:
                    await listener.execute(f"LISTEN {CHANNEL}")
                    started.set()
                    # Rows may have landed while no one listened: every feed is read again once.
                    await self._refresh(list(self._viewers))
                    while self._viewers:
                        async for notice in listener.notifies(timeout=STATE_EVERY):
                            await self._refresh([int(notice.payload)] if notice.payload.isdigit() else [])
                        await self._look_at_states()
                        # Between looks the LISTEN connection (not pooled) is all the watcher holds.
                        await release_connection()
            except psycopg.Error:
                logger.warning("Lost the LISTEN connection for live updates; listening again shortly")
                started.set()
                self._feeds.clear()  # stale until we listen again: streams read the database
                self._wake(list(self._changed))
                await asyncio.sleep(RECONNECT_DELAY)

    async def _look_at_states(self) -> None:
        job_pks = list(self._viewers)
        if not job_pks:
            return
        await self._refresh(await sync_to_async(self._changed_states)(job_pks))
        await self._look_at_tracker()
        if asyncio.get_running_loop().time() - self._touched_at >= TOUCH_EVERY:
            self._touched_at = asyncio.get_running_loop().time()
            await sync_to_async(self._touch)(job_pks)

    async def _look_at_tracker(self) -> None:
        """Every few seconds: has the poller stopped or come back? Then every stream redraws."""
        now = asyncio.get_running_loop().time()
        if now - self._tracker_read_at < TRACKER_EVERY:
            return
        self._tracker_read_at = now
        self.queries += 1
        seen = await sync_to_async(poller_tracker.read)()
        before, self.tracker = self.tracker, seen
        if before is None or _shown(before) != _shown(seen):
            self._wake(list(self._changed))

    async def _refresh(self, job_pks: Iterable[int]) -> None:
        """Read the new rows of the changed jobs into their feeds, once for the process, then wake
        their streams (which find the rows in the feeds)."""
        job_pks = list(job_pks)
        async with self._reading:
            for pk in job_pks:
                feed = self._feeds.get(pk)
                if feed is None:
                    continue
                try:
                    read = await sync_to_async(self._read_new)(pk, feed.last_line, feed.last_event)
                    if read is None:  # more new lines than the buffer holds: start it again
                        feed = await sync_to_async(self._load)(pk)
                except TrackedJob.DoesNotExist:  # no longer tracked: its streams read (and end) alone
                    self._feeds.pop(pk, None)
                    continue
                if pk not in self._feeds:  # its last viewer left during the read
                    continue
                if read is None:
                    self._feeds[pk] = feed
                else:
                    feed.extend(*read)
        self._wake(job_pks)

    # --- its queries (each one round trip) ----------------------------------------------------

    def _load(self, job_pk: int) -> Feed:
        """A new feed of the job: its row, its events and its newest BUFFER lines."""
        self.queries += 3
        job = TrackedJob.objects.get(pk=job_pk)
        events = list(JobEvent.objects.filter(job_id=job_pk).order_by("id"))
        lines = list(LogLine.objects.filter(job_id=job_pk).order_by("-id")[:BUFFER])[::-1]
        floor = 0  # the whole log fits in the buffer
        if len(lines) == BUFFER:  # older lines may exist: no line of the job has an id in between
            floor = lines[0].pk - 1
        feed = Feed(job=job, events=[], lines=[], floor=floor)
        feed.extend(job, events, lines)
        return feed

    def _read_new(
        self, job_pk: int, after_line: int, after_event: int
    ) -> tuple[TrackedJob, list[JobEvent], list[LogLine]] | None:
        """The job's row and its rows past these ids (three queries); None past BUFFER new lines."""
        self.queries += 3
        job = TrackedJob.objects.get(pk=job_pk)
        events = list(JobEvent.objects.filter(job_id=job_pk, id__gt=after_event).order_by("id"))
        lines = list(LogLine.objects.filter(job_id=job_pk, id__gt=after_line).order_by("id")[: BUFFER + 1])
        return None if len(lines) > BUFFER else (job, events, lines)

    def _newest_ids(self) -> tuple[int, int]:
        self.queries += 2
        line = LogLine.objects.aggregate(newest=Max("id"))["newest"]
        event = JobEvent.objects.aggregate(newest=Max("id"))["newest"]
        return line or 0, event or 0

    def _changes_since(self, line: int, event: int) -> tuple[set[int], tuple[int, int]]:
        """The jobs with rows past these ids, and the new newest ids (one UNION query)."""
        self.queries += 1
        lines = LogLine.objects.filter(id__gt=line).values_list("job_id").annotate(l=Max("id"), e=Value(0))
        events = JobEvent.objects.filter(id__gt=event).values_list("job_id").annotate(l=Value(0), e=Max("id"))
        rows = list(lines.order_by().union(events.order_by(), all=True))
        changed = {row[0] for row in rows}
        return changed, (max([line, *(row[1] for row in rows)]), max([event, *(row[2] for row in rows)]))

    def _touch(self, job_pks: list[int]) -> None:
        self.queries += 1
        TrackedJob.objects.filter(pk__in=job_pks).update(last_viewed_at=timezone.now())

    def _changed_states(self, job_pks: list[int]) -> list[int]:
        """The watched jobs whose notices or completeness changed since the last look (a job seen
        for the first time counts as changed: it may have changed before its first look)."""
        self.queries += 1
        rows = TrackedJob.objects.filter(pk__in=job_pks).values_list(
            "pk", "status", "logs_complete", "error_count", "last_error_at", "gone", "untrackable_reason"
        )
        changed = []
        for row in rows:
            state = row[1:]
            if self._states.get(row[0]) != state:
                changed.append(row[0])
            self._states[row[0]] = state
        return changed


def _shown(tracker: poller_tracker.Tracker) -> tuple[bool, datetime | None]:
    """What the pages say of the tracker: live, or paused since its last pass."""
    return tracker.paused, tracker.last_pass if tracker.paused else None


async def release_connection() -> None:
    """Close the calling context's database connection if Django would (CONN_MAX_AGE): with a pool
    that hands it back, so a stream or the watcher waiting for changes holds no pooled connection.
    It runs in the thread the caller's own database calls ran in (asgiref's thread-sensitive one)."""
    await sync_to_async(close_old_connections)()


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watcher] = weakref.WeakKeyDictionary()


def watcher() -> Watcher:
    """The watcher of the running event loop, made on first use."""
    loop = asyncio.get_running_loop()
    found = _watchers.get(loop)
    if found is None:
        found = _watchers[loop] = Watcher()
    return found
