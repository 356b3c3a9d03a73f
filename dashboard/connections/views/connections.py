"""Settings > Connections: one page, a card per upstream service, every action a POST.

The POST picks its action by the submit button's name (`nexical_save`, `nexustoken_rotate`, …).
Without JavaScript each action posts the whole page and is redirected back (or re-rendered when it
has something to show once, like a new API key). With htmx the same view answers with just the
card that changed, rendered from the `{% partialdef %}` of the page template.
"""

import asyncio

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods
from django_htmx.http import HttpResponseClientRedirect

from dashboard.accounts.models import Service
from dashboard.core.compression import uncompressed
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.pages import action_name

from . import nexical_card, nexustoken_card
from .nexical_card import NexicalCard
from .nexustoken_card import NexusTokenCard

TEMPLATE = "connections/connections.html"
NEXICAL_BUTTONS = (
    "nexical_save",
    "nexical_device_start",
    "nexical_device_poll",
    "nexical_device_cancel",
    "nexical_remove",
)
NEXUSTOKEN_BUTTONS = (
    "nexustoken_save",
    "nexustoken_register",
    "nexustoken_recover",
    "nexustoken_recover_verify",
    "nexustoken_recover_cancel",
    "nexustoken_rotate",
    "nexustoken_webhook_save",
    "nexustoken_webhook_rotate",
    "nexustoken_remove",
)
# The actions that connect a service with credentials the user already holds. Registering or
# recovering also connects, but shows a new key once: those stay on the page so it can be copied.
CONNECTS = {"nexical_save", "nexical_device_poll", "nexustoken_save"}


def _next_url(request: AuthenticatedRequest) -> str:
    """Where to go back to after connecting (a page that sent the user here to connect first):
    `next` from the page's address, or from the form (htmx posts it), only if it stays on this site."""
    url = request.POST.get("next") or request.GET.get("next") or ""
    safe = url_has_allowed_host_and_scheme(
        url, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    )
    return url if safe else ""


def _back(request: AuthenticatedRequest, notice: str, next_url: str) -> HttpResponse:
    """The connect succeeded: go back to the page that asked for it, with the card's sentence."""
    if request.htmx:  # a plain post already has the sentence queued by cards.finish
        messages.success(request, notice)
        return HttpResponseClientRedirect(next_url)
    return redirect(next_url)


async def _nexical_action(request: AuthenticatedRequest, name: str, card: NexicalCard) -> HttpResponse | None:
    """Run the Nexical card's action: a response of its own (a redirect), or None when the card,
    now holding what the action changed (a form with errors, a sentence), is drawn again."""
    if name == "nexical_save":
        return await nexical_card.save_token(request, card)
    if name == "nexical_device_start":
        return await nexical_card.device_start(request, card)
    if name == "nexical_device_poll":
        return await nexical_card.device_poll(request, card)
    if name == "nexical_device_cancel":
        return await nexical_card.device_cancel(request, card)
    return await nexical_card.remove(request, card)  # nexical_remove


async def _nexustoken_action(
    request: AuthenticatedRequest, name: str, card: NexusTokenCard
) -> HttpResponse | None:
    """Run the NexusToken card's action (as `_nexical_action` does)."""
    if name == "nexustoken_save":
        return await nexustoken_card.save_key(request, card)
    if name == "nexustoken_register":
        return await nexustoken_card.register(request, card)
    if name == "nexustoken_recover":
        return await nexustoken_card.recover_start(request, card)
    if name == "nexustoken_recover_verify":
        return await nexustoken_card.recover_verify(request, card)
    if name == "nexustoken_recover_cancel":
        return await nexustoken_card.recover_cancel(request, card)
    if name == "nexustoken_rotate":
        return await nexustoken_card.rotate_key(request, card)
    if name == "nexustoken_webhook_save":
        return await nexustoken_card.webhook_save(request, card)
    if name == "nexustoken_webhook_rotate":
        return await nexustoken_card.webhook_rotate(request, card)
    return await nexustoken_card.remove(request, card)  # nexustoken_remove


def _refresh_alerts(request: AuthenticatedRequest) -> None:
    """Keep the layout's reconnect banner true to what this response changed or just learned (the
    middleware listed the alerts before an action replaced a connection or the upstream rejected one)."""
    alerts = (connection for connection in request.connections.values() if connection.needs_attention)
    request.connection_alerts = sorted(alerts, key=lambda connection: connection.service)


# Every field posted here is a credential or leads to one: keep them all out of DEBUG's error page
# and of error reports. The page can show a new API key once, so no cache may keep a copy either.
@uncompressed  # a new API key shown once: see dashboard/core/compression.py (BREACH)
@sensitive_post_parameters()
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
async def connections(request: AuthenticatedRequest) -> HttpResponse:
    nexical, nexustoken = NexicalCard(), NexusTokenCard()
    if request.method == "POST":
        name = action_name(request, *NEXICAL_BUTTONS, *NEXUSTOKEN_BUTTONS)
        if name is None:
            return HttpResponseBadRequest("Unknown action.")
        before = dict(request.connections)
        card: NexicalCard | NexusTokenCard
        if name in NEXICAL_BUTTONS:
            service, card = Service.NEXICAL, nexical
            response = await _nexical_action(request, name, nexical)
        else:
            service, card = Service.NEXUSTOKEN, nexustoken
            response = await _nexustoken_action(request, name, nexustoken)
        connected = request.connections.get(service)
        next_url = _next_url(request)
        if next_url and name in CONNECTS and connected is not None and connected is not before.get(service):
            return _back(request, card.notice, next_url)
        if response is not None:
            return response
        if request.htmx:
            if service == Service.NEXICAL:
                await nexical_card.load(request, nexical)
            else:
                await nexustoken_card.load(request, nexustoken)
            _refresh_alerts(request)
            context = {service.value: card, "next_url": _next_url(request)}
            return render(request, f"{TEMPLATE}#{service.value}", context, status=card.status)

    # The whole page: both cards' upstream checks run at the same time.
    await asyncio.gather(nexical_card.load(request, nexical), nexustoken_card.load(request, nexustoken))
    _refresh_alerts(request)
    # A card's status (the polling element's "stop") is for htmx: a whole page is a plain 200.
    context = {"nexical": nexical, "nexustoken": nexustoken, "next_url": _next_url(request)}
    return render(request, TEMPLATE, context)
