"""The home page lists the user's running and recent deploys from the poller's cache, beside the
open tasks: the jobs they triggered or follow through a watched project, nobody else's, and
without asking upstream."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from dashboard.tracking.models import JobInterest, ProjectWatch, Reason, TrackedJob
from dashboard.tracking.views.deployments import followed_jobs, latest_followed, running_and_recent
from tests.support.helpers import unique
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


def test_its_two_statements_pick_what_the_deployments_overview_picks():
    """The home page reads `latest_followed` (plain SQL); the overview composes `followed_jobs` and
    `running_and_recent` (the ORM). The same rows in the same order, whatever the mix of reasons."""
    user, other = (User.objects.create_user(unique("home")) for _ in range(2))
    now = timezone.now()
    ProjectWatch.objects.create(user=user, team_id=1, project_id=10)
    ProjectWatch.objects.create(user=other, team_id=1, project_id=11)
    jobs = []
    for n, (project, status, reason, interested) in enumerate(
        [
            (10, "running", None, None),  # of a watched project
            (10, "completed", Reason.VIEWED, user),  # watched, viewed too
            (11, "pending", Reason.TRIGGERED, user),
            (11, "failed", Reason.WATCHED, user),
            (11, "running", Reason.VIEWED, user),  # only viewed: not followed
            (11, "running", Reason.TRIGGERED, other),  # someone else's
            (12, "completed", Reason.TRIGGERED, user),
            (12, "pending", Reason.TRIGGERED, user),
        ]
    ):
        job = TrackedJob.objects.create(
            team_id=1,
            project_id=project,
            branch_id=1,
            job_id=n + 1,
            status=status,
            created_at=None if n == 7 else now - timedelta(minutes=n % 3),
            completed_at=now - timedelta(minutes=n) if status in ("completed", "failed") else None,
        )
        if interested:
            JobInterest.objects.create(user=interested, job=job, reason=reason)
        jobs.append(job)

    for count in (1, 2, 5):
        composed = async_to_sync(running_and_recent)(
            async_to_sync(followed_jobs)(user), running=count, recent=count
        )
        plain = latest_followed(user, count)
        assert [[job.pk for job in part] for part in plain] == [[job.pk for job in part] for part in composed]
    running, recent = latest_followed(user, 5)
    assert {job.job_id for job in running} == {1, 3, 8} and {job.job_id for job in recent} == {2, 4, 7}
