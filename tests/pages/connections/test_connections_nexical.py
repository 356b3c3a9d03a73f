"""Settings > Connections, Nexical card: paste a token, the device flow, replace, remove."""

import re
import uuid

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from dashboard.accounts.models import Connection, Service
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI
from tests.support.helpers import connected_user, dashboard_user, new_nexical_user

pytestmark = pytest.mark.django_db

URL = "/settings/connections/"


@pytest.fixture
def person(client):
    user = dashboard_user()
    client.force_login(user)
    return user


def test_it_requires_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_redirects_anonymous_posts_without_acting(client, sandbox):
    upstream = new_nexical_user(sandbox)
    response = client.post(URL, {"nexical-token": upstream["token"], "nexical_save": ""})
    assert response.status_code == 302
    assert not Connection.objects.exists()


def test_it_shows_empty_states_when_nothing_is_connected(client, sandbox, person):
    response = client.get(URL)
    assert response.status_code == 200
    assert b"Nexical is not connected" in response.content
    assert b"NexusToken is not connected" in response.content
    assert b"Sign in with Nexical" in response.content


def test_it_stores_a_pasted_token_and_shows_who_it_belongs_to(client, sandbox, person):
    upstream = new_nexical_user(sandbox, full_name="Grace Hopper")
    response = client.post(
        URL, {"nexical-token": f"  {upstream['token']}  ", "nexical_save": ""}, follow=True
    )
    assert response.status_code == 200
    connection = Connection.objects.get(user=person, service=Service.NEXICAL)
    assert connection.secret == upstream["token"]
    assert connection.account_label == upstream["user"]["email"]
    page = response.content.decode()
    assert "Nexical connected as Grace Hopper." in page
    assert "Grace Hopper" in page
    assert upstream["user"]["email"] in page
    assert f"{upstream['token'][:8]}…" in page
    assert upstream["token"] not in page


