"""Search, outline and level counts of a tracked job's whole cached log, as JSON for the log viewer.

All read the poller's cache, never upstream, after `access.viewable_job` has checked that the
viewer may see the job (a stranger gets a 404). See tracking/logsearch.py for how each is answered.
"""

from asgiref.sync import sync_to_async
from django.http import JsonResponse
from django.views.decorators.http import require_GET

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page
from dashboard.services.nexical import NexicalAPI

from .. import logsearch
from ..access import viewable_job


def _ids(team_id: int, project_id: int, branch_id: int, job_id: int) -> dict[str, int]:
    return {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}


def _flag(request: AuthenticatedRequest, name: str) -> bool:
    return request.GET.get(name, "") in ("1", "true", "on")


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_log_search(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> JsonResponse:
    """`?q=` (case-insensitive substring; `regex=1` for a regular expression, `case=1` to match case;
    `hide=info,warn` leaves out the lines of the levels the reader filtered out): how many lines
    match in the whole log, and the numbers of the first MAX_RESULTS."""
    tracked, _ = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    try:
        query = logsearch.checked(
            request.GET.get("q"),
            regex=_flag(request, "regex"),
            case=_flag(request, "case"),
            hidden=request.GET.get("hide"),
        )
        found = await sync_to_async(logsearch.search)(tracked.pk, query)
    except logsearch.SearchError as error:
        return _no_store(JsonResponse({"error": str(error)}, status=400))
    return _no_store(JsonResponse(found))


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_log_outline(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> JsonResponse:
    """The log's step groups (name, first and last line, size, duration, an error inside, depth) and
    its error lines."""
    tracked, _ = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    return _no_store(JsonResponse(await sync_to_async(logsearch.outline)(tracked.pk)))


@nexical_page  # sign-in first: a stranger is sent to log in, whatever the method
@require_GET
async def job_log_levels(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> JsonResponse:
    """How many lines of each level each block of line numbers holds (see logsearch.level_counts)."""
    tracked, _ = await viewable_job(request, api, _ids(team_id, project_id, branch_id, job_id))
    return _no_store(JsonResponse(await sync_to_async(logsearch.level_counts)(tracked.pk)))


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"  # a running job's log grows: never answer from a cache
    return response
