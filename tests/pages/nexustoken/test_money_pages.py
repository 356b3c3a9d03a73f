"""The money pages: purchase history and receipts, the CSV exports of tasks and spend, the usage
page's date ranges and spend by task type. Owner against another user, bad ranges, CSV content."""

import csv
import io
import uuid
from datetime import date, timedelta
from urllib.parse import urlsplit

import pytest
from asgiref.sync import async_to_sync
from django.db import connection
from django.test import Client
from django.utils import timezone

from dashboard.nexustoken import usage_range
from dashboard.nexustoken.models import Purchase, Status, Task
from tests.support.credits_cast import SUCCESS_CARD, connected_person, pay

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(sandbox, client):
    person = connected_person(sandbox)
    client.force_login(person.user)
    return person


@pytest.fixture
def outsider(sandbox):
    person = connected_person(sandbox)
    other = Client()
    other.force_login(person.user)
    person.client = other
    return person


def read_csv(response) -> list[list[str]]:
    """The streamed body, read as the browser would (the exports stream an async iterator)."""
    assert response.streaming

    async def collect() -> bytes:
        return b"".join([part async for part in response.streaming_content])

    return list(csv.reader(io.StringIO(async_to_sync(collect)().decode())))


def task(user, *, status=Status.SETTLED, price=20, fee=1, settled_days_ago=0, **fields) -> Task:
    now = timezone.now()
    settled = status == Status.SETTLED
    return Task.objects.create(
        user=user,
        task_id=fields.pop("task_id", str(uuid.uuid4())),
        status=status,
        budget=fields.pop("budget", 30),
        awarded_price=price if settled else None,
        platform_fee=fee if settled else None,
        settled_at=now - timedelta(days=settled_days_ago) if settled else None,
        created_at=fields.pop("created_at", now - timedelta(days=settled_days_ago, hours=1)),
        **fields,
    )


def bought(sandbox, client, amount: int) -> Purchase:
    """A purchase paid through the sandbox's fake Stripe checkout and recorded by the return page."""
    response = client.post("/credits/", {"amount_credits": str(amount), "checkout": "1"})
    purchase = Purchase.objects.get(session_id=response["Location"].rsplit("/", 1)[-1])
    back = urlsplit(
        pay(f"{sandbox.nexustoken_url}/checkout/{purchase.session_id}", SUCCESS_CARD).headers["Location"]
    )
    assert client.get(f"{back.path}?{back.query}").status_code == 200
    purchase.refresh_from_db()
    assert purchase.status == Purchase.Status.PAID
    return purchase


# --- purchases and receipts -------------------------------------------------------------------------


def test_it_lists_every_purchase_newest_first_with_a_receipt_for_the_paid_one(
    client, sandbox, owner, outsider
):
    paid = bought(sandbox, client, 1500)
    older = timezone.now() - timedelta(days=2)
    cancelled = Purchase.objects.create(
        user=owner.user, session_id=f"cs_test_{uuid.uuid4().hex}", amount_credits=700, status="cancelled"
    )
    expired = Purchase.objects.create(
        user=owner.user, session_id=f"cs_test_{uuid.uuid4().hex}", amount_credits=300, status="expired"
    )
    Purchase.objects.filter(pk__in=[cancelled.pk, expired.pk]).update(created_at=older)
    Purchase.objects.filter(pk=expired.pk).update(created_at=older - timedelta(hours=1))

    page = client.get("/credits/purchases/").text
    assert page.index("1,500 NC") < page.index("700 NC") < page.index("300 NC")  # newest first
    for text in ("$15.00", "$7.00", "$3.00", ">Paid<", ">Cancelled<", ">Expired unpaid<", paid.session_id):
        assert text in page
    assert page.count("/receipt/") == 1
    assert f"/credits/purchases/{paid.pk}/receipt/" in page
    assert 'href="/credits/purchases/"' in client.get("/credits/").text  # linked from /credits/

    receipt = client.get(f"/credits/purchases/{paid.pk}/receipt/")
    assert receipt.status_code == 200
    for text in ("Nexus Dashboard", owner.user.username, "1,500 NC", "$15.00", paid.session_id):
        assert text in receipt.text
    assert "confirmed by NexusToken" in receipt.text
    assert "nexustoken/receipt.css" in receipt.text  # the print stylesheet

    # Another user: neither the rows nor the receipt.
    theirs = outsider.client.get("/credits/purchases/").text
    assert paid.session_id not in theirs and "No purchases yet." in theirs
    assert outsider.client.get(f"/credits/purchases/{paid.pk}/receipt/").status_code == 404
    # No receipt for what was not paid, nor for a made-up number.
    assert client.get(f"/credits/purchases/{cancelled.pk}/receipt/").status_code == 404
    assert client.get("/credits/purchases/999999/receipt/").status_code == 404
    assert Client().get("/credits/purchases/").status_code == 302  # signed out: to the sign-in page


