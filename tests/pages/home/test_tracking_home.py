"""The home page lists the user's running and recent deploys from the poller's cache, beside the
open tasks: the jobs they triggered or follow through a watched project, nobody else's, and
without asking upstream."""

import pytest
from django.urls import reverse

from dashboard.tracking.models import ProjectWatch, Reason
from tests.support.live_helpers import record_status
from tests.support.orchestrator_cast import as_user
from tests.support.tracking_helpers import new_branch

pytestmark = pytest.mark.django_db


def section(page: str, element_id: str) -> str:
    start = page.index(f'id="{element_id}"')
    return page[start : page.index("</section>", start)]


def test_it_shows_the_owners_running_deploy_on_home_and_not_to_an_outsider(client, cast, sandbox):
    place = new_branch(cast)
    running = place.track(cast.owner, place.new_job(), Reason.TRIGGERED)
    finished = place.track(cast.owner, place.new_job(), Reason.TRIGGERED)
    record_status(running, "running")
    record_status(finished, "completed", logs_complete=True)

    as_user(client, cast.owner)
    sandbox.reset_request_counts()
    page = client.get(reverse("home:home")).content.decode()
    assert not [call for call in sandbox.request_counts() if "/nexical/" in call]  # the local tables only
    assert f'data-tracked-job="{running.job_id}" data-status="running"' in section(
        page, "home-running-deploys"
    )
    assert f'data-tracked-job="{finished.job_id}"' not in section(page, "home-running-deploys")
    assert f'data-tracked-job="{finished.job_id}" data-status="completed"' in section(
        page, "home-recent-deploys"
    )

    as_user(client, cast.outsider)
    page = client.get(reverse("home:home")).content.decode()
    assert "data-tracked-job" not in page
    assert "Nothing of yours is running or waiting right now." in page


def test_it_shows_a_member_the_deploys_of_a_project_they_watch_only(client, cast):
    place = new_branch(cast)
    running = place.track(cast.owner, place.new_job(), Reason.TRIGGERED)
    record_status(running, "running")

    as_user(client, cast.member)
    assert "data-tracked-job" not in client.get(reverse("home:home")).content.decode()  # not theirs
    ProjectWatch.objects.create(
        user=cast.member.user, team_id=cast.team["id"], project_id=place.project["id"]
    )
    page = client.get(reverse("home:home")).content.decode()
    assert f'data-tracked-job="{running.job_id}"' in section(page, "home-running-deploys")


def test_it_leaves_out_deploys_of_a_team_that_refused_the_user(client, cast):
    place = new_branch(cast)
    running = place.track(cast.member, place.new_job(), Reason.TRIGGERED)
    record_status(running, "running")
    as_user(client, cast.member)
    assert f'data-tracked-job="{running.job_id}"' in client.get(reverse("home:home")).content.decode()

    cast.api(cast.owner).http.delete(f"/teams/{cast.team['id']}/members/{cast.member.id}").raise_for_status()
    client.get(reverse("tracking:deployments"))  # asks upstream once, and remembers "not yours" for the team
    assert "data-tracked-job" not in client.get(reverse("home:home")).content.decode()


def test_it_asks_a_stranger_to_sign_in(client):
    response = client.get(reverse("home:home"))
    assert response.status_code == 302 and response.url.startswith(reverse("login"))
