"""A job's page: status, history, inputs, outputs and its log, live from the poller's cache.

Showing the job registers it with the poller; from then on the page reads the local database only
(after checking, with the viewer's own token, that they may see the job) and the log viewer follows
the job's event stream (dashboard/tracking/views/jobs.py).
"""

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse

from dashboard.audit import Audit
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import attempt, go, nexical_page, page
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI
from dashboard.tracking import interest
from dashboard.tracking.access import viewable_job
from dashboard.tracking.models import Reason
from dashboard.tracking.views.jobs import live_job_context


@menu_section("teams")
@nexical_page
async def job_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
    tracked, sight = await viewable_job(request, api, ids)
    return page(request, "orchestrator/job.html", await live_job_context(tracked, sight))


RUN_AGAIN_GONE = (
    "This job's branch (or project) no longer exists on Nexical, so the job cannot run there again. "
    "Start a new job from a branch that exists."
)


@menu_section("teams")
@nexical_page
async def job_run_again(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    """GET: what would run again (type, inputs), with one button; POST: trigger a new job with the
    same type and inputs through the branch page's own path, then open the new job's page."""
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
    tracked, _ = await viewable_job(request, api, ids)
    context: dict[str, object] = {"job": tracked, "error": ""}
    if request.method != "POST":
        return page(request, "orchestrator/run_again.html", context)
    if not tracked.job_type:  # registered by id and never fetched: nothing to repeat yet
        context["error"] = "This job's type is not known yet; wait a moment and try again."
        return page(request, "orchestrator/run_again.html", context, status=409)
    inputs = tracked.inputs if isinstance(tracked.inputs, dict) else None
    where = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id}
    # As job.trigger: the type only, never the inputs (the deploy's own business, maybe secrets).
    audit = Audit(
        "job.rerun",
        team_id=team_id,
        project_id=project_id,
        target=f"job {job_id}",
        detail={"type": tracked.job_type, "branch_id": branch_id, "again_of": job_id},
        from_result=lambda job: {"job_id": job.id},
    )
    call = nexical.job_create(api, **where, type=tracked.job_type, inputs=inputs)
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        gone = outcome.status == 404
        context["error"] = RUN_AGAIN_GONE if gone else outcome.message
        return page(request, "orchestrator/run_again.html", context, status=outcome.status)
    new = outcome.result
    names = interest.Names(tracked.team_name, tracked.project_name, tracked.branch_name)
    await interest.atrack_job(
        request.user, new, interest.JobPath(team_id, project_id, branch_id), Reason.TRIGGERED, names
    )
    messages.success(
        request, f"Job #{new.id} ({new.type}) queued: #{job_id} again.", extra_tags=f"job-status-{new.status}"
    )
    return go(
        request,
        reverse("orchestrator:job_detail", args=[team_id, project_id, branch_id, new.id]),
        same_page=False,
    )
