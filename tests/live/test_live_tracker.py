"""Live pages say when the poller has stopped: its last pass older than POLLER_STALE_SECONDS turns "Live."
into "Live updates paused: the tracker has not run since 12:04", and the live parts drop it once a
pass comes in again."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from dashboard.core import tracker
from dashboard.tracking.models import JobInterest, Reason
from tests.support.live_helpers import EventReader, job_scene, poller_passed, record_status
from tests.support.orchestrator_cast import as_user
from tests.support.tasks_cast import Person

PAUSED = "Live updates paused: the tracker has not run since"
LONG_AGO = 600  # seconds: far past POLLER_STALE_SECONDS (30)


def _shown(at) -> str:
    """As the pages print when the tracker last ran: "23:51", or "3 Dec, 23:51" on another day (a test
    run just after midnight about a pass ten minutes before it)."""
    local = timezone.localtime(at)
    if local.date() == timezone.localdate():
        return local.strftime("%H:%M")
    return f"{local.day} {local.strftime('%b, %H:%M')}"


def _followed_running_job(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())  # shown once: tracked from now on
    JobInterest.objects.filter(user=cast.member.user).update(reason=Reason.TRIGGERED)
    record_status(scene.tracked(), "running")
    return scene


@pytest.mark.django_db
def test_it_judges_the_tracker_by_its_newest_pass(settings):
    settings.POLLER_STALE_SECONDS = 30
    assert (
        tracker.read().paused
        and tracker.read().sentence == "Live updates paused: the tracker has not run yet."
    )
    poller_passed(LONG_AGO, name="old")
    assert tracker.read().paused
    fresh = poller_passed(5, name="new")  # any poller's pass counts
    assert tracker.read() == tracker.Tracker(last_pass=fresh, paused=False)


@pytest.mark.django_db
def test_the_job_page_says_the_tracker_stopped_instead_of_live(client, cast):
    scene = _followed_running_job(client, cast)
    last = poller_passed(LONG_AGO)
    page = client.get(scene.url()).content.decode()
    notices = page[page.index('id="job-notices"') : page.index('id="job-facts"')]
    assert "the tracker has not run since <time" in notices and f">{_shown(last)}</time>" in notices
    state = page[page.index('id="log-state"') :]
    assert f"{PAUSED} {_shown(last)}." in state and "New lines appear by themselves" not in state
    assert f'data-sentence="{PAUSED} {_shown(last)}."' in page  # what the log viewer says instead of "Live."

    poller_passed(0)
    page = client.get(scene.url()).content.decode()
    assert 'id="notice-tracker"' not in page and "New lines appear by themselves" in page


@pytest.mark.django_db
def test_a_finished_job_with_its_whole_log_mentions_no_tracker(client, cast):
    scene = _followed_running_job(client, cast)
    record_status(scene.tracked(), "completed", logs_complete=True)
    poller_passed(LONG_AGO)
    page = client.get(scene.url()).content.decode()
    assert 'id="notice-tracker"' not in page  # nothing more can come: the tracker does not matter


@pytest.mark.django_db
def test_the_polling_fallback_carries_the_notice(client, cast):
    scene = _followed_running_job(client, cast)
    last = poller_passed(LONG_AGO)
    answer = client.get(scene.url("tracking:job_updates")).json()
    status = next(event for event in answer["events"] if event["event"] == "status")
    assert f"{PAUSED} {_shown(last)}." in status["data"]["html"]["log-state"]
    assert 'id="notice-tracker"' in status["data"]["html"]["job-notices"]


@pytest.mark.django_db
def test_the_deployments_overview_and_its_refresh_say_it(client, cast):
    _followed_running_job(client, cast)
    poller_passed(LONG_AGO)
    page = client.get(reverse("tracking:deployments")).content.decode()
    rows = page[page.index('id="deployment-rows"') :]
    assert "the tracker has not run since" in rows and "statuses below are as of then" in rows
    poller_passed(0)
    refreshed = client.get(
        reverse("tracking:deployments"), headers={"HX-Request": "true", "HX-Target": "deployment-rows"}
    ).content.decode()
    assert 'data-status="running"' in refreshed and 'id="notice-tracker"' not in refreshed


@pytest.mark.django_db
def test_the_home_pages_deploys_say_it(client, cast):
    _followed_running_job(client, cast)
    poller_passed(LONG_AGO)
    page = client.get(reverse("home:home")).content.decode()
    running = page[page.index('id="home-running-deploys"') : page.index('id="home-recent-deploys"')]
    assert "the tracker has not run since" in running
    poller_passed(0)
    assert 'id="notice-tracker"' not in client.get(reverse("home:home")).content.decode()


@pytest.mark.django_db
def test_an_open_task_page_says_it_and_drops_it_without_a_reload(client, sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    owner = Person(sandbox)
    task = owner.post_task(client)
    url = reverse("nexustoken:task_detail", args=[task.task_id])
    poller_passed(LONG_AGO)
    page = client.get(url).content.decode()
    assert "the tracker has not run since" in page and "when NexusToken calls back" in page
    version = page.split('data-version="')[1].split('"')[0]
    assert client.get(url, {"live": version}, headers={"HX-Request": "true"}).status_code == 204

    poller_passed(0)  # it runs again: the next poll of the live fragment is a change
    live = client.get(url, {"live": version}, headers={"HX-Request": "true"})
    assert live.status_code == 200 and 'id="notice-tracker"' not in live.content.decode()


# --- the stream ------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_the_stream_says_it_and_takes_it_back_when_a_pass_comes_in(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    assert (await client.get(scene.url())).status_code == 200
    last = await sync_to_async(poller_passed)(LONG_AGO)
    response = await client.get(scene.url("tracking:job_stream"))
    stream = EventReader(response.streaming_content)
    first = await stream.next()
    assert first.event == "status"
    assert f"{PAUSED} {_shown(last)}." in first.data["html"]["log-state"]
    assert 'id="notice-tracker"' in first.data["html"]["job-notices"]

    await sync_to_async(poller_passed)(0)  # the watcher reads the heartbeat every few seconds
    back = await stream.next(timeout=15)
    assert back.event == "status"
    assert 'id="notice-tracker"' not in back.data["html"]["job-notices"]
    assert "New lines appear by themselves" in back.data["html"]["log-state"]
