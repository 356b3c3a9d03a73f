"""A job's page: status, inputs, outputs, timestamps and its logs, refreshed on request."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from ..upstream import load, nexical_page, page


def _cursor(request: HttpRequest) -> int | None:
    """The id of the last log line the page already shows (the `after` of "Refresh logs")."""
    try:
        value = int(request.GET.get("after", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


@nexical_page
async def job_detail(
    request: HttpRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
    after = _cursor(request)

    if request.htmx and after is not None:
        # "Refresh logs": only the new lines (appended by htmx) and the job's current status.
        job, logs = await load(nexical.job_get(api, **ids), nexical.job_logs(api, **ids, after=after))
        context = {"job": job, "logs": logs, "last_log_id": logs[-1].id if logs else after, "oob": True}
        return render(request, "orchestrator/job.html#new_logs", context)

    team, project, branch, job, logs = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, team_id=team_id, project_id=project_id),
        nexical.branch_get(api, team_id=team_id, project_id=project_id, branch_id=branch_id),
        nexical.job_get(api, **ids),
        nexical.job_logs(api, **ids),
    )
    context = {
        "team": team,
        "project": project,
        "branch": branch,
        "job": job,
        "logs": logs,
        "last_log_id": logs[-1].id if logs else 0,
    }
    return page(request, "orchestrator/job.html", context)
