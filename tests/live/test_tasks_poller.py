"""The poller's fallback for tasks no webhook has settled, against the live sandbox."""

import time
from datetime import timedelta
from itertools import pairwise

import pytest
from asgiref.sync import async_to_sync
from django.test import Client
from django.utils import timezone

from dashboard.accounts.models import Connection
from dashboard.nexustoken.models import Source, Status, Task, TaskEvent
from dashboard.nexustoken.poller import poll_due_tasks
from dashboard.services import nexustoken as nt
from tests.support.tasks_cast import Person, settle

pytestmark = pytest.mark.django_db

poll = async_to_sync(poll_due_tasks)


@pytest.fixture
def owner(sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    return Person(sandbox)


def make_due(*tasks: Task) -> None:
    Task.objects.filter(pk__in=[task.pk for task in tasks]).update(next_poll_at=timezone.now())


def test_it_records_what_upstream_says_about_due_tasks(sandbox, owner):
    settled, waiting = owner.post_task(Client()), owner.post_task(Client())
    settle(sandbox, settled.task_id)
    make_due(settled, waiting)

    assert poll(owner="poller-a") == 2

    settled.refresh_from_db()
    waiting.refresh_from_db()
    assert settled.status == Status.SETTLED and settled.result_data is not None
    assert settled.next_poll_at is None
    assert TaskEvent.objects.get(task=settled, to_status=Status.SETTLED).source == Source.POLLER
    assert waiting.status == Status.BIDDING and waiting.next_poll_at > timezone.now()
    assert (waiting.lease_owner, waiting.lease_until) == ("", None)
    assert poll(owner="poller-a") == 0  # nothing due any more


def test_it_leaves_tasks_that_are_not_due_or_leased_by_another_poller(sandbox, owner):
    later, leased = owner.post_task(Client()), owner.post_task(Client())
    Task.objects.filter(pk=later.pk).update(next_poll_at=timezone.now() + timedelta(minutes=5))
    Task.objects.filter(pk=leased.pk).update(
        next_poll_at=timezone.now(), lease_owner="poller-b", lease_until=timezone.now() + timedelta(minutes=1)
    )
    sandbox.reset_request_counts()

    assert poll(owner="poller-a") == 0
    assert sandbox.request_counts() == {}
    # An expired lease is free again: its poller died.
    Task.objects.filter(pk=leased.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert poll(owner="poller-a") == 1


def test_it_backs_off_a_task_that_fails_and_keeps_going(sandbox, owner):
    task = owner.post_task(Client())
    gone = Task.objects.create(user=owner.user, task_id="7c1e0000-0000-4000-8000-00000000dead", budget=5)
    make_due(task, gone)

    assert poll(owner="poller-a") == 2

    gone.refresh_from_db()
    task.refresh_from_db()
    assert (gone.error_count, gone.last_error) == (1, "NexusToken has no task with this id.")
    assert gone.next_poll_at >= timezone.now() + timedelta(seconds=25)
    assert gone.lease_owner == ""
    assert task.error_count == 0 and task.status == Status.BIDDING  # the other task was still polled


def test_it_defers_a_key_that_is_rate_limited(sandbox, owner):
    first, second = owner.post_task(Client()), owner.post_task(Client())
    make_due(first, second)
    sandbox.set_knobs(force_429=10, retry_after=30, scope="nexustoken")

    poll(owner="poller-a")

    for task in (first, second):
        task.refresh_from_db()
        assert task.next_poll_at >= timezone.now() + timedelta(seconds=25)
        assert "Try again in 30 seconds" in task.last_error


def test_it_marks_the_connection_when_the_key_is_rejected(sandbox, owner):
    task = owner.post_task(Client())
    owner.api.post("/auth/rotate-key").raise_for_status()  # the stored key stops working
    make_due(task)

    poll(owner="poller-a")

    assert Connection.objects.get(pk=owner.connection.pk).needs_attention
    task.refresh_from_db()
    assert task.next_poll_at >= timezone.now() + timedelta(minutes=55)


def test_it_spaces_the_calls_of_one_key(sandbox, owner, settings, monkeypatch):
    settings.TASK_POLL_SPACING = 0.2
    tasks = [owner.post_task(Client()) for _ in range(4)]
    make_due(*tasks)
    sent: list[float] = []  # when each of the poller's calls went out
    task_get = nt.task_get

    async def timed_task_get(*args, **kwargs):
        sent.append(time.monotonic())
        return await task_get(*args, **kwargs)

    monkeypatch.setattr(nt, "task_get", timed_task_get)
    poll(owner="poller-a")

    assert len(sent) == 4
    # Each call waits for its turn, the spacing after the last one's. A busy machine may pause the
    # poller for some milliseconds between a turn and its call (once 6 ms), so the gaps are checked
    # with room for that; unspaced, they would be the calls' own few milliseconds.
    gaps = [later - earlier for earlier, later in pairwise(sent)]
    assert all(gap >= 0.15 for gap in gaps), gaps


def test_a_stale_poller_cannot_overwrite_the_record(sandbox, owner):
    from dashboard.nexustoken.recording import apply_upstream
    from dashboard.services.nexustoken import Task as UpstreamTask

    task = owner.post_task(Client())
    settle(sandbox, task.task_id)
    answer = UpstreamTask.model_validate(owner.upstream(task.task_id))
    Task.objects.filter(pk=task.pk).update(lease_owner="poller-b")

    assert apply_upstream(task.pk, answer, Source.POLLER, lease_owner="poller-a") is False
    task.refresh_from_db()
    assert task.status == Status.BIDDING
