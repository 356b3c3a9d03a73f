"""One watcher per web process: its database work does not grow with the number of open streams."""

import asyncio
import threading

import pytest
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import AsyncClient

from dashboard.tracking import live
from tests.live_helpers import EventReader, job_scene, record_lines

pytestmark = pytest.mark.django_db(transaction=True)

WINDOW = 3.0  # seconds of quiet during which the queries are counted


class QueryCounter:
    """Counts the queries made through the connection of the thread that runs the ORM calls of
    async code (the views' reads and the watcher's ticks all run there under the test client)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    def __call__(self, execute, sql, params, many, context):
        with self.lock:
            self.count += 1
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
    responses = [await client.get(scene.url("job_stream")) for _ in range(streams)]
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


async def test_it_makes_as_many_queries_for_fifty_streams_as_for_one(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    await sync_to_async(record_lines)(await sync_to_async(scene.tracked)(), ["already there"])
    counter = QueryCounter()
    await counter.attach()
    try:
        one = await quiet_queries(cast, scene, 1, counter)
        fifty = await quiet_queries(cast, scene, 50, counter)
    finally:
        await counter.detach()
    print(f"queries in {WINDOW} s: {one} with one stream, {fifty} with fifty")
    # A few ticks a second and a look at the jobs' state once a second, whatever the audience.
    assert 0 < one <= WINDOW * (1 / live.TICK + 2) + 2
    assert abs(fifty - one) <= 3, (one, fifty)


async def test_a_new_line_wakes_every_stream_of_its_job_and_no_other(cast):
    scenes = [await sync_to_async(job_scene)(cast) for _ in range(2)]
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    for scene in scenes:
        assert (await client.get(scene.url())).status_code == 200
    watched = [
        EventReader((await client.get(scenes[0].url("job_stream"))).streaming_content) for _ in range(5)
    ]
    other = EventReader((await client.get(scenes[1].url("job_stream"))).streaming_content)
    for reader in [*watched, other]:
        assert (await reader.next()).event == "status"
    await sync_to_async(record_lines)(await sync_to_async(scenes[0].tracked)(), ["for the first job"])
    events = await asyncio.gather(*(reader.next(timeout=3) for reader in watched))
    assert all(event.event == "line" and "for the first job" in event.data["html"] for event in events)
    # The other job's stream may refresh its status (its duration moves on), but gets no line.
    seen = []
    with pytest.raises(TimeoutError):
        while True:
            seen.append((await other.next(timeout=1.5)).event)
    assert "line" not in seen
