"""What the two connection cards share: the state every card shows, and how an action ends.

A POST runs one handler, which writes what it changed into a fresh card (a bound form with errors,
a sentence, a secret to show once) and returns None, or returns a response of its own (a redirect).
The card's `load` then fills in what is stored and what the upstream says right now.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Unpack

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.accounts import clients
from dashboard.accounts.connections import Credentials, save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.services.errors import UpstreamError


@dataclass
class CardState:
    """What every card shows besides its own fields."""

    connection: Connection | None = None
    error: str = ""  # a sentence about an upstream failure, shown in the card
    notice: str = ""
    status: int = 200  # htmx only: HTMX_STOP_POLLING ends the device flow's polling


type Handler[C: CardState] = Callable[[AuthenticatedRequest, C], Awaitable[HttpResponse | None]]


def finish(
    request: AuthenticatedRequest, service: Service, card: CardState, message: str
) -> HttpResponse | None:
    """An action succeeded: redirect a plain form post back to the page, give htmx the fresh card."""
    if request.htmx:
        card.notice = message
        return None
    messages.success(request, message)
    return redirect(f"{reverse('connections:connections')}#{service.value}")


async def check_stored(
    request: AuthenticatedRequest,
    card: CardState,
    check: Callable[[Connection], Awaitable[None]],
    *,
    unreadable: str,
) -> None:
    """Ask the upstream about the stored credential, unless it is already known to be rejected: a
    failure becomes the card's sentence (and a 401 flags the connection)."""
    if card.connection is None or card.connection.needs_attention:
        return
    try:
        await check(card.connection)
    except clients.UnreadableSecret:
        card.error = card.error or unreadable
    except UpstreamError as error:
        await show_failure(request, card, error)


async def show_failure(request: AuthenticatedRequest, card: CardState, error: UpstreamError) -> None:
    """A call made with a stored credential failed: flag it if rejected, say what happened in the card
    (unless the action that ran first already said something: its sentence is the one that matters)."""
    await pages.record_failure(request, error)
    card.error = card.error or error.user_message


async def store(
    request: AuthenticatedRequest, service: Service, **credentials: Unpack[Credentials]
) -> Connection:
    """Keep verified credentials, and let the rest of this response see them (the card, the banner)."""
    connection = await sync_to_async(save_connection)(request.user, service, **credentials)
    request.connections[service] = connection
    return connection


async def forget(request: AuthenticatedRequest, service: Service) -> None:
    await Connection.objects.filter(user=request.user, service=service).adelete()
    request.connections.pop(service, None)
