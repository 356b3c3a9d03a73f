"""The page layer every upstream-backed page uses: a view gets its user's client, and whatever the
upstream does becomes something the user can read: a page, an inline message, a field error.

- `nexical_page` / `nexustoken_page`: sign-in required, a connection required, a bound client handed
  to the view; no upstream failure can reach Django's 500 handler.
- `load(...)`: a page's reads, at once. `attempt(...)`: one write, whose refusal lands on the form
  field it is about, or becomes a sentence (`Outcome`), and with `audit=` one row in the audit log.
- `page(...)` / `go(...)`: render, or redirect after a POST, for plain requests and htmx alike.
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable, Coroutine, Mapping
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, cast
from urllib.parse import urlencode, urlsplit

from django import forms
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from dashboard.accounts import clients
from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core.login import login_required
from dashboard.services.errors import (
    APIError,
    AuthError,
    ContractError,
    NetworkError,
    RateLimitError,
    UpstreamError,
)
from dashboard.services.nexical import NexicalAPI
from dashboard.services.nexustoken import NexusTokenAPI

from .http import AuthenticatedRequest

logger = logging.getLogger(__name__)

# Every upstream-backed page wraps its content in this element: failures replace it, whatever the
# element that made the request was about to swap.
PAGE_BODY = "#page-body"
ERROR_TEMPLATE = "core/error.html"
CONNECT_TEMPLATE = "core/connect.html"


# --- errors -> status and sentence ----------------------------------------------------------------


def error_status(error: UpstreamError) -> int:
    """The HTTP status our page answers with when the upstream failed this way."""
    if isinstance(error, APIError) and error.is_not_found:
        return 404
    if isinstance(error, AuthError):
        return 403
    if isinstance(error, RateLimitError):
        return 429
    if isinstance(error, NetworkError):
        return 503
    if isinstance(error, APIError):
        return error.status if 400 <= error.status < 500 else 502
    return 502


def not_found_message(service_name: str) -> str:
    return f"That page does not exist, or your {service_name} account cannot see it."


def error_message(error: UpstreamError) -> str:
    """The sentence a user reads for this failure (no side effects)."""
    if isinstance(error, APIError) and error.is_not_found:
        return not_found_message(error.service)
    return error.user_message


def needs_reconnect(error: UpstreamError) -> bool:
    return isinstance(error, AuthError) and error.is_unauthenticated


async def record_failure(request: AuthenticatedRequest, error: UpstreamError) -> None:
    """What a failure tells us beyond the page: a dead credential is flagged, a contract break logged."""
    service = clients.SERVICE_OF_ERROR.get(error.service)
    if service is not None:
        await clients.note_failure(request.connections.get(service), error)
    if isinstance(error, ContractError):
        logger.warning(
            "%s answered outside the contract on %s: %s", error.service, request.path, error.details
        )


# --- forms ----------------------------------------------------------------------------------------


def _snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def apply_to_form(form: forms.Form, error: UpstreamError, *, conflict_field: str | None = None) -> bool:
    """Put an upstream refusal of this form next to the field it is about.

    Returns False when the error is not about the form's content (outage, rate limit, permission),
    so the caller shows it as a page-level message instead.
    """
    if not isinstance(error, APIError) or error.status not in (400, 409, 422):
        return False
    placed = False
    for field, messages in error.field_errors.items():
        name = _snake(field)
        target = name if name in form.fields else None
        for message in messages:
            form.add_error(target, message)
            placed = True
    if not placed:
        target = conflict_field if error.status == 409 and conflict_field in form.fields else None
        form.add_error(target, error.user_message)
    return True


# --- actions and their outcome --------------------------------------------------------------------


@dataclass
class Outcome[T]:
    """How an upstream write went: its value, or why not (already placed on the form when it could be)."""

    ok: bool
    value: T | None = None
    message: str = ""
    status: int = 200

    @property
    def result(self) -> T:
        """The value of a write that succeeded (read it after checking `ok`)."""
        if not self.ok:
            raise ValueError("A refused write has no value.")
        return cast(T, self.value)


INVALID: Outcome[Any] = Outcome(ok=False, status=400)  # the form did not validate: its errors say why
# Row actions carry only hidden ids: a bad one is a stale or tampered form, not a typo.
STALE_ROW: Outcome[Any] = Outcome(ok=False, message="That row no longer exists. Reload the page.", status=400)
UNKNOWN_ACTION: Outcome[Any] = Outcome(
    ok=False, message="That action is not on this page. Reload the page.", status=400
)

# How a page's action ends: a response when it is done (a redirect), else the outcome the page is
# drawn again with.
type ActionResult = HttpResponse | Outcome[Any]


async def refusal(
    request: AuthenticatedRequest,
    error: UpstreamError,
    *,
    form: forms.Form | None = None,
    conflict_field: str | None = None,
) -> Outcome[Any]:
    """The failed outcome of a write: on the form when it is about the form, else a sentence."""
    await record_failure(request, error)
    if form is not None and apply_to_form(form, error, conflict_field=conflict_field):
        return Outcome(ok=False, status=400)
    return Outcome(ok=False, message=error_message(error), status=error_status(error))


async def attempt[T](
    request: AuthenticatedRequest,
    call: Awaitable[T],
    *,
    form: forms.Form | None = None,
    conflict_field: str | None = None,
    audit: Audit | None = None,
) -> Outcome[T]:
    """Await one upstream write; a refusal lands on the form's field, anything else becomes a sentence.

    With `audit`, the audit log gets one row right after the answer: done, refused or failed.
    """
    try:
        value = await call
    except UpstreamError as error:
        if audit is not None:
            await audit.not_done(request, error)
        return await refusal(request, error, form=form, conflict_field=conflict_field)
    if audit is not None:
        await audit.done(request, value)
    return Outcome(ok=True, value=value)


def action_name(request: AuthenticatedRequest, *names: str) -> str | None:
    """Which submit button was pressed: one page, several actions, picked by the button's name."""
    return next((name for name in names if name in request.POST), None)


