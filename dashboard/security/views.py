"""Settings > Security (two-factor, passkeys, signed-in sessions) and the second step of sign-in."""

from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.db import transaction
from django.http import HttpResponse
from django.shortcuts import redirect, render, resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django_otp import login as otp_login
from django_otp_webauthn.models import WebAuthnCredential

from dashboard.audit import Result, record
from dashboard.core.compression import uncompressed
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.pages import INVALID, STALE_ROW, UNKNOWN_ACTION, Outcome, action_name, ask_first, go, page

from . import factors, sessions
from .forms import CodeForm, ConfirmSetupForm, DisableForm, IdForm

HERE = "security:security"


@uncompressed  # a new TOTP key or recovery codes beside typed text: see dashboard/core/compression.py
@never_cache  # a new secret or new recovery codes live in this response only
@login_required
def security(request: AuthenticatedRequest) -> HttpResponse:
    context: dict[str, Any] = {}
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        result = _act(request, context)
        if isinstance(result, HttpResponse):
            return result
        outcome = result
    return _render(request, context, outcome)


def _render(request: AuthenticatedRequest, context: dict[str, Any], outcome: Outcome[Any]) -> HttpResponse:
    user = request.user
    two_factor = factors.has_two_factor(user)
    context = {
        "two_factor": two_factor,
        "otp_required": settings.OTP_REQUIRED and not two_factor,
        "codes_left": factors.recovery_codes_left(user) if two_factor else 0,
        "passkeys": list(WebAuthnCredential.objects.filter(user_id=user.pk).order_by("created_at")),
        "sessions": sessions.listed(request, user),
        "disable_form": DisableForm(),
        "error": outcome.message,
        **context,
    }
    return page(request, "security/security.html", context, status=outcome.status)


def _act(request: AuthenticatedRequest, context: dict[str, Any]) -> HttpResponse | Outcome[Any]:
    action = action_name(
        request, "start", "confirm", "regenerate", "disable", "remove_passkey", "end_session", "end_others"
    )
    user = request.user
    here = reverse(HERE)
    if action == "start":
        context["setup"] = factors.start_setup(user)
        context["setup_form"] = ConfirmSetupForm(initial={"device": context["setup"].device.pk})
        return Outcome(ok=True)
    if action == "confirm":
        return _confirm(request, context)
    if action == "regenerate":
        if not factors.has_two_factor(user):
            return STALE_ROW
        if asking := ask_first(request, here, "regenerate"):
            return asking
        with transaction.atomic():
            context["codes"] = factors.new_recovery_codes(user)
            record(request, "signin.2fa.recovery_codes", detail={"count": len(context["codes"])})
        messages.success(request, "New recovery codes made. The old ones no longer work.")
        return Outcome(ok=True)
    if action == "disable":
        return _disable(request, context)
    if action in ("remove_passkey", "end_session"):
        form = IdForm(request.POST)
        if not form.is_valid():
            return STALE_ROW
        item = form.cleaned_data["id"]
        if action == "remove_passkey":
            if asking := ask_first(request, here, "remove_passkey", item):
                return asking
            return _remove_passkey(request, item)
        if not sessions.end(request, user, item):
            return STALE_ROW
        messages.success(request, "Session ended. That browser is signed out.")
        return go(request, here)
    if action == "end_others":
        ended = sessions.end_others(request, user)
        messages.success(
            request, f"Signed out everywhere else ({ended} session{'s' if ended != 1 else ''} ended)."
        )
        return go(request, here)
    return UNKNOWN_ACTION


def _confirm(request: AuthenticatedRequest, context: dict[str, Any]) -> Outcome[Any]:
    form = ConfirmSetupForm(request.POST)
    if not form.is_valid():
        return INVALID
    setup = factors.pending_setup(request.user, form.cleaned_data["device"])
    if setup is None:
        return Outcome(ok=False, message="That setup was replaced or finished. Start again.", status=400)
    codes = factors.confirm_setup(setup, form.cleaned_data["otp_token"])
    if codes is None:
        form.add_error(
            "otp_token", "That code is not right. Check the app's clock, wait for the next code and enter it."
        )
        context.update(setup=setup, setup_form=form)
        return INVALID
    # This session proved the new factor just now: it stays signed in; the user's other sessions
    # must pass the second step on their next request.
    otp_login(request, setup.device)
    record(request, "signin.2fa.enable", detail={"method": "app"})
    context["codes"] = codes
    messages.success(request, "Two-factor is on. Save your recovery codes now: they are shown only once.")
    return Outcome(ok=True)


def _disable(request: AuthenticatedRequest, context: dict[str, Any]) -> HttpResponse | Outcome[Any]:
    form = DisableForm(request.POST)
    if not form.is_valid():
        context["disable_form"] = form
        return INVALID
    user = request.user
    token, password = form.cleaned_data["otp_token"], form.cleaned_data["password"]
    proved = (token and factors.check(user, token).ok) or (password and user.check_password(password))
    if not proved:
        form.add_error(None, "That code or password is not right, so two-factor is still on.")
        context["disable_form"] = form
        return INVALID
    with transaction.atomic():
        factors.turn_off(user)
        record(request, "signin.2fa.disable", detail={"proof": "code" if token else "password"})
    messages.success(request, "Two-factor is off. Signing in now takes your password only.")
    return go(request, reverse(HERE))


def _remove_passkey(request: AuthenticatedRequest, passkey_id: int) -> HttpResponse | Outcome[Any]:
    passkey = WebAuthnCredential.objects.filter(user_id=request.user.pk, pk=passkey_id).first()
    if passkey is None:
        return STALE_ROW
    signed_in_with_it = getattr(request.user, "otp_device", None) == passkey
    with transaction.atomic():
        record(request, "signin.2fa.passkey_remove", target=f"{passkey.name} ({passkey.pk})")
        passkey.delete()
    if signed_in_with_it and (app := factors.totp_device(request.user)) is not None:
        otp_login(request, app)  # this session stays verified
    messages.success(request, "Passkey removed.")
    return go(request, reverse(HERE))


def _safe_next(request: AuthenticatedRequest) -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return resolve_url(settings.LOGIN_REDIRECT_URL)


@never_cache
def second_step(request: AuthenticatedRequest) -> HttpResponse:
    """After a right password, a user with two-factor proves the second factor here."""
    if not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    user = request.user
    if user.is_verified() or not factors.has_two_factor(user):  # type: ignore[attr-defined]
        return redirect(_safe_next(request))
    form = CodeForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            result = factors.check(user, form.cleaned_data["otp_token"])
            if result.ok:
                sessions.cycle(request)
                otp_login(request, result.device)
                method = "recovery" if result.verdict is factors.Verdict.RECOVERY else "app"
                record(request, "signin.success", detail={"step": "second", "method": method})
                if result.verdict is factors.Verdict.RECOVERY:
                    left = factors.recovery_codes_left(user)
                    record(request, "signin.2fa.recovery_used", detail={"left": left})
                    messages.warning(
                        request,
                        f"You signed in with a recovery code; {left} left. "
                        "Make new ones in Settings > Security if you are running out.",
                    )
                return redirect(_safe_next(request))
            record(
                request,
                "signin.failed",
                result=Result.REFUSED,
                detail={"step": "second", "why": result.verdict.value},
            )
            form.add_error("otp_token", result.sentence)
        status = 400
    context = {
        "form": form,
        "next": request.POST.get("next") or request.GET.get("next") or "",
        "has_passkeys": WebAuthnCredential.objects.filter(user_id=user.pk, confirmed=True).exists(),
    }
    return render(request, "security/second_step.html", context, status=status)
