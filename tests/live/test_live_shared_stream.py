"""The shared stream of several jobs (/live/events): each job is checked as its own stream checks it
(owner and member yes, outsider and unknown jobs refused by name with none of their rows), events
carry their job, cursors resume, and bad requests get a sentence."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.urls import reverse

from dashboard.tracking.views import streams
from tests.support.live_helpers import EventReader, job_scene, record_lines

pytestmark = pytest.mark.django_db(transaction=True)

URL = reverse("tracking:live_stream")


def key(scene) -> str:
    return ".".join(str(part) for part in scene.ids)


async def viewer(person) -> AsyncClient:
    client = AsyncClient()
    await client.aforce_login(person.user)
    return client


async def two_jobs(cast):
    """Two jobs of the team, opened by the member (so tracked), each with a members-only line."""
    scenes = [await sync_to_async(job_scene)(cast) for _ in range(2)]
    member = await viewer(cast.member)
    tracked = []
    for scene in scenes:
        assert (await member.get(scene.url())).status_code == 200
        tracked.append(await sync_to_async(scene.tracked)())
        await sync_to_async(record_lines)(tracked[-1], [f"secret of job {scene.ids[3]}, members-only"])
    return scenes, tracked


async def events_until(stream: EventReader, wanted: int, kind: str) -> list:
    """Events until `wanted` of `kind` came, in order."""
    seen, count = [], 0
    while count < wanted:
        event = await stream.next()
        seen.append(event)
        count += event.event == kind
    return seen


@pytest.mark.parametrize("role", ["owner", "member"])
async def test_it_streams_every_job_of_the_team_each_event_naming_its_job(cast, role):
    scenes, tracked = await two_jobs(cast)
    client = await viewer(getattr(cast, role))
    response = await client.get(URL, {"job": [key(scene) for scene in scenes]})
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    assert response["X-Accel-Buffering"] == "no"
    stream = EventReader(response.streaming_content)

    first = await events_until(stream, 2, "line")
    assert {event.data["job"] for event in first if event.event == "line"} == {key(s) for s in scenes}
    assert stream.retry == 2000

    await sync_to_async(record_lines)(tracked[1], ["written after the stream opened"])
    (line,) = [event for event in await events_until(stream, 1, "line") if event.event == "line"]
    assert line.data["job"] == key(scenes[1])
    assert "written after the stream opened" in line.data["html"]
    assert line.id is None  # the leader keeps each job's cursor: line.data["last"]
    await response.streaming_content.aclose()


async def test_it_refuses_an_outsider_every_job_by_name_and_streams_none_of_their_rows(cast):
    scenes, _ = await two_jobs(cast)
    client = await viewer(cast.outsider)
    response = await client.get(URL, {"job": [key(scene) for scene in scenes]})
    assert response.status_code == 200
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert "members-only" not in body
    assert "event: line" not in body and "event: status" not in body
    assert body.count("event: refused") == 2
    for scene in scenes:
        assert f'"job":"{key(scene)}"' in body


async def test_it_drops_the_job_a_member_may_not_see_and_streams_the_others(cast):
    scenes, _ = await two_jobs(cast)
    team_id, project_id, branch_id, _ = scenes[0].ids
    unknown = f"{team_id}.{project_id}.{branch_id}.{10**9}"
    client = await viewer(cast.member)
    response = await client.get(URL, {"job": [unknown, key(scenes[0])]})
    stream = EventReader(response.streaming_content)
    first = await stream.next()
    assert first.event == "refused" and first.data == {"job": unknown}
    rest = await events_until(stream, 1, "line")
    assert all(event.data["job"] == key(scenes[0]) for event in rest)
    await response.streaming_content.aclose()


async def test_it_resumes_each_job_from_its_own_cursor(cast):
    scenes, tracked = await two_jobs(cast)
    newer = await sync_to_async(record_lines)(tracked[0], ["after the cursor"])
    cursor = newer[0].pk - 1
    client = await viewer(cast.member)
    response = await client.get(URL, {"job": f"{key(scenes[0])}:{cursor}"})
    stream = EventReader(response.streaming_content)
    (line,) = [event for event in await events_until(stream, 1, "line") if event.event == "line"]
    assert line.data["count"] == 1 and "after the cursor" in line.data["html"]
    assert line.data["first"] == 2  # numbered in the job, not in the stream
    await response.streaming_content.aclose()


async def test_it_ends_with_reopen_so_access_is_checked_again(cast, monkeypatch):
    scenes, _ = await two_jobs(cast)
    monkeypatch.setattr(streams, "ACCESS_SECONDS", 0.3)
    client = await viewer(cast.member)
    response = await client.get(URL, {"job": key(scenes[0])})
    body = b"".join([chunk async for chunk in response.streaming_content]).decode()
    assert body.rstrip().endswith("event: reopen\ndata: {}")


async def test_it_beats_while_nothing_is_new_so_the_other_tabs_know_the_leader_runs(cast, settings):
    settings.LIVE_KEEPALIVE_SECONDS = 0.2
    scenes, tracked = await two_jobs(cast)
    client = await viewer(cast.member)
    response = await client.get(URL, {"job": [key(scene) for scene in scenes]})
    stream = EventReader(response.streaming_content)
    await events_until(stream, 2, "line")
    quiet = [await stream.next() for _ in range(3)]
    # Nothing new: beats (a status may come too, as a running job's duration is redrawn).
    beats = [event for event in quiet if event.event == "beat"]
    assert beats and all(event.data == {"every": 0.2} for event in beats)
    assert {event.event for event in quiet} <= {"beat", "status"}
    assert stream.comments == 0  # events, not comments: the leader passes them on
    await sync_to_async(record_lines)(tracked[0], ["news after the beats"])
    line = next(event for event in await events_until(stream, 1, "line") if event.event == "line")
    assert "news after the beats" in line.data["html"]
    await response.streaming_content.aclose()


async def test_it_sends_an_anonymous_visitor_to_sign_in():
    response = await AsyncClient().get(URL, {"job": "1.2.3.4"})
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    ("jobs", "sentence"),
    [
        ([], "Name at least one job"),
        (["1.2.3"], "is not"),
        (["1.2.3.x"], "is not"),
        (["1.2.3.4:-1"], "is not"),
        (["1.2.3.4:9:9"], "is not"),
        ([f"1.2.3.{n}" for n in range(streams.MAX_JOBS + 1)], f"at most {streams.MAX_JOBS} jobs"),
    ],
)
async def test_it_answers_a_bad_request_with_a_sentence(cast, jobs, sentence):
    client = await viewer(cast.member)
    response = await client.get(URL, {"job": jobs})
    assert response.status_code == 400
    assert sentence in response.content.decode()
