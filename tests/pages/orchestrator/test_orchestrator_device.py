"""The device page says which client asks before the user approves (lookup extension)."""

import httpx
import pytest
import respx
from django.urls import reverse

from tests.support.orchestrator_cast import person

pytestmark = pytest.mark.django_db


@pytest.fixture
def someone(sandbox):
    return person(sandbox)


@pytest.fixture
def other(sandbox):
    return person(sandbox)


def start(sandbox, client_id: str = "acme-deployer", scope: str | None = "deploy:read") -> dict:
    body = {"client_id": client_id, **({"scope": scope} if scope else {})}
    response = httpx.post(f"{sandbox.nexical_url}/device/code", json=body)
    response.raise_for_status()
    return response.json()


def review(client, who, code: str):
    client.force_login(who.user)
    return client.post(reverse("orchestrator:device_verify"), {"user_code": code, "review": "1"})


def test_the_confirm_step_names_the_client_and_its_scope(client, someone, sandbox):
    flow = start(sandbox)
    response = review(client, someone, flow["user_code"])
    assert response.status_code == 200
    page = response.content.decode()
    assert '<code id="device-client-id">acme-deployer</code>' in page
    assert "deploy:read" in page
    assert "does not say which client asks" not in page
    assert 'name="approve"' in page and 'name="deny"' in page
    # Looking up decides nothing: the device is still waiting.
    poll = httpx.post(f"{sandbox.nexical_url}/device/token", json={"device_code": flow["device_code"]})
    assert poll.json()["error"] == "authorization_pending"


def test_a_client_without_scope_is_said_to_get_everything(client, someone, sandbox):
    flow = start(sandbox, client_id="bare-cli", scope=None)
    page = review(client, someone, flow["user_code"]).content.decode()
    assert "bare-cli" in page
    assert "not limited: everything your account can do" in page


def test_an_unknown_code_is_refused_at_the_review_step(client, someone):
    response = review(client, someone, "ZZZZ-ZZZZ")
    assert response.status_code == 400
    page = response.content.decode()
    assert "unknown or has expired" in page
    assert 'name="approve"' not in page


def test_a_code_already_decided_is_refused_at_the_review_step(client, someone, other, sandbox):
    flow = start(sandbox)
    client.force_login(other.user)
    client.post(reverse("orchestrator:device_verify"), {"user_code": flow["user_code"], "deny": "1"})
    response = review(client, someone, flow["user_code"])
    assert response.status_code == 400
    assert "already approved or denied" in response.content.decode()


@pytest.mark.parametrize("status", [404, 405])
def test_an_orchestrator_without_lookup_still_allows_a_decision(client, someone, sandbox, status):
    flow = start(sandbox)
    with respx.mock:
        # Missing route: every body gets the same answer, even the one with no code at all.
        respx.post(f"{sandbox.nexical_url}/device/lookup").respond(
            status, json={"error": "not_found", "code": "not_found", "message": "Not Found"}
        )
        respx.route().pass_through()
        response = review(client, someone, flow["user_code"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "The orchestrator does not say which client asks." in page
    assert 'name="approve"' in page
    approved = client.post(
        reverse("orchestrator:device_verify"), {"user_code": flow["user_code"], "approve": "1"}
    )
    assert "acme-deployer" in approved.content.decode()


def test_the_device_page_is_per_user(client, someone, other, sandbox):
    """Who approves is who the device becomes: the page names each signed-in user's own account."""
    flow = start(sandbox)
    assert someone.email in review(client, someone, flow["user_code"]).content.decode()
    page = review(client, other, flow["user_code"]).content.decode()
    assert other.email in page
    assert someone.email not in page
