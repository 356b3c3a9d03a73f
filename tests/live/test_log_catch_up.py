"""A finished job whose lines are still being sent says so, not that nothing more will be added."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from dashboard.tracking import logs
from dashboard.tracking.views import jobs as live_views
from tests.support.live_helpers import EventReader, job_scene, record_lines, record_status

pytestmark = pytest.mark.django_db(transaction=True)


async def finished_burst(cast):
    """A job that completed after a 100-line burst, opened by the member."""
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    tracked = await sync_to_async(scene.tracked)()
    await sync_to_async(record_lines)(tracked, [f"line {n}" for n in range(1, 101)])
    await sync_to_async(record_status)(tracked, "completed", logs_complete=True)
    return scene, client


async def test_the_stream_says_catching_up_until_the_last_batch_then_finished(cast, monkeypatch):
    monkeypatch.setattr(live_views, "BATCH", 40)
    scene, client = await finished_burst(cast)
    response = await client.get(scene.url("tracking:job_stream"))
    stream = EventReader(response.streaming_content)
    states, lines = [], 0
    while (event := await stream.next()).event != "done":
        if event.event == "line":
            lines += event.data["count"]
        elif event.event == "status":
            states.append((lines, event.data["log_state"]))
            html = event.data["html"]["log-state"]
            if event.data["log_state"] == "catching_up":
                assert "Loading the rest of the log" in html and "No more lines" not in html
            else:
                assert "No more lines will be added." in html
    assert lines == 100
    assert states[0] == (40, "catching_up") and states[-1] == (100, "finished")


async def test_the_polling_fallback_says_catching_up_while_more_is_waiting(cast, monkeypatch):
    monkeypatch.setattr(logs, "TAIL", 40)
    scene, client = await finished_burst(cast)
    body = (await client.get(scene.url("tracking:job_updates"), {"after": 0})).json()
    assert body["more"]
    status = next(event["data"] for event in body["events"] if event["event"] == "status")
    assert status["log_state"] == "catching_up" and status["finished"]
    body = (await client.get(scene.url("tracking:job_updates"), {"after": 10**9})).json()
    status = next(event["data"] for event in body["events"] if event["event"] == "status")
    assert status["log_state"] == "finished"
