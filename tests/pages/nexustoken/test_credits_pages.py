"""The credits page against the live sandbox: what it shows, its actions, and its failures."""

import re

import pytest
from django.test import override_settings

from dashboard.accounts.models import Connection
from tests.support.credits_cast import SIGNUP_CREDITS, balance, connected_person, set_account, upstream
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db

URL = "/credits/"


@pytest.fixture
def owner(sandbox, client):
    person = connected_person(sandbox)
    client.force_login(person.user)
    return person


def test_it_shows_balance_credit_line_and_the_next_rating(client, sandbox, owner):
    response = client.get(URL)
    assert response.status_code == 200
    page = response.text
    assert f'id="balance">{SIGNUP_CREDITS} NC' in page
    assert 'id="frozen">0 NC' in page
    assert f'id="purchasing-power">{SIGNUP_CREDITS} NC' in page
    assert 'id="debt">0 NC' in page
    assert "Rating: Newcomer" in page
    assert "Next: <strong>Bronze</strong>" in page
    assert "10+ tasks (you have 0)" in page
    assert owner.account["api_key"] not in page


def test_it_shows_each_user_their_own_account(client, sandbox, owner):
    set_account(sandbox, owner, task_count=12)
    outsider = connected_person(sandbox)
    client.force_login(outsider.user)
    page = client.get(URL).text
    assert "10+ tasks (you have 0)" in page  # the outsider's account, not the owner's
    assert "Rating: Newcomer" in page


def test_it_sends_strangers_to_sign_in_and_unconnected_users_to_connect(client, sandbox):
    assert client.get(URL)["Location"].startswith("/accounts/login/")
    client.force_login(dashboard_user())
    response = client.get(URL)
    assert response.status_code == 200
    assert "Connect your NexusToken account" in response.text


def test_it_renders_only_the_body_for_htmx(client, sandbox, owner):
    response = client.get(URL, headers={"HX-Request": "true"})
    assert response.text.lstrip().startswith('<div id="page-body"')
    assert "<html" not in response.text


def test_it_lets_the_form_redirect_to_the_checkout_hosts_and_nowhere_else(client, sandbox, owner):
    policy = client.get(URL)["Content-Security-Policy"]
    form_action = next(part for part in policy.split(";") if "form-action" in part)
    assert form_action.split() == ["form-action", "'self'", sandbox.url, "https://checkout.stripe.com"]
    assert "default-src 'self'" in policy


def test_it_explains_debt_and_the_days_left_and_repays_it(client, sandbox, owner):
    set_account(sandbox, owner, debt=120, debt_days=3)
    page = client.get(URL).text
    assert 'id="debt">120 NC' in page
    assert 'id="days-left">in 4 days unless repaid' in page

    response = client.post(URL, {"repay-amount_credits": "20", "repay": "1"}, follow=True)
    assert "Repaid 20 NC. Remaining debt: 100 NC." in response.text
    response = client.post(URL, {"repay-amount_credits": "", "repay": "1"}, follow=True)
    assert "Repaid 100 NC. Remaining debt: 0 NC." in response.text
    assert balance(sandbox, owner) == SIGNUP_CREDITS - 120


def test_it_says_when_the_balance_cannot_cover_the_repayment(client, sandbox, owner):
    set_account(sandbox, owner, debt=5000, debt_days=1)
    response = client.post(URL, {"repay-amount_credits": "", "repay": "1"})
    assert response.status_code == 402
    assert "Insufficient balance to repay 5000 NC" in response.text


def test_it_explains_a_suspended_account_and_what_to_do(client, sandbox, owner):
    set_account(sandbox, owner, debt=50, debt_days=8)
    page = client.get(URL).text
    assert "Your NexusToken API access is suspended" in page
    assert "unpaid for 8 days" in page
    assert "repay the debt" in page


@override_settings(NEXUSTOKEN_DEV_TOPUP=True)
def test_it_offers_the_free_top_up_where_the_setting_allows(client, sandbox, owner):
    assert "Free top-up (development)" in client.get(URL).text
    response = client.post(URL, {"dev-amount_credits": "250", "dev_topup": "1"}, follow=True)
    assert "Added 250 NC (simulated, no payment)." in response.text
    assert balance(sandbox, owner) == SIGNUP_CREDITS + 250


@override_settings(NEXUSTOKEN_DEV_TOPUP=False)
def test_it_hides_and_refuses_the_free_top_up_elsewhere(client, sandbox, owner):
    assert "Free top-up" not in client.get(URL).text
    response = client.post(URL, {"dev-amount_credits": "250", "dev_topup": "1"})
    assert response.status_code == 403
    assert "Free top-ups are turned off on this dashboard." in response.text
    assert balance(sandbox, owner) == SIGNUP_CREDITS


