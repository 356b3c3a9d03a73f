"""Load the signed-in user, and their connections that need attention, before the view runs
(`resolve_user`); keep signed-in pages out of caches and sign-in redirects out of htmx swaps
(`sign_in_responses`).

Templates read `user`, and async views cannot make the lazy lookup behind `request.user` (the ORM
refuses synchronous queries inside an event loop). Resolving it here lets every view and template use
`request.user` freely. It also loads the session, which the messages framework then reads without
touching the database.

The user's connections are loaded here too, in one query: the layout shows a "reconnect" banner
on every page (`request.connection_alerts`) and a context processor cannot query the database from
an async view; pages that call upstream then take the stored token from `request.connections`
instead of asking the database again.

On the async stack all of it is one trip to the request's thread: the session, the user and the
device that verified the session (read by Django's and django-otp's own sync code, as on a WSGI
server), then the connections. `await request.auser()` made the first three trips of their own.
Middleware further down the chain that need a read with the user (is two-factor on? the bell's
count) declare it with `reads_with_user`, and it is made in that same trip too: each trip to the
thread costs about 0.1 ms of CPU.
"""

from collections.abc import Awaitable, Callable
from functools import partial
from typing import Any, TypeIs
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction, sync_to_async
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.http import JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import sync_and_async_middleware
from django.utils.functional import LazyObject, empty
from django.utils.module_loading import import_string
from django_htmx.http import HttpResponseClientRedirect

from dashboard.accounts.models import Connection

from .http import DashboardRequest
from .rows import columns, rows

# Django calls it with the request and gets a response, or a coroutine of one on the async stack.
AsyncGetResponse = Callable[[DashboardRequest], Awaitable[HttpResponseBase]]
GetResponse = Callable[[DashboardRequest], HttpResponseBase] | AsyncGetResponse


def is_async(get_response: GetResponse) -> TypeIs[AsyncGetResponse]:
    """`iscoroutinefunction`, telling the type checker that the other branch gets the sync one."""
    return iscoroutinefunction(get_response)


# A read made with the loaded user, for a middleware that comes after resolve_user (it sets what it
# reads on the request).
type UserRead = Callable[[DashboardRequest, User | AnonymousUser], None]
_user_reads: dict[object, UserRead] = {}


def reads_with_user[M](read: UserRead) -> Callable[[M], M]:
    """Declare, for the middleware decorated, a read that resolve_user makes for it in its own trip to
    the request's thread, after loading the user, whenever that middleware is in MIDDLEWARE."""

    def declare(middleware: M) -> M:
        _user_reads[middleware] = read
        return middleware

    return declare


@sync_and_async_middleware
def resolve_user(get_response: GetResponse) -> GetResponse:
    listed = (import_string(path) for path in settings.MIDDLEWARE)
    reads = [_user_reads[middleware] for middleware in listed if middleware in _user_reads]

    if is_async(get_response):

        async def async_middleware(request: DashboardRequest) -> HttpResponseBase:
            await sync_to_async(_resolve)(request, reads)
            return await get_response(request)

        return async_middleware

    def middleware(request: DashboardRequest) -> HttpResponseBase:
        _resolve(request, reads)
        return get_response(request)

    return middleware


def _resolve(request: DashboardRequest, reads: list[UserRead]) -> None:
    request.user = user = _loaded(request.user)
    # Django's async decorators await request.auser(): they get this user, with no second read.
    request.auser = partial(_same, user)
    _attach(request, [] if isinstance(user, AnonymousUser) else _connections(user))
    for read in reads:
        read(request, user)


def _loaded(user: Any) -> User | AnonymousUser:
    """The user behind the lazy objects in `request.user` (django-otp's wraps Django's): reading it
    runs their loaders, which check the session's hash and set `otp_device` and `is_verified()`."""
    while isinstance(user, LazyObject):
        if user._wrapped is empty:
            user._setup()
        user = user._wrapped
    loaded: User | AnonymousUser = user
    return loaded


async def _same(user: User | AnonymousUser) -> User | AnonymousUser:
    return user


# Plain SQL: the ORM took about 0.35 ms of CPU to build and compile this query, on every page. Only the
# model's table and column names are formatted in; the user is a parameter.
CONNECTIONS = (
    f"SELECT {columns(Connection)} FROM {Connection._meta.db_table}"  # noqa: S608
    " WHERE user_id = %s ORDER BY service"
)


def _connections(user: User) -> list[Connection]:
    return rows(Connection, CONNECTIONS, [user.pk])


def _attach(request: DashboardRequest, connections: list[Connection]) -> None:
    request.connections = {connection.service: connection for connection in connections}
    request.connection_alerts = [connection for connection in connections if connection.needs_attention]


@sync_and_async_middleware
def sign_in_responses(get_response: GetResponse) -> GetResponse:
    """What a response must say about sign-in, whichever view made it.

    - A signed-in user's responses show their account: no shared or browser cache may keep them
      (a back button after sign-out, a proxy). Views that set their own Cache-Control keep it.
    - `login_required` answers an htmx request whose session ended with a redirect to the sign-in
      page; htmx would follow it and draw the whole sign-in page inside the page. HX-Redirect makes
      the browser load it instead, returning to the page the user was on (not the fragment's URL).
    - A script's JSON or event-stream request whose session ended gets a 401 with a sentence, not
      the sign-in page's HTML (the live log then stops and says so, instead of retrying).
    """
    if is_async(get_response):

        async def async_middleware(request: DashboardRequest) -> HttpResponseBase:
            return _sign_in_policy(request, await get_response(request))

        return async_middleware

    def middleware(request: DashboardRequest) -> HttpResponseBase:
        return _sign_in_policy(request, get_response(request))

    return middleware


SIGNED_OUT = "You are signed out (the session ended or was ended from another device). Sign in again."


def _sign_in_policy(request: DashboardRequest, response: HttpResponseBase) -> HttpResponseBase:
    if request.user.is_authenticated and not response.has_header("Cache-Control"):
        add_never_cache_headers(response)
    if request.htmx and _is_sign_in_redirect(response):
        return HttpResponseClientRedirect(redirect_to_login(request.htmx.current_url_abs_path or "/").url)
    if _wants_data(request) and _is_sign_in_redirect(response):
        # A script's fetch or EventSource would follow the redirect and get the sign-in page's HTML,
        # which it cannot read: it would retry for ever. A 401 tells it to stop and say why.
        return JsonResponse({"error": SIGNED_OUT}, status=401)
    return response


def _wants_data(request: DashboardRequest) -> bool:
    """A script's request for JSON or a live stream, not a browser's page load (which accepts HTML)."""
    accept = request.headers.get("Accept", "")
    return "text/html" not in accept and ("application/json" in accept or "text/event-stream" in accept)


def _is_sign_in_redirect(response: HttpResponseBase) -> bool:
    if response.status_code != 302:
        return False
    return urlsplit(response["Location"]).path == resolve_url(settings.LOGIN_URL)