def ask_first(
    request: AuthenticatedRequest, here: str, action: str, item: object = None
) -> HttpResponse | None:
    """A one-click destructive action posted without "confirmed" (no JS, a stale page, a crafted
    form) is not done: the page comes back with its confirmation open (templates/includes/confirm.html)."""
    if "confirmed" in request.POST:
        return None
    query = {"confirm": action} | ({"id": str(item)} if item is not None else {})
    return go(request, f"{here}?{urlencode(query)}")


# --- reads ----------------------------------------------------------------------------------------


async def load(*calls: Awaitable[Any]) -> list[Any]:
    """Run a page's upstream reads at once (the page costs the slowest, not the sum).

    A 403 on a read means the user may not see that object: the page does not exist for them (404).
    """
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    for error in errors:
        if isinstance(error, AuthError) and error.is_unauthenticated:
            raise error
    for error in errors:
        if isinstance(error, AuthError) and error.status == 403:
            raise Http404(not_found_message(error.service))
    if errors:
        raise errors[0]
    return results


async def optional_panel[T](call: Awaitable[T]) -> tuple[T | None, str]:
    """Data for a panel built on an extension endpoint: (rows, "") or (None, why it is not shown).

    "missing" when the upstream lacks the endpoint, "forbidden" when the caller's role may not see
    it. Any other failure is not the panel's business and propagates to the page.
    """
    try:
        return await call, ""
    except APIError as error:
        if error.is_missing_endpoint:
            return None, "missing"
        raise
    except AuthError as error:
        if error.status == 403:
            return None, "forbidden"
        raise


# --- responses ------------------------------------------------------------------------------------


def page(
    request: AuthenticatedRequest, template: str, context: Mapping[str, object], status: int = 200
) -> HttpResponse:
    """The whole page, or only its body for htmx (which swaps 2xx answers only, hence the 200)."""
    if request.htmx:
        return render(request, f"{template}#body", context)
    return render(request, template, context, status=status)


