"""One watcher per web process: its database work does not grow with the number of open streams."""

import asyncio
import re
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import AsyncClient

from dashboard.tracking import live
from tests.support.live_helpers import Event, EventReader, job_scene, record_lines

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = 2.0  # seconds during which the queries are counted: 20 ticks, and 2 looks at the jobs' state


class QueryCounter:
    """Counts the queries made through the connection of the thread that runs the ORM calls of
    async code (the views' reads and the watcher's ticks all run there under the test client)."""

    def __init__(self) -> None:
        self.count = 0
        self.paused = False  # set around the test's own writes, which are not counted
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += not self.paused
        return execute(sql, params, many, context)

    # `connection` must be looked up in that thread, hence the lambdas.
    async def attach(self) -> None:
        await sync_to_async(lambda: connection.execute_wrappers.append(self))()

    async def detach(self) -> None:
        await sync_to_async(lambda: connection.execute_wrappers.remove(self))()


async def quiet_queries(cast, scene, streams: int, counter: QueryCounter) -> int:
    """Open `streams` streams, wait for each one's first event, then count queries for WINDOW s."""
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    responses = [await client.get(scene.url("tracking:job_stream")) for _ in range(streams)]
    readers = [EventReader(response.streaming_content) for response in responses]
    firsts = await asyncio.gather(*(reader.next() for reader in readers))
    assert {event.event for event in firsts} == {"line"}  # the line already recorded comes first
    assert live.watcher().watching >= streams
    start = counter.count
    await asyncio.sleep(WINDOW)
    made = counter.count - start
    for response in responses:  # as a browser closing the page would
        await response.streaming_content.aclose()
    return made


async def one_and_fifty(cast, measure) -> tuple[int, int]:
    """The queries `measure` counts with one open stream of a job, then with fifty."""
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    await sync_to_async(record_lines)(await sync_to_async(scene.tracked)(), ["already there"])
    counter = QueryCounter()
    await counter.attach()
    try:
        return await measure(cast, scene, 1, counter), await measure(cast, scene, 50, counter)
    finally:
        await counter.detach()


async def test_it_makes_as_many_queries_for_fifty_streams_as_for_one(cast):
    one, fifty = await one_and_fifty(cast, quiet_queries)
    print(f"queries in {WINDOW} s: {one} with one stream, {fifty} with fifty")
    # A few ticks a second and a look at the jobs' state once a second, whatever the audience.
    assert 0 < one <= WINDOW * (1 / live.TICK + 2) + 2
    # Flat, not one per stream: fifty streams asking for themselves would add fifty or more. A tick or two
    # more or less in the window (a busy machine's scheduling) moves the count by a few.
    assert abs(fifty - one) <= 6, (one, fifty)


async def next_line(reader: EventReader) -> Event:
    """The stream's next line: a status refresh (its duration moves on) may come before it."""

    async def first_line() -> Event:
        while (event := await reader.next()).event != "line":
            pass
        return event

    return await asyncio.wait_for(first_line(), 3)


async def test_a_new_line_wakes_every_stream_of_its_job_and_no_other(cast):
    scenes = [await sync_to_async(job_scene)(cast) for _ in range(2)]
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    for scene in scenes:
        assert (await client.get(scene.url())).status_code == 200
    watched = [
        EventReader((await client.get(scenes[0].url("tracking:job_stream"))).streaming_content)
        for _ in range(5)
    ]
    other = EventReader((await client.get(scenes[1].url("tracking:job_stream"))).streaming_content)
    for reader in [*watched, other]:
        assert (await reader.next()).event == "status"
    await sync_to_async(record_lines)(await sync_to_async(scenes[0].tracked)(), ["for the first job"])
    events = await asyncio.gather(*(next_line(reader) for reader in watched))
    assert all("for the first job" in event.data["html"] for event in events)
    # The other job's stream may refresh its status (its duration moves on), but gets no line.
    seen = []
    with pytest.raises(TimeoutError):
        while True:
            seen.append((await other.next(timeout=1.5)).event)
    assert "line" not in seen


WRITES_PER_SECOND = 5


class Streams:
    """Open streams of one job whose line events are collected as (number, message) pairs."""

    def __init__(self, readers: list[EventReader]) -> None:
        self.readers = readers
        self.seen: list[list[tuple[int, str]]] = [[] for _ in readers]
        self.tasks = [asyncio.create_task(self._collect(i, r)) for i, r in enumerate(readers)]

    async def _collect(self, index: int, reader: EventReader) -> None:
        while True:
            event = await reader.next(timeout=60)
            if event.event == "line":  # status events may come too: the duration moves on
                numbers = [int(n) for n in re.findall(r'id="L(\d+)"', event.data["html"])]
                messages = re.findall(r"written \d+|already there", event.data["html"])
                assert len(numbers) == len(messages) == event.data["count"]
                self.seen[index].extend(zip(numbers, messages, strict=True))

    async def until(self, count: int, timeout: float = 30) -> None:
        async with asyncio.timeout(timeout):
            while min(len(seen) for seen in self.seen) < count:
                await asyncio.sleep(0.05)

    def close(self) -> None:
        for task in self.tasks:
            task.cancel()


