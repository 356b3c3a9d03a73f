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

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from dashboard.accounts.models import Connection


@sync_and_async_middleware
def resolve_user(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            request.user = await request.auser()
            connections = []
            if request.user.is_authenticated:
                connections = [c async for c in _connections(request.user)]
            _attach(request, connections)
            return await get_response(request)

    else:

        def middleware(request):
            _load(request.user)
            connections = list(_connections(request.user)) if request.user.is_authenticated else []
            _attach(request, connections)
            return get_response(request)

    return middleware


def _connections(user):
    return Connection.objects.filter(user=user).order_by("service")


def _attach(request, connections: list[Connection]) -> None:
    request.connections = {connection.service: connection for connection in connections}
    request.connection_alerts = [connection for connection in connections if connection.needs_attention]


def _load(lazy_user) -> None:
    # Touching an attribute makes the lazy object fetch the user once, here in sync code, so an
    # async view called from this sync stack finds it already loaded.
    lazy_user.is_authenticated  # noqa: B018
