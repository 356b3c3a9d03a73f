"""Stripe top-up: the checkout is opened upstream, and the return page believes only the upstream."""

from datetime import timedelta
from urllib.parse import urlsplit

import httpx
import pytest
import respx
from django.utils import timezone

from dashboard.nexustoken.models import Purchase
from tests.support.credits_cast import (
    DECLINED_CARD,
    SIGNUP_CREDITS,
    SUCCESS_CARD,
    balance,
    connected_person,
    pay,
    upstream,
)

pytestmark = pytest.mark.django_db

URL = "/credits/"


@pytest.fixture
def owner(sandbox, client):
    person = connected_person(sandbox)
    client.force_login(person.user)
    return person


def start_checkout(client, amount: int = 1500) -> Purchase:
    response = client.post(URL, {"amount_credits": str(amount), "checkout": "1"})
    assert response.status_code == 302
    purchase = Purchase.objects.get()
    assert response["Location"].startswith("http://127.0.0.1:")
    assert response["Location"].endswith(f"/nexustoken/checkout/{purchase.session_id}")
    return purchase


def start_checkout_again(client, amount: int) -> Purchase:
    """A further checkout of the same user (start_checkout expects the first)."""
    response = client.post(URL, {"amount_credits": str(amount), "checkout": "1"})
    assert response.status_code == 302
    return Purchase.objects.get(session_id=response["Location"].rsplit("/", 1)[-1])


def return_path(response) -> str:
    """The sandbox sends the browser back to our return page: follow it inside the test client."""
    assert response.status_code == 302, response.text
    location = urlsplit(response.headers["Location"])
    assert location.netloc == "testserver"
    return f"{location.path}?{location.query}"


def test_it_opens_a_checkout_with_the_dashboard_as_the_way_back(client, sandbox, owner):
    purchase = start_checkout(client, 1500)
    assert purchase.user == owner.user
    assert purchase.amount_credits == 1500
    assert purchase.status == Purchase.Status.OPEN
    session = upstream(sandbox, owner, "GET", f"/credits/stripe/session/{purchase.session_id}").json()
    assert session["status"] == "open"
    assert session["amount_credits"] == 1500


def test_it_records_a_payment_once_even_when_the_return_page_is_reloaded(client, sandbox, owner):
    purchase = start_checkout(client, 1500)
    back = return_path(pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD))

    first = client.get(back)
    assert first.status_code == 200
    assert "1,500 NC ($15.00) were added to your balance" in first.text
    assert f"{SIGNUP_CREDITS + 1500:,} NC" in first.text
    recorded = Purchase.objects.get()
    assert recorded.status == Purchase.Status.PAID
    assert recorded.balance_after == SIGNUP_CREDITS + 1500

    second, third = client.get(back), client.get(back)
    for again in (second, third):
        assert again.status_code == 200
        assert "were already added to your balance" in again.text
    assert Purchase.objects.count() == 1
    assert Purchase.objects.get().settled_at == recorded.settled_at
    assert balance(sandbox, owner) == SIGNUP_CREDITS + 1500


def test_it_says_a_declined_card_changed_nothing(client, sandbox, owner):
    purchase = start_checkout(client, 1000)
    declined = pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", DECLINED_CARD)
    assert declined.status_code == 402

    # Typing the return address by hand proves nothing: the upstream says the session is unpaid.
    response = client.get(f"/credits/checkout/?session_id={purchase.session_id}")
    assert response.status_code == 200
    assert "The payment has not gone through." in response.text
    assert Purchase.objects.get().status == Purchase.Status.OPEN
    assert balance(sandbox, owner) == SIGNUP_CREDITS


def test_it_says_a_cancelled_checkout_charged_nothing(client, sandbox, owner):
    purchase = start_checkout(client, 1000)
    cancelled = httpx.get(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}/cancel", timeout=10)
    response = client.get(return_path(cancelled))
    assert "Payment cancelled." in response.text
    assert "Nothing was charged" in response.text
    assert Purchase.objects.get().status == Purchase.Status.CANCELLED
    assert balance(sandbox, owner) == SIGNUP_CREDITS


def test_it_expires_abandoned_and_declined_checkouts_when_their_sessions_expire(client, sandbox, owner):
    declined = start_checkout(client, 1000)
    assert pay(f"{sandbox.nexustoken_url}/checkout/{declined.session_id}", DECLINED_CARD).status_code == 402
    abandoned = start_checkout_again(client, 2000)  # opened, then the tab was closed
    # Opened days ago: once past the day the page used to look back, it was never asked about again.
    Purchase.objects.filter(pk=abandoned.pk).update(created_at=timezone.now() - timedelta(days=3))

    page = client.get(URL).text
    assert Purchase.objects.filter(status=Purchase.Status.OPEN).count() == 2  # both sessions still live
    assert page.count(">Waiting for payment</span>") == 2

    sandbox.expire_checkout(declined.session_id)
    sandbox.expire_checkout(abandoned.session_id)
    page = client.get(URL).text

    assert set(Purchase.objects.values_list("status", flat=True)) == {Purchase.Status.EXPIRED}
    assert page.count(">Expired unpaid</span>") == 2
    assert "Waiting for payment" not in page
    assert balance(sandbox, owner) == SIGNUP_CREDITS
    # The return page, opened late, says so too.
    late = client.get(f"/credits/checkout/?session_id={declined.session_id}").text
    assert "This checkout expired unpaid." in late


