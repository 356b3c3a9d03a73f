"""The spend guardrail: what counts as spend, refusal at the limit, and one alert per threshold."""

import uuid
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core import mail
from django.utils import timezone

from dashboard.nexustoken import budgets
from dashboard.nexustoken.models import Budget, Status, Task
from dashboard.notifications.models import Notification
from tests.support.helpers import dashboard_user
from tests.support.tasks_cast import Person, task_fields

pytestmark = pytest.mark.django_db

URL = "/credits/usage/"


def task(user, status: str, budget: int, price: int | None = None, fee: int | None = None, **fields) -> Task:
    settled_at = timezone.now() if status == Status.SETTLED else None
    return Task.objects.create(
        user=user,
        task_id=str(uuid.uuid4()),
        status=status,
        budget=budget,
        awarded_price=price,
        platform_fee=fee,
        settled_at=fields.pop("settled_at", settled_at),
        **fields,
    )


def limit(user, monthly_limit: int | None, thresholds=(50, 80, 100)) -> Budget:
    return Budget.objects.create(user=user, monthly_limit=monthly_limit, thresholds=list(thresholds))


@pytest.fixture
def owner():
    return dashboard_user()


def test_it_counts_settled_costs_and_open_budgets_but_not_refunded_ones(owner):
    task(owner, Status.SETTLED, 50, price=20, fee=1)
    task(owner, Status.SETTLED, 50, price=10, fee=1, settled_at=timezone.now() - timedelta(days=40))
    task(owner, Status.BIDDING, 30)
    task(owner, Status.AWARDED, 15)
    task(owner, Status.CANCELLED, 100)
    task(owner, Status.EXPIRED, 100)
    task(dashboard_user(), Status.BIDDING, 999)  # someone else's

    spend = budgets.month_spend(owner)
    assert (spend.settled, spend.committed, spend.total) == (21, 45, 66)


def test_it_allows_anything_without_a_limit(owner):
    task(owner, Status.BIDDING, 500)
    verdict = budgets.check_spend(owner, 10_000)
    assert verdict == budgets.SpendVerdict(True, "", 500, None)


def test_it_allows_a_budget_that_lands_exactly_on_the_limit_and_refuses_one_more(owner):
    limit(owner, 100)
    task(owner, Status.SETTLED, 50, price=38, fee=2)  # 40 spent
    task(owner, Status.BIDDING, 20)  # 20 frozen

    at_limit = budgets.check_spend(owner, 40)
    assert at_limit.allowed
    assert (at_limit.spent, at_limit.limit) == (60, 100)

    over = budgets.check_spend(owner, 41)
    assert not over.allowed
    assert over.message.startswith(
        "A budget of 41 NC would bring this month's AI spend to 101 NC, over your monthly limit of 100 NC "
        "(60 NC already spent, frozen by open tasks or being posted)."
    )
    assert "tick the override" in over.message


def test_it_answers_the_same_from_async_code(owner):
    limit(owner, 10)
    verdict = async_to_sync(budgets.acheck_spend)(owner, 11)
    assert not verdict.allowed


def test_it_raises_one_notification_and_one_email_per_threshold_per_month(owner):
    limit(owner, 100)
    task(owner, Status.SETTLED, 60, price=50, fee=3)  # 53 %

    assert budgets.note_spend(owner) == 50
    assert budgets.note_spend(owner) is None  # already told: no storm
    assert async_to_sync(budgets.anote_spend)(owner) is None
    task(owner, Status.BIDDING, 30)  # 83 %
    assert budgets.note_spend(owner) == 80
    assert budgets.note_spend(owner) is None

    titles = list(Notification.objects.filter(user=owner).values_list("title", flat=True))
    assert titles == ["80% of your monthly AI budget is used", "50% of your monthly AI budget is used"]
    assert [message.subject for message in mail.outbox] == [
        "50% of your monthly AI budget is used",
        "80% of your monthly AI budget is used",
    ]
    assert mail.outbox[1].to == [owner.email]
    assert "83 NC of your 100 NC limit" in mail.outbox[1].body
    assert "/credits/usage/" in mail.outbox[1].body


def test_it_announces_only_the_highest_threshold_crossed_at_once(owner):
    limit(owner, 100)
    task(owner, Status.BIDDING, 100)
    assert budgets.note_spend(owner) == 100
    assert Notification.objects.get().title == "You have reached your monthly AI budget (100 NC)"


def test_it_starts_again_in_a_new_month(owner):
    limit(owner, 100)
    task(owner, Status.BIDDING, 90)
    assert budgets.note_spend(owner) == 80
    next_month = timezone.now() + timedelta(days=32)
    assert budgets.note_spend(owner, now=next_month) == 80
    assert budgets.note_spend(owner, now=next_month) is None
    assert Notification.objects.count() == 2


