"""What the two connection cards share: the card state, finishing an action, reporting a failure."""

from typing import Any

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.services.errors import AuthError, UpstreamError

from ..connections import mark_rejected
from ..models import Connection, Service

# 286 tells an htmx polling element to stop (device sign-in finished, one way or the other).
STOP_POLLING = 286


class Card:
    """Everything one service card shows.

    A loader fills it from the database and the upstream; an action returns a Card holding only what
    it changed (a bound form with errors, a sentence, a secret to show once), merged over the load.
    """

    connection: Connection | None = None
    error: str = ""  # a sentence about an upstream failure, shown in the card
    notice: str = ""
    confirm_remove: bool = False
    status: int = 200

    def __init__(self, **values: Any) -> None:
        self.__dict__.update(values)

    def merge(self, other: "Card") -> "Card":
        self.__dict__.update(other.__dict__)
        return self


def done(request: HttpRequest, service: Service, message: str, **values: Any) -> HttpResponse | Card:
    """An action succeeded: redirect a plain form post back to the page, give htmx the fresh card."""
    if request.htmx:
        return Card(notice=message, **values)
    messages.success(request, message)
    return redirect(f"{reverse('connections')}#{service.value}")


async def failure(request: HttpRequest, service: Service, error: UpstreamError, **values: Any) -> Card:
    """An upstream call failed: flag a rejected credential, and say what happened in the card."""
    if isinstance(error, AuthError) and error.is_unauthenticated:
        await mark_rejected(request.user, service)
    return Card(error=error.user_message, **values)


def refresh_alert(request: HttpRequest, service: Service, connection: Connection | None) -> None:
    """Keep the layout's reconnect banner true to what this response just learned or changed.

    The middleware loaded the alerts before the view ran; an action may have fixed a connection or
    the upstream may just have rejected one.
    """
    alerts = [alert for alert in getattr(request, "connection_alerts", []) if alert.service != service]
    if connection is not None and connection.needs_attention:
        alerts.append(connection)
    request.connection_alerts = sorted(alerts, key=lambda alert: alert.service)
