"""The log viewer's windows: `…/lines?from=N&to=M` by stored line number, and how a finished job's
stream says how many lines are still being sent."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from dashboard.tracking.views import jobs as live_views
from tests.support.live_helpers import EventReader, job_scene, record_lines, record_status

pytestmark = pytest.mark.django_db(transaction=True)


def opened_job(cast, client, lines: int):
    scene = job_scene(cast)
    client.force_login(cast.member.user)
    assert client.get(scene.url()).status_code == 200  # showing the job tracks it
    record_lines(scene.tracked(), [f"line {n}" for n in range(1, lines + 1)])
    return scene


def test_a_window_is_the_lines_of_those_numbers_and_a_bad_one_a_sentence(client, cast):
    scene = opened_job(cast, client, 30)
    url = scene.url("tracking:job_log_lines")

    window = client.get(url, {"from": 10, "to": 12}).json()
    assert (window["from"], window["to"], window["count"], window["total"]) == (10, 12, 3, 30)
    assert window["html"].index('id="L10"') < window["html"].index('id="L12"')
    assert 'id="L13"' not in window["html"] and "line 11" in window["html"]
    past = client.get(url, {"from": 28, "to": 40}).json()
    assert (past["to"], past["count"]) == (30, 3)

    for bad in ({"from": 0}, {"from": 5, "to": 4}, {"from": "x"}, {"from": "1" * 20}):
        answer = client.get(url, bad)
        assert answer.status_code == 400 and "from=N&to=M" in answer.json()["error"]

    client.force_login(cast.outsider.user)
    assert client.get(url, {"from": 1, "to": 5}).status_code == 404


async def test_a_finished_job_being_read_in_says_how_many_lines_are_left(cast, monkeypatch):
    monkeypatch.setattr(live_views, "BATCH", 40)
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    tracked = await sync_to_async(scene.tracked)()
    await sync_to_async(record_lines)(tracked, [f"line {n}" for n in range(1, 101)])
    await sync_to_async(record_status)(tracked, "completed", logs_complete=True)
    stream = EventReader((await client.get(scene.url("tracking:job_stream"))).streaming_content)
    said = []
    while (event := await stream.next()).event != "done":
        if event.event == "status":
            said.append((event.data["behind"], event.data["html"]["log-state"]))
    assert said[0][0] == 60 and "Loading the rest of the log: 60 lines." in said[0][1]
    assert said[-1][0] == 0 and "No more lines will be added" in said[-1][1]