def test_it_hides_another_users_checkout(client, sandbox, owner):
    purchase = start_checkout(client, 1000)
    pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD)
    outsider = connected_person(sandbox)
    client.force_login(outsider.user)

    response = client.get(f"/credits/checkout/?session_id={purchase.session_id}")
    assert response.status_code == 404
    assert "No payment of yours has this checkout id." in response.text  # a sentence, not a dead end
    assert "sign in as that user" in response.text and 'href="/credits/"' in response.text
    assert "1,000 NC" not in response.text  # nothing of the owner's payment shows
    assert Purchase.objects.get().status == Purchase.Status.OPEN  # nothing recorded by the outsider


@pytest.mark.parametrize("query", ["", "?session_id=", "?session_id=cs_test_made_up"])
def test_it_answers_404_for_a_checkout_id_it_never_started(client, sandbox, owner, query):
    response = client.get(f"/credits/checkout/{query}")
    assert response.status_code == 404
    assert 'role="alert" id="checkout-result"' in response.text


def test_it_sends_strangers_to_sign_in(client, sandbox):
    response = client.get("/credits/checkout/?session_id=cs_test_x")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


@pytest.mark.parametrize(
    ("amount", "sentence"),
    [
        ("", "Enter how many NC to buy."),
        ("ten", "Enter a whole number of NC, like 1000."),
        ("49", "The smallest top-up is 50 NC ($0.50)."),
        ("1000001", "The largest top-up is 1,000,000 NC ($10,000)."),
    ],
)
def test_it_rejects_bad_amounts_next_to_the_field(client, sandbox, owner, amount, sentence):
    response = client.post(URL, {"amount_credits": amount, "checkout": "1"})
    assert response.status_code == 400
    assert sentence in response.text
    assert 'id="id_amount_credits_error"' in response.text
    assert not Purchase.objects.exists()


def test_it_records_nothing_when_nexustoken_is_down(client, sandbox, owner):
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    response = client.post(URL, {"amount_credits": "1000", "checkout": "1"})
    assert response.status_code in (502, 503)
    assert "NexusToken is having problems" in response.text
    assert not Purchase.objects.exists()


def test_it_shows_the_wait_when_nexustoken_rate_limits_the_checkout(client, sandbox, owner):
    sandbox.set_knobs(scope="nexustoken", force_429=1, retry_after=30)
    response = client.post(URL, {"amount_credits": "1000", "checkout": "1"})
    assert response.status_code == 429
    assert "Try again in 30 seconds." in response.text
    assert not Purchase.objects.exists()


def test_it_never_sends_the_browser_to_a_payment_link_that_is_not_a_web_address(client, sandbox, owner):
    answer = {"session_id": "cs_test_odd", "checkout_url": "javascript:alert(1)", "amount_credits": 1000}
    with respx.mock:
        respx.post(f"{sandbox.nexustoken_url}/api/v1/credits/stripe/create-session").respond(200, json=answer)
        respx.route().pass_through()
        response = client.post(URL, {"amount_credits": "1000", "checkout": "1"})
    assert response.status_code == 502
    assert "a payment link the dashboard will not open" in response.text
    assert "javascript:" not in response.text
    assert not Purchase.objects.exists()


def test_it_records_a_payment_whose_browser_never_came_back(client, sandbox, owner):
    purchase = start_checkout(client, 2500)
    pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD)  # tab closed after paying

    page = client.get(URL).text
    assert f'id="balance">{SIGNUP_CREDITS + 2500:,} NC' in page
    assert Purchase.objects.get().status == Purchase.Status.PAID
    assert ">Paid</span>" in page
    # The return page, opened late, agrees and records nothing more.
    assert (
        "were already added to your balance"
        in client.get(f"/credits/checkout/?session_id={purchase.session_id}").text
    )


def test_it_records_nothing_from_a_broken_answer_and_everything_on_the_next_visit(
    client, sandbox, owner, settings
):
    settings.UPSTREAM_GET_RETRIES = 0
    purchase = start_checkout(client, 1000)
    back = return_path(pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD))

    sandbox.set_knobs(scope="nexustoken", malformed=1)
    broken = client.get(back)
    assert broken.status_code == 502
    assert "NexusToken answered something unexpected." in broken.text
    assert Purchase.objects.get().status == Purchase.Status.OPEN

    assert "1,000 NC ($10.00) were added to your balance" in client.get(back).text
    assert Purchase.objects.get().status == Purchase.Status.PAID
