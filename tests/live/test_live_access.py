"""Who may read a tracked job's live endpoints: owner and member yes, outsider and strangers 404."""

import pytest
from asgiref.sync import sync_to_async
from django.core.cache import cache
from django.test import AsyncClient
from django.urls import reverse

from dashboard.tracking.models import TrackedJob
from tests.support.live_helpers import job_scene, record_lines

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "tracking:job_updates",
    "tracking:job_log_lines",
    "tracking:job_log_raw",
    "orchestrator:job_detail",
]


@pytest.fixture
def scene(cast, client):
    """A job the member has opened (so it is tracked) with a secret-looking line in its log."""
    scene = job_scene(cast)
    client.force_login(cast.member.user)
    assert client.get(scene.url()).status_code == 200
    record_lines(scene.tracked(), ["deploy key fingerprint SHA256:members-only"])
    client.logout()
    return scene


@pytest.mark.parametrize("role", ["owner", "member"])
def test_it_gives_every_live_endpoint_to_the_team(client, cast, scene, role):
    client.force_login(getattr(cast, role).user)
    for name in ENDPOINTS:
        response = client.get(scene.url(name))
        assert response.status_code == 200, name
        assert b"members-only" in b"".join(response) if response.streaming else response.content, name


@pytest.mark.django_db(transaction=True)  # the async views read from other threads
async def test_it_opens_the_stream_for_a_member(cast, scene):
    client = AsyncClient()
    await client.aforce_login(cast.member.user)
    response = await client.get(scene.url("tracking:job_stream"))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/event-stream"
    await response.streaming_content.aclose()


@pytest.mark.parametrize("name", [*ENDPOINTS, "tracking:job_stream"])
def test_it_hides_a_tracked_job_from_an_outsider(client, cast, scene, name):
    client.force_login(cast.outsider.user)
    response = client.get(scene.url(name))
    assert response.status_code == 404
    assert b"members-only" not in response.content


@pytest.mark.parametrize("name", [*ENDPOINTS, "tracking:job_stream"])
def test_it_sends_an_anonymous_visitor_to_sign_in(client, scene, name):
    response = client.get(scene.url(name))
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


@pytest.mark.parametrize(
    "name", ["tracking:job_updates", "tracking:job_log_lines", "tracking:job_log_raw", "tracking:job_stream"]
)
def test_it_answers_404_for_a_job_that_does_not_exist(client, cast, scene, name):
    client.force_login(cast.member.user)
    team_id, project_id, branch_id, job_id = scene.ids
    assert client.get(reverse(name, args=[team_id, project_id, branch_id, 10**9])).status_code == 404
    # The job exists, but not on that branch: the path must be the job's own.
    other = cast.branch({"id": project_id}, "elsewhere")
    assert client.get(reverse(name, args=[team_id, project_id, other["id"], job_id])).status_code == 404


@pytest.mark.parametrize("cursor", ["abc", "-1", "1e3", "1.5", "١٢", " 7", "9" * 30, ""])
@pytest.mark.parametrize("name", ["tracking:job_updates", "tracking:job_log_lines", "tracking:job_stream"])
def test_it_answers_404_for_a_malformed_cursor(client, cast, scene, name, cursor):
    client.force_login(cast.member.user)
    assert client.get(scene.url(name), {"after": cursor}).status_code == 404


def test_it_answers_404_for_a_malformed_range_end_or_last_event_id(client, cast, scene):
    client.force_login(cast.member.user)
    assert client.get(scene.url("tracking:job_log_lines"), {"after": "0", "before": "x"}).status_code == 404
    assert client.get(scene.url("tracking:job_stream"), headers={"Last-Event-ID": "L12"}).status_code == 404


def test_it_asks_upstream_once_then_keeps_the_answer_briefly(client, cast, scene, sandbox):
    client.force_login(cast.member.user)
    client.get(scene.url("tracking:job_updates"))
    sandbox.reset_request_counts()
    for name in ENDPOINTS:
        client.get(scene.url(name))
    assert sum(sandbox.request_counts().values()) == 0
    cache.clear()  # the minute has passed
    client.get(scene.url("tracking:job_updates"))
    assert sum(sandbox.request_counts().values()) == 1


def test_a_member_removed_from_the_team_loses_the_job_when_the_answer_expires(client, cast, scene):
    cast.api(cast.owner).http.delete(f"/teams/{cast.team['id']}/members/{cast.member.id}").raise_for_status()
    cache.clear()
    client.force_login(cast.member.user)
    assert client.get(scene.url("tracking:job_updates")).status_code == 404
    # And the refusal is kept too: a retry storm does not reach upstream.
    assert client.get(scene.url("tracking:job_log_raw")).status_code == 404


def test_a_job_deleted_upstream_stays_readable_by_the_team_with_a_notice(client, cast, scene):
    TrackedJob.objects.filter(pk=scene.tracked().pk).update(gone=True)
    team_id, project_id, branch_id, _ = scene.ids
    cast.api(cast.owner).http.delete(
        f"/teams/{team_id}/projects/{project_id}/branches/{branch_id}"
    ).raise_for_status()
    cache.clear()
    client.force_login(cast.member.user)
    page = client.get(scene.url()).content.decode()
    assert "This job was deleted upstream." in page
    assert "members-only" in page
    client.force_login(cast.outsider.user)
    assert client.get(scene.url()).status_code == 404


@pytest.mark.django_db(transaction=True)
async def test_an_untracked_job_is_not_streamed_to_an_outsider_either(cast):
    scene = await sync_to_async(job_scene)(cast)
    client = AsyncClient()
    await client.aforce_login(cast.outsider.user)
    assert (await client.get(scene.url("tracking:job_stream"))).status_code == 404
    assert not await TrackedJob.objects.filter(job_id=scene.ids[3]).aexists()
