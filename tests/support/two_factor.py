"""Two-factor for tests: turn it on for a user as the settings page would, compute the app's codes,
and sign in through the real forms (password, then the second step)."""

import re
import time
from urllib.parse import parse_qs, urlsplit

from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.security import factors
from tests.support.helpers import PASSWORD, watch_secret


def code_for(device: TOTPDevice, *, steps_back: int = 0) -> str:
    """The code the user's authenticator app shows now (or `steps_back` periods ago): the app knows
    nothing of the drift the server learnt."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, 0)
    totp.time = time.time() - steps_back * device.step
    return f"{totp.token():0{device.digits}d}"


def code_from_uri(uri: str, *, steps_back: int = 0) -> str:
    """The code an app that scanned this otpauth:// URI shows, computed from the URI alone."""
    from base64 import b32decode

    query = parse_qs(urlsplit(uri).query)
    secret = query["secret"][0]
    key = b32decode(secret + "=" * (-len(secret) % 8))
    totp = TOTP(key, int(query.get("period", ["30"])[0]), 0, int(query.get("digits", ["6"])[0]))
    totp.time = time.time() - steps_back * totp.step
    return f"{totp.token():06d}"


def enable(user) -> tuple[TOTPDevice, list[str]]:
    """Two-factor on for `user`: the confirmed device and the ten recovery codes."""
    setup = factors.start_setup(user)
    watch_secret(setup.device.key)
    # Confirmed with the previous period's code (still accepted): the current one stays unused, so
    # the test can sign in with it at once, as a person would 30 seconds later.
    codes = factors.confirm_setup(setup, code_for(setup.device, steps_back=1))
    assert codes is not None
    for code in codes:
        watch_secret(code)
    setup.device.refresh_from_db()
    return setup.device, codes


def password_step(client: Client, user, *, next_url: str = "") -> None:
    """The sign-in form with the right password: the session is now half signed in."""
    response = client.post(
        "/accounts/login/" + (f"?next={next_url}" if next_url else ""),
        {"username": user.username, "password": PASSWORD},
    )
    assert response.status_code == 302, response.content.decode()[:500]


def second_step(client: Client, token: str, *, next_url: str = ""):
    data = {"otp_token": token} | ({"next": next_url} if next_url else {})
    return client.post("/accounts/two-factor/", data)


def sentences(response) -> str:
    """The page's text, tags stripped and whitespace collapsed, for asserting on sentences."""
    text = re.sub(r"<[^>]+>", " ", response.content.decode())
    return re.sub(r"\s+", " ", text).replace("&#x27;", "'")
