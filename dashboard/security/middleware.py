"""Every request of a signed-in session passes here, after the user is loaded (resolve_user).

- A session whose password was right but whose second factor is still missing is half signed in:
  it reaches the second step, sign-out and the passkey check, and every other request is sent to
  the second step (a page, an htmx fragment, a live stream, a JSON endpoint alike).
- With OTP_REQUIRED, a user without two-factor reaches only Settings > Security (and sign-out).
- The session is recorded for Settings > Security's list (dashboard.security.sessions).

Cost: a session verified by a device costs django-otp's one read of that device; any other signed-in
session costs one indexed read (does the user have two-factor?). Anonymous requests cost nothing.
The read (and the session's record) is made by resolve_user, in its trip to the request's thread
(`reads_with_user`); the middleware itself only decides, on the event loop.
"""

from functools import cache
from urllib.parse import urlencode

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.urls import reverse
from django.utils.decorators import sync_and_async_middleware
from django_htmx.http import HttpResponseClientRedirect
from django_htmx.middleware import HtmxDetails

from dashboard.core.http import DashboardRequest
from dashboard.core.middleware import GetResponse, is_async, reads_with_user

from . import factors, sessions


@cache
def _second_step_paths() -> frozenset[str]:
    return frozenset(
        {
            reverse("security:second_step"),
            reverse("logout"),
            reverse("otp_webauthn:credential-authentication-begin"),
            reverse("otp_webauthn:credential-authentication-complete"),
            reverse("otp_webauthn:js-i18n-catalog"),
        }
    )


@cache
def _setup_paths() -> frozenset[str]:
    return frozenset(
        {
            reverse("security:security"),
            reverse("logout"),
            reverse("otp_webauthn:js-i18n-catalog"),
        }
    )


def _is_static(path: str) -> bool:
    return path.startswith("/" + settings.STATIC_URL.lstrip("/"))


def _go(request: DashboardRequest, url: str) -> HttpResponseBase:
    if request.headers.get("HX-Request"):
        return HttpResponseClientRedirect(url)
    return HttpResponseRedirect(url)


def _route(request: DashboardRequest, two_factor: bool) -> HttpResponseBase | None:
    """None to let the request through, else where the session must go first."""
    path = request.path
    if _is_static(path):
        return None
    if two_factor:
        if path in _second_step_paths():
            return None
        return _go(request, f"{reverse('security:second_step')}?{urlencode({'next': _next(request)})}")
    if settings.OTP_REQUIRED and path not in _setup_paths():
        return _go(request, reverse("security:security"))
    return None


def _next(request: DashboardRequest) -> str:
    """Where to return after the second step: the page the user was on (for htmx, the page, not
    the fragment it asked for)."""
    htmx = HtmxDetails(request)  # django-htmx's middleware runs later in the chain
    if htmx and htmx.current_url_abs_path:
        return htmx.current_url_abs_path
    return request.get_full_path() if request.method == "GET" else "/"


def _two_factor(request: DashboardRequest, user: User | AnonymousUser) -> None:
    """Made by resolve_user in its trip to the request's thread (see reads_with_user): the session's
    record (at most once a minute) and whether the user has two-factor on."""
    if user.is_authenticated:
        if sessions.due(request):
            sessions.note(request, user)
        verified: bool = user.is_verified()  # type: ignore[attr-defined]  # OTPMiddleware's
        request.two_factor = verified or factors.has_two_factor(user)


@reads_with_user(_two_factor)
@sync_and_async_middleware
def second_factor(get_response: GetResponse) -> GetResponse:
    if is_async(get_response):

        async def async_middleware(request: DashboardRequest) -> HttpResponseBase:
            return _blocked(request) or await get_response(request)

        return async_middleware

    def middleware(request: DashboardRequest) -> HttpResponseBase:
        return _blocked(request) or get_response(request)

    return middleware


def _blocked(request: DashboardRequest) -> HttpResponseBase | None:
    user = request.user
    if not user.is_authenticated or user.is_verified():  # type: ignore[attr-defined]  # OTPMiddleware's
        return None
    return _route(request, request.two_factor)
