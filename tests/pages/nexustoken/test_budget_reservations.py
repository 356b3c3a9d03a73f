"""Posting reserves the task's budget against the monthly limit in one step with the decision: posts
sent at the same moment from many sessions never go past the limit, a post NexusToken refuses
gives its reservation back, and the override is recorded."""

import threading
import uuid

import pytest
from django.db import connections
from django.test import Client
from django.utils import timezone

from dashboard.nexustoken import budgets
from dashboard.nexustoken.models import Budget, SpendReservation, Status, Task
from tests.support.tasks_cast import Person, task_fields

pytestmark = pytest.mark.django_db(transaction=True)

POSTS = 10
REFUSAL = "over your monthly limit of 40 NC"


@pytest.fixture
def person(sandbox):
    return Person(sandbox)


def spent_already(person: Person, cost: int) -> None:
    """A task settled earlier this month, as the dashboard recorded it."""
    Task.objects.create(
        user=person.user,
        task_id=str(uuid.uuid4()),
        status=Status.SETTLED,
        budget=cost,
        awarded_price=cost - 1,
        platform_fee=1,
        settled_at=timezone.now(),
    )


def post_at_once(person: Person, count: int, budget: int) -> list[tuple[int, str]]:
    """`count` sessions of the same person post a task each, released together by a barrier; every
    thread has its own database connection, as concurrent requests do."""
    clients = [person.login(Client()) for _ in range(count)]
    start = threading.Barrier(count)
    answers: list[tuple[int, str]] = []
    lock = threading.Lock()

    def post(client: Client) -> None:
        try:
            start.wait(timeout=30)
            response = client.post("/tasks/new/", task_fields(budget=str(budget)))
            with lock:
                answers.append((response.status_code, response.content.decode()))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=post, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert len(answers) == count, "every post must answer"
    return answers


def held(person: Person) -> int:
    return SpendReservation.objects.filter(user=person.user, state=SpendReservation.State.HELD).count()


def test_it_accepts_at_most_what_the_limit_allows_when_ten_sessions_post_at_once(person):
    Budget.objects.create(user=person.user, monthly_limit=40)
    spent_already(person, 13)  # room for 27 NC: five budgets of 5 NC, not six

    answers = post_at_once(person, POSTS, budget=5)

    accepted = [status for status, _ in answers if status == 302]
    refused = [text for status, text in answers if status == 400]
    assert len(accepted) == 5
    assert len(refused) == POSTS - 5
    assert all(REFUSAL in text for text in refused)
    assert (
        Task.objects.filter(user=person.user, status__in=[Status.BIDDING, Status.PENDING_POOL]).count() == 5
    )
    assert held(person) == 0
    assert SpendReservation.objects.filter(user=person.user, state=SpendReservation.State.POSTED).count() == 5
    spend = budgets.month_spend(person.user)
    assert (spend.settled, spend.committed, spend.reserved, spend.total) == (13, 25, 0, 38)


def test_it_gives_the_reservation_back_when_nexustoken_refuses_the_post(person, sandbox):
    Budget.objects.create(user=person.user, monthly_limit=60)  # room for all three
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)

    answers = post_at_once(person, 3, budget=20)

    assert [status for status, _ in answers] == [400, 400, 400]
    assert all("The task was not posted." in text for _, text in answers)
    assert held(person) == 0
    assert not Task.objects.filter(user=person.user).exists()
    assert budgets.month_spend(person.user).total == 0

    sandbox.reset_knobs()  # with NexusToken back, the whole limit is there again
    client = person.login(Client())
    assert client.post("/tasks/new/", task_fields(budget="60")).status_code == 302


def test_it_counts_a_post_in_flight_against_the_limit_on_every_page(person):
    Budget.objects.create(user=person.user, monthly_limit=40)
    in_flight = budgets.reserve(person.user, 30).reservation
    assert in_flight is not None

    client = person.login(Client())
    refused = client.post("/tasks/new/", task_fields(budget="20"))
    assert refused.status_code == 400
    assert "(30 NC already spent, frozen by open tasks or being posted)" in refused.text
    usage = client.get("/credits/usage/").text
    assert 'id="month-spend">30 NC' in usage
    assert 'id="reserved">30 NC' in usage

    budgets.release(in_flight)
    assert client.post("/tasks/new/", task_fields(budget="20")).status_code == 302


def test_it_stops_counting_a_reservation_whose_post_never_came_back(person):
    Budget.objects.create(user=person.user, monthly_limit=40)
    lost = budgets.reserve(person.user, 40).reservation
    assert lost is not None
    SpendReservation.objects.filter(pk=lost.pk).update(
        created_at=timezone.now() - budgets.RESERVATION_LIFETIME - timezone.timedelta(seconds=1)
    )
    assert budgets.month_spend(person.user).reserved == 0


def test_it_records_who_went_over_the_limit_when_and_by_how_much(person):
    Budget.objects.create(user=person.user, monthly_limit=30)
    person.post_task(Client(), budget="20")

    task = person.post_task(Client(), budget="25", override_budget="on")

    over = SpendReservation.objects.get(user=person.user, over_limit_by__gt=0)
    assert (over.amount, over.monthly_limit, over.over_limit_by, over.task_id) == (25, 30, 15, task.task_id)
    assert over.state == SpendReservation.State.POSTED
    usage = person.login(Client()).get("/credits/usage/").text
    assert "a 25 NC budget, 15 NC over the 30 NC limit" in usage
    assert f"/tasks/{task.task_id}/" in usage
