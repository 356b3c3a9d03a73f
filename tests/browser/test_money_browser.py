"""In Chromium, the money pages a spender uses: a first task from a starter, purchase history and a
receipt after a test purchase through the sandbox's fake Stripe checkout, a CSV export downloaded and
counted, and the usage page's date ranges."""

import csv
import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.nexustoken import starters
from dashboard.nexustoken.models import Purchase, Status, Task, TaskType
from tests.support.credits_cast import SUCCESS_CARD, connected_person
from tests.support.helpers import sign_in
from tests.support.tasks_cast import Person

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_first_task_from_a_starter_asks_before_replacing_typed_text(live_server, page, sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    owner = Person(sandbox)
    sign_in(page, live_server.url, owner.user)
    page.goto(f"{live_server.url}/tasks/new/")
    classification = starters.STARTERS[TaskType.TEXT_CLASSIFICATION]
    mine = "Where is my order? It was due on Monday."

    # Typed text first, then a type: the dialog asks; declining keeps the text and fills the rest.
    page.get_by_label("Input text").fill(mine)
    asked: list[str] = []
    page.once("dialog", lambda dialog: (asked.append(dialog.message), dialog.dismiss()))
    page.get_by_label("Task type").select_option("text_classification")
    assert "Replace what you typed in Input text" in asked[0]
    assert page.get_by_label("Input text").input_value() == mine
    assert '"complaint"' in page.get_by_label("JSON Schema of the result").input_value()
    assert page.locator("#starter-summary").inner_text() == classification.summary

    # The "Use the starter" button asks too; accepting replaces the typed text.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Use the starter").click()
    assert page.get_by_label("Input text").input_value() == classification.input_data

    page.get_by_label("Budget (NC)").press("Enter")  # Enter posts (not "Use the starter", above it)
    page.wait_for_url(lambda url: "/tasks/" in url and not url.endswith("/tasks/new/"))
    task = Task.objects.get(user=owner.user)
    assert task.task_type == "text_classification" and task.input_data == classification.input_data
    assert page.get_by_role("heading", level=1).is_visible()


def test_purchase_history_and_a_receipt_after_a_test_purchase(live_server, page, sandbox, shoot):
    person = connected_person(sandbox)
    sign_in(page, live_server.url, person.user)
    page.goto(f"{live_server.url}/credits/")
    page.get_by_role("button", name="1,000 NC · $10.00").click()
    page.wait_for_url(f"{sandbox.nexustoken_url}/checkout/*")
    page.get_by_label("Card number").fill(SUCCESS_CARD)
    page.get_by_label("Expiry (MM/YY)").fill("12/39")
    page.get_by_label("CVC").fill("123")
    page.get_by_role("button", name="Pay $10.00").click()
    page.wait_for_url(f"{live_server.url}/credits/checkout/?session_id=*")
    # An abandoned checkout beside it, shown as such.
    Purchase.objects.create(
        user=person.user, session_id=f"cs_gone_{uuid.uuid4().hex}", amount_credits=250, status="expired"
    )

    page.goto(f"{live_server.url}/credits/")
    page.get_by_role("link", name="Purchase history and receipts").click()
    page.wait_for_url(f"{live_server.url}/credits/purchases/")
    paid = Purchase.objects.get(status=Purchase.Status.PAID)
    row = page.locator(f"[data-purchase='{paid.pk}']")
    for text in ("1,000 NC", "$10.00", "Paid", paid.session_id):
        assert text in row.inner_text()
    assert "Expired unpaid" in page.locator("#purchase-table").inner_text()
    shoot(page, "purchases")

    row.get_by_role("link", name="Receipt").click()
    page.wait_for_url(f"{live_server.url}/credits/purchases/{paid.pk}/receipt/")
    receipt = page.locator("#receipt")
    assert "confirmed by NexusToken" in page.locator("#receipt-status").inner_text()
    assert page.locator("#receipt-amount").inner_text().startswith("$10.00")
    assert page.locator("#receipt-session").inner_text() == paid.session_id
    page.emulate_media(media="print")  # on paper: the receipt alone
    assert receipt.is_visible() and not page.locator(".topbar").is_visible()
    assert not page.get_by_role("button", name="Print").is_visible()


def test_the_tasks_csv_downloads_with_the_lists_filter(live_server, page, sandbox, tmp_path):
    person = connected_person(sandbox)
    now = timezone.now()
    Task.objects.bulk_create(
        Task(user=person.user, task_id=str(uuid.uuid4()), budget=10, created_at=now - timedelta(minutes=n),
             status=Status.SETTLED if n % 3 else Status.EXPIRED, input_data=f"=cmd|{n}")
        for n in range(45)
    )  # fmt: skip
    sign_in(page, live_server.url, person.user)
    page.goto(f"{live_server.url}/tasks/")
    page.get_by_label("Status").select_option("EXPIRED")
    page.wait_for_url("**/tasks/?status=EXPIRED*")
    page.locator("#task-export[href*='status=EXPIRED']").wait_for()
    with page.expect_download() as waiting:
        page.locator("#task-export").click()
    saved = tmp_path / "tasks.csv"
    waiting.value.save_as(saved)
    with saved.open(newline="") as file:
        rows = list(csv.reader(file))
    assert len(rows) == 1 + 15  # the header, and every expired task (not only the first page)
    assert {row[3] for row in rows[1:]} == {"Expired"}
    assert all(row[-1].startswith("'=cmd|") for row in rows[1:])


def test_the_usage_page_follows_the_chosen_range(live_server, page, sandbox, shoot):
    person = connected_person(sandbox)
    now = timezone.now()
    for days_ago, price, kind in (
        (1, 30, "json_extraction"),
        (20, 50, "code_execution"),
        (80, 70, "text_generation"),
    ):
        Task.objects.create(
            user=person.user, task_id=str(uuid.uuid4()), status=Status.SETTLED, budget=price + 5,
            task_type=kind, awarded_price=price, platform_fee=2, settled_at=now - timedelta(days=days_ago),
        )  # fmt: skip
    sign_in(page, live_server.url, person.user)
    page.goto(f"{live_server.url}/credits/usage/")
    totals = {"7": "32 NC in all", "30": "84 NC in all", "90": "156 NC in all"}
    for key, label in (("7", "Last 7 days"), ("90", "Last 90 days"), ("30", "Last 30 days")):
        page.get_by_role("radio", name=label, exact=True).check()
        page.get_by_role("button", name="Show").click()
        page.wait_for_url(f"**/credits/usage/?range={key}*")
        caption = page.locator("#spend-chart-caption")
        caption.filter(has_text=totals[key]).wait_for()
        assert f"the last {key} days" in caption.inner_text()
    assert "Code execution" in page.locator("#type-chart").inner_text()
    assert "Text generation" not in page.locator("#type-chart svg").text_content()
    shoot(page, "usage-ranges")

    for label in ("This month", "Last month"):
        page.get_by_role("radio", name=label, exact=True).check()
        page.get_by_role("button", name="Show").click()
        page.locator("#spend-chart-caption", has_text=label.lower()).wait_for()

    page.get_by_role("radio", name="Custom").check()
    page.get_by_label("From", exact=True).fill("2025-06-01")
    page.get_by_label("To", exact=True).fill("2025-05-01")
    page.get_by_role("button", name="Show").click()
    page.locator("#range-error", has_text="The range runs backwards").wait_for()
    assert "the last 30 days" in page.locator("#spend-chart-caption").inner_text()
