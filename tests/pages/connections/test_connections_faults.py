"""Upstream failures on Settings > Connections become sentences in the card, never a 500 page."""

import pytest

from dashboard.accounts.models import Connection
from tests.support.helpers import connected_user, dashboard_user, new_nexical_user

pytestmark = pytest.mark.django_db

URL = "/settings/connections/"


@pytest.fixture
def person(client):
    user = dashboard_user()
    client.force_login(user)
    return user


@pytest.fixture
def fast_failures(settings):
    settings.UPSTREAM_GET_RETRIES = 0
    settings.UPSTREAM_TIMEOUT = 1.5  # under the hang knob's 3 s, well over a loaded machine's answer time
    settings.UPSTREAM_MAX_RETRY_AFTER = 0


@pytest.mark.parametrize(
    ("knobs", "sentence"),
    [
        ({"error_rate": 1.0}, "Nexical is having problems (HTTP 500). Try again shortly."),
        ({"force_429": 5, "retry_after": 7}, "Nexical is rate limiting requests. Try again in 7 seconds."),
        ({"malformed": 5}, "Nexical answered something unexpected. The problem has been logged."),
        (
            {"hang": 5, "hang_seconds": 3},
            "The Nexical orchestrator is unreachable right now. Try again in a minute.",
        ),
    ],
)
def test_it_explains_a_failing_nexical_when_pasting(client, sandbox, person, fast_failures, knobs, sentence):
    upstream = new_nexical_user(sandbox)
    sandbox.set_knobs(scope="nexical", **knobs)
    response = client.post(URL, {"nexical-token": upstream["token"], "nexical_save": ""})
    assert response.status_code == 200
    assert sentence in response.content.decode()
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("knobs", "sentence"),
    [
        ({"error_rate": 1.0}, "Nexical is having problems (HTTP 500)."),
        ({"malformed": 5}, "Nexical answered something unexpected."),
    ],
)
def test_it_explains_a_failing_nexical_on_the_page(client, sandbox, fast_failures, knobs, sentence):
    user, upstream = connected_user(sandbox)
    client.force_login(user)
    sandbox.set_knobs(scope="nexical", **knobs)
    page = client.get(URL).content.decode()
    assert sentence in page
    # Still connected, shown from what was stored: a failure is not a rejected token.
    assert upstream["user"]["email"] in page
    assert not Connection.objects.get(user=user).needs_attention


def test_it_explains_a_failing_nexustoken(client, sandbox, person, fast_failures):
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    response = client.post(URL, {"register-email": "someone@example.com", "nexustoken_register": ""})
    assert response.status_code == 200
    assert b"NexusToken is having problems (HTTP 500). Try again shortly." in response.content
    assert not Connection.objects.exists()


def test_it_explains_an_unreachable_device_flow(client, sandbox, person, fast_failures):
    sandbox.set_knobs(scope="nexical", hang=5, hang_seconds=3)
    response = client.post(URL, {"nexical_device_start": ""})
    assert response.status_code == 200
    assert b"The Nexical orchestrator is unreachable right now." in response.content


def test_it_explains_a_closed_port(client, person, settings):
    from tests.support.sandbox_process import free_port

    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    settings.UPSTREAM_GET_RETRIES = 0
    response = client.post(URL, {"nexical-token": "nx_whatever_token", "nexical_save": ""})
    assert b"The Nexical orchestrator is unreachable right now." in response.content
