"""What the two connection cards' actions share: how a success ends, and storing or forgetting
the connection."""

from typing import Unpack

from asgiref.sync import sync_to_async
from django.contrib import messages
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.accounts.connections import Credentials, save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.audit import Audit, record
from dashboard.core.http import AuthenticatedRequest


def finish(request: AuthenticatedRequest, service: Service, notice: str) -> HttpResponse | None:
    """An action succeeded with this sentence (the caller has put it on the card too): a plain form
    post is redirected back to the page with it, htmx gets the fresh card (None)."""
    if request.htmx:
        return None
    messages.success(request, notice)
    return redirect(f"{reverse('connections:connections')}#{service.value}")


def audit(action: str, service: Service, how: str) -> Audit:
    """The audit row of a connection action whose upstream call comes first (a refused key, a
    failed rotation): written by the caller with the call's outcome."""
    return Audit(action, target=service.label, detail={"service": service.value, "how": how})


async def store(
    request: AuthenticatedRequest,
    service: Service,
    *,
    action: str = "connection.connect",
    how: str,
    **credentials: Unpack[Credentials],
) -> Connection:
    """Keep verified credentials, and let the rest of this response see them (the card, the banner).
    The audit log gets `action` (how: "token", "device", "register"...) in the same transaction."""

    @sync_to_async
    def save_and_record() -> Connection:
        with transaction.atomic():
            connection = save_connection(request.user, service, **credentials)
            request.connections[service] = connection
            detail = {"service": service.value, "how": how, "account": connection.account_label}
            record(request, action, target=service.label, detail=detail)
        return connection

    return await save_and_record()


async def forget(request: AuthenticatedRequest, service: Service) -> None:
    @sync_to_async
    def delete_and_record() -> None:
        with transaction.atomic():
            Connection.objects.filter(user=request.user, service=service).delete()
            # Recorded with the identity the connection gave, before the request forgets it.
            record(request, "connection.forget", target=service.label, detail={"service": service.value})
            request.connections.pop(service, None)

    await delete_and_record()
