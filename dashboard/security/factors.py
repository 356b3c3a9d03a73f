"""Two-factor for one user: the TOTP device, the ten recovery codes, checking a code at the second
step, and turning it all off.

Two-factor is on when the user has a confirmed TOTP device; recovery codes and passkeys come with it
and go with it. The check that guards every page (`has_two_factor`) is one indexed read.
"""

import re
import time
from base64 import b32encode
from dataclasses import dataclass
from enum import StrEnum

import segno
from django.contrib.auth.models import AbstractBaseUser
from django.db import connection, transaction
from django.utils.crypto import salted_hmac
from django.utils.safestring import SafeString, mark_safe
from django_otp.models import Device
from django_otp.oath import TOTP
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from .models import SpentRecoveryCode

RECOVERY_CODES = 10
TOTP_NAME = "Authenticator app"
RECOVERY_NAME = "Recovery codes"


# The check behind every signed-in page, so plain SQL: the ORM took about 0.35 ms of CPU to build and
# compile it each time. Only the table's name is formatted in.
HAS_TWO_FACTOR = f"SELECT 1 FROM {TOTPDevice._meta.db_table} WHERE user_id = %s AND confirmed = %s LIMIT 1"  # noqa: S608


def has_two_factor(user: AbstractBaseUser) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(HAS_TWO_FACTOR, [user.pk, True])
        return cursor.fetchone() is not None


def totp_device(user: AbstractBaseUser) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()


# --- setting up -----------------------------------------------------------------------------------


@dataclass
class Setup:
    """An authenticator app being added: what the page shows until the user confirms with a code."""

    device: TOTPDevice

    @property
    def uri(self) -> str:
        return str(self.device.config_url)

    @property
    def key(self) -> str:
        """The secret alone, in groups of four, for apps that take it typed."""
        secret = b32encode(self.device.bin_key).decode().rstrip("=")
        return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))

    @property
    def qr_svg(self) -> SafeString:
        """The otpauth URI as a QR code, drawn here as inline SVG (no image request, nothing sent out)."""
        code = segno.make(self.uri, error="m")
        svg = code.svg_inline(
            scale=4, border=2, dark="#111", light="#fff", title="QR code for your authenticator app"
        )
        # segno's own markup: paths drawn from the URI's bits, and our fixed title.
        return mark_safe(svg)  # noqa: S308


def start_setup(user: AbstractBaseUser) -> Setup:
    """A new, unconfirmed TOTP device with a fresh secret; any earlier unfinished one is dropped."""
    TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
    device = TOTPDevice.objects.create(user_id=user.pk, name=TOTP_NAME, confirmed=False)
    return Setup(device)


def pending_setup(user: AbstractBaseUser, device_id: int) -> Setup | None:
    device = TOTPDevice.objects.filter(user_id=user.pk, pk=device_id, confirmed=False).first()
    return Setup(device) if device else None


def confirm_setup(setup: Setup, token: str) -> list[str] | None:
    """Turn two-factor on if `token` is the app's current code: the ten recovery codes, else None."""
    device = setup.device
    if not device.verify_token(_digits(token)):
        return None
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=device.user_id).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        return new_recovery_codes(device.user)


def new_recovery_codes(user: AbstractBaseUser) -> list[str]:
    """Ten fresh single-use codes; the earlier ones stop working. Returned once, to be shown once."""
    with transaction.atomic():
        device, _ = StaticDevice.objects.get_or_create(
            user_id=user.pk, name=RECOVERY_NAME, defaults={"confirmed": True}
        )
        device.token_set.all().delete()
        codes = [StaticToken.random_token() for _ in range(RECOVERY_CODES)]
        StaticToken.objects.bulk_create(StaticToken(device=device, token=code) for code in codes)
        SpentRecoveryCode.objects.filter(user_id=user.pk).delete()
    return [f"{code[:4]}-{code[4:]}" for code in codes]


def recovery_codes_left(user: AbstractBaseUser) -> int:
    return int(StaticToken.objects.filter(device__user_id=user.pk, device__confirmed=True).count())


