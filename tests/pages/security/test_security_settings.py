"""Settings > Security: turning two-factor on (QR code and otpauth URI, confirmed by a code), the
recovery codes shown once, turning it off, passkeys' server side, the signed-in sessions, and
OTP_REQUIRED."""

import re

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.staticfiles import finders
from django.db import connection
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_otp.plugins.otp_static.models import StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice
from django_otp_webauthn.models import WebAuthnCredential

from dashboard.audit import AuditEntry
from dashboard.security.models import UserSession
from tests.support.helpers import PASSWORD, dashboard_user, unique, watch_secret
from tests.support.two_factor import code_for, code_from_uri, enable, password_step, second_step, sentences

pytestmark = pytest.mark.django_db

SECURITY = "/settings/security/"


def _uri(html: str) -> str:
    found = re.search(r'<code id="totp-uri"[^>]*>(otpauth://[^<]+)</code>', html)
    assert found, "no otpauth URI on the page"
    return found.group(1).replace("&amp;", "&")


def test_it_turns_two_factor_on_with_a_code_from_the_app(client):
    user = dashboard_user()
    client.force_login(user)
    page = client.get(SECURITY).content.decode()
    assert "Set up two-factor" in page and "Off" in page

    started = client.post(SECURITY, {"start": "1"}).content.decode()
    uri = _uri(started)
    watch_secret(uri.split("secret=")[1].split("&")[0])
    assert uri.startswith("otpauth://totp/Nexus%20Dashboard%3A" + user.username)
    assert "<svg" in started and "QR code for your authenticator app" in started  # drawn by the server
    device_id = re.search(r'name="device" value="(\d+)"', started).group(1)

    wrong = client.post(SECURITY, {"confirm": "1", "device": device_id, "otp_token": "12345"})
    assert wrong.status_code == 400
    assert "That code is not right." in sentences(wrong)
    assert _uri(wrong.content.decode()) == uri  # the same setup, to try again
    assert not TOTPDevice.objects.filter(user=user, confirmed=True).exists()

    with override_settings(OTP_TOTP_THROTTLE_FACTOR=0):
        done = client.post(SECURITY, {"confirm": "1", "device": device_id, "otp_token": code_from_uri(uri)})
    html = done.content.decode()
    codes = re.search(r'<code id="recovery-codes-list"[^>]*>([^<]+)</code>', html).group(1).split()
    assert len(codes) == 10 and len(set(codes)) == 10
    for code in codes:
        watch_secret(code)
    assert "Two-factor is on." in sentences(done)
    assert TOTPDevice.objects.get(user=user).confirmed

    # This session proved the code: it stays signed in. The secret and the codes are never shown again.
    again = client.get(SECURITY).content.decode()
    assert "otpauth://" not in again and codes[0] not in again
    assert "10 recovery codes left." in sentences(client.get(SECURITY))
    assert list(
        AuditEntry.objects.filter(user=user, action__startswith="signin.2fa").values_list("action", "detail")
    ) == [("signin.2fa.enable", {"method": "app"})]


def test_another_session_must_pass_the_second_step_once_two_factor_is_on():
    user = dashboard_user()
    laptop, phone = Client(), Client()
    laptop.force_login(user)
    phone.force_login(user)
    assert phone.get("/notifications/").status_code == 200
    enable(user)
    # The phone's session was signed in with the password alone: now it is asked for a code.
    assert phone.get("/notifications/")["Location"].startswith("/accounts/two-factor/")


def test_new_recovery_codes_replace_the_old_ones(client):
    user = dashboard_user()
    device, old_codes = enable(user)
    password_step(client, user)
    second_step(client, code_for(device))
    asked = client.post(SECURITY, {"regenerate": "1"})  # without the dialog's "confirmed": asked first
    assert asked.status_code == 302 and "confirm=regenerate" in asked["Location"]
    response = client.post(SECURITY, {"regenerate": "1", "confirmed": "1"})
    html = response.content.decode()
    new_codes = re.search(r'<code id="recovery-codes-list"[^>]*>([^<]+)</code>', html).group(1).split()
    for code in new_codes:
        watch_secret(code)
    assert len(new_codes) == 10 and not set(new_codes) & set(old_codes)
    assert StaticToken.objects.filter(device__user=user).count() == 10

    # One row for the new codes (asking first wrote none), and never a code in it.
    made = AuditEntry.objects.get(user=user, action="signin.2fa.recovery_codes")
    assert made.detail == {"count": 10}

    other = Client()
    password_step(other, user)
    assert second_step(other, old_codes[0]).status_code == 400
    with override_settings(OTP_STATIC_THROTTLE_FACTOR=0):
        assert second_step(other, new_codes[0]).status_code == 302