def test_it_links_github_and_refreshes_the_score(client, sandbox, owner):
    response = client.post(URL, {"github-github_login": "octo-cat", "github_link": "1"}, follow=True)
    assert "GitHub account octo-cat linked." in response.text
    assert "Linked to <strong>octo-cat</strong>" in response.text
    response = client.post(URL, {"github_refresh": "1"}, follow=True)
    assert "GitHub credit score refreshed:" in response.text
    info = upstream(sandbox, owner, "GET", "/credits/credit-info").json()
    assert info["github_login"] == "octo-cat"


@pytest.mark.parametrize("login", ["-octo", "octo--cat", "octo cat", "x" * 40])
def test_it_rejects_impossible_github_usernames(client, sandbox, owner, login):
    response = client.post(URL, {"github-github_login": login, "github_link": "1"})
    assert response.status_code == 400
    assert 'id="id_github-github_login_error"' in response.text


def test_it_says_refresh_needs_a_linked_account(client, sandbox, owner):
    response = client.post(URL, {"github_refresh": "1"})
    assert response.status_code == 409
    assert "No GitHub account is linked" in response.text


def test_it_says_nexustoken_is_down_instead_of_failing(client, sandbox, owner):
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    response = client.get(URL)
    assert response.status_code == 502
    assert "NexusToken is having problems" in response.text


def test_it_shows_the_wait_when_rate_limited(client, sandbox, owner):
    sandbox.set_knobs(scope="nexustoken", force_429=5, retry_after=20)
    response = client.get(URL)
    assert response.status_code == 429
    assert "Try again in 20 seconds." in response.text


def test_it_asks_to_reconnect_a_revoked_key(client, sandbox, owner):
    upstream(sandbox, owner, "POST", "/auth/rotate-key")  # the stored key stops working
    response = client.get(URL)
    assert response.status_code == 403
    assert "NexusToken rejected your API key." in response.text
    assert Connection.objects.get(user=owner.user).needs_attention


@pytest.fixture
def fast_failures(settings):
    settings.UPSTREAM_GET_RETRIES = 0
    settings.UPSTREAM_TIMEOUT = 1.5  # under the hang knob's 3 s, well over a loaded machine's answer time
    settings.UPSTREAM_MAX_RETRY_AFTER = 0


@pytest.mark.parametrize(
    ("knobs", "status", "sentence"),
    [
        ({"hang": 5, "hang_seconds": 3}, 503, "NexusToken is unreachable right now. Try again in a minute."),
        ({"malformed": 5}, 502, "NexusToken answered something unexpected. The problem has been logged."),
    ],
)
def test_it_turns_timeouts_and_broken_answers_into_a_sentence(
    client, sandbox, owner, fast_failures, knobs, status, sentence
):
    sandbox.set_knobs(scope="nexustoken", **knobs)
    response = client.get(URL)
    assert response.status_code == status
    assert sentence in response.text
    assert not Connection.objects.get(user=owner.user).needs_attention


HTMX = {"HX-Request": "true"}


def test_it_sends_htmx_to_the_checkout_page_by_header(client, sandbox, owner):
    response = client.post(URL, {"amount_credits": "500", "checkout": "1"}, headers=HTMX)
    assert response.status_code == 200
    assert response["HX-Redirect"].startswith(f"{sandbox.nexustoken_url}/checkout/cs_test_")


def test_it_swaps_the_body_with_the_errors_for_htmx(client, sandbox, owner):
    response = client.post(URL, {"amount_credits": "3", "checkout": "1"}, headers=HTMX)
    assert response.status_code == 200  # htmx swaps 2xx only
    assert response.text.lstrip().startswith('<div id="page-body"')
    assert "The smallest top-up is 50 NC ($0.50)." in response.text


def test_it_lets_htmx_follow_the_redirect_after_an_action(client, sandbox, owner, settings):
    settings.NEXUSTOKEN_DEV_TOPUP = True
    response = client.post(URL, {"dev-amount_credits": "5", "dev_topup": "1"}, headers=HTMX)
    assert response.status_code == 302
    assert response["Location"] == URL
    fragment = client.get(URL, headers=HTMX).text
    assert "Added 5 NC (simulated, no payment)." in fragment
    assert f'id="balance">{SIGNUP_CREDITS + 5} NC' in fragment


@override_settings(NEXUSTOKEN_DEV_TOPUP=True)
def test_it_gives_each_amount_field_its_own_label(client, sandbox, owner):
    set_account(sandbox, owner, debt=120, debt_days=3)  # the repay form shows too
    page = client.get(URL).text
    labels = re.findall(r'<label for="[^"]*amount_credits">([^<]+)</label>', page)
    assert labels == ["Amount to repay (NC)", "Credits to buy (NC)", "Credits to add (NC)"]
