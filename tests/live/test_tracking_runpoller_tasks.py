"""`manage.py runpoller` also polls the NexusToken tasks no webhook settled, in every pass, and a
failure of either step (tracked jobs, tasks) never stops the other. Against the live sandbox."""

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dashboard.core.models import PollerHeartbeat
from dashboard.home.management.commands import runpoller
from dashboard.nexustoken.models import Source, Status, Task, TaskEvent
from dashboard.tracking.poller import Poller
from tests.support.tasks_cast import Person, settle
from tests.support.tracking_helpers import Worker, new_branch

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def task_owner(sandbox):
    sandbox.set_knobs(deliver_webhooks=False)  # the webhook never comes: only the poller can tell
    return Person(sandbox)


def settled_without_webhook(sandbox, person: Person) -> Task:
    task = person.post_task(Client())
    settle(sandbox, task.task_id)
    Task.objects.filter(pk=task.pk).update(next_poll_at=timezone.now())
    task.refresh_from_db()
    assert task.status == Status.BIDDING  # the dashboard has not heard of the settlement yet
    return task


def test_it_settles_a_task_whose_webhook_never_came_in_one_pass(sandbox, task_owner):
    task = settled_without_webhook(sandbox, task_owner)

    call_command("runpoller", "--once", "--name", "cli-tasks")

    task.refresh_from_db()
    assert task.status == Status.SETTLED and task.result_data is not None
    assert TaskEvent.objects.get(task=task, to_status=Status.SETTLED).source == Source.POLLER
    assert (task.lease_owner, task.lease_until) == ("", None)


def test_it_polls_the_tasks_when_the_job_pass_fails(sandbox, task_owner, monkeypatch, caplog):
    task = settled_without_webhook(sandbox, task_owner)

    async def broken_pass(self):
        raise RuntimeError("database locked")

    monkeypatch.setattr(Poller, "run_pass", broken_pass)
    call_command("runpoller", "--once", "--name", "cli-broken-jobs")

    task.refresh_from_db()
    assert task.status == Status.SETTLED
    assert "Poller pass 0 failed" in caplog.text


def test_it_tracks_the_jobs_when_the_task_step_fails(cast, monkeypatch, caplog):
    place = new_branch(cast)
    tracked = place.track(cast.owner, place.new_job())
    Worker(cast).acquire()

    async def broken_tasks(*, owner: str, limits: object) -> int:
        raise RuntimeError("NexusToken step broke")

    monkeypatch.setattr(runpoller, "poll_due_tasks", broken_tasks)
    call_command("runpoller", "--once", "--name", "cli-broken-tasks")

    tracked.refresh_from_db()
    assert tracked.status == "running"
    assert PollerHeartbeat.objects.get(name="cli-broken-tasks").passes == 1
    assert "Polling due NexusToken tasks failed" in caplog.text
