"""A project's page (settings and branches) and a branch's page (its jobs)."""

from typing import Any

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.urls import reverse

from dashboard.audit import Audit
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    STALE_ROW,
    UNKNOWN_ACTION,
    ActionResult,
    Outcome,
    action_name,
    ask_first,
    attempt,
    go,
    load,
    nexical_page,
    page,
)
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI, Project
from dashboard.tracking import interest
from dashboard.tracking.models import Reason
from dashboard.tracking.views.watch import watched_projects

from .. import access
from ..forms import BranchForm, DeleteConfirmForm, IdForm, JobForm, ProjectForm, blank_to_none

# --- a project's page ----------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def project_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> HttpResponse:
    bound: dict[str, Form] = {}  # the form that was posted comes back with its errors
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        action = action_name(request, "update_project", "delete_project", "create_branch", "delete_branch")
        result: ActionResult
        if action == "update_project":
            result = await _update_project(request, api, team_id, project_id, bound)
        elif action == "delete_project":
            result = await _delete_project(request, api, team_id, project_id, bound)
        elif action == "create_branch":
            result = await _create_branch(request, api, team_id, project_id, bound)
        elif action == "delete_branch":
            result = await _delete_branch_row(request, api, team_id, project_id)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result

    ids = {"team_id": team_id, "project_id": project_id}
    team, project, branches = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, **ids),
        nexical.branch_list(api, **ids),
    )
    context = {
        "team": team,
        "project": project,
        "branches": branches,
        "access": access.TeamAccess(team=team),
        "watched": await watched_projects(request.user, team_id),
        "project_form": bound.get("project") or _settings_form(project),
        "branch_form": bound.get("branch") or BranchForm(),
        "delete_form": bound.get("delete") or DeleteConfirmForm(expected=project.name),
        "confirm_delete": "delete" in bound,
        "error": outcome.message,
    }
    return page(request, "orchestrator/project.html", context, status=outcome.status)


def _settings_form(project: Project) -> ProjectForm:
    fields = ("name", "repo_url", "production_url", "mode")
    return ProjectForm(initial={name: getattr(project, name) or "" for name in fields})


def _project_url(team_id: int, project_id: int) -> str:
    return reverse("orchestrator:project_detail", args=[team_id, project_id])


async def _update_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, bound: dict[str, Form]
) -> ActionResult:
    bound["project"] = form = ProjectForm(request.POST)
    if not form.is_valid():
        return INVALID
    # An emptied URL is sent as null, which clears it upstream (the form always has every field).
    call = nexical.project_update(
        api, team_id=team_id, project_id=project_id, **blank_to_none(form.cleaned_data)
    )
    # Only the name and mode: a repository URL may carry credentials.
    audit = Audit(
        "project.update",
        team_id=team_id,
        project_id=project_id,
        target=form.cleaned_data["name"],
        detail={"mode": form.cleaned_data["mode"]},
    )
    outcome = await attempt(request, call, form=form, conflict_field="name", audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Project saved.")
    return go(request, _project_url(team_id, project_id))


async def _delete_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, bound: dict[str, Form]
) -> ActionResult:
    (project,) = await load(nexical.project_get(api, team_id=team_id, project_id=project_id))
    bound["delete"] = form = DeleteConfirmForm(request.POST, expected=project.name)
    if not form.is_valid():
        return INVALID
    call = nexical.project_delete(api, team_id=team_id, project_id=project_id)
    audit = Audit("project.delete", team_id=team_id, project_id=project_id, target=project.name)
    outcome = await attempt(request, call, form=form, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, f"Project “{project.name}” deleted.")
    return go(request, reverse("orchestrator:team_detail", args=[team_id]), same_page=False)


async def _create_branch(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, bound: dict[str, Form]
) -> ActionResult:
    bound["branch"] = form = BranchForm(request.POST)
    if not form.is_valid():
        return INVALID
    call = nexical.branch_create(
        api, team_id=team_id, project_id=project_id, **blank_to_none(form.cleaned_data)
    )
    audit = Audit(
        "branch.create",
        team_id=team_id,
        project_id=project_id,
        target=form.cleaned_data["name"],
        from_result=lambda branch: {"branch_id": branch.id},
    )
    outcome = await attempt(request, call, form=form, conflict_field="name", audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, f"Branch “{outcome.result.name}” created.")
    return go(request, _project_url(team_id, project_id))


async def _delete_branch_row(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int
) -> ActionResult:
    form = IdForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    branch_id = form.cleaned_data["id"]
    here = _project_url(team_id, project_id)
    if asking := ask_first(request, here, "delete_branch", branch_id):
        return asking
    call = nexical.branch_delete(api, team_id=team_id, project_id=project_id, branch_id=branch_id)
    audit = Audit("branch.delete", team_id=team_id, project_id=project_id, target=f"branch {branch_id}")
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Branch deleted.")
    return go(request, here)


# --- a branch's page -----------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def branch_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> HttpResponse:
    job_form, outcome = JobForm(), Outcome[Any](ok=True)
    if request.method == "POST":
        action = action_name(request, "create_job", "delete_branch")
        result: ActionResult
        if action == "create_job":
            job_form = JobForm(request.POST)
            result = await _create_job(request, api, team_id, project_id, branch_id, job_form)
        elif action == "delete_branch":
            result = await _delete_branch(request, api, team_id, project_id, branch_id)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result

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
        "job_form": job_form,
        "error": outcome.message,
    }
    return page(request, "orchestrator/branch.html", context, status=outcome.status)


async def _create_job(
    request: AuthenticatedRequest,
    api: NexicalAPI,
    team_id: int,
    project_id: int,
    branch_id: int,
    form: JobForm,
) -> ActionResult:
    if not form.is_valid():
        return INVALID
    call = nexical.job_create(
        api, team_id=team_id, project_id=project_id, branch_id=branch_id, **form.cleaned_data
    )
    # The job's type only: its inputs are the deploy's own business and may hold secrets.
    audit = Audit(
        "job.trigger",
        team_id=team_id,
        project_id=project_id,
        target=f"branch {branch_id}",
        detail={"type": form.cleaned_data["type"], "branch_id": branch_id},
        from_result=lambda job: {"job_id": job.id},
    )
    outcome = await attempt(request, call, form=form, conflict_field="type", audit=audit)
    if not outcome.ok:
        return outcome
    job = outcome.result
    # Tracked from now on, for its author (the poller tells them how it ends).
    where = interest.JobPath(team_id, project_id, branch_id)
    await interest.atrack_job(request.user, job, where, Reason.TRIGGERED)
    # Tagged with the state it describes: the job page drops it once the job's status moves on.
    messages.success(request, f"Job #{job.id} ({job.type}) queued.", extra_tags=f"job-status-{job.status}")
    return go(
        request,
        reverse("orchestrator:job_detail", args=[team_id, project_id, branch_id, job.id]),
        same_page=False,
    )


async def _delete_branch(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> ActionResult:
    here = reverse("orchestrator:branch_detail", args=[team_id, project_id, branch_id])
    if asking := ask_first(request, here, "delete"):
        return asking
    call = nexical.branch_delete(api, team_id=team_id, project_id=project_id, branch_id=branch_id)
    audit = Audit("branch.delete", team_id=team_id, project_id=project_id, target=f"branch {branch_id}")
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Branch deleted.")
    return go(request, _project_url(team_id, project_id), same_page=False)