def turn_off(user: AbstractBaseUser) -> None:
    """Every second factor of the user goes: app, recovery codes, passkeys."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user_id=user.pk).delete()
        StaticDevice.objects.filter(user_id=user.pk).delete()
        WebAuthnCredential.objects.filter(user_id=user.pk).delete()
        SpentRecoveryCode.objects.filter(user_id=user.pk).delete()


# --- checking a code ------------------------------------------------------------------------------


class Verdict(StrEnum):
    APP = "app"  # the authenticator app's current code
    RECOVERY = "recovery"  # a recovery code, now spent
    WRONG = "wrong"
    REUSED_APP = "reused_app"  # right code, but already used to sign in
    REUSED_RECOVERY = "reused_recovery"
    THROTTLED = "throttled"


SENTENCES = {
    Verdict.WRONG: "That code is not right. Enter the 6-digit code your authenticator app shows now, "
    "or one of your recovery codes.",
    Verdict.REUSED_APP: "That code was already used. Wait for your authenticator app to show the next one "
    "(a new code appears every 30 seconds).",
    Verdict.REUSED_RECOVERY: "That recovery code was already used: each one works only once. "
    "Use another one, or the code from your authenticator app.",
}


@dataclass
class Check:
    verdict: Verdict
    device: Device | None = None
    wait_seconds: int = 0

    @property
    def ok(self) -> bool:
        return self.device is not None

    @property
    def sentence(self) -> str:
        if self.verdict is Verdict.THROTTLED:
            return (
                f"Too many wrong codes. Wait {self.wait_seconds} "
                f"second{'s' if self.wait_seconds != 1 else ''}, then try again."
            )
        return SENTENCES.get(self.verdict, "")


def _digits(token: str) -> str:
    return re.sub(r"\s+", "", token)


def _recovery_form(token: str) -> str:
    return re.sub(r"[^a-z0-9]", "", token.lower())


def _recovery_digest(user: AbstractBaseUser, code: str) -> str:
    return salted_hmac("dashboard.security.recovery", f"{user.pk}:{code}", algorithm="sha256").hexdigest()


def check(user: AbstractBaseUser, token: str) -> Check:
    """Which factor `token` proves, or why it proves none (each case has its own sentence)."""
    digits = _digits(token)
    if re.fullmatch(r"\d{6}", digits):
        return _check_app(user, digits)
    return _check_recovery(user, _recovery_form(token))


def _throttled(device: TOTPDevice | StaticDevice) -> Check | None:
    allowed, details = device.verify_is_allowed()
    if allowed:
        return None
    locked_until = (details or {}).get("locked_until")
    wait = int(max(1, (locked_until.timestamp() - time.time()) + 1)) if locked_until else 1
    return Check(Verdict.THROTTLED, wait_seconds=wait)


def _check_app(user: AbstractBaseUser, digits: str) -> Check:
    with transaction.atomic():
        device = TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True).first()
        if device is None:
            return Check(Verdict.WRONG)
        if refused := _throttled(device):
            return refused
        if device.verify_token(digits):
            return Check(Verdict.APP, device)
        if _was_used(device, int(digits)):
            return Check(Verdict.REUSED_APP)
        return Check(Verdict.WRONG)


def _was_used(device: TOTPDevice, token: int) -> bool:
    """Whether `token` is the code of a time step that already signed someone in (django-otp refuses
    every step up to `last_t` so a code cannot be replayed)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = time.time()
    now = totp.t()
    reach = device.tolerance + abs(device.drift) + 1
    for step in range(now - reach, now + reach + 1):
        if step <= device.last_t:
            totp.time = device.t0 + step * device.step
            if totp.token() == token:
                return True
    return False


def _check_recovery(user: AbstractBaseUser, code: str) -> Check:
    with transaction.atomic():
        device = StaticDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=True).first()
        if device is None or not code:
            return Check(Verdict.WRONG)
        if refused := _throttled(device):
            return refused
        if device.verify_token(code):  # deletes the token: it works once
            SpentRecoveryCode.objects.get_or_create(user_id=user.pk, digest=_recovery_digest(user, code))
            return Check(Verdict.RECOVERY, device)
        if SpentRecoveryCode.objects.filter(user_id=user.pk, digest=_recovery_digest(user, code)).exists():
            return Check(Verdict.REUSED_RECOVERY)
        return Check(Verdict.WRONG)


def check_for_disabling(user: AbstractBaseUser, token: str) -> bool:
    """Turning two-factor off takes proof: a current code, or (checked by the caller) the password."""
    return check(user, token).ok
