"""The poller reads the log of a running job nobody views rarely, and all of it once the job ends;
a job someone views keeps its fast log cadence."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.utils import timezone

from dashboard.tracking import cadence
from dashboard.tracking.interest import touch_viewed
from dashboard.tracking.models import TrackedJob
from dashboard.tracking.poller import Poller
from tests.support.tracking_helpers import Worker, make_due, new_branch, one_pass, upstream_gets

pytestmark = pytest.mark.django_db


def log_reads(counts: dict[str, int]) -> int:
    return sum(n for path, n in upstream_gets(counts).items() if path.endswith("/logs"))


def messages(tracked: TrackedJob) -> list[str]:
    return list(tracked.log_lines.order_by("number").values_list("message", flat=True))


def test_an_unwatched_running_jobs_log_waits_and_is_cached_whole_when_it_ends(cast):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)  # triggered, never opened: nobody views it
    worker = Worker(cast)
    poller = Poller(name="unwatched")
    running = worker.acquire()
    worker.log(running, "first")
    one_pass(poller)  # its first look while running reads the log once
    assert messages(tracked) == ["first"]

    worker.log(running, "second", "third")
    cast.sandbox.reset_request_counts()
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "running" and log_reads(cast.sandbox.request_counts()) == 0
    assert messages(tracked) == ["first"]

    # A minute later it is read again.
    TrackedJob.objects.filter(pk=tracked.pk).update(
        logs_read_at=timezone.now() - timedelta(seconds=settings.POLLER_UNWATCHED_LOG_SECONDS)
    )
    make_due()
    one_pass(poller)
    assert messages(tracked) == ["first", "second", "third"]

    worker.log(running, "fourth", "last words")
    worker.fail(running)
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "failed" and tracked.logs_complete
    assert messages(tracked) == ["first", "second", "third", "fourth", "last words"]
    assert list(tracked.log_lines.order_by("id").values_list("number", flat=True)) == [1, 2, 3, 4, 5]


def test_a_viewed_running_job_gets_its_lines_every_pass(cast):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    worker = Worker(cast)
    poller = Poller(name="viewed")
    running = worker.acquire()
    one_pass(poller)
    for step in ("one", "two", "three"):
        worker.log(running, f"step {step}")
        # Someone has the page open (the job page and its live stream keep this mark fresh).
        TrackedJob.objects.filter(pk=tracked.pk).update(last_viewed_at=None)
        touch_viewed(tracked.pk)
        make_due()
        one_pass(poller)
        assert messages(tracked)[-1] == f"step {step}"
    tracked.refresh_from_db()
    assert tracked.next_poll_at - tracked.logs_read_at <= cadence.VIEWED_RUNNING + timedelta(seconds=0.01)
