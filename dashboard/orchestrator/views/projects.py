"""A project's page (settings and branches) and a branch's page (its jobs)."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import attempt, go, load, nexical_page, page
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import Job, NexicalAPI, Project
from dashboard.tracking import interest
from dashboard.tracking.models import Reason
from dashboard.tracking.views.watch import watched_projects

from .. import access
from ..actions import Handler, Result, ask_first, dispatch, refused, row_action, submit
from ..forms import BranchForm, DeleteConfirmForm, IdForm, JobForm, ProjectForm, blank_to_none

# --- a project's page ----------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def project_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> HttpResponse:
    result = await dispatch(request, PROJECT_ACTIONS, api, team_id, project_id)
    if isinstance(result, HttpResponse):
        return result
    ids = {"team_id": team_id, "project_id": project_id}
    team, project, branches = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, **ids),
        nexical.branch_list(api, **ids),
    )
    forms = result.forms
    context = {
        "team": team,
        "project": project,
        "branches": branches,
        "access": access.TeamAccess(team=team),
        "watched": await watched_projects(request.user, team_id),
        "project_form": forms.get("project") or _settings_form(project),
        "branch_form": forms.get("branch") or BranchForm(),
        "delete_form": forms.get("delete") or DeleteConfirmForm(expected=project.name),
        "confirm_delete": "delete" in forms,
        "error": result.outcome.message,
    }
    return page(request, "orchestrator/project.html", context, status=result.outcome.status)


def _settings_form(project: Project) -> ProjectForm:
    fields = ("name", "repo_url", "production_url", "mode")
    return ProjectForm(initial={name: getattr(project, name) or "" for name in fields})


def _project_url(team_id: int, project_id: int) -> str:
    return reverse("orchestrator:project_detail", args=[team_id, project_id])


async def _update_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> Result:
    return await submit(
        request,
        ProjectForm(request.POST),
        "project",
        # An emptied URL is sent as null, which clears it upstream (the form always has every field).
        lambda data: nexical.project_update(
            api, team_id=team_id, project_id=project_id, **blank_to_none(data)
        ),
        lambda _: ("Project saved.", _project_url(team_id, project_id)),
        conflict_field="name",
    )


async def _delete_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> Result:
    (project,) = await load(nexical.project_get(api, team_id=team_id, project_id=project_id))
    return await submit(
        request,
        DeleteConfirmForm(request.POST, expected=project.name),
        "delete",
        lambda _: nexical.project_delete(api, team_id=team_id, project_id=project_id),
        lambda _: (f"Project “{project.name}” deleted.", reverse("orchestrator:team_detail", args=[team_id])),
        same_page=False,
    )


async def _create_branch(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> Result:
    return await submit(
        request,
        BranchForm(request.POST),
        "branch",
        lambda data: nexical.branch_create(
            api, team_id=team_id, project_id=project_id, **blank_to_none(data)
        ),
        lambda branch: (f"Branch “{branch.name}” created.", _project_url(team_id, project_id)),
        conflict_field="name",
    )


async def _delete_branch_row(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> Result:
    return await row_action(
        request,
        IdForm(request.POST),
        _project_url(team_id, project_id),
        "delete_branch",
        "Branch deleted.",
        lambda branch_id: nexical.branch_delete(
            api, team_id=team_id, project_id=project_id, branch_id=branch_id
        ),
    )


PROJECT_ACTIONS: dict[str, Handler] = {
    "update_project": _update_project,
    "delete_project": _delete_project,
    "create_branch": _create_branch,
    "delete_branch": _delete_branch_row,
}


# --- a branch's page -----------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def branch_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> HttpResponse:
    result = await dispatch(request, BRANCH_ACTIONS, api, team_id, project_id, branch_id)
    if isinstance(result, HttpResponse):
        return result
    team, project, branch, jobs = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, team_id=team_id, project_id=project_id),
        nexical.branch_get(api, team_id=team_id, project_id=project_id, branch_id=branch_id),
        nexical.job_list(api, team_id=team_id, project_id=project_id, branch_id=branch_id),
    )
    context = {
        "team": team,
        "project": project,
        "branch": branch,
        "jobs": sorted(jobs, key=lambda job: job.id, reverse=True),
        "access": access.TeamAccess(team=team),
        "job_form": result.forms.get("job") or JobForm(),
        "error": result.outcome.message,
    }
    return page(request, "orchestrator/branch.html", context, status=result.outcome.status)


async def _create_job(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> Result:
    where = interest.JobPath(team_id, project_id, branch_id)

    async def create_and_track(data: dict[str, Any]) -> Job:
        job = await nexical.job_create(
            api, team_id=team_id, project_id=project_id, branch_id=branch_id, **data
        )
        # Tracked from now on, for its author (the poller tells them how it ends).
        await interest.atrack_job(request.user, job, where, Reason.TRIGGERED)
        return job

    return await submit(
        request,
        JobForm(request.POST),
        "job",
        create_and_track,
        lambda job: (
            f"Job #{job.id} ({job.type}) queued.",
            reverse("orchestrator:job_detail", args=[team_id, project_id, branch_id, job.id]),
        ),
        conflict_field="type",
        same_page=False,
    )


async def _delete_branch(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> Result:
    here = reverse("orchestrator:branch_detail", args=[team_id, project_id, branch_id])
    if asking := ask_first(request, here, "delete"):
        return asking
    call = nexical.branch_delete(api, team_id=team_id, project_id=project_id, branch_id=branch_id)
    outcome = await attempt(request, call)
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, "Branch deleted.")
    return go(request, _project_url(team_id, project_id), same_page=False)


BRANCH_ACTIONS: dict[str, Handler] = {"create_job": _create_job, "delete_branch": _delete_branch}
