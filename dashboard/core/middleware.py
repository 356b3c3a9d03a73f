"""Load the signed-in user, and their connections that need attention, before the view runs.

Templates read `user`, and async views cannot make the lazy lookup behind `request.user` (the ORM
refuses synchronous queries inside an event loop). Resolving it here, the async way when the stack
is async, lets every view and template use `request.user` freely. Awaiting `auser()` also loads the
session, which the messages framework then reads without touching the database.

The user's connections are loaded here too, in one query: the layout shows a "reconnect" banner
on every page (`request.connection_alerts`) and a context processor cannot query the database from
an async view; pages that call upstream then take the stored token from `request.connections`
instead of asking the database again.
"""

from collections.abc import Callable
from typing import Any

from asgiref.sync import iscoroutinefunction
from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils.decorators import sync_and_async_middleware

from dashboard.accounts.models import Connection

from .http import DashboardRequest

# Django calls it with the request and gets a response, or a coroutine of one on the async stack.
GetResponse = Callable[[DashboardRequest], Any]


@sync_and_async_middleware
def resolve_user(get_response: GetResponse) -> GetResponse:
    if iscoroutinefunction(get_response):

        async def async_middleware(request: DashboardRequest) -> HttpResponseBase:
            request.user = user = await request.auser()
            _attach(request, [] if isinstance(user, AnonymousUser) else [c async for c in _connections(user)])
            return await get_response(request)

        return async_middleware

    def middleware(request: DashboardRequest) -> HttpResponseBase:
        # isinstance() makes the lazy request.user fetch the user once, here in sync code, so an
        # async view called from this sync stack finds it already loaded.
        user = request.user
        _attach(request, [] if isinstance(user, AnonymousUser) else list(_connections(user)))
        return get_response(request)

    return middleware


def _connections(user: User) -> QuerySet[Connection]:
    return Connection.objects.filter(user=user).order_by("service")


def _attach(request: DashboardRequest, connections: list[Connection]) -> None:
    request.connections = {connection.service: connection for connection in connections}
    request.connection_alerts = [connection for connection in connections if connection.needs_attention]
