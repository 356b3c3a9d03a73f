"""Settings > Connections: one page, a card per upstream service, every action a POST.

The POST picks its action by the submit button's name (`nexical_save`, `nexustoken_rotate`, …).
Without JavaScript each action posts the whole page and is redirected back (or re-rendered when it
has something to show once, like a new API key). With htmx the same view answers with just the
card that changed, rendered from the `{% partialdef %}` of the page template.
"""

import asyncio
from collections.abc import Awaitable, Callable

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from ..models import Service
from . import nexical_card, nexustoken_card
from .cards import Card

Action = Callable[[HttpRequest], Awaitable[HttpResponse | Card]]

TEMPLATE = "accounts/connections.html"

ACTIONS: dict[str, tuple[Service, Action]] = {
    "nexical_save": (Service.NEXICAL, nexical_card.save_token),
    "nexical_device_start": (Service.NEXICAL, nexical_card.device_start),
    "nexical_device_poll": (Service.NEXICAL, nexical_card.device_poll),
    "nexical_device_cancel": (Service.NEXICAL, nexical_card.device_cancel),
    "nexical_remove": (Service.NEXICAL, nexical_card.remove),
    "nexustoken_save": (Service.NEXUSTOKEN, nexustoken_card.save_key),
    "nexustoken_register": (Service.NEXUSTOKEN, nexustoken_card.register),
    "nexustoken_recover": (Service.NEXUSTOKEN, nexustoken_card.recover_start),
    "nexustoken_recover_verify": (Service.NEXUSTOKEN, nexustoken_card.recover_verify),
    "nexustoken_recover_cancel": (Service.NEXUSTOKEN, nexustoken_card.recover_cancel),
    "nexustoken_rotate": (Service.NEXUSTOKEN, nexustoken_card.rotate_key),
    "nexustoken_webhook_save": (Service.NEXUSTOKEN, nexustoken_card.webhook_save),
    "nexustoken_webhook_rotate": (Service.NEXUSTOKEN, nexustoken_card.webhook_rotate),
    "nexustoken_remove": (Service.NEXUSTOKEN, nexustoken_card.remove),
}

LOADERS: dict[Service, Callable[[HttpRequest], Awaitable[Card]]] = {
    Service.NEXICAL: nexical_card.load,
    Service.NEXUSTOKEN: nexustoken_card.load,
}


# Every field posted here is a credential or leads to one: keep them all out of DEBUG's error page
# and of error reports. The page can show a new API key once, so no cache may keep a copy either.
@sensitive_post_parameters()
@never_cache
@login_required
@require_http_methods(["GET", "POST"])
async def connections(request: HttpRequest) -> HttpResponse:
    service: Service | None = None
    outcome = Card()
    if request.method == "POST":
        name = next((name for name in ACTIONS if name in request.POST), None)
        if name is None:
            return HttpResponseBadRequest("Unknown action.")
        service, action = ACTIONS[name]
        result = await action(request)
        if isinstance(result, HttpResponse):
            return result
        outcome = result

    if service is not None and request.htmx:
        card = (await LOADERS[service](request)).merge(outcome)
        return render(request, f"{TEMPLATE}#{service.value}", {service.value: card}, status=card.status)

    # The whole page: both cards' upstream checks run at the same time.
    nexical, nexustoken = await asyncio.gather(nexical_card.load(request), nexustoken_card.load(request))
    cards = {Service.NEXICAL: nexical, Service.NEXUSTOKEN: nexustoken}
    if service is not None:
        cards[service] = cards[service].merge(outcome)
    confirm = request.GET.get("confirm", "")
    for key, card in cards.items():
        card.confirm_remove = confirm == f"{key.value}_remove" and card.connection is not None
    status = cards[service].status if service is not None else 200
    context = {"nexical": cards[Service.NEXICAL], "nexustoken": cards[Service.NEXUSTOKEN]}
    return render(request, TEMPLATE, context, status=200 if status == 286 else status)
