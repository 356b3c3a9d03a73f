"""API tokens, profile, device approval and system administration against the live sandbox."""

from datetime import date, timedelta

import httpx
import pytest
from django.urls import reverse

from tests.support.orchestrator_cast import as_user, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone(sandbox):
    return person(sandbox)


# --- API tokens ----------------------------------------------------------------------------------


def test_it_generates_a_token_shown_once_and_lists_it_by_prefix(client, someone, sandbox):
    expiry = (date.today() + timedelta(days=30)).isoformat()
    response = as_user(client, someone).post(
        reverse("orchestrator:api_tokens"),
        {"name": "ci", "scopes": ["read"], "expires_on": expiry, "generate": "1"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    raw = page.split('<code id="new-token-value">')[1].split("</code>")[0]
    assert raw.startswith("nx_")
    assert "shown only this once" in page
    # The token works upstream with the read scope only.
    assert httpx.get(f"{sandbox.nexical_url}/users/me", headers={"Authorization": f"Bearer {raw}"}).is_success

    listing = client.get(reverse("orchestrator:api_tokens")).content.decode()
    assert raw not in listing
    assert raw[:8] in listing
    assert 'data-token="ci"' in listing
    assert ">read<" in listing


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"name": "", "scopes": ["read"]}, "This field is required."),
        ({"name": "x", "scopes": ["admin"]}, "Select a valid choice."),
        (
            {"name": "x", "scopes": ["read"], "expires_on": "2001-01-01"},
            "The expiry date must be in the future.",
        ),
    ],
)
def test_it_validates_a_token_before_calling_upstream(client, someone, sandbox, data, message):
    sandbox.reset_request_counts()
    response = as_user(client, someone).post(reverse("orchestrator:api_tokens"), {**data, "generate": "1"})
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not any(key.startswith("POST") for key in sandbox.request_counts())


def test_it_revokes_a_token(client, someone, sandbox):
    as_user(client, someone)
    page = client.post(
        reverse("orchestrator:api_tokens"), {"name": "temp", "scopes": ["read", "write"], "generate": "1"}
    )
    raw = page.content.decode().split('<code id="new-token-value">')[1].split("</code>")[0]
    token_id = httpx.get(
        f"{sandbox.nexical_url}/auth/tokens", headers={"Authorization": f"Bearer {someone.upstream['token']}"}
    ).json()["tokens"][-1]["id"]
    response = client.post(
        reverse("orchestrator:api_tokens"), {"id": token_id, "revoke": "1", "confirmed": "1"}
    )
    assert response.status_code == 302
    assert 'data-token="temp"' not in client.get(reverse("orchestrator:api_tokens")).content.decode()
    assert (
        httpx.get(f"{sandbox.nexical_url}/users/me", headers={"Authorization": f"Bearer {raw}"}).status_code
        == 401
    )


# --- profile -------------------------------------------------------------------------------------


def test_it_edits_the_profile(client, someone):
    as_user(client, someone)
    response = client.post(
        reverse("orchestrator:profile"),
        {"full_name": "Grace Hopper", "avatar_url": "https://example.com/grace.png", "save": "1"},
    )
    assert response.status_code == 302
    page = client.get(reverse("orchestrator:profile")).content.decode()
    assert "Grace Hopper" in page
    assert "https://example.com/grace.png" in page


def test_it_validates_the_avatar_url(client, someone):
    response = as_user(client, someone).post(
        reverse("orchestrator:profile"), {"full_name": "X", "avatar_url": "nope nope", "save": "1"}
    )
    assert response.status_code == 400
    assert "Enter an http:// or https:// address." in response.content.decode()


# --- device approval -----------------------------------------------------------------------------


def start_device_flow(sandbox) -> dict:
    response = httpx.post(f"{sandbox.nexical_url}/device/code", json={"client_id": "nexical-cli"})
    response.raise_for_status()
    return response.json()


def poll(sandbox, device_code: str) -> httpx.Response:
    return httpx.post(
        f"{sandbox.nexical_url}/device/token", json={"device_code": device_code, "client_id": "nexical-cli"}
    )


