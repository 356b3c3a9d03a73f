"""Settings > Connections: one page, a card per upstream service, every action a POST.

The POST picks its handler by the submit button's name (`nexical_save`, `nexustoken_rotate`, …).
Without JavaScript each action posts the whole page and is redirected back (or re-rendered when it
has something to show once, like a new API key). With htmx the same view answers with just the
card that changed, rendered from the `{% partialdef %}` of the page template.
"""

import asyncio

from django.contrib.auth.decorators import login_required
from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import action_name

from ..models import Service
from . import nexical_card, nexustoken_card
from .cards import CardState
from .nexical_card import NexicalCard
from .nexustoken_card import NexusTokenCard

TEMPLATE = "accounts/connections.html"
ACTIONS = (*nexical_card.HANDLERS, *nexustoken_card.HANDLERS)


async def _act(
    request: AuthenticatedRequest, name: str, nexical: NexicalCard, nexustoken: NexusTokenCard
) -> tuple[Service, CardState, HttpResponse | None]:
    if name in nexical_card.HANDLERS:
        return Service.NEXICAL, nexical, await nexical_card.HANDLERS[name](request, nexical)
    return Service.NEXUSTOKEN, nexustoken, await nexustoken_card.HANDLERS[name](request, nexustoken)


def _refresh_alerts(request: AuthenticatedRequest) -> None:
    """Keep the layout's reconnect banner true to what this response changed or just learned (the
    middleware listed the alerts before an action replaced a connection or the upstream rejected one)."""
    alerts = (connection for connection in request.connections.values() if connection.needs_attention)
    request.connection_alerts = sorted(alerts, key=lambda connection: connection.service)


# Every field posted here is a credential or leads to one: keep them all out of DEBUG's error page
# and of error reports. The page can show a new API key once, so no cache may keep a copy either.
@sensitive_post_parameters()
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
async def connections(request: AuthenticatedRequest) -> HttpResponse:
    nexical, nexustoken = NexicalCard(), NexusTokenCard()
    if request.method == "POST":
        name = action_name(request, *ACTIONS)
        if name is None:
            return HttpResponseBadRequest("Unknown action.")
        service, card, response = await _act(request, name, nexical, nexustoken)
        if response is not None:
            return response
        if request.htmx:
            if service == Service.NEXICAL:
                await nexical_card.load(request, nexical)
            else:
                await nexustoken_card.load(request, nexustoken)
            _refresh_alerts(request)
            return render(request, f"{TEMPLATE}#{service.value}", {service.value: card}, status=card.status)

    # The whole page: both cards' upstream checks run at the same time.
    await asyncio.gather(nexical_card.load(request, nexical), nexustoken_card.load(request, nexustoken))
    _refresh_alerts(request)
    # A card's status (the polling element's "stop") is for htmx: a whole page is a plain 200.
    return render(request, TEMPLATE, {"nexical": nexical, "nexustoken": nexustoken})
