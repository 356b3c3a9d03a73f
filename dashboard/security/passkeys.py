"""Passkeys (django-otp-webauthn) as a second factor: its JSON endpoints, under its own URL names
(its template tags and scripts expect them), with two rules of ours.

- A passkey is added only once two-factor is on: it is another way through the second step, never
  the only one (the gate asks "does the user have an authenticator app?").
- Passing the second step with a passkey is the same event as with a code: a new session key, and
  the record of the session follows it.
"""

import json
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.http import HttpResponse
from django.urls import path
from django.views.i18n import JavaScriptCatalog
from django_otp_webauthn import exceptions
from django_otp_webauthn.models import WebAuthnCredential
from django_otp_webauthn.views import (
    BeginCredentialAuthenticationView,
    BeginCredentialRegistrationView,
    CompleteCredentialAuthenticationView,
    CompleteCredentialRegistrationView,
)

from dashboard.audit import record

from . import factors, sessions


class TwoFactorFirst(exceptions.OTPWebAuthnApiError):  # type: ignore[misc]  # untyped library
    status_code = 403
    code = "two_factor_first"
    default_detail = "Turn on two-factor with an authenticator app first; then add passkeys."


class _RegistrationRules:
    request: Any

    def check_can_register(self) -> None:
        if not factors.has_two_factor(self.request.user):
            raise TwoFactorFirst()


class BeginRegistration(_RegistrationRules, BeginCredentialRegistrationView):  # type: ignore[misc]
    pass


class CompleteRegistration(_RegistrationRules, CompleteCredentialRegistrationView):  # type: ignore[misc]
    def post(self, *args: Any, **kwargs: Any) -> HttpResponse:
        response: HttpResponse = super().post(*args, **kwargs)
        if response.status_code == 200:
            # A new way through the second step: the user must see it in their log if it was not them.
            added = WebAuthnCredential.objects.filter(
                user_id=self.request.user.pk, pk=json.loads(response.content)["id"]
            ).first()
            target = f"{added.name} ({added.pk})" if added else ""
            record(self.request, "signin.2fa.passkey_add", target=target)
        return response


class CompleteAuthentication(CompleteCredentialAuthenticationView):  # type: ignore[misc]
    def complete_auth(self, device: Any) -> AbstractBaseUser:
        sessions.cycle(self.request)
        user: AbstractBaseUser = super().complete_auth(device)
        record(self.request, "signin.success", detail={"step": "second", "method": "passkey"})
        return user


app_name = "otp_webauthn"

urlpatterns = [
    path("registration/begin/", BeginRegistration.as_view(), name="credential-registration-begin"),
    path("registration/complete/", CompleteRegistration.as_view(), name="credential-registration-complete"),
    path(
        "authentication/begin/",
        BeginCredentialAuthenticationView.as_view(),
        name="credential-authentication-begin",
    ),
    path(
        "authentication/complete/",
        CompleteAuthentication.as_view(),
        name="credential-authentication-complete",
    ),
    path("jsi18n/", JavaScriptCatalog.as_view(packages=["django_otp_webauthn"]), name="js-i18n-catalog"),
]
