"""Who may see a tracked job, settled from the team's member list: a viewer whose account is on it costs
upstream nothing, and the list's rules are upstream's (outsiders, removed members, rejected tokens)."""

import asyncio
import time

import pytest
from django.core.cache import cache
from django.test import AsyncClient
from django.test.utils import override_settings

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.services import nexical
from dashboard.services.errors import APIError
from dashboard.tracking.models import JobInterest, TeamRoster
from tests.support.helpers import dashboard_user
from tests.support.live_helpers import job_scene, record_lines

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "orchestrator:job_detail",
    "tracking:job_updates",
    "tracking:job_log_lines",
    "tracking:job_log_raw",
]
SECRET_LINE = "deploy key fingerprint SHA256:members-only"


def _content(response) -> bytes:
    return b"".join(response) if response.streaming else response.content


@pytest.fixture
def scene(cast, client):
    """A job the member has opened (so it is tracked, with a line of log), and a team whose member
    list the owner's first view has read."""
    scene = job_scene(cast)
    client.force_login(cast.member.user)
    assert client.get(scene.url()).status_code == 200
    record_lines(scene.tracked(), [SECRET_LINE])
    client.force_login(cast.owner.user)
    assert client.get(scene.url()).status_code == 200
    assert TeamRoster.objects.filter(team_id=cast.team["id"]).exists()
    client.logout()
    return scene


def test_a_listed_viewer_first_view_makes_no_upstream_call(client, cast, scene, sandbox):
    sandbox.reset_request_counts()
    client.force_login(cast.admin.user)
    for name in ENDPOINTS:
        response = client.get(scene.url(name))
        assert response.status_code == 200, name
        assert b"members-only" in _content(response), name
    assert sandbox.request_counts() == {}
    # Registered as a viewer, as a first look would have: the poller may use their token too.
    assert JobInterest.objects.filter(user=cast.admin.user, job=scene.tracked(), reason="viewed").exists()


def test_an_outsider_is_still_refused(client, cast, scene, sandbox):
    client.force_login(cast.outsider.user)
    for name in [*ENDPOINTS, "tracking:job_stream"]:
        response = client.get(scene.url(name))
        assert response.status_code == 404, name
        assert b"members-only" not in _content(response), name


def test_a_viewer_without_a_stored_account_is_asked_with_their_own_token(client, cast, scene, sandbox):
    """Connected before account ids were stored: the list cannot speak for them, their token does."""
    Connection.objects.filter(user=cast.admin.user).update(account_id="")
    sandbox.reset_request_counts()
    client.force_login(cast.admin.user)
    assert client.get(scene.url("tracking:job_updates")).status_code == 200
    assert sandbox.request_counts() == {f"GET /nexical{scene.api_path}": 1}


def test_a_connection_upstream_rejected_gets_no_pass_from_the_list(client, cast, scene):
    """Someone holding a listed member's account id, with a token upstream has refused."""
    stranger = dashboard_user()
    save_connection(stranger, Service.NEXICAL, secret="nx_revoked_token_0000", account_id=cast.admin.id)
    Connection.objects.filter(user=stranger).update(needs_attention=True)  # as the 401 left it
    client.force_login(stranger)
    for name in ENDPOINTS:
        response = client.get(scene.url(name))
        assert response.status_code != 200, name
        assert b"members-only" not in _content(response), name


def test_a_removed_member_loses_access_once_the_list_is_read_again(client, cast, scene):
    with override_settings(TEAM_ROSTER_SECONDS=1):
        client.force_login(cast.admin.user)
        assert client.get(scene.url("tracking:job_updates")).status_code == 200
        cast.api(cast.owner).http.delete(
            f"/teams/{cast.team['id']}/members/{cast.admin.id}"
        ).raise_for_status()
        deadline = time.monotonic() + 20
        while client.get(scene.url("tracking:job_updates")).status_code == 200:
            assert time.monotonic() < deadline, "the removed member still sees the job"
            time.sleep(0.2)
        response = client.get(scene.url("tracking:job_log_raw"))
        assert response.status_code == 404
        assert b"members-only" not in _content(response)
        # Whoever is still in the team keeps it through the same reading.
        cache.clear()
        client.force_login(cast.member.user)
        assert client.get(scene.url("tracking:job_updates")).status_code == 200


def test_an_upstream_without_member_lists_is_asked_per_viewer_as_before(client, cast, sandbox, monkeypatch):
    """The member list is an extension of the contract: where it answers 404, every viewer's own
    token decides, and the list is not asked again before it would be due."""
    asked = []

    async def no_member_list(api, *, team_id):
        asked.append(team_id)
        raise APIError(status=404, code="not_found", message="Not found.")

    monkeypatch.setattr(nexical, "team_member_list", no_member_list)
    scene = job_scene(cast)
    client.force_login(cast.member.user)
    assert client.get(scene.url()).status_code == 200  # the first look registers the job
    for person in (cast.owner, cast.admin):
        client.force_login(person.user)
        sandbox.reset_request_counts()
        assert client.get(scene.url()).status_code == 200
        assert sandbox.request_counts() == {f"GET /nexical{scene.api_path}": 1}
    assert asked == [cast.team["id"]]
    client.force_login(cast.outsider.user)
    assert client.get(scene.url()).status_code == 404


@pytest.mark.django_db(transaction=True)  # the async views read from other threads
async def test_a_team_opening_a_fresh_link_at_once_costs_one_look(cast, sandbox):
    """Nobody tracks the job yet: one viewer's token looks it up, the list admits the others."""
    scene = await asyncio.to_thread(job_scene, cast)
    await asyncio.to_thread(sandbox.reset_request_counts)
    clients = []
    for person in (cast.owner, cast.admin, cast.member):
        client = AsyncClient()
        await client.aforce_login(person.user)
        clients.append(client)
    pages = await asyncio.gather(*(client.get(scene.url()) for client in clients))
    assert [page.status_code for page in pages] == [200, 200, 200]
    counts = await asyncio.to_thread(sandbox.request_counts)
    assert counts[f"GET /nexical{scene.api_path}"] == 1
    assert counts[f"GET /nexical/teams/{cast.team['id']}/members"] == 1
