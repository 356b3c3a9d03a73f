"""The poller, one pass at a time, against the live sandbox: status events, the log cache, batching,
whose token it acts with, and what it does when upstream fails."""

from datetime import timedelta

import httpx
import pytest
from django.core.management import call_command
from django.utils import timezone

from dashboard.accounts.models import Connection
from dashboard.core.models import PollerHeartbeat
from dashboard.notifications.models import Kind, Notification
from dashboard.tracking.interest import touch_viewed, unwatch_project, watch_project
from dashboard.tracking.models import JobInterest, LogLine, Reason, TrackedJob
from dashboard.tracking.poller import Poller
from dashboard.tracking.record import UNTRACKABLE, cut_message
from tests.support.sandbox_process import free_port
from tests.support.tracking_helpers import (
    Worker,
    make_due,
    new_branch,
    one_pass,
    revoke_tokens,
    upstream_gets,
)

pytestmark = pytest.mark.django_db


def events(tracked: TrackedJob) -> list[tuple[str, str]]:
    return list(tracked.events.order_by("id").values_list("from_status", "to_status"))


def test_it_records_each_status_change_once_and_caches_the_log_pass_by_pass(cast):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    member_view = place.track(cast.member, job, Reason.VIEWED)
    assert member_view.pk == tracked.pk
    worker = Worker(cast)
    poller = Poller(name="solo")

    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "pending" and events(tracked) == [("", "pending")]
    assert tracked.lease_owner == "" and tracked.next_poll_at > timezone.now()

    running = worker.acquire()
    assert running["id"] == job["id"]
    worker.log(running, "step one", "step two")
    worker.log(running, "careful", level="warn")
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "running" and tracked.started_at is not None
    assert events(tracked) == [("", "pending"), ("pending", "running")]
    lines = list(tracked.log_lines.order_by("id").values_list("level", "message"))
    assert lines == [("info", "step one"), ("info", "step two"), ("warn", "careful")]
    assert not tracked.logs_complete

    worker.log(running, "step three")
    worker.complete(running)
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "completed" and tracked.outputs == {"url": "https://x.example"}
    assert events(tracked) == [("", "pending"), ("pending", "running"), ("running", "completed")]
    assert tracked.log_lines.count() == 4 and tracked.logs_complete
    assert set(tracked.events.values_list("pass_id", flat=True)) == {"", "solo#2", "solo#3"}

    # Who triggered it hears of the start and the end, once each; a mere viewer does not.
    kinds = list(
        Notification.objects.filter(user=cast.owner.user).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == [Kind.JOB_STARTED, Kind.JOB_COMPLETED]
    assert not Notification.objects.filter(user=cast.member.user).exists()

    # Finished and complete: never polled again.
    cast.sandbox.reset_request_counts()
    make_due()
    assert one_pass(poller).jobs == 0
    assert upstream_gets(cast.sandbox.request_counts()) == {}
    assert PollerHeartbeat.objects.get(name="solo").passes == 4


def test_it_updates_every_job_of_a_branch_with_one_list_call(cast):
    place = new_branch(cast)
    jobs = [place.new_job() for _ in range(6)]
    for job in jobs:
        place.track(cast.owner, job)
    worker = Worker(cast)
    poller = Poller(name="batch")
    cast.sandbox.reset_request_counts()
    one_pass(poller)
    assert upstream_gets(cast.sandbox.request_counts()) == {f"GET /nexical{place.api_path}/jobs": 1}

    # Two start running; only one of them is due, yet the list updates both.
    first, second = worker.acquire(), worker.acquire()
    worker.log(first, "hello")
    TrackedJob.objects.update(next_poll_at=timezone.now() + timedelta(minutes=1))  # not due for a while
    TrackedJob.objects.filter(job_id=first["id"]).update(next_poll_at=timezone.now(), status_checked_at=None)
    cast.sandbox.reset_request_counts()
    summary = one_pass(poller)
    assert summary.jobs == 6  # the due one, and the other five of its branch
    assert upstream_gets(cast.sandbox.request_counts()) == {
        f"GET /nexical{place.api_path}/jobs": 1,
        f"GET /nexical{place.api_path}/jobs/{first['id']}/logs": 1,
    }
    statuses = dict(TrackedJob.objects.values_list("job_id", "status"))
    assert statuses[first["id"]] == statuses[second["id"]] == "running"
    assert [statuses[job["id"]] for job in jobs[2:]] == ["pending"] * 4
    assert TrackedJob.objects.get(job_id=second["id"]).events.count() == 2


def test_it_follows_a_viewed_running_job_at_least_twice_a_second(cast):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    Worker(cast).acquire()
    poller = Poller(name="cadence")
    before = timezone.now()
    one_pass(poller)
    after = timezone.now()
    tracked.refresh_from_db()
    # Bounded by the clock on both sides of the pass, so a slow machine cannot make it fail.
    assert tracked.next_poll_at - before > timedelta(seconds=2)
    assert tracked.next_poll_at - after <= timedelta(seconds=3)

    touch_viewed(tracked)  # someone opens the page: due at once
    tracked.refresh_from_db()
    assert tracked.next_poll_at <= timezone.now()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.next_poll_at - timezone.now() <= timedelta(seconds=0.5)


def test_it_tries_the_next_followers_token_when_one_is_revoked_then_gives_up_and_tells_the_owner(own_cast):
    cast = own_cast
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    place.track(cast.member, job, Reason.VIEWED)
    Worker(cast).acquire()
    revoke_tokens(cast, cast.owner)
    poller = Poller(name="tokens")

    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status == "running" and tracked.untrackable_reason == ""  # the member's token worked
    assert Connection.objects.get(user=cast.owner.user).needs_attention
    assert not Connection.objects.get(user=cast.member.user).needs_attention

    revoke_tokens(cast, cast.member)
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.untrackable_reason == UNTRACKABLE
    assert Connection.objects.get(user=cast.member.user).needs_attention
    told = Notification.objects.get(user=cast.owner.user, kind=Kind.JOB_UNTRACKABLE)
    assert told.url.endswith(f"/jobs/{job['id']}/")
    make_due()
    assert one_pass(poller).jobs == 0  # not polled any more

    # Someone who may see it opens it: tracking resumes with their token.
    place.track(cast.admin, job, Reason.VIEWED)
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.untrackable_reason == "" and tracked.status_checked_at is not None
    assert Notification.objects.filter(kind=Kind.JOB_UNTRACKABLE).count() == 1


def test_it_stops_tracking_jobs_deleted_upstream(cast):
    place = new_branch(cast)
    tracked = [place.track(cast.owner, place.new_job()) for _ in range(2)]
    poller = Poller(name="gone")
    one_pass(poller)
    cast.api(cast.owner).http.delete(place.api_path).raise_for_status()
    make_due()
    one_pass(poller)
    assert all(job.gone for job in TrackedJob.objects.filter(pk__in=[t.pk for t in tracked]))
    assert TrackedJob.objects.get(pk=tracked[0].pk).error_count == 0
    cast.sandbox.reset_request_counts()
    make_due()
    assert one_pass(poller).jobs == 0
    assert upstream_gets(cast.sandbox.request_counts()) == {}


def test_it_honours_retry_after_per_token(cast, settings):
    settings.UPSTREAM_MAX_RETRY_AFTER = 0  # the poller, not the HTTP layer, handles every 429
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    poller = Poller(name="limits")

    cast.sandbox.set_knobs(force_429=1, retry_after=30, scope="nexical")
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status_checked_at is None and tracked.error_count == 0
    assert timedelta(seconds=28) < tracked.next_poll_at - timezone.now() <= timedelta(seconds=30)

    # Due again before the 30 s are over: the limited token is not used; nothing is sent.
    cast.sandbox.reset_request_counts()
    make_due()
    one_pass(poller)
    assert upstream_gets(cast.sandbox.request_counts()) == {}
    tracked.refresh_from_db()
    assert tracked.next_poll_at - timezone.now() > timedelta(seconds=25)

    # Another follower's token is not limited: the job is polled with it at once.
    place.track(cast.member, job, Reason.WATCHED)
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status_checked_at is not None
    assert tracked.next_poll_at - timezone.now() <= timedelta(seconds=2)


def test_it_keeps_to_its_share_of_each_token_and_goes_on_with_the_next_follower(cast, settings):
    # The owner's pages spend the same per-token allowance upstream; the poller takes only its share.
    settings.POLLER_TOKEN_CALLS_PER_MINUTE = 1
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    poller = Poller(name="share")
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status_checked_at is not None

    # The owner's share of this minute is spent: nothing is sent, and the job waits for the minute.
    cast.sandbox.reset_request_counts()
    make_due()
    one_pass(poller)
    assert upstream_gets(cast.sandbox.request_counts()) == {}
    tracked.refresh_from_db()
    assert tracked.status_checked_at is None and tracked.error_count == 0
    assert tracked.next_poll_at - timezone.now() > timedelta(seconds=50)

    # A second follower: their token takes the next call, within its own share.
    place.track(cast.member, job, Reason.WATCHED)
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert tracked.status_checked_at is not None  # the owner's share is spent: the member's token did it


@pytest.mark.parametrize(
    ("fault", "sentence"),
    [
        ("down", "unreachable"),
        ("error_rate", "is having problems (HTTP 500)"),
        ("malformed", "answered something unexpected"),
    ],
)
def test_it_backs_off_when_upstream_fails_and_recovers_after(cast, settings, fault, sentence):
    settings.UPSTREAM_GET_RETRIES = 0
    place = new_branch(cast)
    tracked = place.track(cast.owner, place.new_job())
    poller = Poller(name=f"faults-{fault}")
    sandbox_url = settings.NEXICAL_API_URL
    if fault == "down":
        settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    elif fault == "error_rate":
        cast.sandbox.set_knobs(error_rate=1.0, scope="nexical")
    else:
        cast.sandbox.set_knobs(malformed=2, scope="nexical")

    waits = []
    for expected_errors in (1, 2):
        make_due()
        before = timezone.now()
        one_pass(poller)  # never raises
        tracked.refresh_from_db()
        assert tracked.error_count == expected_errors and sentence in tracked.last_error
        assert tracked.lease_owner == ""
        waits.append((tracked.next_poll_at - before).total_seconds())
    # 2 s, then 4 s, jittered by ±20 %, from the pass's start (a moment after `before`).
    assert 1.6 <= waits[0] <= 2.9 and 3.2 <= waits[1] <= 5.3
    first_failure = tracked.last_error_at
    assert first_failure is not None

    settings.NEXICAL_API_URL = sandbox_url
    cast.sandbox.reset_knobs()
    make_due()
    one_pass(poller)
    tracked.refresh_from_db()
    assert (tracked.error_count, tracked.last_error, tracked.last_error_at) == (0, "", None)
    assert tracked.status_checked_at is not None
    assert PollerHeartbeat.objects.get(name=f"faults-{fault}").passes == 3


def test_it_discovers_jobs_of_watched_projects_started_elsewhere(cast):
    place = new_branch(cast)
    old = place.new_job()
    Worker(cast).acquire()  # the old one runs; it was started before anyone watched
    other_branch = cast.branch(place.project, name="feature")
    watch_project(cast.member.user, cast.team["id"], place.project["id"])
    watch_project(cast.admin.user, cast.team["id"], place.project["id"])
    ci_job = cast.job(place.project, other_branch)  # started by the CLI or CI, not the dashboard
    poller = Poller(name="watch")

    one_pass(poller)
    found = {job.job_id: job for job in TrackedJob.objects.filter(project_id=place.project["id"])}
    assert set(found) == {old["id"], ci_job["id"]}  # unfinished jobs, whoever started them
    assert found[ci_job["id"]].branch_name == "feature"
    assert events(found[old["id"]]) == [("", "running")]
    watchers = set(JobInterest.objects.filter(job=found[ci_job["id"]]).values_list("user_id", "reason"))
    assert watchers == {(cast.member.user.pk, Reason.WATCHED), (cast.admin.user.pk, Reason.WATCHED)}

    unwatch_project(cast.member.user, cast.team["id"], place.project["id"])
    assert not JobInterest.objects.filter(user=cast.member.user).exists()
    unwatch_project(cast.admin.user, cast.team["id"], place.project["id"])
    cast.sandbox.reset_request_counts()
    make_due()
    one_pass(poller)
    # Nobody follows the jobs any more: no scan of the project, and no token to poll them with.
    assert f"GET /nexical/teams/{cast.team['id']}/projects/{place.project['id']}/branches" not in (
        cast.sandbox.request_counts()
    )
    assert TrackedJob.objects.get(job_id=ci_job["id"]).untrackable_reason == UNTRACKABLE


@pytest.mark.django_db(transaction=True)
def test_it_runs_one_pass_from_the_command_line(cast):
    place = new_branch(cast)
    tracked = place.track(cast.owner, place.new_job())
    Worker(cast).acquire()
    call_command("runpoller", "--once", "--name", "cli")
    tracked.refresh_from_db()
    assert tracked.status == "running" and tracked.lease_owner == ""
    assert PollerHeartbeat.objects.get(name="cli").passes == 1


def test_it_cuts_huge_lines_to_64_kib_with_a_note(cast):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.owner, job)
    worker = Worker(cast)
    running = worker.acquire()
    worker.log(running, "é" * 70_000)  # 140,000 bytes of UTF-8: cut between two characters
    burst = httpx.post(
        f"{cast.sandbox.url}/_sandbox/nexical/jobs/{job['id']}/burst",
        json={"count": 1, "lineBytes": 1_000_000},
        headers={"Authorization": f"Bearer {cast.sandbox.admin_token}"},
    )
    assert burst.status_code == 201
    worker.log(running, "short")
    make_due()
    one_pass(Poller(name="lines"))
    accents, megabyte, short = LogLine.objects.filter(job=tracked).order_by("id")
    assert accents.truncated and len(accents.message.encode()) <= 64 * 1024 and set(accents.message) == {"é"}
    assert megabyte.truncated and len(megabyte.message) == 64 * 1024
    assert megabyte.message.startswith("burst line 2 xxx")
    assert (short.message, short.truncated) == ("short", False)