@override_settings(OTP_TOTP_THROTTLE_FACTOR=0, OTP_STATIC_THROTTLE_FACTOR=0)
def test_turning_it_off_takes_a_code_or_the_password(client):
    user = dashboard_user()
    device, _ = enable(user)
    password_step(client, user)
    second_step(client, code_for(device))

    nothing = client.post(SECURITY, {"disable": "1"})
    assert nothing.status_code == 400 and "Enter a code from your authenticator app" in sentences(nothing)
    wrong = client.post(SECURITY, {"disable": "1", "password": "not-it"})
    assert wrong.status_code == 400 and "two-factor is still on" in sentences(wrong)
    assert TOTPDevice.objects.filter(user=user).exists()

    done = client.post(SECURITY, {"disable": "1", "password": PASSWORD})
    assert done.status_code == 302
    assert not TOTPDevice.objects.filter(user=user).exists()
    assert not StaticToken.objects.filter(device__user=user).exists()
    assert "Two-factor is off." in sentences(client.get(SECURITY))
    assert AuditEntry.objects.get(user=user, action="signin.2fa.disable").detail == {"proof": "password"}

    # Signing in now takes the password alone.
    fresh = Client()
    password_step(fresh, user)
    assert fresh.get("/notifications/").status_code == 200


def test_passkeys_are_added_only_once_two_factor_is_on(client):
    user = dashboard_user()
    client.force_login(user)
    refused = client.post(reverse("otp_webauthn:credential-registration-begin"))
    assert refused.status_code == 403
    assert (
        refused.json()["detail"] == "Turn on two-factor with an authenticator app first; then add passkeys."
    )

    device, _ = enable(user)
    signed_in = Client()
    password_step(signed_in, user)
    second_step(signed_in, code_for(device))
    options = signed_in.post(reverse("otp_webauthn:credential-registration-begin"))
    assert options.status_code == 200
    assert options.json()["rp"]["id"] == settings.OTP_WEBAUTHN_RP_ID
    page = signed_in.get(SECURITY).content.decode()
    # django-otp-webauthn's script, served by the app (CSP: script-src 'self'), with its placeholder.
    assert (
        '<script type="module" src="/static/django_otp_webauthn/otp_webauthn_register.js"></script>' in page
    )
    assert 'id="passkey-registration-placeholder"' in page
    assert finders.find("django_otp_webauthn/otp_webauthn_register.js")  # collected with the app's own


def test_removing_a_passkey_asks_first_and_writes_one_row(client):
    user = dashboard_user()
    device, _ = enable(user)
    password_step(client, user)
    second_step(client, code_for(device))
    passkey = WebAuthnCredential.objects.create(
        user=user,
        name="Laptop fingerprint",
        confirmed=True,
        credential_id=b"id",
        credential_id_sha256="0" * 64,
        public_key=b"pk",
        sign_count=0,
        aaguid="00000000-0000-0000-0000-000000000000",
    )
    asked = client.post(SECURITY, {"remove_passkey": "1", "id": passkey.pk})
    assert asked.status_code == 302 and "confirm=remove_passkey" in asked["Location"]
    assert not AuditEntry.objects.filter(action="signin.2fa.passkey_remove").exists()
    removing = client.post(SECURITY, {"remove_passkey": "1", "id": passkey.pk, "confirmed": "1"})
    assert removing.status_code == 302
    assert not WebAuthnCredential.objects.filter(pk=passkey.pk).exists()
    removed = AuditEntry.objects.get(user=user, action="signin.2fa.passkey_remove")
    assert removed.target == f"Laptop fingerprint ({passkey.pk})"