def test_a_receipt_says_so_when_nexustoken_does_not_confirm_the_payment(client, owner):
    response = client.post("/credits/", {"amount_credits": "900", "checkout": "1"})
    session_id = response["Location"].rsplit("/", 1)[-1]
    # The ledger says paid (a bug, a tampered row), NexusToken says the session is still open.
    Purchase.objects.filter(session_id=session_id).update(status="paid", settled_at=timezone.now())
    purchase = Purchase.objects.get(session_id=session_id)
    receipt = client.get(f"/credits/purchases/{purchase.pk}/receipt/").text
    assert "Not confirmed" in receipt and "NexusToken now says this session is “open”" in receipt
    assert "confirmed by NexusToken" not in receipt


def test_it_pages_a_long_purchase_history(client, owner):
    Purchase.objects.bulk_create(
        Purchase(
            user=owner.user, session_id=f"cs_{n}_{uuid.uuid4().hex}", amount_credits=100 + n, status="paid"
        )
        for n in range(30)
    )
    first, second = client.get("/credits/purchases/").text, client.get("/credits/purchases/?page=2").text
    assert first.count("data-purchase=") == 25 and second.count("data-purchase=") == 5
    assert "Page 1 of 2 · 30 purchases" in first
    assert client.get("/credits/purchases/?page=banana").status_code == 200


# --- CSV exports --------------------------------------------------------------------------------------


def test_it_exports_the_listed_tasks_with_their_filters_and_defuses_formulas(client, owner, outsider):
    formula = task(
        owner.user, input_data='=HYPERLINK("http://evil.example","click")', task_type="text_generation"
    )
    task(owner.user, input_data="+1 555 0100")
    task(owner.user, input_data="-2+3")
    task(owner.user, input_data="@SUM(A1:A2)")
    bidding = task(owner.user, status=Status.BIDDING, input_data="Plain, with a comma\nand a new line")
    task(outsider.user, input_data="not yours")

    rows = read_csv(client.get("/tasks/export.csv"))
    header, body = rows[0], rows[1:]
    assert header == [
        "posted", "task id", "type", "status", "budget (NC)", "awarded price (NC)", "fee (NC)",
        "total (NC)", "settled", "input text",
    ]  # fmt: skip
    assert len(body) == 5
    texts = {row[1]: row[-1] for row in body}
    assert texts[formula.task_id] == '\'=HYPERLINK("http://evil.example","click")'
    assert {"'+1 555 0100", "'-2+3", "'@SUM(A1:A2)"} <= set(texts.values())
    assert texts[bidding.task_id] == "Plain, with a comma\nand a new line"
    row = next(row for row in body if row[1] == formula.task_id)
    assert row[2:8] == ["Text generation", "Settled", "30", "20", "1", "21"]
    assert "not yours" not in str(rows)

    response = client.get("/tasks/export.csv?status=BIDDING")
    assert response["Content-Type"].startswith("text/csv")
    assert "attachment" in response["Content-Disposition"]
    assert [row[1] for row in read_csv(response)[1:]] == [bidding.task_id]
    assert len(read_csv(client.get("/tasks/export.csv?q=HYPERLINK"))) == 2
    assert 'href="/tasks/export.csv?status=BIDDING"' in client.get("/tasks/?status=BIDDING").text
    assert Client().get("/tasks/export.csv").status_code == 302