def test_it_stores_no_nul_characters_which_postgresql_refuses():
    assert cut_message("nul\x00byte") == ("nul\ufffdbyte", False)


def test_it_stores_no_lone_surrogates_which_json_carries_but_utf8_cannot_encode():
    # "\ud800" arrives from an upstream's JSON escape "\\ud800"; a real pair (an emoji) is kept.
    message, cut = cut_message("half \ud800 and \udfff, whole 🚀")
    assert (message, cut) == ("half \ufffd and \ufffd, whole 🚀", False)
    message.encode("utf-8")  # storable: this raised before


def test_a_token_short_of_calls_reads_every_job_in_turn(cast, settings):
    # One person follows six running jobs; their token's share covers three calls a pass: the branch's
    # list and two logs. Each pass reads the jobs read least recently, so three passes read all six
    # (in a fixed order, the first two would take every call and the last four wait for ever).
    settings.POLLER_TOKEN_CALLS_PER_MINUTE = 3  # a burst of three calls, then one per 20 s
    place = new_branch(cast)
    jobs = [place.new_job() for _ in range(6)]
    for job in jobs:
        place.track(cast.owner, job)
    worker = Worker(cast)
    for _ in jobs:
        worker.log(worker.acquire(), "hello")
    poller = Poller(name="turns")
    clock = [0.0]
    poller.tokens.limits.clock = lambda: clock[0]

    read = []
    for _ in range(3):
        clock[0] += 60  # a full share again
        TrackedJob.objects.update(
            next_poll_at=timezone.now(), status_checked_at=None, last_viewed_at=timezone.now()
        )
        one_pass(poller)
        read.append({line.job.job_id for line in LogLine.objects.select_related("job")} - set().union(*read))
    assert [len(new) for new in read] == [2, 2, 2]
    assert set().union(*read) == {job["id"] for job in jobs}
