"""System administration: users, worker enrollment tokens and workers (system accounts only)."""

from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from dashboard.accounts.models import Service
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import attempt, load, nexical_page, optional_panel, page
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from ..actions import Handler, Result, Shown, dispatch, invalid, refused, row_action, submit
from ..forms import EnrollmentTokenForm, IdForm, SystemUserForm

# --- access helpers ------------------------------------------------------------------------------


def _require_system(request: AuthenticatedRequest) -> None:
    """The page does not exist for anyone but a system account."""
    if request.connections[Service.NEXICAL].account_role != "system":
        raise Http404("No such page.")


# --- the page ------------------------------------------------------------------------------------


# "Create a user" posts the new user's password: keep it out of DEBUG's error page and error reports.
@menu_section("system")
@sensitive_post_parameters("password")
@never_cache  # a new enrollment token is shown in this response only: no cache may keep it
@nexical_page
async def system_admin(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    _require_system(request)
    result = await dispatch(request, SYSTEM_ACTIONS, api)
    if isinstance(result, HttpResponse):
        return result
    (enrollment_tokens, tokens_missing), (workers, workers_missing) = await load(
        optional_panel(nexical.enrollment_token_list(api)),
        optional_panel(nexical.worker_list(api)),
    )
    context = {
        "user_form": result.forms.get("user") or SystemUserForm(),
        "enrollment_form": result.forms.get("enrollment") or EnrollmentTokenForm(),
        # Shown in this response only; the orchestrator never returns the raw value again.
        "created_token": result.outcome.value,
        "enrollment_tokens": enrollment_tokens or [],
        "tokens_missing": tokens_missing,
        "workers": workers or [],
        "workers_missing": workers_missing,
        "error": result.outcome.message,
    }
    return page(request, "orchestrator/system.html", context, status=result.outcome.status)


async def _create_user(request: AuthenticatedRequest, api: NexicalAPI) -> Result:
    return await submit(
        request,
        SystemUserForm(request.POST),
        "user",
        lambda data: nexical.system_user_create(api, **data),
        lambda user: (f"User {user.email or user.id} created.", reverse("orchestrator:system_admin")),
        conflict_field="email",
    )


async def _create_enrollment(request: AuthenticatedRequest, api: NexicalAPI) -> Result:
    form = EnrollmentTokenForm(request.POST)
    if not form.is_valid():
        return invalid(form, "enrollment")
    call = nexical.enrollment_token_create(
        api, team_id=form.cleaned_data["team_id"], name=form.cleaned_data["name"] or None
    )
    outcome = await attempt(request, call, form=form)
    if not outcome.ok:
        return refused(outcome, form, "enrollment")
    # Not a redirect: the new token is in this response only (the outcome's value), with a fresh form.
    return Shown(outcome)


async def _revoke_enrollment(request: AuthenticatedRequest, api: NexicalAPI) -> Result:
    success = "Enrollment token revoked. Workers already enrolled keep running."
    return await row_action(
        request,
        IdForm(request.POST),
        reverse("orchestrator:system_admin"),
        "revoke_enrollment",
        success,
        lambda token_id: nexical.enrollment_token_revoke(api, token_id=token_id),
    )


SYSTEM_ACTIONS: dict[str, Handler] = {
    "create_user": _create_user,
    "create_enrollment": _create_enrollment,
    "revoke_enrollment": _revoke_enrollment,
}
