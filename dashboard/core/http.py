"""The request as our middleware leaves it, typed, so views and helpers can say what they read."""

from django.contrib.auth.models import User
from django.http import HttpRequest
from django_htmx.middleware import HtmxDetails

from dashboard.accounts.models import Connection


class DashboardRequest(HttpRequest):
    """Any request after the middleware: `htmx` (django-htmx) and the user's connections
    (`dashboard.core.middleware.resolve_user`, keyed by `Service` value; empty when signed out)."""

    htmx: HtmxDetails
    connections: dict[str, Connection]
    connection_alerts: list[Connection]
    two_factor: bool  # the signed-in user has two-factor on (dashboard.security.middleware)
    unread_notifications: int  # the bell's count (dashboard.notifications.middleware); 0 when not drawn


class AuthenticatedRequest(DashboardRequest):
    """A request behind `login_required`: the user is a real account, never AnonymousUser."""

    user: User
