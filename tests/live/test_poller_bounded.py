"""Bounded poller passes: every upstream call has a deadline and independent work runs at once, so
one hung token or upstream never keeps the others' changes from being recorded. Against the live
sandbox, whose hang knob is scoped to one team's or one task's path."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from dashboard.core.models import PollerHeartbeat
from dashboard.nexustoken.models import Status, Task
from dashboard.nexustoken.poller import poll_due_tasks
from dashboard.tracking.poller import Poller
from tests.support.tasks_cast import Person, settle
from tests.support.tracking_helpers import Worker, new_branch, one_pass

UNREACHABLE = "unreachable right now"


@pytest.fixture
def short_calls(settings):
    """A short budget per poller call (long enough for a busy sandbox's answer), and the retries
    that would otherwise multiply it."""
    settings.POLLER_CALL_BUDGET = 1.5
    settings.UPSTREAM_GET_RETRIES = 2
    return settings


@pytest.mark.django_db
def test_a_pass_with_one_hung_token_records_the_other_tokens_job_changes(cast, own_cast, short_calls):
    hung_place, live_place = new_branch(cast), new_branch(own_cast)
    hung = hung_place.track(cast.owner, hung_place.new_job())
    live = live_place.track(own_cast.owner, live_place.new_job())
    Worker(cast).acquire()
    Worker(own_cast).acquire()
    cast.sandbox.set_knobs(hang=5, hang_seconds=10, hang_path=f"/nexical/teams/{cast.team['id']}/")

    one_pass(Poller(name="one-hung-token"))

    live.refresh_from_db()
    hung.refresh_from_db()
    assert live.status == "running" and live.error_count == 0
    assert list(live.events.values_list("to_status", flat=True)) == ["pending", "running"]
    assert hung.status == "pending" and hung.error_count == 1 and UNREACHABLE in hung.last_error
    assert hung.lease_owner == ""
    assert PollerHeartbeat.objects.get(name="one-hung-token").passes == 1


@pytest.mark.django_db(transaction=True)
def test_a_hung_nexustoken_never_holds_up_the_job_pass(cast, sandbox, short_calls):
    sandbox.set_knobs(deliver_webhooks=False)
    task = Person(sandbox).post_task(Client())
    Task.objects.filter(pk=task.pk).update(next_poll_at=timezone.now())
    place = new_branch(cast)
    tracked = place.track(cast.owner, place.new_job())
    Worker(cast).acquire()
    sandbox.set_knobs(hang=5, hang_seconds=10, scope="nexustoken")

    call_command("runpoller", "--once", "--name", "hung-nexustoken")

    tracked.refresh_from_db()
    task.refresh_from_db()
    assert tracked.status == "running"
    assert PollerHeartbeat.objects.get(name="hung-nexustoken").passes == 1
    assert UNREACHABLE in task.last_error and task.error_count == 1


@pytest.mark.django_db
def test_a_hung_key_defers_its_other_tasks_and_the_other_keys_go_on(sandbox, short_calls):
    sandbox.set_knobs(deliver_webhooks=False)
    slow, other = Person(sandbox), Person(sandbox)
    first, second = slow.post_task(Client()), slow.post_task(Client())
    settled = other.post_task(Client())
    settle(sandbox, settled.task_id)
    now = timezone.now()
    Task.objects.filter(pk=first.pk).update(next_poll_at=now - timedelta(seconds=1))
    Task.objects.filter(pk__in=[second.pk, settled.pk]).update(next_poll_at=now)
    sandbox.set_knobs(hang=1, hang_seconds=10, hang_path=f"/tasks/{first.task_id}")
    sandbox.reset_request_counts()

    assert async_to_sync(poll_due_tasks)(owner="hung-key") == 3

    for task in (first, second, settled):
        task.refresh_from_db()
    assert settled.status == Status.SETTLED
    assert UNREACHABLE in first.last_error and first.error_count == 1
    # Not asked this pass: it would only have waited as long; it is due again a little later.
    assert UNREACHABLE in second.last_error and second.error_count == 0
    assert second.next_poll_at > timezone.now() and second.lease_owner == ""
    assert f"GET /nexustoken/api/v1/tasks/{second.task_id}" not in sandbox.request_counts()
