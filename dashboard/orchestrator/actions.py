"""One page, several actions: the view hands its POST to the handler of the button that was pressed.

A handler returns a response when the action is done (a redirect, `pages.go`), or `Shown`: the page
is drawn again with the forms it leaves (their errors) and the outcome (a sentence, a status).
"""

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import INVALID, Outcome, action_name, attempt, go


@dataclass(frozen=True)
class Shown:
    """An action that did not complete: draw the page again with these forms and this outcome."""

    outcome: Outcome[Any] = field(default_factory=lambda: Outcome(ok=True))
    forms: Mapping[str, Form] = field(default_factory=dict)


NOTHING = Shown()
# Row actions carry only hidden ids: a bad one is a stale or tampered form, not a typo.
STALE = Shown(Outcome(ok=False, message="That row no longer exists. Reload the page.", status=400))
UNKNOWN = Shown(Outcome(ok=False, message="That action is not on this page. Reload the page.", status=400))

# What an action handler returns: the response when it is done, else what to draw the page with.
type Result = HttpResponse | Shown
type Handler = Callable[..., Awaitable[Result]]


async def dispatch(request: AuthenticatedRequest, handlers: Mapping[str, Handler], *args: Any) -> Result:
    """Run the handler of the pressed button; a GET shows the page as it is."""
    if request.method != "POST":
        return NOTHING
    name = action_name(request, *handlers)
    if name is None:
        return UNKNOWN
    return await handlers[name](request, *args)


def invalid(form: Form, key: str) -> Shown:
    """The form did not validate: its own errors say why."""
    return Shown(INVALID, {key: form})


def refused(outcome: Outcome[Any], form: Form | None = None, key: str = "") -> Shown:
    """Upstream said no: on the form when it was about the form, else as the page's sentence."""
    return Shown(outcome, {key: form} if form is not None else {})


def ask_first(
    request: AuthenticatedRequest, here: str, action: str, item: object = None
) -> HttpResponse | None:
    """A one-click destructive action posted without "confirmed" (no JS, a stale page, a crafted
    form) is not done: the page comes back with its confirmation open (templates/includes/confirm.html)."""
    if "confirmed" in request.POST:
        return None
    query = {"confirm": action} | ({"id": str(item)} if item is not None else {})
    return go(request, f"{here}?{urlencode(query)}")


async def submit[T](
    request: AuthenticatedRequest,
    form: Form,
    key: str,
    call: Callable[[dict[str, Any]], Awaitable[T]],
    done: Callable[[T], tuple[str, str]],
    *,
    conflict_field: str | None = None,
    same_page: bool = True,
) -> Result:
    """A form's action: validate, call upstream with the cleaned data, then say `done`'s message and go
    to its URL; a refusal stays on the form (`key` names it for the page)."""
    if not form.is_valid():
        return invalid(form, key)
    outcome = await attempt(request, call(form.cleaned_data), form=form, conflict_field=conflict_field)
    if not outcome.ok:
        return refused(outcome, form, key)
    # A successful outcome carries whatever the call returned (None for a delete): no check to do.
    message, url = done(outcome.result)
    messages.success(request, message)
    return go(request, url, same_page=same_page)


async def row_action(
    request: AuthenticatedRequest,
    form: Form,
    here: str,
    action: str,
    success: str,
    call: Callable[[Any], Awaitable[object]],
) -> Result:
    """A destructive action on one row (its id the form's only field): asked first, then done."""
    if not form.is_valid():
        return STALE
    (item,) = form.cleaned_data.values()
    if asking := ask_first(request, here, action, item):
        return asking
    outcome = await attempt(request, call(item))
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, success)
    return go(request, here)
