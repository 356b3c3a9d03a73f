"""Load the signed-in user, and their connections that need attention, before the view runs.

Templates read `user`, and async views cannot make the lazy lookup behind `request.user` (the ORM
refuses synchronous queries inside an event loop). Resolving it here, the async way when the stack
is async, lets every view and template use `request.user` freely. Awaiting `auser()` also loads the
session, which the messages framework then reads without touching the database.

`request.connection_alerts` is loaded here for the same reason: the layout shows a "reconnect"
banner on every page, and a context processor cannot query the database from an async view.
"""

from asgiref.sync import iscoroutinefunction
from django.utils.decorators import sync_and_async_middleware

from dashboard.accounts.models import Connection


@sync_and_async_middleware
def resolve_user(get_response):
    if iscoroutinefunction(get_response):

        async def middleware(request):
            request.user = await request.auser()
            request.connection_alerts = []
            if request.user.is_authenticated:
                request.connection_alerts = [c async for c in _alerts(request.user)]
            return await get_response(request)

    else:

        def middleware(request):
            _load(request.user)
            request.connection_alerts = []
            if request.user.is_authenticated:
                request.connection_alerts = list(_alerts(request.user))
            return get_response(request)

    return middleware


def _alerts(user):
    return Connection.objects.filter(user=user, needs_attention=True).order_by("service")


def _load(lazy_user) -> None:
    # Touching an attribute makes the lazy object fetch the user once, here in sync code, so an
    # async view called from this sync stack finds it already loaded.
    lazy_user.is_authenticated  # noqa: B018
