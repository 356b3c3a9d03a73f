"""Reputation and capabilities pages against the live sandbox."""

import uuid

import pytest

from tests.support.credits_cast import connected_person, set_account, upstream
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db

CAPABILITY = {
    "name": "invoice_extraction",
    "category": "data",
    "input_mode": "text",
    "output_mode": "json",
    "price_nc": "12",
    "validation_mode": "deterministic",
    "description": "Totals and dates from invoices",
    "tags": "Invoices, finance",
}


@pytest.fixture
def owner(sandbox, client):
    person = connected_person(sandbox)
    client.force_login(person.user)
    return person


def register(client, **changes) -> object:
    return client.post("/capabilities/", {**CAPABILITY, **changes, "register": "1"})


def my_capabilities(sandbox, person) -> list[dict]:
    return upstream(sandbox, person, "GET", "/capabilities").json()


# --- reputation -----------------------------------------------------------------------------------


def test_it_shows_score_rating_success_rate_and_standing(client, sandbox, owner):
    set_account(sandbox, owner, reputation=7, task_count=12, tasks_succeeded=9, tasks_failed=1)
    page = client.get("/reputation/").text
    assert 'id="score">7<' in page
    assert 'id="rating">Bronze<' in page
    assert 'id="success-rate">90%<' in page
    assert 'id="task-count">12<' in page
    assert 'id="status">in good standing<' in page


def test_it_computes_the_success_rate_from_the_counts_it_shows(client, sandbox, owner):
    set_account(sandbox, owner, reputation=1, task_count=2, tasks_succeeded=0, tasks_failed=0)
    page = client.get("/reputation/").text
    assert 'id="success-rate">—<' in page  # not "100 %" beside "0 succeeded, 0 failed"
    assert "No task finished yet" in page


def test_it_explains_a_frozen_account(client, sandbox, owner):
    set_account(sandbox, owner, reputation=-11)
    page = client.get("/reputation/").text
    assert "This account is frozen" in page
    assert "below -10" in page
    assert 'id="status">frozen<' in page


# A fixed id: every xdist worker must collect the same test names.
@pytest.mark.parametrize(
    "url", ["/reputation/", "/capabilities/", "/capabilities/5adcc0bb-812f-45a4-999a-3e3c2af953ef/"]
)
def test_it_sends_strangers_to_sign_in_and_unconnected_users_to_connect(client, sandbox, url):
    assert client.get(url)["Location"].startswith("/accounts/login/")
    client.force_login(dashboard_user())
    assert "Connect your NexusToken account" in client.get(url).text


# --- capabilities ---------------------------------------------------------------------------------


def test_it_registers_a_capability_and_lists_it_as_mine(client, sandbox, owner):
    response = register(client)
    assert response.status_code == 302
    [mine] = my_capabilities(sandbox, owner)
    assert (mine["name"], mine["price_nc"], mine["tags"]) == (
        "invoice_extraction",
        12,
        ["invoices", "finance"],
    )
    page = client.get("/capabilities/").text
    assert "Capability “invoice_extraction” registered." in page
    assert 'data-capability="invoice_extraction"' in page


@pytest.mark.parametrize(
    ("changes", "field", "sentence"),
    [
        ({"name": ""}, "name", "This field is required."),
        ({"price_nc": "0"}, "price_nc", "The price must be at least 1 NC."),
        ({"category": "poetry"}, "category", "Select a valid choice."),
        ({"tags": ",".join(f"t{i}" for i in range(11))}, "tags", "Give at most 10 tags."),
    ],
)
def test_it_rejects_a_bad_capability_next_to_the_field(client, sandbox, owner, changes, field, sentence):
    response = register(client, **changes)
    assert response.status_code == 400
    assert f'id="id_{field}_error"' in response.text
    assert sentence in response.text
    assert my_capabilities(sandbox, owner) == []


def test_it_pauses_and_resumes_a_capability(client, sandbox, owner):
    register(client)
    [mine] = my_capabilities(sandbox, owner)
    response = client.post("/capabilities/", {"capability_id": mine["id"], "availability": "1"}, follow=True)
    assert "“invoice_extraction” is now paused." in response.text
    assert my_capabilities(sandbox, owner)[0]["is_available"] is False
    data = {"capability_id": mine["id"], "is_available": "on", "availability": "1"}
    response = client.post("/capabilities/", data, follow=True)
    assert "“invoice_extraction” is now available." in response.text
    assert my_capabilities(sandbox, owner)[0]["is_available"] is True


def test_it_refuses_to_toggle_someone_elses_capability(client, sandbox, owner):
    register(client)
    [theirs] = my_capabilities(sandbox, owner)
    outsider = connected_person(sandbox)
    client.force_login(outsider.user)
    response = client.post("/capabilities/", {"capability_id": theirs["id"], "availability": "1"})
    assert response.status_code == 404
    assert "That capability is not one of yours" in response.text
    assert my_capabilities(sandbox, owner)[0]["is_available"] is True


def test_it_browses_the_marketplace_with_filters(client, sandbox, owner):
    register(client)
    register(client, name="poem_writer", category="text", price_nc="300", tags="poetry")
    outsider = connected_person(sandbox)
    client.force_login(outsider.user)

    everything = client.get("/capabilities/").text
    assert "invoice_extraction" in everything and "poem_writer" in everything
    cheap = client.get("/capabilities/", {"max_price": "100", "category": "data"}).text
    assert "invoice_extraction" in cheap and "poem_writer" not in cheap
    tagged = client.get("/capabilities/", {"tag": "poetry"}).text
    assert "poem_writer" in tagged and "invoice_extraction" not in tagged
    assert "Mine" in everything and "No capabilities yet." in everything  # the outsider has none


def test_it_shows_a_capabilitys_stats_to_anyone_connected(client, sandbox, owner):
    register(client)
    [mine] = my_capabilities(sandbox, owner)
    for person in (owner, connected_person(sandbox)):
        client.force_login(person.user)
        response = client.get(f"/capabilities/{mine['id']}/")
        assert response.status_code == 200
        assert "<h1>invoice_extraction</h1>" in response.text
        assert 'id="completed">0<' in response.text


def test_it_answers_404_for_an_unknown_capability(client, sandbox, owner):
    assert client.get(f"/capabilities/{uuid.uuid4()}/").status_code == 404
    assert client.get("/capabilities/not-a-uuid/").status_code == 404


def test_it_says_nexustoken_is_down_on_the_capabilities_page(client, sandbox, owner):
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    response = client.get("/capabilities/")
    assert response.status_code == 502
    assert "NexusToken is having problems" in response.text


@pytest.mark.parametrize("url", ["/credits/", "/credits/usage/", "/reputation/", "/capabilities/"])
def test_it_marks_credits_as_the_current_section(client, sandbox, owner, url):
    assert 'href="/credits/" aria-current="page">Credits</a>' in client.get(url).text


def test_it_explains_a_bad_marketplace_filter_and_still_lists_everything(client, sandbox, owner):
    register(client)
    response = client.get("/capabilities/", {"max_price": "-1"})
    assert response.status_code == 200
    assert "Ensure this value is greater than or equal to 0." in response.text
    assert "invoice_extraction" in response.text


def test_it_shows_no_success_rate_before_the_first_task(client, sandbox, owner):
    page = client.get("/reputation/").text  # a new account: the upstream reports a rate of 1.0
    assert 'id="success-rate">—<' in page
    assert "No task finished yet" in page
    assert "100%" not in page
