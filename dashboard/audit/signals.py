"""Sign-ins in the audit log: each success, each refused password, each attempt refused by the lockout.

A sign-in is one `signin.success` row, written when it is complete: at the password for a user
without two-factor; for a user with it, at the second step (dashboard.security writes that row, and
`signin.failed` with `step: second` for each wrong code). The right password alone is not a success:
an attacker who has it but not the phone must not appear in the log as signed in.

django-axes counts failures and locks a username at one address out (see settings). A refused
attempt is one row: `signin.failed` when the password was checked and wrong, `signin.locked` when
axes refused to check it at all; the failure that starts a lockout also writes `signin.locked`.
"""

from typing import Any

from axes.signals import user_locked_out
from django.contrib.auth.models import User
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django_otp.plugins.otp_totp.models import TOTPDevice

from .models import Result
from .recording import record


def _username(credentials: dict[str, Any] | None) -> str:
    # Only the username: credentials also hold the password (Django masks it, but never keep it).
    return str((credentials or {}).get("username") or "")[:150]


def _refused_unchecked(request: HttpRequest | None) -> bool:
    """Whether axes' backend refused this attempt as locked out, before the password was compared.

    Whichever of axes' receiver and ours runs first: a locked-out attempt is flagged before the
    signal is sent, whereas a failure that starts a lock is flagged by axes' receiver after it has
    counted the failures (axes_failures_since_start), so that one is still a failed sign-in.
    """
    return bool(
        getattr(request, "axes_locked_out", False)
        and getattr(request, "axes_failures_since_start", None) is None
    )


def _second_step_follows(user: User) -> bool:
    """Whether this user has two-factor (a confirmed authenticator app, as dashboard.security
    counts it), so the password was only the first step."""
    return bool(TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists())


@receiver(user_logged_in, dispatch_uid="audit_signin_success")
def _signed_in(sender: Any, request: HttpRequest | None, user: User, **kwargs: Any) -> None:
    if _second_step_follows(user):
        return
    record(request, "signin.success", user=user)


@receiver(user_login_failed, dispatch_uid="audit_signin_failed")
def _sign_in_failed(
    sender: Any, credentials: dict[str, Any], request: HttpRequest | None = None, **kwargs: Any
) -> None:
    if _refused_unchecked(request):
        return  # axes refused before any password check: `_locked_out` writes that row
    record(request, "signin.failed", result=Result.REFUSED, user=None, username=_username(credentials))


@receiver(user_locked_out, dispatch_uid="audit_signin_locked")
def _locked_out(
    sender: Any, request: HttpRequest, username: str | None, ip_address: str, **kwargs: Any
) -> None:
    record(
        request,
        "signin.locked",
        result=Result.REFUSED,
        user=None,
        username=(username or "")[:150],
        ip=ip_address,
    )