@pytest.mark.parametrize(
    ("token", "sentence"),
    [
        ("", "Paste your API token."),
        ("   ", "Paste your API token."),
        ("nx_" + "a" * 600, "This API token is too long (at most 512 characters)."),
        ("nx_abc def", "The token cannot contain spaces or line breaks."),
        ("ghp_abcdefabcdef", "A Nexical API token starts with nx_ or nxs_."),
        ("ab" * 32, "This looks like a NexusToken API key."),
    ],
)
def test_it_rejects_bad_tokens_next_to_the_field(client, sandbox, person, token, sentence):
    sandbox.reset_request_counts()
    response = client.post(URL, {"nexical-token": token, "nexical_save": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert re.search(
        r'<ul class="field-error" id="id_nexical-token_error"><li>[^<]*' + re.escape(sentence), page
    )
    assert not Connection.objects.exists()
    # The form is checked before anything reaches Nexical (the page load itself checks nothing).
    assert not any("/users/me" in path for path in sandbox.request_counts())


def test_it_says_when_nexical_rejects_the_token(client, sandbox, person):
    response = client.post(URL, {"nexical-token": "nx_this-token-does-not-exist", "nexical_save": ""})
    assert response.status_code == 200
    assert b"Nexical rejected this token." in response.content
    assert not Connection.objects.exists()


def test_it_replaces_a_token(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    second = new_nexical_user(sandbox)
    client.post(URL, {"nexical-token": second["token"], "nexical_save": ""})
    connection = Connection.objects.get(user=user, service=Service.NEXICAL)
    assert connection.secret == second["token"]
    assert connection.account_label == second["user"]["email"]


def test_it_asks_before_removing_without_javascript(client, sandbox):
    user, _ = connected_user(sandbox)
    client.force_login(user)
    page = client.get(URL + "?confirm=nexical_remove").content.decode()
    assert "Remove the Nexical connection?" in page
    assert 'name="nexical_remove"' in page

    response = client.post(URL, {"nexical_remove": ""})
    assert response.status_code == 302
    assert not Connection.objects.filter(user=user).exists()


def test_it_answers_htmx_with_the_card_only(client, sandbox, person):
    upstream = new_nexical_user(sandbox)
    response = client.post(
        URL, {"nexical-token": upstream["token"], "nexical_save": ""}, headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert page.lstrip().startswith('<section class="card" id="nexical"')
    assert "NexusToken" not in page
    assert "Nexical connected as" in page


def test_it_shows_each_user_only_their_own_connection(client, sandbox):
    owner, owner_upstream = connected_user(sandbox)
    stranger, stranger_upstream = connected_user(sandbox)
    client.force_login(stranger)
    page = client.get(URL).content.decode()
    assert stranger_upstream["user"]["email"] in page
    assert owner_upstream["user"]["email"] not in page
    assert owner_upstream["token"][:8] not in page

    # Removing acts on the signed-in user's connection only.
    client.post(URL, {"nexical_remove": ""})
    assert Connection.objects.filter(user=owner).exists()
    assert not Connection.objects.filter(user=stranger).exists()


def test_it_rejects_an_unknown_action(client, sandbox, person):
    assert client.post(URL, {"launch_rockets": ""}).status_code == 400


def _start_device_flow(client) -> str:
    page = client.post(URL, {"nexical_device_start": ""}).content.decode()
    match = re.search(r'id="nexical-user-code">([^<]+)<', page)
    assert match, "the page shows the user code"
    assert "Open Nexical to approve" in page
    assert 'hx-trigger="every ' in page
    return match.group(1).strip()


def test_it_connects_through_the_device_flow(client, sandbox, person):
    user_code = _start_device_flow(client)
    # Nothing approved yet: the card keeps polling.
    waiting = client.post(URL, {"nexical_device_poll": "1"}, headers={"HX-Request": "true"})
    assert waiting.status_code == 200
    assert b"Waiting for approval" in waiting.content
    assert b'id="nexical-user-code"' in waiting.content
    assert not Connection.objects.exists()

    approver = new_nexical_user(sandbox, full_name="Device Person")
    async_to_sync(nexical.device_approve)(NexicalAPI(token=approver["token"]), user_code=user_code)

    finished = client.post(URL, {"nexical_device_poll": "1"}, headers={"HX-Request": "true"})
    assert finished.status_code == 286  # stops the htmx polling
    assert b"Nexical connected as Device Person." in finished.content
    connection = Connection.objects.get(user=person, service=Service.NEXICAL)
    assert connection.account_label == approver["user"]["email"]
    assert b"nexical-user-code" not in client.get(URL).content


def test_it_says_when_the_device_sign_in_is_denied(client, sandbox, person):
    user_code = _start_device_flow(client)
    denier = new_nexical_user(sandbox)
    async_to_sync(nexical.device_deny)(NexicalAPI(token=denier["token"]), user_code=user_code)

    # The no-JS "continue" button takes the same path as the polling element.
    response = client.post(URL, {"nexical_device_poll": ""})
    assert response.status_code == 200
    assert b"The sign-in request was denied." in response.content
    assert not Connection.objects.exists()
    assert b"nexical-user-code" not in response.content


def test_it_cancels_a_device_sign_in(client, sandbox, person):
    _start_device_flow(client)
    response = client.post(URL, {"nexical_device_cancel": ""}, follow=True)
    assert b"Sign-in with Nexical cancelled." in response.content
    assert b"nexical-user-code" not in response.content


def long_email() -> str:
    """A valid address longer than the 200 characters the connection keeps as its label."""
    return f"{'a' * 60}.{uuid.uuid4().hex[:4]}@{'b' * 60}.{'c' * 60}.{'d' * 40}.example.com"


def test_it_connects_an_account_whose_email_is_longer_than_the_label_column(client, sandbox, person):
    """PostgreSQL refuses a value longer than its column: the connect must still succeed."""
    email = long_email()
    assert len(email) > 200
    upstream = new_nexical_user(sandbox, email=email, full_name="N" * 200)

    response = client.post(URL, {"nexical-token": upstream["token"], "nexical_save": ""}, follow=True)

    assert response.status_code == 200
    connection = Connection.objects.get(user=person, service=Service.NEXICAL)
    assert connection.secret == upstream["token"]
    assert len(connection.account_label) == 200
    assert connection.account_label == upstream["user"]["email"][:199] + "…"
    assert connection.account_id == str(upstream["user"]["id"])
