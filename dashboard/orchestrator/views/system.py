"""System administration: users, worker enrollment tokens and workers (system accounts only)."""

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core.compression import uncompressed
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    STALE_ROW,
    UNKNOWN_ACTION,
    ActionResult,
    Outcome,
    action_name,
    ask_first,
    attempt,
    go,
    load,
    nexical_page,
    optional_panel,
    page,
)
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from ..forms import EnrollmentTokenForm, IdForm, SystemUserForm

# --- access helpers ------------------------------------------------------------------------------


def _require_system(request: AuthenticatedRequest) -> None:
    """The page does not exist for anyone but a system account."""
    if request.connections[Service.NEXICAL].account_role != "system":
        raise Http404("No such page.")


# --- the page ------------------------------------------------------------------------------------


@uncompressed  # a new enrollment token beside typed names: see dashboard/core/compression.py
# "Create a user" posts the new user's password: keep it out of DEBUG's error page and error reports.
@menu_section("system")
@sensitive_post_parameters("password")
@never_cache  # a new enrollment token is shown in this response only: no cache may keep it
@nexical_page
async def system_admin(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    _require_system(request)
    user_form, enrollment_form = SystemUserForm(), EnrollmentTokenForm()
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        action = action_name(request, "create_user", "create_enrollment", "revoke_enrollment")
        result: ActionResult
        if action == "create_user":
            user_form = SystemUserForm(request.POST)
            result = await _create_user(request, api, user_form)
        elif action == "create_enrollment":
            enrollment_form = EnrollmentTokenForm(request.POST)
            result = await _create_enrollment(request, api, enrollment_form)
            if result.ok:  # the new token is shown above a fresh form
                enrollment_form = EnrollmentTokenForm()
        elif action == "revoke_enrollment":
            result = await _revoke_enrollment(request, api)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result

    (enrollment_tokens, tokens_missing), (workers, workers_missing) = await load(
        optional_panel(nexical.enrollment_token_list(api)),
        optional_panel(nexical.worker_list(api)),
    )
    context = {
        "user_form": user_form,
        "enrollment_form": enrollment_form,
        # Shown in this response only; the orchestrator never returns the raw value again.
        "created_token": outcome.value,
        "enrollment_tokens": enrollment_tokens or [],
        "tokens_missing": tokens_missing,
        "workers": workers or [],
        "workers_missing": workers_missing,
        "error": outcome.message,
    }
    return page(request, "orchestrator/system.html", context, status=outcome.status)


async def _create_user(request: AuthenticatedRequest, api: NexicalAPI, form: SystemUserForm) -> ActionResult:
    if not form.is_valid():
        return INVALID
    call = nexical.system_user_create(api, **form.cleaned_data)
    audit = Audit("system.user.create", target=form.cleaned_data["email"])
    outcome = await attempt(request, call, form=form, conflict_field="email", audit=audit)
    if not outcome.ok:
        return outcome
    user = outcome.result
    messages.success(request, f"User {user.email or user.id} created.")
    return go(request, reverse("orchestrator:system_admin"))


async def _create_enrollment(
    request: AuthenticatedRequest, api: NexicalAPI, form: EnrollmentTokenForm
) -> Outcome[Any]:
    if not form.is_valid():
        return INVALID
    call = nexical.enrollment_token_create(
        api, team_id=form.cleaned_data["team_id"], name=form.cleaned_data["name"] or None
    )
    audit = Audit(
        "system.enrollment.create",
        team_id=form.cleaned_data["team_id"],
        target=form.cleaned_data["name"],
        from_result=lambda created: {"id": created.id},
    )
    # Not a redirect: the new token is in this response only (the outcome's value).
    return await attempt(request, call, form=form, audit=audit)


async def _revoke_enrollment(request: AuthenticatedRequest, api: NexicalAPI) -> ActionResult:
    form = IdForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    token_id = form.cleaned_data["id"]
    here = reverse("orchestrator:system_admin")
    if asking := ask_first(request, here, "revoke_enrollment", token_id):
        return asking
    audit = Audit("system.enrollment.revoke", target=f"enrollment token {token_id}")
    outcome = await attempt(request, nexical.enrollment_token_revoke(api, token_id=token_id), audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Enrollment token revoked. Workers already enrolled keep running.")
    return go(request, here)
