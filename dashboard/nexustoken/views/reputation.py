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
    return pages.page(request, "nexustoken/reputation.html", {"rep": rep, "info": info})
