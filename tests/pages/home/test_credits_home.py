"""The NexusToken pane of the home page: balance, this month's spend, open tasks, what needs attention."""

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from dashboard.accounts.models import Connection
from dashboard.nexustoken.models import Budget, Status, Task
from tests.support.credits_cast import SIGNUP_CREDITS, connected_person, grant, set_account
from tests.support.helpers import dashboard_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def owner(sandbox, client):
    person = connected_person(sandbox)
    client.force_login(person.user)
    return person


def task(user, status: str, budget: int, **fields) -> Task:
    return Task.objects.create(user=user, task_id=str(uuid.uuid4()), status=status, budget=budget, **fields)


def test_it_shows_balance_spend_against_the_budget_and_open_tasks(client, sandbox, owner):
    Budget.objects.create(user=owner.user, monthly_limit=200)
    open_one = task(owner.user, Status.BIDDING, 40)
    task(owner.user, Status.SETTLED, 30, awarded_price=19, platform_fee=1, settled_at=timezone.now())

    page = client.get("/").text
    assert f'id="home-balance">{SIGNUP_CREDITS} NC' in page
    assert 'id="home-spend">60 NC of 200 NC (30%)' in page
    assert 'id="home-open-tasks">1<' in page
    assert f'href="/tasks/{open_one.task_id}/"' in page
    assert 'id="home-attention"' not in page


def test_it_lists_what_needs_attention(client, sandbox, owner):
    Budget.objects.create(user=owner.user, monthly_limit=100)
    task(owner.user, Status.BIDDING, 85)
    task(owner.user, Status.EXPIRED, 10, finished_at=timezone.now() - timedelta(days=1))
    set_account(sandbox, owner, debt=30, debt_days=2)

    attention = client.get("/").text.split('id="home-attention"')[1].split("</div>")[0]
    assert "30 NC of debt: repay it within 5 day(s) to avoid suspension." in attention
    assert "85% of this month&#x27;s AI budget is used." in attention
    assert "1 task(s) expired this week without a result." in attention
    assert 'href="/tasks/?status=EXPIRED"' in attention


def test_it_says_when_nexustoken_is_suspended_frozen_or_too_poor_to_post(client, sandbox, owner):
    set_account(sandbox, owner, debt=10, debt_days=9, reputation=-12)
    grant(sandbox, owner, -SIGNUP_CREDITS)
    attention = client.get("/").text.split('id="home-attention"')[1].split("</div>")[0]
    assert "Your API access is suspended until the debt is repaid." in attention
    assert "Your account is frozen: its reputation is below -10." in attention
    assert "Not enough credits to post a task (at least 5 NC)." in attention


def test_it_keeps_the_local_figures_when_nexustoken_is_down(client, sandbox, owner):
    task(owner.user, Status.AWARDED, 25)
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    response = client.get("/")
    assert response.status_code == 200
    assert "Balance and credit line could not be loaded: NexusToken is having problems" in response.text
    assert 'id="home-spend">25 NC' in response.text
    assert 'id="home-open-tasks">1<' in response.text


def test_it_does_not_call_nexustoken_with_a_rejected_key(client, sandbox, owner):
    def account_calls() -> list[str]:
        return [call for call in sandbox.request_counts() if "/credits/" in call or "/reputation" in call]

    sandbox.reset_request_counts()
    client.get("/")
    assert len(account_calls()) == 3  # balance, credit-info, reputation: at once

    Connection.objects.filter(user=owner.user).update(needs_attention=True)
    sandbox.reset_request_counts()
    page = client.get("/").text
    assert "NexusToken rejected the stored API key." in page
    assert account_calls() == []


def test_it_shows_each_user_only_their_own_tasks(client, sandbox, owner):
    theirs = task(owner.user, Status.BIDDING, 40)
    outsider = connected_person(sandbox)
    client.force_login(outsider.user)
    page = client.get("/").text
    assert theirs.task_id not in page
    assert 'id="home-open-tasks">0<' in page


def test_it_offers_to_connect_nexustoken_first(client, sandbox):
    client.force_login(dashboard_user())
    page = client.get("/").text
    assert "Connect NexusToken to post AI tasks" in page
    assert 'id="home-spend"' not in page