@pytest.mark.parametrize(
    "name",
    [
        "otp_webauthn:credential-registration-begin",
        "otp_webauthn:credential-registration-complete",
        "otp_webauthn:credential-authentication-begin",
        "otp_webauthn:credential-authentication-complete",
    ],
)
def test_passkey_endpoints_refuse_anonymous_callers(client, name):
    response = client.post(reverse(name), "{}", content_type="application/json")
    assert response.status_code in (401, 403)
    assert response.json()["detail"]


def test_the_setup_page_has_nothing_the_csp_would_block(client):
    client.force_login(dashboard_user())
    body = client.post(SECURITY, {"start": "1"}).content.decode()
    assert "<svg" in body and " style=" not in body and "<style" not in body
    scripts = re.findall(r"<script\b[^>]*>", body)
    assert scripts and all("src=" in tag or 'type="application/json"' in tag for tag in scripts)


def _session_row_ids(html: str) -> list[str]:
    return re.findall(r'<tr data-session="(\d+)"', html)


SAFARI_ON_MAC = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) "
    "Version/17.5 Safari/605.1.15"
)
CHROME_ON_ANDROID = (
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0 "
    "Mobile Safari/537.36"
)


def test_it_lists_the_sessions_and_ends_another_one():
    user = dashboard_user()
    laptop = Client(headers={"User-Agent": SAFARI_ON_MAC})
    phone = Client(headers={"User-Agent": CHROME_ON_ANDROID}, REMOTE_ADDR="203.0.113.9")
    laptop.force_login(user)
    phone.force_login(user)
    assert phone.get("/notifications/").status_code == 200

    page = laptop.get(SECURITY)
    text = sentences(page)
    assert "Safari on macOS this session" in text
    assert "Chrome on Android" in text and "203.0.113.9" in text
    # The session key itself is never on the page.
    for key in (laptop.session.session_key, phone.session.session_key):
        assert key not in page.content.decode()
    phone_row = UserSession.objects.get(user=user, ip="203.0.113.9")

    ended = laptop.post(SECURITY, {"end_session": "1", "id": phone_row.pk})
    assert ended.status_code == 302
    assert "Session ended." in sentences(laptop.get(SECURITY))
    # The phone's next request is signed out; the laptop's is not.
    assert phone.get("/notifications/")["Location"].startswith("/accounts/login/")
    assert laptop.get("/notifications/").status_code == 200
    assert len(_session_row_ids(laptop.get(SECURITY).content.decode())) == 1
    ended_entry = AuditEntry.objects.get(user=user, action="session.end")
    assert ended_entry.target == "Chrome on Android" and ended_entry.detail["address"] == "203.0.113.9"


def test_a_live_page_of_an_ended_session_is_told_it_is_signed_out():
    """The ended session's open job page keeps asking for new lines (JSON, or the shared event
    stream): it gets a 401 with a sentence, not the sign-in page's HTML, which its script cannot
    read and would retry for ever. The page itself still goes to the sign-in page."""
    user = dashboard_user()
    laptop, phone = Client(), Client(headers={"User-Agent": CHROME_ON_ANDROID})
    laptop.force_login(user)
    phone.force_login(user)
    assert phone.get("/notifications/").status_code == 200
    phone_row = UserSession.objects.get(user=user, user_agent=CHROME_ON_ANDROID)
    assert laptop.post(SECURITY, {"end_session": "1", "id": phone_row.pk}).status_code == 302

    job = "/teams/1/projects/1/branches/1/jobs/1/"
    for url, accept in [
        (f"{job}updates?after=0", "application/json"),
        ("/live/events?job=1.1.1.1:0", "text/event-stream"),
    ]:
        answer = phone.get(url, headers={"Accept": accept})
        assert answer.status_code == 401, url
        assert answer.json() == {
            "error": "You are signed out (the session ended or was ended from another device). Sign in again."
        }
    assert phone.get(job, headers={"Accept": "text/html,*/*"})["Location"].startswith("/accounts/login/")