def test_it_stays_quiet_below_every_threshold_or_without_a_limit(owner):
    task(owner, Status.BIDDING, 90)
    assert budgets.note_spend(owner) is None  # no budget row at all
    limit(owner, None)
    assert budgets.note_spend(owner) is None
    Budget.objects.filter(user=owner).update(monthly_limit=1000)
    assert budgets.note_spend(owner) is None
    assert not Notification.objects.exists()
    assert not mail.outbox


def test_it_cannot_announce_a_level_twice_when_a_stale_caller_claims_it(owner):
    """Two settlements racing: both computed 80 %, the second claim finds the level already stored."""
    budget = limit(owner, 100)
    task(owner, Status.BIDDING, 85)
    period = budgets.month_start()
    Budget.objects.filter(pk=budget.pk).update(alert_period=period, alert_level=80)  # the first caller won
    assert budgets.note_spend(owner) is None
    assert not Notification.objects.exists()


# --- the budget form on the usage page ------------------------------------------------------------


def test_it_saves_a_limit_and_thresholds(client, owner):
    client.force_login(owner)
    response = client.post(URL, {"monthly_limit": "2500", "thresholds": "90%, 25, 50", "save_budget": "1"})
    assert response.status_code == 302
    budget = Budget.objects.get(user=owner)
    assert (budget.monthly_limit, budget.thresholds) == (2500, [25, 50, 90])
    page = client.get(URL).text
    assert "Monthly limit set to 2500 NC." in page
    assert 'value="25, 50, 90"' in page


def test_it_removes_the_limit_when_emptied(client, owner):
    limit(owner, 100)
    client.force_login(owner)
    client.post(URL, {"monthly_limit": "", "thresholds": "50, 80, 100", "save_budget": "1"})
    assert Budget.objects.get(user=owner).monthly_limit is None
    assert budgets.check_spend(owner, 10**6).allowed


@pytest.mark.parametrize(
    ("data", "sentence"),
    [
        ({"monthly_limit": "0", "thresholds": "50"}, "The limit must be at least 1 NC."),
        ({"monthly_limit": "lots", "thresholds": "50"}, "Enter a whole number of NC."),
        ({"monthly_limit": "100", "thresholds": ""}, "Enter at least one percentage, like 50, 80, 100."),
        ({"monthly_limit": "100", "thresholds": "half"}, "Use whole percentages separated by commas"),
        ({"monthly_limit": "100", "thresholds": "0, 50"}, "Each percentage must be between 1 and 100."),
        ({"monthly_limit": "100", "thresholds": "150"}, "Each percentage must be between 1 and 100."),
        ({"monthly_limit": "100", "thresholds": "1,2,3,4,5,6"}, "Give between one and five percentages."),
    ],
)
def test_it_rejects_a_bad_budget_next_to_the_field(client, owner, data, sentence):
    client.force_login(owner)
    response = client.post(URL, {**data, "save_budget": "1"})
    assert response.status_code == 400
    assert sentence in response.text
    assert not Budget.objects.filter(user=owner, monthly_limit__isnull=False).exists()


def test_it_keeps_each_users_budget_to_themselves(client, owner):
    limit(owner, 100)
    task(owner, Status.BIDDING, 70)
    outsider = dashboard_user()
    client.force_login(outsider)
    page = client.get(URL).text
    assert 'id="month-spend">0 NC' in page
    client.post(URL, {"monthly_limit": "5", "thresholds": "50", "save_budget": "1"})
    assert Budget.objects.get(user=owner).monthly_limit == 100


def test_it_sends_strangers_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert client.post(URL, {"monthly_limit": "5", "thresholds": "50", "save_budget": "1"}).status_code == 302
    assert not Budget.objects.exists()


# --- through the task form, against the live sandbox -----------------------------------------------


def test_it_refuses_the_task_that_would_cross_the_limit_and_alerts_once_at_it(client, sandbox):
    person = Person(sandbox)
    limit(person.user, 30)
    person.post_task(client, budget="20")  # 67 %: the 50 % alert
    refused = client.post("/tasks/new/", task_fields(budget="11"))
    assert refused.status_code == 400
    assert (
        "over your monthly limit of 30 NC (20 NC already spent, frozen by open tasks or being posted)"
        in refused.text
    )
    assert Task.objects.filter(user=person.user).count() == 1
    person.post_task(client, budget="10")  # exactly the limit: allowed, the 100 % alert

    titles = list(Notification.objects.filter(user=person.user).values_list("title", flat=True))
    assert titles == [
        "You have reached your monthly AI budget (30 NC)",
        "50% of your monthly AI budget is used",
    ]
    assert len(mail.outbox) == 2


def test_it_creates_no_budget_by_reading_the_page(client, owner):
    client.force_login(owner)
    page = client.get(URL).text
    assert 'value="50, 80, 100"' in page
    assert not Budget.objects.exists()
