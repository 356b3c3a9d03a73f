"""A job's page: status, inputs, outputs, timestamps and its logs, refreshed on request."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dashboard.core.pages import load, nexical_page, page
from dashboard.services import nexical
from dashboard.services.nexical import JobLog, NexicalAPI

LOG_PAGE = 1000  # the largest `limit` the contract's log endpoint takes
# At most this many pages per response (20,000 lines): a runaway log must not stall the page.
# Past it, "Load more" continues from the last line shown.
MAX_LOG_PAGES = 20


def _cursor(request: HttpRequest) -> int | None:
    """The id of the last log line the page already shows (the `after` of "Refresh logs")."""
    try:
        value = int(request.GET.get("after", ""))
    except ValueError:
        return None
    return value if value >= 0 else None


async def _logs(api: NexicalAPI, ids: dict, after: int | None) -> tuple[list[JobLog], bool]:
    """The job's log lines after the cursor, page by page: (lines, whether more remain unfetched)."""
    lines: list[JobLog] = []
    for _ in range(MAX_LOG_PAGES):
        batch = await nexical.job_logs(api, **ids, after=after, limit=LOG_PAGE)
        lines.extend(batch)
        # A short page is the end; so is an empty one from a server that ignores `limit`.
        if len(batch) < LOG_PAGE:
            return lines, False
        after = batch[-1].id
    return lines, True


@nexical_page
async def job_detail(
    request: HttpRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
    after = _cursor(request)

    if request.htmx and after is not None:
        # "Refresh logs" / "Load more": only the new lines (appended by htmx) and the job's status.
        job, (logs, more) = await load(nexical.job_get(api, **ids), _logs(api, ids, after))
        context = {
            "job": job,
            "logs": logs,
            "more": more,
            "last_log_id": logs[-1].id if logs else after,
            "oob": True,
        }
        return render(request, "orchestrator/job.html#new_logs", context)

    # Without JS, "Load more" is a plain link: the page then starts after the lines already read.
    team, project, branch, job, (logs, more) = await load(
        nexical.team_get(api, team_id=team_id),
        nexical.project_get(api, team_id=team_id, project_id=project_id),
        nexical.branch_get(api, team_id=team_id, project_id=project_id, branch_id=branch_id),
        nexical.job_get(api, **ids),
        _logs(api, ids, after),
    )
    context = {
        "team": team,
        "project": project,
        "branch": branch,
        "job": job,
        "logs": logs,
        "more": more,
        "continued": after is not None,
        "last_log_id": logs[-1].id if logs else (after or 0),
    }
    return page(request, "orchestrator/job.html", context)
