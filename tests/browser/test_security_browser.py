"""Two-factor in Chromium: the TOTP journey a person takes (turn it on from the page's otpauth URI,
sign out, sign in with a code, then with a recovery code, which works once), and a real passkey
registered and used at the second step through Chromium's virtual authenticator."""

import re
from urllib.parse import urlsplit

import pytest
from django.test import Client, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from dashboard.audit import AuditEntry
from tests.support.helpers import PASSWORD, dashboard_user, watch_secret
from tests.support.two_factor import code_for, code_from_uri, enable

pytestmark = pytest.mark.browser

SECURITY = "/settings/security/"


def _sign_in_with_password(page, base: str, user, next_path: str = SECURITY) -> None:
    page.goto(f"{base}/accounts/login/?next={next_path}")
    page.get_by_label("Username").fill(user.username)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def _sign_out(page) -> None:
    page.locator("details.usermenu summary").click()
    page.get_by_role("button", name="Sign out", exact=True).click()
    page.wait_for_url("**/accounts/login/**")


@pytest.mark.django_db(transaction=True)
def test_the_totp_journey(live_server, page, shoot):
    base = live_server.url
    user = dashboard_user()
    _sign_in_with_password(page, base, user)
    page.wait_for_url(f"{base}{SECURITY}")

    # By keyboard: each step leaves the focus where the next one is typed.
    page.get_by_role("button", name="Set up two-factor").focus()
    page.keyboard.press("Enter")
    uri = page.locator("#totp-uri").inner_text()
    page.wait_for_function("() => document.activeElement.id === 'setup_otp_token'")
    watch_secret(re.search(r"secret=([A-Z2-7]+)", uri).group(1))
    assert page.locator("#totp-qr svg").is_visible()
    shoot(page, "security-setup")
    # The period before this one's code, still accepted: the current one stays unused for the sign-in
    # below, as it would be for a person who signs in again half a minute later.
    page.keyboard.type(code_from_uri(uri, steps_back=1))
    page.keyboard.press("Enter")
    codes = page.locator("#recovery-codes-list").inner_text().split()
    # On the codes to save, not on the turn-off form's field of the same name.
    page.wait_for_function("() => document.activeElement.textContent === 'Your recovery codes'")
    for code in codes:
        watch_secret(code)
    assert len(codes) == 10
    assert page.get_by_text("Two-factor is on.").is_visible()
    device = TOTPDevice.objects.get(user=user, confirmed=True)

    # Another browser, so the sessions list has two rows for the screenshot.
    other = Client(
        headers={
            "User-Agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:128.0) Gecko/20100101 Firefox/128.0"
        },
        REMOTE_ADDR="198.51.100.23",
    )
    other.force_login(user)
    other.get("/accounts/two-factor/")
    page.goto(f"{base}{SECURITY}")
    assert page.locator("#codes-left").inner_text().startswith("10 recovery codes left.")
    shoot(page, "security")

    # Sign out, sign in: the password, then the code.
    _sign_out(page)
    _sign_in_with_password(page, base, user)
    page.wait_for_url("**/accounts/two-factor/**")
    page.get_by_label("Code").fill(code_for(device))
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base}{SECURITY}")

    # Again, with a recovery code: it works once.
    _sign_out(page)
    _sign_in_with_password(page, base, user)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{base}{SECURITY}")
    assert page.get_by_text("You signed in with a recovery code; 9 left.").is_visible()

    _sign_out(page)
    _sign_in_with_password(page, base, user)
    page.get_by_label("Code").fill(codes[0])
    page.get_by_role("button", name="Verify").click()
    assert page.get_by_text("That recovery code was already used: each one works only once.").is_visible()
    assert "/accounts/two-factor/" in page.url


@pytest.mark.django_db(transaction=True)
def test_a_passkey_is_registered_and_used_at_the_second_step(live_server, page):
    base = live_server.url
    host = urlsplit(base).hostname
    assert host == "localhost"  # browsers refuse an IP address as the passkey's relying party
    user = dashboard_user()
    device, _ = enable(user)

    # Chromium's virtual authenticator stands in for a fingerprint reader.
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    authenticator = {
        "protocol": "ctap2",
        "transport": "internal",
        "hasResidentKey": True,
        "hasUserVerification": True,
        "isUserVerified": True,
        "automaticPresenceSimulation": True,
    }
    cdp.send("WebAuthn.addVirtualAuthenticator", {"options": authenticator})

    with override_settings(OTP_WEBAUTHN_RP_ID=host, OTP_WEBAUTHN_ALLOWED_ORIGINS=[base]):
        _sign_in_with_password(page, base, user)
        page.get_by_label("Code").fill(code_for(device))
        page.get_by_role("button", name="Verify").click()
        page.wait_for_url(f"{base}{SECURITY}")

        page.get_by_role("button", name="Add a passkey").click()
        page.locator("#passkeys tr[data-passkey]").wait_for()  # the page reloads with it listed

        _sign_out(page)
        _sign_in_with_password(page, base, user)
        page.wait_for_url("**/accounts/two-factor/**")
        page.get_by_role("button", name="Use a passkey").click()
        page.wait_for_url(f"{base}{SECURITY}")
    assert page.locator("#passkeys tr[data-passkey]").count() == 1
    assert (
        AuditEntry.objects.filter(user=user, action="signin.success", detail__method="passkey").count() == 1
    )
    assert AuditEntry.objects.filter(user=user, action="signin.2fa.passkey_add").count() == 1
