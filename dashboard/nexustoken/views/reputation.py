"""Reputation: how NexusToken rates the work this account has done for others."""

from django.http import HttpResponse

from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken
from dashboard.services.nexustoken import NexusTokenAPI


@menu_section("credits")
@pages.nexustoken_page
async def reputation(request: AuthenticatedRequest, api: NexusTokenAPI) -> HttpResponse:
    rep, info = await pages.load(nexustoken.reputation(api), nexustoken.credits_info(api))
    context = {"rep": rep, "info": info, "success_percent": success_percent(rep)}
    return pages.page(request, "nexustoken/reputation.html", context)


def success_percent(rep: object) -> int | None:
    """The success rate from the counts the page shows beside it (succeeded of finished), so the two
    never disagree: NexusToken's own rate once read 100 % beside "0 succeeded, 0 failed". None
    before a task has finished."""
    succeeded = getattr(rep, "tasks_succeeded", None) or 0
    failed = getattr(rep, "tasks_failed", None) or 0
    if succeeded + failed == 0:
        return None
    return round(100 * succeeded / (succeeded + failed))
