"""The home page lists the user's running and recent deploys from the poller's cache, beside the
open tasks: the jobs they triggered or follow through a watched project, nobody else's, and
without asking upstream."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from dashboard.tracking.models import FINISHED, JobInterest, ProjectWatch, Reason, TrackedJob
from dashboard.tracking.views.deployments import latest_followed
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


def by_the_orm(user, running, recent, **filters):
    """What the pages read before the plain SQL: the same question asked through the ORM."""
    followed = Q(interests__user=user, interests__reason__in=[Reason.TRIGGERED, Reason.WATCHED])
    for team_id, project_id in ProjectWatch.objects.filter(user=user).values_list("team_id", "project_id"):
        followed |= Q(team_id=team_id, project_id=project_id)
    jobs = TrackedJob.objects.filter(followed).distinct().filter(**filters)
    return (
        list(jobs.exclude(status__in=FINISHED).order_by("-created_at", "-pk")[:running]),
        list(jobs.filter(status__in=FINISHED).order_by("-completed_at", "-pk")[:recent]),
    )


def test_its_statements_pick_what_the_orm_picked():
    """The home page and the deployments overview read the user's jobs in plain SQL: the same rows in
    the same order as the ORM's query, whatever the mix of reasons and the overview's filters."""
    user, other = (User.objects.create_user(unique("home")) for _ in range(2))
    now = timezone.now()
    ProjectWatch.objects.create(user=user, team_id=1, project_id=10)
    ProjectWatch.objects.create(user=other, team_id=1, project_id=11)
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

    def ids(parts):
        return [[job.pk for job in part] for part in parts]

    for count in (1, 2, 5, None):
        assert ids(latest_followed(user, count, count or 50)) == ids(by_the_orm(user, count, count or 50))
    for filters in ({"team_id": 1}, {"project_id": 11}, {"project_id": 12, "status": "pending"}):
        named = {name.removesuffix("_id"): value for name, value in filters.items()}
        assert ids(latest_followed(user, None, 50, named)) == ids(by_the_orm(user, None, 50, **filters))
    running, recent = latest_followed(user, 5, 5)
    assert {job.job_id for job in running} == {1, 3, 8} and {job.job_id for job in recent} == {2, 4, 7}
