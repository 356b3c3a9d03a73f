"""Settings > Connections with ?next=: a page that asked the user to connect first (an invitation,
a connect page) gets them back once connected, and only ever to a page of this site."""

import pytest

from dashboard.accounts.models import Connection, Service
from tests.support.helpers import dashboard_user, new_nexical_user, new_nexustoken_account

pytestmark = pytest.mark.django_db

URL = "/settings/connections/"
INVITE = "/invites/accept/"


@pytest.fixture
def person(client):
    user = dashboard_user()
    client.force_login(user)
    return user


def test_it_carries_next_into_the_page_forms(client, sandbox, person):
    page = client.get(URL, {"next": INVITE}).content.decode()
    assert 'action="/settings/connections/?next=/invites/accept/#nexical"' in page  # plain posts
    assert """hx-vals='{"next": "/invites/accept/"}'""" in page  # htmx posts


def test_it_goes_back_to_next_after_connecting(client, sandbox, person):
    upstream = new_nexical_user(sandbox, full_name="Grace Hopper")
    response = client.post(f"{URL}?next={INVITE}", {"nexical-token": upstream["token"], "nexical_save": ""})
    assert response.status_code == 302
    assert response["Location"] == INVITE
    assert Connection.objects.get(user=person, service=Service.NEXICAL).secret == upstream["token"]
    page = client.get(INVITE).content.decode()
    assert "Nexical connected as Grace Hopper." in page


def test_it_goes_back_to_next_after_connecting_with_htmx(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    response = client.post(
        URL,
        {"ntkey-api_key": account["api_key"], "nexustoken_save": "", "next": "/tasks/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert response["HX-Redirect"] == "/tasks/"
    assert Connection.objects.filter(user=person, service=Service.NEXUSTOKEN).exists()
    assert "NexusToken connected." in client.get("/tasks/").content.decode()


@pytest.mark.parametrize("unsafe", ["https://evil.example/", "//evil.example/", "javascript:alert(1)"])
def test_it_ignores_a_next_that_leaves_the_site(client, sandbox, person, unsafe):
    upstream = new_nexical_user(sandbox)
    response = client.post(URL, {"nexical-token": upstream["token"], "nexical_save": "", "next": unsafe})
    assert response.status_code == 302
    assert response["Location"] == "/settings/connections/#nexical"
    page = client.get(URL, {"next": unsafe}).content.decode()
    assert "evil.example" not in page and "javascript:" not in page


def test_it_ignores_an_unsafe_next_with_htmx(client, sandbox, person):
    upstream = new_nexical_user(sandbox)
    response = client.post(
        URL,
        {"nexical-token": upstream["token"], "nexical_save": "", "next": "https://evil.example/"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "HX-Redirect" not in response
    assert "Nexical connected as" in response.content.decode()  # the card, swapped in place


def test_it_stays_on_the_page_when_the_connect_fails(client, sandbox, person):
    response = client.post(
        f"{URL}?next={INVITE}", {"nexical-token": "nx_not-a-real-token-000000", "nexical_save": ""}
    )
    assert response.status_code == 200
    assert "Nexical rejected this token" in response.content.decode()
    assert not Connection.objects.filter(user=person).exists()


def test_it_stays_after_removing_even_with_next(client, sandbox, person):
    upstream = new_nexical_user(sandbox)
    client.post(URL, {"nexical-token": upstream["token"], "nexical_save": ""})
    response = client.post(f"{URL}?next={INVITE}", {"nexical_remove": "", "confirmed": "1"})
    assert response.status_code == 302
    assert response["Location"] == "/settings/connections/#nexical"
