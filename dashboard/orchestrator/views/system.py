"""System administration: users, worker enrollment tokens and workers (system accounts only)."""

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.debug import sensitive_post_parameters

from dashboard.accounts.models import Service
from dashboard.core.pages import Outcome, action_name, attempt, go, load, nexical_page, optional_panel, page
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from ..forms import EnrollmentTokenForm, IdForm, SystemUserForm

# --- access helpers ------------------------------------------------------------------------------


def _require_system(request: HttpRequest) -> None:
    """The page does not exist for anyone but a system account."""
    if request.connections[Service.NEXICAL].account_role != "system":
        raise Http404("No such page.")


# --- the page ------------------------------------------------------------------------------------


# "Create a user" posts the new user's password: keep it out of DEBUG's error page and error reports.
@sensitive_post_parameters("password")
@never_cache  # a new enrollment token is shown in this response only: no cache may keep it
@nexical_page
async def system_admin(request: HttpRequest, api: NexicalAPI) -> HttpResponse:
    _require_system(request)
    user_form = SystemUserForm()
    enrollment_form = EnrollmentTokenForm()
    outcome = Outcome(ok=True)
    created_token = None
    confirm_revoke = None
    action = action_name(request, "create_user", "create_enrollment", "revoke_enrollment")

    if action == "create_user":
        user_form = SystemUserForm(request.POST)
        if user_form.is_valid():
            outcome = await attempt(
                request,
                nexical.system_user_create(api, **user_form.cleaned_data),
                form=user_form,
                conflict_field="email",
            )
            if outcome.ok:
                messages.success(request, f"User {outcome.value.email or outcome.value.id} created.")
                return go(request, reverse("system_admin"))
        else:
            outcome = Outcome(ok=False, status=400)

    elif action == "create_enrollment":
        enrollment_form = EnrollmentTokenForm(request.POST)
        if enrollment_form.is_valid():
            call = nexical.enrollment_token_create(
                api,
                team_id=enrollment_form.cleaned_data["team_id"],
                name=enrollment_form.cleaned_data["name"] or None,
            )
            outcome = await attempt(request, call, form=enrollment_form)
            if outcome.ok:
                # Shown in this response only; the orchestrator never returns the raw value again.
                created_token = outcome.value
                enrollment_form = EnrollmentTokenForm()
        else:
            outcome = Outcome(ok=False, status=400)

    elif action == "revoke_enrollment":
        id_form = IdForm(request.POST)
        if id_form.is_valid() and "confirmed" not in request.POST:
            # Without JS there was no hx-confirm prompt: ask on the page before revoking.
            confirm_revoke = id_form.cleaned_data["id"]
        elif id_form.is_valid():
            outcome = await attempt(
                request, nexical.enrollment_token_revoke(api, token_id=id_form.cleaned_data["id"])
            )
            if outcome.ok:
                messages.success(request, "Enrollment token revoked. Workers already enrolled keep running.")
                return go(request, reverse("system_admin"))
        else:
            outcome = Outcome(ok=False, message="That token no longer exists. Reload the page.", status=400)

    (enrollment_tokens, tokens_missing), (workers, workers_missing) = await load(
        optional_panel(nexical.enrollment_token_list(api)),
        optional_panel(nexical.worker_list(api)),
    )
    context = {
        "user_form": user_form,
        "enrollment_form": enrollment_form,
        "created_token": created_token,
        "confirm_revoke": confirm_revoke,
        "enrollment_tokens": enrollment_tokens or [],
        "tokens_missing": tokens_missing,
        "workers": workers or [],
        "workers_missing": workers_missing,
        "error": outcome.message,
    }
    return page(request, "orchestrator/system.html", context, status=outcome.status)
