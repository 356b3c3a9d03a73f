"""Capabilities: what this account offers other NexusToken users, and the market of everyone's."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse

from dashboard.audit import Audit
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.sections import menu_section
from dashboard.services import nexustoken
from dashboard.services.nexustoken import Capability, NexusTokenAPI

from ..forms.credits import AvailabilityForm, BrowseForm, CapabilityForm

NOT_YOURS = "That capability is not one of yours, or it no longer exists. Reload the page."


async def _register(
    request: AuthenticatedRequest, api: NexusTokenAPI, form: CapabilityForm
) -> pages.Outcome[Capability]:
    if not form.is_valid():
        return pages.INVALID
    call = nexustoken.capability_create(api, **form.cleaned_data)
    audit = Audit("capability.create", target=str(form.cleaned_data.get("name", "")))
    outcome = await pages.attempt(request, call, form=form, audit=audit)
    if outcome.ok:
        messages.success(request, f"Capability “{outcome.result.name}” registered.")
    return outcome


async def _toggle(request: AuthenticatedRequest, api: NexusTokenAPI) -> pages.Outcome[Capability]:
    form = AvailabilityForm(request.POST)
    if not form.is_valid():
        return pages.Outcome(ok=False, message=NOT_YOURS, status=400)
    call = nexustoken.capability_set_availability(
        api,
        capability_id=str(form.cleaned_data["capability_id"]),
        is_available=form.cleaned_data["is_available"],
    )
    audit = Audit(
        "capability.availability",
        target=f"capability {form.cleaned_data['capability_id']}",
        detail={"available": form.cleaned_data["is_available"]},
    )
    outcome = await pages.attempt(request, call, audit=audit)
    if outcome.ok:
        state = "available" if outcome.result.is_available else "paused"
        messages.success(request, f"“{outcome.result.name}” is now {state}.")
    elif outcome.status == 404:
        outcome.message = NOT_YOURS
    return outcome


@menu_section("credits")
@pages.nexustoken_page
async def capabilities(request: AuthenticatedRequest, api: NexusTokenAPI) -> HttpResponse:
    form, outcome = CapabilityForm(), pages.Outcome[Any](ok=True)
    action = pages.action_name(request, "register", "availability") if request.method == "POST" else None
    if action == "register":
        form = CapabilityForm(request.POST)
        outcome = await _register(request, api, form)
    elif action == "availability":
        outcome = await _toggle(request, api)
    if action and outcome.ok:
        return pages.go(request, reverse("nexustoken:capabilities"))

    # Its own ids: the register form above has a `category` field too, and two id_category broke
    # both labels. The names (the query string) stay.
    browse = BrowseForm(request.GET or None, auto_id="browse_%s")
    filters = browse.filters() if browse.is_valid() else {}
    mine, market = await pages.load(
        nexustoken.capability_list(api), nexustoken.capability_browse(api, **filters)
    )
    context = {"form": form, "mine": mine, "market": market, "browse": browse, "error": outcome.message}
    return pages.page(request, "nexustoken/capabilities.html", context, status=outcome.status)


@menu_section("credits")
@pages.nexustoken_page
async def capability_stats(
    request: AuthenticatedRequest, api: NexusTokenAPI, capability_id: UUID
) -> HttpResponse:
    # Public upstream, like browse: anyone choosing a provider may read its record.
    (stats,) = await pages.load(nexustoken.capability_stats(api, capability_id=str(capability_id)))
    return pages.page(request, "nexustoken/capability.html", {"stats": stats})