def hundred_thousand_tasks(user) -> None:
    """1,000 tasks through bulk_create, then copied 99 times by the database itself: the ORM prepares
    every field of every row in Python (about a second per 1,000 rows on a loaded 2-core machine),
    the copy takes a fraction of that, and the rows are the same but for the id."""
    now = timezone.now()
    Task.objects.bulk_create(
        Task(user=user, task_id=f"t{n:04d}", status=Status.SETTLED, budget=10, awarded_price=8,
             platform_fee=1, settled_at=now, created_at=now, input_data="=1+1")
        for n in range(1000)
    )  # fmt: skip
    columns = [field.column for field in Task._meta.concrete_fields if not field.primary_key]
    copied = ", ".join("t.task_id || '-' || copy.k" if name == "task_id" else f"t.{name}" for name in columns)
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE copy(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM copy WHERE k < 99) "
            f"INSERT INTO {Task._meta.db_table} ({', '.join(columns)}) "
            f"SELECT {copied} FROM {Task._meta.db_table} t CROSS JOIN copy WHERE t.user_id = %s",
            [user.pk],
        )
    assert Task.objects.filter(user=user).count() == 100_000


def test_it_streams_a_hundred_thousand_tasks(client, owner):
    hundred_thousand_tasks(owner.user)
    response = client.get("/tasks/export.csv")
    assert response.streaming  # never built whole in memory (bench/csv_export.py measures it)
    rows = read_csv(response)
    assert len(rows) == 100_001  # the header and every task
    assert len({row[1] for row in rows[1:]}) == 100_000
    assert {row[-1] for row in rows[1:]} == {"'=1+1"}


def test_it_exports_the_spend_of_the_chosen_range(client, owner, outsider):
    recent = task(owner.user, price=40, fee=2, task_type="code_execution", settled_days_ago=3)
    old = task(owner.user, price=10, fee=1, settled_days_ago=60)
    expired = task(owner.user, status=Status.EXPIRED, created_at=timezone.now() - timedelta(days=1))
    task(outsider.user, price=99, fee=5)

    rows = read_csv(client.get("/credits/usage/export.csv?range=7"))
    assert rows[0] == [
        "date",
        "task id",
        "type",
        "status",
        "budget (NC)",
        "price (NC)",
        "fee (NC)",
        "total (NC)",
    ]
    by_id = {row[1]: row for row in rows[1:]}
    assert set(by_id) == {recent.task_id, expired.task_id}
    assert by_id[recent.task_id][2:] == ["Code execution", "Settled", "30", "40", "2", "42"]
    assert by_id[recent.task_id][0] == timezone.localtime(recent.settled_at).date().isoformat()
    assert by_id[expired.task_id][3:] == ["Expired", "30", "", "", ""]
    assert {row[1] for row in read_csv(client.get("/credits/usage/export.csv?range=90"))[1:]} == {
        recent.task_id, old.task_id, expired.task_id
    }  # fmt: skip
    day = timezone.localtime(old.settled_at).date().isoformat()
    custom = client.get(f"/credits/usage/export.csv?range=custom&start={day}&end={day}")
    assert f"spend_{day}_{day}.csv" in custom["Content-Disposition"]
    assert [row[1] for row in read_csv(custom)[1:]] == [old.task_id]

    backwards = client.get("/credits/usage/export.csv?range=custom&start=2025-03-01&end=2025-02-01")
    assert backwards.status_code == 400 and "runs backwards" in backwards.text
    assert Client().get("/credits/usage/export.csv").status_code == 302


