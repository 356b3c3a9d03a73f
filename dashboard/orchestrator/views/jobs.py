"""A job's page: status, history, inputs, outputs and its log, live from the poller's cache.

Showing the job registers it with the poller; from then on the page reads the local database only
(after checking, with the viewer's own token, that they may see the job) and the log viewer follows
the job's event stream (dashboard/tracking/views/jobs.py).
"""

from django.http import HttpResponse

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import nexical_page, page
from dashboard.core.sections import menu_section
from dashboard.services.nexical import NexicalAPI
from dashboard.tracking.access import viewable_job
from dashboard.tracking.views.jobs import live_job_context


@menu_section("teams")
@nexical_page
async def job_detail(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, project_id: int, branch_id: int, job_id: int
) -> HttpResponse:
    ids = {"team_id": team_id, "project_id": project_id, "branch_id": branch_id, "job_id": job_id}
    tracked, sight = await viewable_job(request, api, ids)
    return page(request, "orchestrator/job.html", await live_job_context(tracked, sight))
