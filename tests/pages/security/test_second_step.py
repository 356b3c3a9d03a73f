"""The second step of sign-in: after the right password, a user with two-factor is half signed in
until a code (or a recovery code, once) proves the second factor; a half-signed-in session reaches
nothing else."""

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from dashboard.audit import AuditEntry
from dashboard.security.models import SpentRecoveryCode
from tests.support.helpers import dashboard_user
from tests.support.two_factor import code_for, enable, password_step, second_step, sentences

pytestmark = pytest.mark.django_db

SECOND_STEP = "/accounts/two-factor/"
# Wrong codes are throttled (1 s after the first, doubling): tests that follow a wrong code with a right
# one turn the throttle off; test_it_throttles_wrong_codes keeps it.
NO_THROTTLE = override_settings(OTP_TOTP_THROTTLE_FACTOR=0, OTP_STATIC_THROTTLE_FACTOR=0)


@pytest.fixture
def user_with_two_factor():
    user = dashboard_user()
    device, codes = enable(user)
    return user, device, codes


def test_a_user_without_two_factor_signs_in_with_the_password_alone(client):
    user = dashboard_user()
    password_step(client, user)
    assert client.get("/notifications/").status_code == 200
    assert client.get(SECOND_STEP).status_code == 302  # nothing to prove: on to the dashboard


def test_the_password_leads_to_the_second_step_and_a_code_finishes_it(client, user_with_two_factor):
    user, device, _ = user_with_two_factor
    password_step(client, user, next_url="/notifications/")
    response = client.get("/notifications/")
    assert response.status_code == 302
    assert response["Location"] == f"{SECOND_STEP}?next=%2Fnotifications%2F"

    page = client.get(response["Location"])
    assert page.status_code == 200
    assert 'name="otp_token"' in page.content.decode()

    done = second_step(client, code_for(device), next_url="/notifications/")
    assert done.status_code == 302 and done["Location"] == "/notifications/"
    assert client.get("/notifications/").status_code == 200


def test_it_refuses_a_wrong_code_with_a_sentence(client, user_with_two_factor):
    user, device, _ = user_with_two_factor
    password_step(client, user)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    with NO_THROTTLE:
        response = second_step(client, wrong)
        assert response.status_code == 400
        assert "That code is not right." in sentences(response)
        assert client.get("/notifications/").status_code == 302  # still half signed in
        assert second_step(client, code_for(device)).status_code == 302
    assert client.get("/notifications/").status_code == 200


def test_it_throttles_wrong_codes(client, user_with_two_factor):
    user, device, _ = user_with_two_factor
    password_step(client, user)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    second_step(client, wrong)
    response = second_step(client, code_for(device))  # right, but too soon after a wrong one
    assert response.status_code == 400
    assert "Too many wrong codes. Wait" in sentences(response)


def test_it_refuses_a_code_that_was_already_used(user_with_two_factor):
    user, device, _ = user_with_two_factor
    first, second = Client(), Client()
    code = code_for(device)
    password_step(first, user)
    assert second_step(first, code).status_code == 302

    # Someone who saw the code type it again, in the same window: refused, and told why.
    password_step(second, user)
    response = second_step(second, code)
    assert response.status_code == 400
    assert "That code was already used." in sentences(response)


def test_it_refuses_the_previous_windows_code_once_a_newer_one_was_used(user_with_two_factor):
    user, device, _ = user_with_two_factor
    first, second = Client(), Client()
    password_step(first, user)
    assert second_step(first, code_for(device)).status_code == 302
    # The app's previous code is still inside the tolerance window, but older than the one used.
    password_step(second, user)
    previous = code_for(device, steps_back=1)
    response = second_step(second, previous)
    assert response.status_code == 400
    assert "That code was already used." in sentences(response)


