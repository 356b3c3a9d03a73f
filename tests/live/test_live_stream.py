"""The job's event stream (SSE): lines as they are recorded, status changes, done, resume, keepalive."""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from dashboard.tracking.views import jobs as live_views
from tests.support.live_helpers import EventReader, job_scene, poller_passed, record_lines, record_status

pytestmark = pytest.mark.django_db(transaction=True)


async def viewer(person) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(person.user)
    return client


async def seen(client: AsyncClient, scene):
    """The member opens the job's page: the job is now tracked."""
    response = await client.get(scene.url())
    assert response.status_code == 200
    return await sync_to_async(scene.tracked)()


async def open_stream(client: AsyncClient, scene, **headers):
    response = await client.get(scene.url("tracking:job_stream"), headers=headers)
    assert response.status_code == 200
    return response, EventReader(response.streaming_content)


async def notice_where(stream: EventReader, wanted) -> str:
    """The job's notices from the first status event where `wanted(notice)`: a refresh sent just
    before the change (its duration moves on) may still show the state before it."""

    async def first() -> str:
        while True:
            event = await stream.next()
            if event.event == "status" and wanted(notice := event.data["html"]["job-notices"]):
                return notice

    return await asyncio.wait_for(first(), 5)


async def test_it_streams_new_lines_status_changes_and_ends_with_done(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    response, stream = await open_stream(client, scene)
    assert response["Content-Type"] == "text/event-stream"
    assert response["Cache-Control"] == "no-cache"
    assert response["X-Accel-Buffering"] == "no"

    first = await stream.next()
    assert first.event == "status" and first.data["status"] == "pending"
    assert stream.retry == 2000

    await sync_to_async(record_status)(tracked, "running")
    lines = await sync_to_async(record_lines)(tracked, ["\x1b[32mbuild ok\x1b[0m <b>", "second"])
    got = [await stream.next(), await stream.next()]
    kinds = {event.event: event for event in got}
    assert kinds["status"].data["status"] == "running"
    assert "badge-running" in kinds["status"].data["html"]["job-facts"]
    line = kinds["line"]
    assert line.id == str(lines[-1].pk)
    assert line.data["first"] == 1 and line.data["count"] == 2
    assert 'id="L1"' in line.data["html"] and 'id="L2"' in line.data["html"]
    assert "&lt;b&gt;" in line.data["html"] and "<b>" not in line.data["html"]

    await sync_to_async(record_status)(tracked, "completed", logs_complete=True, outputs={"url": "https://x"})
    status = await stream.next()
    assert status.event == "status" and status.data["status"] == "completed"
    assert "https://x" in status.data["html"]["job-facts"]
    assert (await stream.next()).event == "done"
    with pytest.raises(StopAsyncIteration):
        await stream.next()


async def test_it_resumes_after_the_last_event_id(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    lines = await sync_to_async(record_lines)(tracked, [f"line {n}" for n in range(1, 6)])
    _, stream = await open_stream(client, scene, **{"Last-Event-ID": str(lines[2].pk)})
    events = [await stream.next(), await stream.next()]
    line = next(event for event in events if event.event == "line")
    assert line.data["first"] == 4 and line.data["count"] == 2
    assert "line 3" not in line.data["html"] and "line 5" in line.data["html"]

    # ?after= does the same for a client that cannot send the header.
    response = await client.get(scene.url("tracking:job_stream") + f"?after={lines[3].pk}")
    stream = EventReader(response.streaming_content)
    events = [await stream.next(), await stream.next()]
    line = next(event for event in events if event.event == "line")
    assert line.data["first"] == 5 and line.data["count"] == 1


async def test_a_reconnect_resumes_from_its_last_event_id_not_from_its_first_url(cast):
    # EventSource reconnects to the URL it first opened (here ?after= the first line) and says in
    # Last-Event-ID how far it got: no line it already has is sent again.
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    lines = await sync_to_async(record_lines)(tracked, [f"line {n}" for n in range(1, 6)])
    url = scene.url("tracking:job_stream") + f"?after={lines[0].pk}"
    response = await client.get(url, headers={"Last-Event-ID": str(lines[3].pk)})
    stream = EventReader(response.streaming_content)
    events = [await stream.next(), await stream.next()]
    line = next(event for event in events if event.event == "line")
    assert line.data["first"] == 5 and line.data["count"] == 1


async def test_it_sends_a_long_backlog_in_batches(cast, monkeypatch):
    monkeypatch.setattr(live_views, "BATCH", 40)
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    await sync_to_async(record_lines)(tracked, [f"line {n}" for n in range(1, 101)])
    _, stream = await open_stream(client, scene)
    counts = []
    while sum(counts) < 100:
        event = await stream.next()
        if event.event == "line":
            counts.append(event.data["count"])
    assert counts == [40, 40, 20]


async def test_it_sends_keepalive_comments_while_nothing_happens(cast, monkeypatch):
    monkeypatch.setattr(live_views, "KEEPALIVE", 0.2)
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    await seen(client, scene)
    _, stream = await open_stream(client, scene)
    await stream.next()  # the status
    # A second of nothing new: only keepalives come (and maybe a status whose running duration
    # ticked over, which the page shows), never a line.
    loop = asyncio.get_running_loop()
    end = loop.time() + 1.0
    while (left := end - loop.time()) > 0:
        try:
            event = await stream.next(timeout=left)
        except TimeoutError:
            break
        assert event.event == "status", event
    assert stream.comments >= 3


async def test_it_ends_at_once_for_a_finished_job_with_its_whole_log(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    await sync_to_async(record_lines)(tracked, ["only line"])
    await sync_to_async(record_status)(tracked, "failed", logs_complete=True, outputs={"error": "boom"})
    _, stream = await open_stream(client, scene)
    kinds = [(await stream.next()).event for _ in range(3)]
    assert kinds == ["line", "status", "done"]


async def test_it_says_when_the_poller_cannot_reach_nexical(cast):
    await sync_to_async(poller_passed)()  # the poller runs: only the job's own error is said
    scene = await sync_to_async(job_scene)(cast)
    client = await viewer(cast.member)
    tracked = await seen(client, scene)
    _, stream = await open_stream(client, scene)
    await stream.next()
    from django.utils import timezone

    from dashboard.tracking.models import TrackedJob

    await TrackedJob.objects.filter(pk=tracked.pk).aupdate(
        error_count=3, last_error="Nexical is unreachable.", last_error_at=timezone.now()
    )
    notice = await notice_where(stream, lambda notice: "Live updates paused" in notice)
    assert "Nexical is unreachable." in notice
    await TrackedJob.objects.filter(pk=tracked.pk).aupdate(error_count=0, last_error="")
    await notice_where(stream, lambda notice: "Live updates paused" not in notice)
