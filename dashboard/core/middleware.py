"""Load the signed-in user, and their connections that need attention, before the view runs
(`resolve_user`); keep signed-in pages out of caches and sign-in redirects out of htmx swaps
(`sign_in_responses`).

Templates read `user`, and async views cannot make the lazy lookup behind `request.user` (the ORM
refuses synchronous queries inside an event loop). Resolving it here, the async way when the stack
is async, lets every view and template use `request.user` freely. Awaiting `auser()` also loads the
session, which the messages framework then reads without touching the database.

The user's connections are loaded here too, in one query: the layout shows a "reconnect" banner
on every page (`request.connection_alerts`) and a context processor cannot query the database from
an async view; pages that call upstream then take the stored token from `request.connections`
instead of asking the database again.
"""

from collections.abc import Awaitable, Callable
from typing import TypeIs
from urllib.parse import urlsplit

from asgiref.sync import iscoroutinefunction
from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.views import redirect_to_login
from django.db.models import QuerySet
from django.http import JsonResponse
from django.http.response import HttpResponseBase
from django.shortcuts import resolve_url
from django.utils.cache import add_never_cache_headers
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect

from dashboard.accounts.models import Connection

from .http import DashboardRequest

# Django calls it with the request and gets a response, or a coroutine of one on the async stack.
AsyncGetResponse = Callable[[DashboardRequest], Awaitable[HttpResponseBase]]
GetResponse = Callable[[DashboardRequest], HttpResponseBase] | AsyncGetResponse


def is_async(get_response: GetResponse) -> TypeIs[AsyncGetResponse]:
    """`iscoroutinefunction`, telling the type checker that the other branch gets the sync one."""
    return iscoroutinefunction(get_response)


@sync_and_async_middleware
def resolve_user(get_response: GetResponse) -> GetResponse:
    if is_async(get_response):

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