# --- the usage page's ranges ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "days", "words"),
    [("7", 7, "the last 7 days"), ("30", 30, "the last 30 days"), ("90", 90, "the last 90 days")],
)
def test_it_charts_the_last_n_days(client, owner, key, days, words):
    task(owner.user, price=12, fee=1, settled_days_ago=days - 1)
    task(owner.user, price=50, fee=3, settled_days_ago=days)  # one day before the range
    page = client.get(f"/credits/usage/?range={key}").text
    assert f"Spend per day over {words}" in page
    assert page.count('<tr><th scope="row">') >= days  # one row per day in the chart's table
    assert "13 NC in all" in page
    assert f'href="/credits/usage/export.csv?range={key}"' in page


def test_it_charts_this_month_and_last_month(client, owner):
    today = timezone.localdate()
    last_month_day = today.replace(day=1) - timedelta(days=1)
    task(owner.user, price=30, fee=2, settled_days_ago=(today - last_month_day).days)
    task(owner.user, price=7, fee=1, settled_days_ago=0)

    this = client.get("/credits/usage/?range=this_month").text
    assert "Spend per day over this month" in this and "8 NC in all" in this
    last = client.get("/credits/usage/?range=last_month").text
    assert "Spend per day over last month" in last and "32 NC in all" in last
    first = last_month_day.replace(day=1)
    assert f"{first:%-d %b %Y} to {last_month_day:%-d %b %Y}" in last


def test_it_shows_spend_by_task_type_as_a_table_and_a_bar_chart(client, owner):
    task(owner.user, price=40, fee=2, task_type="code_execution")
    task(owner.user, price=10, fee=1, task_type="json_extraction")
    task(owner.user, price=5, fee=1, task_type="json_extraction")
    task(owner.user, price=90, fee=5, task_type="text_generation", settled_days_ago=40)  # out of range
    page = client.get("/credits/usage/?range=30").text
    section = page[page.index('id="type-chart"') :]
    assert 'role="img" aria-labelledby="type-chart-caption"' in section
    assert '<th scope="row">Code execution</th><td class="num">42 NC</td><td class="num">1</td>' in section
    assert '<th scope="row">JSON extraction</th><td class="num">17 NC</td><td class="num">2</td>' in section
    assert "Text generation" not in section[: section.index("</figure>")]


def test_it_accepts_a_custom_range_of_up_to_a_year(client, owner):
    settled = task(owner.user, price=20, fee=1, settled_days_ago=200)
    day = timezone.localtime(settled.settled_at).date()
    start, end = day - timedelta(days=10), day - timedelta(days=10) + timedelta(days=365)
    response = client.get(f"/credits/usage/?range=custom&start={start}&end={end}")
    assert response.status_code == 200
    assert "21 NC in all" in response.text
    assert "366 days" in response.text
    assert "the monthly limit is not drawn" in response.text


@pytest.mark.parametrize(
    ("query", "sentence"),
    [
        ("range=custom&start=2025-03-01&end=2025-02-01", "The range runs backwards: 01 Feb 2025 is before"),
        ("range=custom&start=2015-01-01&end=2025-01-01", "at most one year long; this one is 3,654 days."),
        ("range=custom&start=2025-01-01", "A custom range needs both a From and a To date."),
        ("range=custom&start=yesterday&end=2025-01-01", "A date could not be read: use the form YYYY-MM-DD."),
        ("range=forever", "That period is not one of the choices."),
    ],
)  # fmt: skip
def test_it_answers_a_bad_range_with_a_sentence_and_the_default_chart(client, owner, query, sentence):
    response = client.get(f"/credits/usage/?{query}")
    assert response.status_code == 400
    assert sentence in response.text
    assert "Showing the last 30 days instead." in response.text
    assert "Spend per day over the last 30 days" in response.text


def test_a_range_is_computed_from_local_dates():
    def span(key: str, today: date) -> tuple[date, date]:
        period = usage_range.preset(key, today)
        return period.first, period.last

    today = date(2024, 3, 15)
    assert span("last_month", today) == (date(2024, 2, 1), date(2024, 2, 29))
    assert span("this_month", today) == (date(2024, 3, 1), today)
    assert span("7", today) == (date(2024, 3, 9), today)
    assert span("last_month", date(2024, 1, 5)) == (date(2023, 12, 1), date(2023, 12, 31))