def go(request: AuthenticatedRequest, url: str, *, same_page: bool = True) -> HttpResponse:
    """After a successful POST: show `url`.

    Without htmx, a redirect. With htmx, a redirect too while the answer is the page the user is on:
    htmx follows it and swaps the fresh body in place, and the address bar is right already. When the
    action lands on another page (a task posted, an invitation accepted, a delete), or the caller says
    so (`same_page=False`), HX-Redirect makes the browser load that page: the address bar then shows
    it, so a reload shows it again (not the empty form) and back leads to the form.
    """
    if request.htmx and (not same_page or not _is_current_page(request, url)):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _is_current_page(request: AuthenticatedRequest, url: str) -> bool:
    """Whether `url` is the page in the browser's address bar (htmx sends it), fragment aside."""
    current = request.htmx.current_url_abs_path or request.get_full_path()
    return urlsplit(url)._replace(fragment="").geturl() == urlsplit(current)._replace(fragment="").geturl()


def whole_body(
    request: AuthenticatedRequest, template: str, context: Mapping[str, object], status: int
) -> HttpResponse:
    """A failure page, or for htmx its body in place of the page's body.

    htmx 2 swaps nothing on a 4xx/5xx, so the user would see no change at all: htmx gets a 200, and
    HX-Retarget/HX-Reswap point it at the page body even when the request came from an element
    that targets something else (a button that appends rows).
    """
    if not request.htmx:
        return render(request, template, context, status=status)
    response = render(request, f"{template}#body", context)
    return reswap(retarget(response, PAGE_BODY), "outerHTML")


# Where "back" leads from a failure of each service's pages.
BACK = {
    Service.NEXICAL: ("orchestrator:team_list", "Back to your teams"),
    Service.NEXUSTOKEN: ("home:home", "Back to the dashboard"),
}


def error_page(
    request: AuthenticatedRequest, service: Service, message: str, status: int, *, reconnect: bool = False
) -> HttpResponse:
    """A whole page (or the page body, for htmx) with one sentence about what went wrong."""
    back_url, back_label = BACK[service]
    context = {
        "message": message,
        "service_name": clients.ERROR_NAME[service],
        "reconnect": reconnect,
        "back_url": back_url,
        "back_label": back_label,
    }
    return whole_body(request, ERROR_TEMPLATE, context, status)


async def upstream_error_page(
    request: AuthenticatedRequest, service: Service, error: UpstreamError
) -> HttpResponse:
    await record_failure(request, error)
    return error_page(
        request, service, error_message(error), error_status(error), reconnect=needs_reconnect(error)
    )


# --- the decorators -------------------------------------------------------------------------------

# A page answers with a whole response; a live log or a download streams its body instead.
type PageResponse = HttpResponse | StreamingHttpResponse
type PageView[API, **P] = Callable[Concatenate[AuthenticatedRequest, API, P], Awaitable[PageResponse]]
type BoundView[**P] = Callable[Concatenate[AuthenticatedRequest, P], Coroutine[Any, Any, PageResponse]]


def _service_page[API](
    service: Service, bind: Callable[[Any], Awaitable[API]]
) -> Callable[[PageView[API, ...]], BoundView[...]]:
    def decorator(view: PageView[API, ...]) -> BoundView[...]:
        @login_required
        @wraps(view)
        async def wrapper(request: AuthenticatedRequest, *args: Any, **kwargs: Any) -> PageResponse:
            connection = request.connections.get(service)  # loaded by dashboard.core.middleware
            if connection is None:
                context = {"service": service, "service_name": clients.ERROR_NAME[service]}
                return whole_body(request, CONNECT_TEMPLATE, context, 200)
            try:
                return await view(request, await bind(connection), *args, **kwargs)
            except UpstreamError as error:
                return await upstream_error_page(request, service, error)
            except Http404:
                if not request.htmx:
                    raise
                # htmx would drop Django's 404 page; say it in the page body instead.
                return error_page(request, service, not_found_message(clients.ERROR_NAME[service]), 404)

        return wrapper

    return decorator


nexical_page: Callable[[PageView[NexicalAPI, ...]], BoundView[...]] = _service_page(
    Service.NEXICAL, clients.nexical_api
)
nexustoken_page: Callable[[PageView[NexusTokenAPI, ...]], BoundView[...]] = _service_page(
    Service.NEXUSTOKEN, clients.nexustoken_api
)
