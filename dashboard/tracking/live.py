"""The one watcher of each web process: it wakes the live streams of a job when the poller writes to it.

A stream must not poll the database on its own: two hundred people watching a deploy would then make
two hundred queries a tick. Instead every stream of the process waits on an asyncio.Event of its job,
and this watcher alone notices new rows and sets the events of the jobs that changed:

- on SQLite it asks, a few times a second, which jobs got LogLine or JobEvent rows past the newest
  ids it has seen (one query per tick, however many streams are open);
- on PostgreSQL it LISTENs on the `tracking` channel, where the poller sends the TrackedJob pk in
  the transaction that inserts the rows, so no query is made at all between changes.

Some changes add no row (the last fetch marks the log complete, the poller starts failing or
recovers, the job is deleted upstream); one query a second over the jobs being watched in this
process catches those, on both databases, and the same look marks those jobs as viewed for the
poller (their logs are then fetched at least twice a second), in one UPDATE, not one per stream.

The watcher starts with the first stream and stops when the last one leaves. It belongs to an event
loop (uvicorn runs one per process; tests run one per test).
"""

import asyncio
import contextvars
import logging
import weakref
from collections import Counter
from collections.abc import Iterable

from asgiref.sync import sync_to_async
from django.db import close_old_connections, connection, connections
from django.db.models import Max, Value
from django.utils import timezone

from .channel import CHANNEL
from .models import JobEvent, LogLine, TrackedJob

logger = logging.getLogger(__name__)

TICK = 0.1  # seconds between two checks for new rows on SQLite (one cheap indexed query)
STATE_EVERY = 1.0  # seconds between two checks of the watched jobs' other fields
# The poller polls a running job's logs sub-second while it was viewed within ~10 s.
TOUCH_EVERY = 4.0
RECONNECT_DELAY = 2.0  # seconds before listening again after the LISTEN connection failed


class Watcher:
    """Per-job change signals for the streams of one event loop."""

    def __init__(self) -> None:
        self._viewers: Counter[int] = Counter()
        self._changed: dict[int, asyncio.Event] = {}
        self._states: dict[int, tuple] = {}
        self._task: asyncio.Task | None = None
        # Replaced by each start of the task (join); this first one is never waited on. An Event binds
        # to a loop only when first awaited, so creating it outside the loop is harmless.
        self._started = asyncio.Event()
        self._touched_at = -TOUCH_EVERY
        self.queries = 0  # database round trips made by the watcher, for the benchmark and the tests

    # --- what streams use ---------------------------------------------------------------------

    async def join(self, job_pk: int) -> None:
        """Count a stream of this job; returns once changes after this moment will be noticed."""
        self._viewers[job_pk] += 1
        if self._task is None or self._task.done():
            self._started = asyncio.Event()
            # A context of its own: the request that happens to start it must not lend it its thread
            # for database calls (asgiref ends that thread with the request).
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="tracking-watcher", context=contextvars.Context()
            )
        await self._started.wait()

    def leave(self, job_pk: int) -> None:
        self._viewers[job_pk] -= 1
        if self._viewers[job_pk] <= 0:
            del self._viewers[job_pk]
            self._changed.pop(job_pk, None)
            self._states.pop(job_pk, None)

    def next_change(self, job_pk: int) -> asyncio.Event:
        """The event set by the job's next change. Take it before reading the rows, so a change that
        lands between the read and the wait still wakes the stream."""
        event = self._changed.get(job_pk)
        if event is None:
            event = self._changed[job_pk] = asyncio.Event()
        return event

    @property
    def watching(self) -> int:
        return sum(self._viewers.values())

    # --- the loop -----------------------------------------------------------------------------

    def _wake(self, job_pks: Iterable[int]) -> None:
        for pk in job_pks:
            event = self._changed.pop(pk, None)
            if event is not None:
                event.set()

    async def _run(self) -> None:
        try:
            if connection.vendor == "postgresql":
                await self._listen()
            else:
                await self._poll()
        except Exception:
            logger.exception("The live-update watcher stopped")
            self._wake(list(self._changed))  # streams re-read rather than wait for a dead watcher
        finally:
            self._started.set()
            await sync_to_async(close_old_connections)()

    async def _poll(self) -> None:
        """SQLite: ask for new rows a few times a second, one query for the whole process."""
        newest = await sync_to_async(self._newest_ids)()
        self._started.set()
        last_state_check = 0.0
        loop = asyncio.get_running_loop()
        while self._viewers:
            await asyncio.sleep(TICK)
            changed, newest = await sync_to_async(self._changes_since)(*newest)
            self._wake(changed)
            if loop.time() - last_state_check >= STATE_EVERY:
                last_state_check = loop.time()
                await self._look_at_states()

    async def _listen(self) -> None:
        """PostgreSQL: LISTEN, and read the other fields once a second (a NOTIFY comes with rows only)."""
        import psycopg

        params = connections["default"].get_connection_params()
        for unusable in ("cursor_factory", "context"):  # Django's own classes, for sync connections
            params.pop(unusable, None)
        while self._viewers:
            try:
                async with await psycopg.AsyncConnection.connect(**params, autocommit=True) as listener:
                    await listener.execute(f"LISTEN {CHANNEL}")
                    self._started.set()
                    # Rows may have landed while no one listened: everyone re-reads once.
                    self._wake(list(self._changed))
                    while self._viewers:
                        async for notice in listener.notifies(timeout=STATE_EVERY):
                            self._wake([int(notice.payload)] if notice.payload.isdigit() else [])
                        await self._look_at_states()
            except psycopg.Error:
                logger.warning("Lost the LISTEN connection for live updates; listening again shortly")
                self._started.set()
                self._wake(list(self._changed))
                await asyncio.sleep(RECONNECT_DELAY)

    async def _look_at_states(self) -> None:
        job_pks = list(self._viewers)
        if not job_pks:
            return
        self._wake(await sync_to_async(self._changed_states)(job_pks))
        if asyncio.get_running_loop().time() - self._touched_at >= TOUCH_EVERY:
            self._touched_at = asyncio.get_running_loop().time()
            await sync_to_async(self._touch)(job_pks)

    # --- its queries (each one round trip) ----------------------------------------------------

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


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, Watcher] = weakref.WeakKeyDictionary()


def watcher() -> Watcher:
    """The watcher of the running event loop, made on first use."""
    loop = asyncio.get_running_loop()
    found = _watchers.get(loop)
    if found is None:
        found = _watchers[loop] = Watcher()
    return found