def test_it_prefills_the_code_and_confirms_before_approving(client, someone, sandbox):
    flow = start_device_flow(sandbox)
    as_user(client, someone)
    page = client.get(
        reverse("orchestrator:device_verify") + f"?user_code={flow['user_code']}"
    ).content.decode()
    assert f'value="{flow["user_code"]}"' in page

    confirm = client.post(
        reverse("orchestrator:device_verify"), {"user_code": flow["user_code"].lower(), "review": "1"}
    )
    assert confirm.status_code == 200
    assert flow["user_code"] in confirm.content.decode()
    assert 'name="approve"' in confirm.content.decode()
    assert poll(sandbox, flow["device_code"]).json()["error"] == "authorization_pending"

    approved = client.post(
        reverse("orchestrator:device_verify"), {"user_code": flow["user_code"], "approve": "1"}
    )
    assert "nexical-cli" in approved.content.decode()
    token = poll(sandbox, flow["device_code"]).json()["access_token"]
    me = httpx.get(f"{sandbox.nexical_url}/users/me", headers={"Authorization": f"Bearer {token}"}).json()
    assert me["user"]["id"] == someone.id


def test_it_denies_a_device(client, someone, sandbox):
    flow = start_device_flow(sandbox)
    response = as_user(client, someone).post(
        reverse("orchestrator:device_verify"), {"user_code": flow["user_code"], "deny": "1"}
    )
    assert "Denied" in response.content.decode()
    assert poll(sandbox, flow["device_code"]).json()["error"] == "access_denied"


def test_an_unknown_code_lands_on_the_code_field(client, someone):
    response = as_user(client, someone).post(
        reverse("orchestrator:device_verify"), {"user_code": "ZZZZ-ZZZZ", "approve": "1"}
    )
    assert response.status_code == 400
    assert "unknown or has expired" in response.content.decode()
    response = client.post(reverse("orchestrator:device_verify"), {"user_code": "12", "review": "1"})
    assert "Codes look like ABCD-1234" in response.content.decode()


# --- system administration -----------------------------------------------------------------------


def test_the_system_page_is_a_404_for_ordinary_users(client, someone):
    as_user(client, someone)
    assert client.get(reverse("orchestrator:system_admin")).status_code == 404
    assert (
        reverse("orchestrator:system_admin")
        not in client.get(reverse("orchestrator:team_list")).content.decode()
    )


def test_system_accounts_find_the_system_page_in_the_navigation(client, sandbox):
    as_user(client, person(sandbox, role="system"))
    assert (
        f'href="{reverse("orchestrator:system_admin")}"'
        in client.get(reverse("orchestrator:team_list")).content.decode()
    )


def test_a_system_admin_creates_users_and_enrollment_tokens_and_sees_workers(client, sandbox):
    admin = person(sandbox, role="system")
    as_user(client, admin)
    page = client.get(reverse("orchestrator:system_admin"))
    assert page.status_code == 200

    email = f"made-{admin.id[:8]}@example.com"
    response = client.post(
        reverse("orchestrator:system_admin"),
        {"full_name": "Made Here", "email": email, "password": "long-enough-pass", "create_user": "1"},
    )
    assert response.status_code == 302
    assert email in client.get(reverse("orchestrator:system_admin")).content.decode()

    response = client.post(
        reverse("orchestrator:system_admin"), {"name": "rack-1", "team_id": "", "create_enrollment": "1"}
    )
    page = response.content.decode()
    raw = page.split('<code id="new-enrollment-value">')[1].split("</code>")[0]
    assert raw.startswith("nk_worker_")
    enrolled = httpx.post(
        f"{sandbox.nexical_url}/auth/worker/enroll",
        json={"token": raw, "metadata": {"name": "rack-1-worker"}},
    )
    enrolled.raise_for_status()

    listing = client.get(reverse("orchestrator:system_admin")).content.decode()
    assert raw not in listing
    assert "rack-1" in listing
    assert "rack-1-worker" in listing


def test_ordinary_users_cannot_post_to_the_system_page(client, someone):
    response = as_user(client, someone).post(
        reverse("orchestrator:system_admin"), {"name": "x", "create_enrollment": "1"}
    )
    assert response.status_code == 404


def test_the_email_for_notifications_is_changed_on_the_profile_page(client, sandbox):
    """Notification emails go to the dashboard account's address: the profile page changes it and the
    preferences page says where mail goes and where to change it."""
    from tests.support.helpers import connected_user

    user, _ = connected_user(sandbox)
    client.force_login(user)
    answer = client.post("/settings/profile/", {"email": "grace@example.com", "save_email": "1"})
    assert answer.status_code == 302
    user.refresh_from_db()
    assert user.email == "grace@example.com"
    refused = client.post("/settings/profile/", {"email": "not an address", "save_email": "1"})
    assert refused.status_code == 400 and 'aria-invalid="true"' in refused.text
    user.refresh_from_db()
    assert user.email == "grace@example.com"
    preferences = client.get("/notifications/preferences/").text
    assert "<strong>grace@example.com</strong>" in preferences
    assert 'href="/settings/profile/#notification-email"' in preferences