def test_it_ends_every_other_session_but_not_this_one_nor_another_users():
    user, stranger = dashboard_user(), dashboard_user()
    here, there, elsewhere, strangers = Client(), Client(), Client(), Client()
    for client in (here, there, elsewhere):
        client.force_login(user)
        client.get("/notifications/")
    strangers.force_login(stranger)
    strangers.get("/notifications/")

    # Another user's session cannot be named.
    stranger_row = UserSession.objects.get(user=stranger)
    assert here.post(SECURITY, {"end_session": "1", "id": stranger_row.pk}).status_code == 400

    here.post(SECURITY, {"end_others": "1"})
    assert "2 sessions ended" in sentences(here.get(SECURITY))
    for client in (there, elsewhere):
        assert client.get("/notifications/")["Location"].startswith("/accounts/login/")
    assert here.get("/notifications/").status_code == 200
    assert strangers.get("/notifications/").status_code == 200
    assert AuditEntry.objects.filter(user=user, action="session.end").count() == 2


def test_sign_out_forgets_the_session(client):
    user = dashboard_user()
    password_step(client, user)
    client.get("/notifications/")
    assert UserSession.objects.filter(user=user).count() == 1
    client.post(reverse("logout"))
    assert not UserSession.objects.filter(user=user).exists()


@override_settings(OTP_REQUIRED=True)
def test_otp_required_sends_users_without_two_factor_to_set_it_up(client):
    user = dashboard_user()
    client.force_login(user)
    for path in ("/notifications/", "/teams/", "/"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"] == SECURITY, path
    page = client.get(SECURITY)
    assert page.status_code == 200
    assert "Your administrator requires two-factor sign-in." in sentences(page)

    device, _ = enable(user)
    password_step(client, user)
    second_step(client, code_for(device))
    assert client.get("/notifications/").status_code == 200
    assert "requires two-factor" not in sentences(client.get(SECURITY))


def _queries(client: Client, path: str) -> list[str]:
    client.get(path)  # the first request records the session; later ones within a minute do not
    with CaptureQueriesContext(connection) as queries:
        assert client.get(path).status_code == 200
    return [query["sql"] for query in queries.captured_queries]


def test_it_costs_one_indexed_read_per_page():
    """Measured on /notifications/: without two-factor, the one read is "does the user have an
    app?"; with it, django-otp's read of the device that verified the session, and nothing else."""
    plain_user, secured_user = dashboard_user(), dashboard_user()
    # A client builds its middleware chain at its first request: one client per chain.
    unguarded, plain, secured = Client(), Client(), Client()
    unguarded.force_login(plain_user)
    plain.force_login(plain_user)
    device, _ = enable(secured_user)
    password_step(secured, secured_user)
    second_step(secured, code_for(device))

    without_security = settings.MIDDLEWARE.copy()
    without_security.remove("django_otp.middleware.OTPMiddleware")
    without_security.remove("dashboard.security.middleware.second_factor")
    with override_settings(MIDDLEWARE=without_security):
        baseline = _queries(unguarded, "/notifications/")
    plain_queries = _queries(plain, "/notifications/")
    secured_queries = _queries(secured, "/notifications/")

    added = [sql for sql in plain_queries if "otp_totp_totpdevice" in sql]
    assert len(plain_queries) == len(baseline) + 1 and len(added) == 1
    assert len(secured_queries) == len(baseline) + 1
    assert sum("otp_totp_totpdevice" in sql for sql in secured_queries) == 1
    assert not any("security_usersession" in sql for sql in plain_queries + secured_queries)


def test_the_django_admin_shows_no_totp_secret_nor_recovery_code(client):
    root = get_user_model().objects.create_superuser(unique("root"), "root@example.com", PASSWORD)
    device, _ = enable(dashboard_user())
    client.force_login(root)
    assert client.get("/admin/").status_code == 200
    for path in ("/admin/otp_totp/totpdevice/", f"/admin/otp_totp/totpdevice/{device.pk}/change/"):
        assert client.get(path).status_code == 404
    assert client.get("/admin/otp_static/staticdevice/").status_code == 404