def test_a_recovery_code_works_exactly_once(user_with_two_factor):
    user, _, codes = user_with_two_factor
    first, second = Client(), Client()
    password_step(first, user)
    done = second_step(first, codes[0].upper().replace("-", " "))  # typed loosely: still accepted
    assert done.status_code == 302
    assert "recovery code; 9 left" in sentences(first.get("/notifications/"))
    assert SpentRecoveryCode.objects.filter(user=user).count() == 1

    password_step(second, user)
    with NO_THROTTLE:
        response = second_step(second, codes[0])
        assert response.status_code == 400
        assert "That recovery code was already used" in sentences(response)
        assert second.get("/notifications/").status_code == 302
        assert second_step(second, codes[1]).status_code == 302  # another code still works


def test_a_half_signed_in_session_reaches_nothing_but_the_second_step_and_sign_out(
    client, user_with_two_factor
):
    user, _, _ = user_with_two_factor
    password_step(client, user)
    blocked = [
        "/",
        "/notifications/",
        reverse("security:security"),
        "/settings/connections/",
        "/teams/",
        "/live/events",
        "/teams/1/projects/2/branches/3/jobs/4/events",
        "/teams/1/projects/2/branches/3/jobs/4/log.txt",
        "/admin/",
    ]
    for path in blocked:
        response = client.get(path, headers={"Accept": "text/event-stream"} if "events" in path else {})
        assert response.status_code == 302, path
        assert response["Location"].startswith(SECOND_STEP), path
    # htmx is sent to the second step for the whole page, returning to the page the user was on.
    fragment = client.get(
        "/notifications/", headers={"HX-Request": "true", "HX-Current-URL": "http://testserver/teams/"}
    )
    assert fragment["HX-Redirect"] == f"{SECOND_STEP}?next=%2Fteams%2F"
    # A write is refused too, and a passkey cannot be added to get around the code.
    assert client.post(reverse("security:security"), {"disable": "1", "password": "x"}).status_code == 302
    assert client.post(reverse("otp_webauthn:credential-registration-begin")).status_code == 302
    # The passkey check itself is reachable (it is part of the second step).
    assert client.post(reverse("otp_webauthn:credential-authentication-begin")).status_code == 200

    assert client.post(reverse("logout")).status_code == 302
    assert client.get("/notifications/")["Location"].startswith("/accounts/login/")


def test_the_second_step_does_not_send_anyone_off_site(client, user_with_two_factor):
    user, device, _ = user_with_two_factor
    password_step(client, user)
    done = second_step(client, code_for(device), next_url="https://evil.example/")
    assert done["Location"] == reverse("home:home")


def test_the_session_key_changes_at_the_second_step(client, user_with_two_factor):
    user, device, _ = user_with_two_factor
    password_step(client, user)
    half = client.session.session_key
    second_step(client, code_for(device))
    assert client.session.session_key != half


def _log(user) -> list[tuple[str, str, dict]]:
    return [
        (row.action, row.result, row.detail) for row in AuditEntry.objects.filter(user=user).order_by("pk")
    ]


@NO_THROTTLE
def test_the_second_step_writes_the_audit_log(user_with_two_factor):
    user, device, codes = user_with_two_factor
    with_code, with_recovery = Client(), Client()
    password_step(with_code, user)
    wrong = "000000" if code_for(device) != "000000" else "111111"
    second_step(with_code, wrong)
    second_step(with_code, code_for(device))
    password_step(with_recovery, user)
    second_step(with_recovery, codes[0])

    second = [
        entry for entry in _log(user) if entry[2].get("step") == "second" or entry[0].startswith("signin.2fa")
    ]
    assert second == [
        ("signin.failed", "refused", {"step": "second", "why": "wrong"}),
        ("signin.success", "done", {"step": "second", "method": "app"}),
        ("signin.success", "done", {"step": "second", "method": "recovery"}),
        ("signin.2fa.recovery_used", "done", {"left": 9}),
    ]
    # One success per sign-in, when it is complete: the right password alone wrote none.
    assert [entry[0] for entry in _log(user)].count("signin.success") == 2


@NO_THROTTLE
def test_the_right_password_without_the_second_factor_is_not_a_sign_in_in_the_log(user_with_two_factor):
    user, device, _ = user_with_two_factor
    attacker = Client()
    password_step(attacker, user)
    second_step(attacker, "000000" if code_for(device) != "000000" else "111111")
    assert _log(user) == [("signin.failed", "refused", {"step": "second", "why": "wrong"})]
