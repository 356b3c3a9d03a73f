"""What the two connection cards' actions share: how a success ends, and storing or forgetting
the connection."""

from typing import Unpack

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.accounts.connections import Credentials, save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.core.http import AuthenticatedRequest


def finish(request: AuthenticatedRequest, service: Service, notice: str) -> HttpResponse | None:
    """An action succeeded with this sentence (the caller has put it on the card too): a plain form
    post is redirected back to the page with it, htmx gets the fresh card (None)."""
    if request.htmx:
        return None
    messages.success(request, notice)
    return redirect(f"{reverse('connections:connections')}#{service.value}")


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
