"""Turning Nexical failures into what the user sees: one sentence, the right status, the right field.

Every orchestrator view goes through `nexical_page`, so no upstream behaviour can reach Django's 500
handler: each error class becomes its own page (or its own inline message when a form action failed).
"""

import asyncio
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django_htmx.http import HttpResponseClientRedirect, reswap, retarget

from dashboard.accounts.connections import mark_rejected
from dashboard.accounts.crypto import UndecryptableSecret
from dashboard.accounts.models import Service
from dashboard.services.errors import (
    APIError,
    AuthError,
    ContractError,
    NetworkError,
    RateLimitError,
    UpstreamError,
)
from dashboard.services.nexical import NexicalAPI

logger = logging.getLogger(__name__)

NOT_FOUND_MESSAGE = "That page does not exist, or your Nexical account cannot see it."
UNREADABLE_MESSAGE = (
    "Your stored Nexical token can no longer be read by the dashboard. Connect Nexical again to continue."
)
# Every orchestrator page wraps its content in this element: failures replace it, whatever the
# element that made the request was about to swap.
PAGE_BODY = "#page-body"


def error_status(error: UpstreamError) -> int:
    """The HTTP status our page answers with when the upstream failed this way."""
    if isinstance(error, AuthError):
        return 403
    if isinstance(error, RateLimitError):
        return 429
    if isinstance(error, NetworkError):
        return 503
    if isinstance(error, APIError):
        return error.status if 400 <= error.status < 500 else 502
    return 502


async def describe(request: HttpRequest, error: UpstreamError) -> str:
    """The sentence for this error, after the side effects it calls for (flag a dead token, log)."""
    if isinstance(error, AuthError) and error.is_unauthenticated:
        await mark_rejected(request.user, Service.NEXICAL)
    elif isinstance(error, ContractError):
        logger.warning("Nexical answered outside the contract on %s: %s", request.path, error.details)
    if isinstance(error, APIError) and error.is_not_found:
        return NOT_FOUND_MESSAGE
    return error.user_message


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


def is_connect_needed(error: UpstreamError) -> bool:
    return isinstance(error, AuthError) and error.is_unauthenticated


def whole_body(request: HttpRequest, template: str, context: dict, status: int) -> HttpResponse:
    """A failure page, or for htmx its body in place of the page's body.

    htmx 2 swaps nothing on a 4xx/5xx, so the user would see no change at all: htmx gets a 200, and
    HX-Retarget/HX-Reswap point it at the page body even when the request came from an element
    that targets something else ("Refresh logs" appends to the log list).
    """
    if not request.htmx:
        return render(request, template, context, status=status)
    response = render(request, f"{template}#body", context)
    return reswap(retarget(response, PAGE_BODY), "outerHTML")


async def error_page(request: HttpRequest, error: UpstreamError) -> HttpResponse:
    """A whole page (or the page body, for htmx) saying what went wrong upstream."""
    status = 404 if isinstance(error, APIError) and error.is_not_found else error_status(error)
    context = {"message": await describe(request, error), "reconnect": is_connect_needed(error)}
    return whole_body(request, "orchestrator/error.html", context, status)


def nexical_page(
    view: Callable[..., Awaitable[HttpResponse]],
) -> Callable[..., Awaitable[HttpResponse]]:
    """Sign-in required, a Nexical connection required, and upstream failures become pages.

    The wrapped view receives the user's `NexicalAPI` after the request; the connection it was made
    from is `request.nexical_connection`.
    """

    @login_required
    @wraps(view)
    async def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        connection = request.connections.get(Service.NEXICAL)  # loaded by dashboard.core.middleware
        if connection is None:
            return whole_body(request, "orchestrator/connect.html", {}, 200)
        request.nexical_connection = connection
        try:
            token = connection.secret
        except UndecryptableSecret:
            # The encryption key it was stored under is gone: only the user can supply the token again.
            await mark_rejected(request.user, Service.NEXICAL)
            context = {"message": UNREADABLE_MESSAGE, "reconnect": True}
            return whole_body(request, "orchestrator/error.html", context, 403)
        try:
            return await view(request, NexicalAPI(token=token), *args, **kwargs)
        except UpstreamError as error:
            return await error_page(request, error)
        except Http404:
            if not request.htmx:
                raise
            # htmx would drop Django's 404 page; say it in the page body instead.
            return whole_body(request, "orchestrator/error.html", {"message": NOT_FOUND_MESSAGE}, 404)

    return wrapper


@dataclass
class Outcome:
    """How an upstream write went: its value, or why not (already placed on the form when it could be)."""

    ok: bool
    value: Any = None
    message: str = ""
    status: int = 200


async def attempt(
    request: HttpRequest,
    call: Awaitable[Any],
    *,
    form: forms.Form | None = None,
    conflict_field: str | None = None,
) -> Outcome:
    """Await one upstream write; a refusal lands on the form's field, anything else becomes a sentence."""
    try:
        return Outcome(ok=True, value=await call)
    except UpstreamError as error:
        return await refusal(request, error, form=form, conflict_field=conflict_field)


async def refusal(
    request: HttpRequest,
    error: UpstreamError,
    *,
    form: forms.Form | None = None,
    conflict_field: str | None = None,
) -> Outcome:
    """The failed outcome of a write: on the form when it is about the form, else a sentence."""
    if form is not None and apply_to_form(form, error, conflict_field=conflict_field):
        return Outcome(ok=False, status=400)
    return Outcome(ok=False, message=await describe(request, error), status=error_status(error))


async def optional_panel[T](call: Awaitable[T]) -> tuple[T | None, str]:
    """Data for a panel built on an extension endpoint: (rows, "") or (None, why it is not shown).

    "missing" when the orchestrator lacks the endpoint, "forbidden" when the caller's role may not
    see it. Any other failure is not the panel's business and propagates to the page.
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


def page(request: HttpRequest, template: str, context: dict, status: int = 200) -> HttpResponse:
    """The whole page, or only its body for htmx (which swaps 2xx answers only, hence the 200)."""
    if request.htmx:
        return render(request, f"{template}#body", context)
    return render(request, template, context, status=status)


def go(request: HttpRequest, url: str, *, same_page: bool = True) -> HttpResponse:
    """After a successful POST: redirect (htmx follows it and swaps the fresh body in place), or,
    when the action leaves the page (delete, create-and-open), make htmx load the new page."""
    if request.htmx and not same_page:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def action_name(request: HttpRequest, *names: str) -> str | None:
    """Which submit button was pressed: one page, several actions, picked by the button's name."""
    return next((name for name in names if name in request.POST), None)


async def load(*calls: Awaitable[Any]) -> list[Any]:
    """Run a page's upstream reads at once (the page costs the slowest, not the sum).

    A 403 on a read means the user is not in that team: the page does not exist for them (404).
    """
    results = await asyncio.gather(*calls, return_exceptions=True)
    errors = [result for result in results if isinstance(result, BaseException)]
    for error in errors:
        if isinstance(error, AuthError) and error.is_unauthenticated:
            raise error
    for error in errors:
        if isinstance(error, AuthError) and error.status == 403:
            raise Http404(NOT_FOUND_MESSAGE)
    if errors:
        raise errors[0]
    return results
