"""In Chromium: buy credits through the (sandbox) Stripe checkout and see the balance rise; a
declined card changes nothing. The second journey runs without JavaScript: plain forms and redirects."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.nexustoken.models import Budget, Purchase, Status, Task
from tests.support.credits_cast import DECLINED_CARD, SIGNUP_CREDITS, SUCCESS_CARD, balance, connected_person
from tests.support.helpers import sign_in

pytestmark = pytest.mark.browser


def fill_card(page, number: str) -> None:
    page.get_by_label("Card number").fill(number)
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("CVC").fill("123")


@pytest.mark.django_db(transaction=True)
def test_it_tops_up_with_a_card_and_the_balance_rises(live_server, page, sandbox, shoot):
    person = connected_person(sandbox)
    sign_in(page, live_server.url, person.user)
    page.goto(f"{live_server.url}/credits/")
    assert page.locator("#balance").inner_text() == f"{SIGNUP_CREDITS} NC"
    shoot(page, "credits")

    page.get_by_label("Credits to buy (NC)").fill("1234")
    assert page.locator("#top-up-price").inner_text() == "$12.34"
    page.get_by_role("button", name="1,000 NC · $10.00").click()
    page.wait_for_url(f"{sandbox.nexustoken_url}/checkout/*")
    assert page.get_by_test_id("amount").inner_text() == "$10.00"
    fill_card(page, SUCCESS_CARD)
    page.get_by_role("button", name="Pay $10.00").click()

    page.wait_for_url(f"{live_server.url}/credits/checkout/?session_id=*")
    page.get_by_text("Payment received: 1,000 NC ($10.00) were added to your balance.").wait_for()
    assert page.locator("#balance").inner_text() == f"{SIGNUP_CREDITS + 1000:,} NC"
    page.reload()  # a reload records nothing twice
    page.get_by_text("were already added to your balance").wait_for()

    page.get_by_role("link", name="Back to credits").click()
    assert page.locator("#balance").inner_text() == f"{SIGNUP_CREDITS + 1000:,} NC"
    assert page.get_by_role("cell", name="Paid").is_visible()
    assert balance(sandbox, person) == SIGNUP_CREDITS + 1000
    assert Purchase.objects.get().status == Purchase.Status.PAID


@pytest.mark.django_db(transaction=True)
def test_it_changes_nothing_when_the_card_is_declined_even_without_javascript(live_server, browser, sandbox):
    person = connected_person(sandbox)
    context = browser.new_context(java_script_enabled=False)
    page = context.new_page()
    page.set_default_timeout(15_000)
    try:
        sign_in(page, live_server.url, person.user)
        page.goto(f"{live_server.url}/credits/")
        page.get_by_label("Credits to buy (NC)").fill("700")
        assert not page.locator("#top-up-price").is_visible()  # no script: the checkout page says the price
        page.get_by_role("button", name="Continue to payment").click()  # a plain post, then a redirect

        page.wait_for_url(f"{sandbox.nexustoken_url}/checkout/*")
        fill_card(page, DECLINED_CARD)
        page.get_by_role("button", name="Pay $7.00").click()
        page.get_by_text("Your card was declined.").wait_for()

        page.get_by_role("link", name="Cancel and go back").click()
        page.wait_for_url(f"{live_server.url}/credits/checkout/?cancelled=1&session_id=*")
        page.get_by_text("Payment cancelled.").wait_for()
        assert page.locator("#balance").inner_text() == f"{SIGNUP_CREDITS} NC"
    finally:
        context.close()
    assert balance(sandbox, person) == SIGNUP_CREDITS
    assert Purchase.objects.get().status == Purchase.Status.CANCELLED


@pytest.mark.django_db(transaction=True)
def test_it_shows_the_spend_chart(live_server, page, sandbox, shoot):
    person = connected_person(sandbox)
    Budget.objects.create(user=person.user, monthly_limit=400)
    for days_ago, price in ((12, 40), (6, 75), (2, 30), (0, 55)):
        Task.objects.create(
            user=person.user,
            task_id=str(uuid.uuid4()),
            status=Status.SETTLED,
            budget=price + 10,
            awarded_price=price,
            platform_fee=max(1, price // 20),
            settled_at=timezone.now() - timedelta(days=days_ago),
        )
    sign_in(page, live_server.url, person.user)
    page.goto(f"{live_server.url}/credits/usage/")
    chart = page.get_by_role("img", name="Spend per day over the last 30 days")
    assert chart.is_visible()
    page.get_by_text("Data table").first.click()
    assert page.get_by_role("cell", name="57", exact=True).first.is_visible()  # 55 + fee 2, today
    shoot(page, "spend-chart")
