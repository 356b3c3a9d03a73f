"""The deployments overview: the user's running and recent jobs across everything they follow.

Read from the poller's cache like the job page; rows of a team the viewer's token no longer sees
are left out (that answer is cached per team, see access.viewable_teams).
"""

from collections.abc import Mapping
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.contrib.auth.models import User
from django.db import connection
from django.http import HttpResponse
from django.shortcuts import render

from dashboard.core import tracker
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page, page
from dashboard.core.rows import columns, rows
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


# The user's jobs, here and on the home page: those they triggered or follow through a watched project
# (not those merely viewed). Plain SQL: built with the ORM, the page's reads took several ms of CPU (the
# watches read first, then a join made distinct, for each list). Only names from the models are formatted in.
_JOBS, _INTERESTS, _WATCHES = (model._meta.db_table for model in (TrackedJob, JobInterest, ProjectWatch))
_COLUMNS = columns(TrackedJob)
_FOLLOWED = (
    f"(id IN (SELECT job_id FROM {_INTERESTS} WHERE user_id = %s AND reason IN (%s, %s))"  # noqa: S608
    f" OR EXISTS (SELECT 1 FROM {_WATCHES} AS watch WHERE watch.user_id = %s"
    f" AND watch.team_id = {_JOBS}.team_id AND watch.project_id = {_JOBS}.project_id))"
)
_FINISHED = sorted(str(status.value) for status in FINISHED)
_FINISHED_IN = ", ".join(["%s"] * len(_FINISHED))
# Each filter of the overview narrows the lists by one column.
_FILTERS = {"team": "team_id", "project": "project_id", "status": "status"}


def _followed(user: User, filters: Mapping[str, Any]) -> tuple[str, list[int | str]]:
    """The condition on the jobs table for the user's jobs, narrowed by `filters`, and its parameters."""
    where = _FOLLOWED
    params: list[int | str] = [user.pk, Reason.TRIGGERED.value, Reason.WATCHED.value, user.pk]
    for name, column in _FILTERS.items():
        if filters.get(name):
            where += f" AND {column} = %s"
            params.append(filters[name])
    return where, params


def latest_followed(
    user: User, running: int | None, recent: int, filters: Mapping[str, Any] | None = None
) -> tuple[list[TrackedJob], list[TrackedJob]]:
    """(the user's running or pending jobs, newest first; their latest finished ones), up to these
    counts (`running` None: all of them)."""
    where, params = _followed(user, filters or {})
    limit = "" if running is None else " LIMIT %s"
    active = f"SELECT {_COLUMNS} FROM {_JOBS} WHERE {where} AND status NOT IN ({_FINISHED_IN})"  # noqa: S608
    finished = f"SELECT {_COLUMNS} FROM {_JOBS} WHERE {where} AND status IN ({_FINISHED_IN})"  # noqa: S608
    return (
        rows(
            TrackedJob,
            f"{active} ORDER BY created_at DESC, id DESC{limit}",
            [*params, *_FINISHED, *([] if running is None else [running])],
        ),
        rows(
            TrackedJob,
            f"{finished} ORDER BY completed_at DESC, id DESC LIMIT %s",
            [*params, *_FINISHED, recent],
        ),
    )


# A followed project, with the names shown in the filters: (team id, team name, project id, project name).
type Place = tuple[int, str, int, str]


def _places(user: User) -> list[Place]:
    where, params = _followed(user, {})
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT DISTINCT team_id, team_name, project_id, project_name FROM {_JOBS} WHERE {where}",  # noqa: S608
            params,
        )
        places: list[Place] = cursor.fetchall()
    return sorted(places, key=lambda place: (place[1], place[3]))


def _rows(
    user: User, filters: Mapping[str, Any]
) -> tuple[list[TrackedJob], list[TrackedJob], list[Place], tracker.Tracker]:
    """(running or pending jobs, recent finished jobs, every followed (team, project) for the filters,
    the poller's state): the page's reads, in one trip to the request's thread."""
    active, recent = latest_followed(user, None, RECENT, filters)
    return active, recent, _places(user), tracker.read()


@menu_section("deployments")
@nexical_page
async def deployments(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form = FilterForm(request.GET)
    filters = form.cleaned_data if form.is_valid() else {}
    active, recent, places, poller = await sync_to_async(_rows)(request.user, filters)
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
        "tracker": poller,
    }
    if request.htmx and request.htmx.target == "deployment-rows":
        # The periodic refresh of an open overview: only the rows.
        return render(request, "tracking/deployments.html#rows", context)
    return page(request, "tracking/deployments.html", context, status=200 if form.is_valid() else 400)
