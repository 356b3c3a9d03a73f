"""The deployments overview: the user's running and recent jobs across everything they follow.

Read from the poller's cache like the job page; rows of a team the viewer's token no longer sees
are left out (that answer is cached per team, see access.viewable_teams).
"""

from collections.abc import Mapping
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import HttpResponse
from django.shortcuts import render

from dashboard.core import tracker
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page, page
from dashboard.core.sections import menu_section
from dashboard.services.nexical import NexicalAPI

from ..access import viewable_teams
from ..models import FINISHED, JobInterest, ProjectWatch, Reason, Status, TrackedJob

RECENT = 50  # finished jobs listed under "Recent"
REFRESH_SECONDS = 3  # how often an open overview with running jobs asks for fresh rows


class FilterForm(forms.Form):
    # Team and project are offered as selects of what the user follows (see the template).
    team = forms.IntegerField(required=False, min_value=1)
    project = forms.IntegerField(required=False, min_value=1)
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])


def _followed(user: User, watches: list[tuple[int, int]]) -> QuerySet[TrackedJob]:
    """The jobs the user triggered or follows through a watched project (not those merely viewed)."""
    followed = Q(interests__user=user, interests__reason__in=[Reason.TRIGGERED, Reason.WATCHED])
    for team_id, project_id in watches:
        followed |= Q(team_id=team_id, project_id=project_id)
    return TrackedJob.objects.filter(followed).distinct()


async def followed_jobs(user: User) -> QuerySet[TrackedJob]:
    """The user's jobs, here and on the home page: triggered, or of a project they watch."""
    watches = [w async for w in ProjectWatch.objects.filter(user=user).values_list("team_id", "project_id")]
    return _followed(user, watches)


async def running_and_recent(
    jobs: QuerySet[TrackedJob], *, running: int | None = None, recent: int = RECENT
) -> tuple[list[TrackedJob], list[TrackedJob]]:
    """(running or pending jobs, newest first; the latest finished ones), up to these counts."""
    active = [job async for job in jobs.exclude(status__in=FINISHED).order_by("-created_at", "-pk")[:running]]
    finished = [
        job async for job in jobs.filter(status__in=FINISHED).order_by("-completed_at", "-pk")[:recent]
    ]
    return active, finished


# `running_and_recent(followed_jobs(user))` for the home page, as two plain statements in one trip to
# the request's thread: built with the ORM they took about 1.5 ms of CPU (the watches read first, then
# a join made distinct). The same rows in the same order; only table names are formatted in.
_JOBS, _INTERESTS, _WATCHES = (model._meta.db_table for model in (TrackedJob, JobInterest, ProjectWatch))
_FOLLOWED_BY = (
    f"SELECT * FROM {_JOBS} WHERE (id IN (SELECT job_id FROM {_INTERESTS}"  # noqa: S608
    " WHERE user_id = %s AND reason IN (%s, %s))"
    f" OR EXISTS (SELECT 1 FROM {_WATCHES} AS watch WHERE watch.user_id = %s"
    f" AND watch.team_id = {_JOBS}.team_id AND watch.project_id = {_JOBS}.project_id))"
)
_FINISHED = ", ".join(["%s"] * len(FINISHED))
_LATEST_RUNNING = f"{_FOLLOWED_BY} AND status NOT IN ({_FINISHED}) ORDER BY created_at DESC, id DESC LIMIT %s"
_LATEST_FINISHED = f"{_FOLLOWED_BY} AND status IN ({_FINISHED}) ORDER BY completed_at DESC, id DESC LIMIT %s"


def latest_followed(user: User, count: int) -> tuple[list[TrackedJob], list[TrackedJob]]:
    """The user's running or pending jobs and their latest finished ones, `count` of each, newest first."""
    followed_by = [user.pk, Reason.TRIGGERED.value, Reason.WATCHED.value, user.pk]
    finished = sorted(str(status.value) for status in FINISHED)
    return (
        list(TrackedJob.objects.raw(_LATEST_RUNNING, [*followed_by, *finished, count])),
        list(TrackedJob.objects.raw(_LATEST_FINISHED, [*followed_by, *finished, count])),
    )


# A followed project, with the names shown in the filters: (team id, team name, project id, project name).
type Place = tuple[int, str, int, str]


async def _rows(
    request: AuthenticatedRequest, filters: Mapping[str, Any]
) -> tuple[list[TrackedJob], list[TrackedJob], list[Place]]:
    """(running or pending jobs, recent finished jobs, every followed (team, project) for the filters)."""
    jobs = await followed_jobs(request.user)
    places = {
        (job.team_id, job.team_name, job.project_id, job.project_name)
        async for job in jobs.only("team_id", "team_name", "project_id", "project_name")
    }
    if filters.get("team"):
        jobs = jobs.filter(team_id=filters["team"])
    if filters.get("project"):
        jobs = jobs.filter(project_id=filters["project"])
    if filters.get("status"):
        jobs = jobs.filter(status=filters["status"])
    active, recent = await running_and_recent(jobs)
    return active, recent, sorted(places, key=lambda place: (place[1], place[3]))


@menu_section("deployments")
@nexical_page
async def deployments(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form = FilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    active, recent, places = await _rows(request, filters)
    visible = await viewable_teams(request, api, {job.team_id for job in active + recent})
    active = [job for job in active if job.team_id in visible]
    recent = [job for job in recent if job.team_id in visible]
    places = [place for place in places if place[0] in visible]
    context = {
        "form": form,
        "filters": filters,
        "active": active,
        "recent": recent,
        "teams": sorted({(place[0], place[1]) for place in places}, key=lambda team: team[1]),
        "projects": [place for place in places if not filters.get("team") or place[0] == filters["team"]],
        "refresh_seconds": REFRESH_SECONDS if active else None,
        "query": request.GET.urlencode(),
        "tracker": await tracker.aread(),
    }
    if request.htmx and request.htmx.target == "deployment-rows":
        # The periodic refresh of an open overview: only the rows.
        return render(request, "tracking/deployments.html#rows", context)
    return page(request, "tracking/deployments.html", context, status=200 if form.is_valid() else 400)
