"""A project's page (settings and branches) and a branch's page (its jobs)."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from dashboard.core.pages import Outcome, action_name, attempt, go, load, nexical_page, page
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI
from dashboard.tracking import interest
from dashboard.tracking.models import Reason
from dashboard.tracking.views.watch import watched_projects

from ..forms import BranchForm, DeleteConfirmForm, IdForm, JobForm, ProjectForm, blank_to_none
from .teams import can_manage

INVALID = Outcome(ok=False, status=400)


# --- a project's page ----------------------------------------------------------------------------


@nexical_page
async def project_detail(
    request: HttpRequest, api: NexicalAPI, team_id: int, project_id: int
) -> HttpResponse:
    forms: dict = {}
    outcome = Outcome(ok=True)
    ids = {"team_id": team_id, "project_id": project_id}
    here = reverse("project_detail", args=[team_id, project_id])
    action = action_name(request, "update_project", "delete_project", "create_branch", "delete_branch")

    if action == "update_project":
        form = ProjectForm(request.POST)
        forms["project"] = form
        if form.is_valid():
            # An emptied URL is sent as null, which clears it upstream (the form always has every field).
            call = nexical.project_update(api, **ids, **blank_to_none(form.cleaned_data))
            outcome = await attempt(request, call, form=form, conflict_field="name")
            if outcome.ok:
                messages.success(request, "Project saved.")
                return go(request, here)
        else:
            outcome = INVALID

    elif action == "delete_project":
        (project,) = await load(nexical.project_get(api, **ids))
        form = DeleteConfirmForm(request.POST, expected=project.name)
        forms["delete"] = form
        if form.is_valid():
            outcome = await attempt(request, nexical.project_delete(api, **ids), form=form)
            if outcome.ok:
                messages.success(request, f"Project “{project.name}” deleted.")
                return go(request, reverse("team_detail", args=[team_id]), same_page=False)
        else:
            outcome = INVALID

    elif action == "create_branch":
        form = BranchForm(request.POST)
        forms["branch"] = form
        if form.is_valid():
            call = nexical.branch_create(api, **ids, **blank_to_none(form.cleaned_data))
            outcome = await attempt(request, call, form=form, conflict_field="name")
            if outcome.ok:
                messages.success(request, f"Branch “{outcome.value.name}” created.")
                return go(request, here)
        else:
            outcome = INVALID

    elif action == "delete_branch":
        form = IdForm(request.POST)
        if form.is_valid():
            call = nexical.branch_delete(api, **ids, branch_id=form.cleaned_data["id"])
            outcome = await attempt(request, call)
            if outcome.ok:
                messages.success(request, "Branch deleted.")
                return go(request, here)
        else:
            outcome = Outcome(ok=False, message="That branch no longer exists. Reload the page.", status=400)

    team, project, branches = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, **ids),
        nexical.branch_list(api, **ids),
    )
    context = {
        "team": team,
        "project": project,
        "branches": branches,
        "watched": await watched_projects(request.user, team_id),
        "manage": can_manage(team),
        "project_form": forms.get("project")
        or ProjectForm(
            initial={
                "name": project.name,
                "repo_url": project.repo_url or "",
                "production_url": project.production_url or "",
                "mode": project.mode,
            }
        ),
        "branch_form": forms.get("branch") or BranchForm(),
        "delete_form": forms.get("delete") or DeleteConfirmForm(expected=project.name),
        "confirm_delete": "delete" in forms or request.GET.get("confirm") == "delete",
        "error": outcome.message,
    }
    return page(request, "orchestrator/project.html", context, status=outcome.status)


# --- a branch's page -----------------------------------------------------------------------------


@nexical_page
async def branch_detail(
    request: HttpRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int
) -> HttpResponse:
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id}
    job_form = JobForm()
    outcome = Outcome(ok=True)
    action = action_name(request, "create_job", "delete_branch")

    if action == "create_job":
        job_form = JobForm(request.POST)
        if job_form.is_valid():
            call = nexical.job_create(api, **ids, **job_form.cleaned_data)
            outcome = await attempt(request, call, form=job_form, conflict_field="type")
            if outcome.ok:
                # Tracked from now on, for this user (the poller notifies them when it ends).
                where = interest.JobPath(team_id, project_id, branch_id)
                await interest.atrack_job(request.user, outcome.value, where, Reason.TRIGGERED)
                messages.success(request, f"Job #{outcome.value.id} ({outcome.value.type}) queued.")
                return go(
                    request, reverse("job_detail", args=[*ids.values(), outcome.value.id]), same_page=False
                )
        else:
            outcome = INVALID

    elif action == "delete_branch":
        outcome = await attempt(request, nexical.branch_delete(api, **ids))
        if outcome.ok:
            messages.success(request, "Branch deleted.")
            return go(request, reverse("project_detail", args=[team_id, project_id]), same_page=False)

    team, project, branch, jobs = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, team_id=team_id, project_id=project_id),
        nexical.branch_get(api, **ids),
        nexical.job_list(api, **ids),
    )
    context = {
        "team": team,
        "project": project,
        "branch": branch,
        "jobs": sorted(jobs, key=lambda job: job.id, reverse=True),
        "manage": can_manage(team),
        "job_form": job_form,
        "confirm_delete": request.GET.get("confirm") == "delete",
        "error": outcome.message,
    }
    return page(request, "orchestrator/branch.html", context, status=outcome.status)