async def writing_queries(cast, scene, streams: int, counter: QueryCounter) -> int:
    """Open `streams` streams, then write lines for WINDOW s and count the queries the process makes
    (the writes themselves aside); every stream must get every line, once, in order, numbered."""
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    tracked = await sync_to_async(scene.tracked)()
    before = await sync_to_async(tracked.log_lines.count)()
    responses = [await client.get(scene.url("tracking:job_stream")) for _ in range(streams)]
    opened = Streams([EventReader(response.streaming_content) for response in responses])
    await opened.until(before)  # the lines already recorded come first

    def write(number: int) -> None:
        counter.paused = True  # the poller's writes are not the web process's work
        try:
            record_lines(tracked, [f"written {number}"])
        finally:
            counter.paused = False

    start = counter.count
    written = int(WINDOW * WRITES_PER_SECOND)
    for number in range(written):
        await sync_to_async(write)(number)
        await asyncio.sleep(1 / WRITES_PER_SECOND)
    await opened.until(before + written)  # the last line reaches the streams
    made = counter.count - start
    expected = [(before + 1 + n, f"written {n}") for n in range(written)]
    for seen in opened.seen:
        assert seen[before:] == expected  # none lost, none twice, in order, numbered from the log's start
    opened.close()
    for response in responses:
        await response.streaming_content.aclose()
    return made


async def test_it_makes_as_many_queries_for_fifty_streams_as_for_one_while_lines_arrive(cast):
    one, fifty = await one_and_fifty(cast, writing_queries)
    print(f"queries in {WINDOW} s, {WRITES_PER_SECOND} lines/s: {one} with one stream, {fifty} with fifty")
    # Each new line is read once for the process (a few queries), not once per stream: with a read
    # per stream, fifty streams would make 50 times the reads of one.
    assert one > WINDOW * WRITES_PER_SECOND
    # Reads per stream would make fifty streams cost about fifty times one; the margin only absorbs
    # how many writes a loaded machine fits into each window.
    assert fifty <= 2 * one + 10, (one, fifty)


async def test_it_gives_a_stream_behind_the_buffer_every_line_after_its_cursor(cast, monkeypatch):
    monkeypatch.setattr(live, "BUFFER", 5)
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    tracked = await sync_to_async(scene.tracked)()
    old = await sync_to_async(record_lines)(tracked, [f"written {n}" for n in range(3)])
    first = Streams([EventReader((await client.get(scene.url("tracking:job_stream"))).streaming_content)])
    await first.until(3)

    # A burst larger than the buffer: the watcher keeps the newest five, the stream catches up alone.
    burst = await sync_to_async(record_lines)(tracked, [f"written {n}" for n in range(3, 11)])
    await first.until(11)
    watcher = live.watcher()
    assert watcher.update(tracked.pk, old[1].pk, 100) is None  # behind the buffer
    assert watcher.update(tracked.pk, burst[4].pk, 100) is not None

    async def joining(after: int) -> Streams:
        response = await client.get(scene.url("tracking:job_stream"), headers={"Last-Event-ID": str(after)})
        return Streams([EventReader(response.streaming_content)])

    behind, inside = await joining(old[1].pk), await joining(burst[4].pk)
    await sync_to_async(record_lines)(tracked, ["written 11", "written 12"])
    everything = [(n + 1, f"written {n}") for n in range(13)]
    for streams, after in ((first, 0), (behind, 2), (inside, 8)):
        await streams.until(13 - after)
        assert streams.seen[0] == everything[after:]
        streams.close()


async def test_a_stream_that_opens_as_the_last_one_leaves_still_hears_new_lines(cast, monkeypatch):
    """The next job page, or a new leader tab taking over the shared stream: the last stream leaves,
    the watcher winds down, and a stream opens before its task has ended. That stream used to count on
    the ending watcher and say "Live." with no new line ever (the twenty-tabs test, under CI load)."""
    ended, go_on = asyncio.Event(), asyncio.Event()

    def slow_to_end(watch):
        async def watching(self, *args):
            await watch(self, *args)
            ended.set()
            await go_on.wait()  # the task's own cleanup (closing its connection), made long

        return watching

    monkeypatch.setattr(live.Watcher, "_poll", slow_to_end(live.Watcher._poll))
    monkeypatch.setattr(live.Watcher, "_listen", slow_to_end(live.Watcher._listen))
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200  # the page registers the job
    tracked = await sync_to_async(scene.tracked)()
    watcher = live.watcher()
    await watcher.join(tracked.pk)  # what a stream does when it opens, and when it ends:
    watcher.leave(tracked.pk)
    await asyncio.wait_for(ended.wait(), 5)

    await watcher.join(tracked.pk)
    change = watcher.next_change(tracked.pk)
    go_on.set()
    await sync_to_async(record_lines)(tracked, ["after the first page left"])
    await asyncio.wait_for(change.wait(), 3)
    assert [line.message for line in watcher.update(tracked.pk, 0, 10).lines] == ["after the first page left"]
    watcher.leave(tracked.pk)
