"""Several pollers at once, as separate `manage.py runpoller` processes sharing one database (a file
SQLite database, or a PostgreSQL database when the suite runs on PostgreSQL): they split the work
through leases, record every status change and log line exactly once, and a poller killed with
SIGKILL loses nothing because its leases expire and the other one takes over."""

import os
import signal
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import environ
import httpx
import pytest
from django.contrib.auth import get_user_model
from django.db import connections
from django.utils import timezone

from dashboard.accounts.models import Connection, Service
from dashboard.core.models import PollerHeartbeat
from dashboard.notifications.models import Notification
from dashboard.tracking.models import JobEvent, JobInterest, LogLine, Reason, TrackedJob
from tests.support.orchestrator_cast import Cast, Person
from tests.support.sandbox_process import ROOT, _postgres_database, dashboard_database
from tests.support.tracking_helpers import Worker, new_branch

pytestmark = [pytest.mark.django_db, pytest.mark.process]

SHARED = "pollers"  # the database alias the test reads the pollers' work through
LEASE_SECONDS = 3


@pytest.fixture
def shared_database(tmp_path):
    """A fresh, migrated database of the suite's kind that subprocesses can open; yields its URL."""
    postgres = connections["default"].vendor == "postgresql"
    name = f"pollers_{uuid.uuid4().hex[:8]}"
    url = dashboard_database(tmp_path / name, name if postgres else None)
    config = environ.Env.db_url_config(url)
    if not postgres:  # as settings.py configures SQLite: wait for locks, WAL
        config["OPTIONS"] = {
            "timeout": 20,
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL;",
        }
    default = dict(connections.settings["default"])
    connections.settings[SHARED] = connections.configure_settings({"default": default, SHARED: config})[
        SHARED
    ]
    # Django's test case refuses to open connections for aliases it did not know of when it started
    # (this one is made later); a connection opened directly is used as it is.
    connections[SHARED].connect()
    yield url
    connections[SHARED].close()
    del connections[SHARED]
    del connections.settings[SHARED]
    if postgres:
        _postgres_database(os.environ["DATABASE_URL"], name, create=False)


class Pollers:
    """`manage.py runpoller` processes on the shared database, with short leases."""

    def __init__(self, url: str, sandbox, logs: Path):
        self.url, self.sandbox, self.logs = url, sandbox, logs
        self.processes: dict[str, subprocess.Popen] = {}

    def start(self, name: str) -> subprocess.Popen:
        env = {
            **os.environ,
            "DATABASE_URL": self.url,
            "NEXICAL_API_URL": self.sandbox.nexical_url,
            "POLLER_LEASE_SECONDS": str(LEASE_SECONDS),
            # A few due jobs per pass, so a poller that started a little earlier cannot take them all.
            "POLLER_CLAIM_BATCH": "2",
            # The logs of these unwatched jobs every 2 s, not every minute: a pass that sees a job
            # start just before its first lines are written reads them on the next pass.
            "POLLER_UNWATCHED_LOG_SECONDS": "2",
            "PYTHONUNBUFFERED": "1",
        }
        log = (self.logs / f"{name}.log").open("w")
        command = [sys.executable, "manage.py", "runpoller", "--name", name]
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def output(self) -> str:
        return "\n".join(f"--- {path.name}\n{path.read_text()[-3000:]}" for path in self.logs.glob("*.log"))

    def stop_all(self) -> dict[str, int]:
        """SIGTERM each live one; their exit codes (a clean stop is 0)."""
        for process in self.processes.values():
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        codes = {}
        for name, process in self.processes.items():
            try:
                codes[name] = process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                codes[name] = process.wait()
        return codes


@pytest.fixture
def pollers(shared_database, cast, tmp_path):
    group = Pollers(shared_database, cast.sandbox, tmp_path)
    yield group
    group.stop_all()


def wait_until(check: Callable[[], bool], pollers: Pollers, what: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        assert all(p.poll() is None for p in pollers.processes.values() if p.returncode != -9), (
            pollers.output()
        )
        time.sleep(0.2)
    pytest.fail(f"timed out waiting for {what}\n{pollers.output()}")


def shared_user(person: Person):
    """The cast member as a dashboard user of the shared database, with their Nexical token."""
    user = (
        get_user_model()
        .objects.db_manager(SHARED)
        .create_user(username=uuid.uuid4().hex[:12], email=f"{uuid.uuid4().hex[:8]}@example.com")
    )
    connection = Connection(user=user, service=Service.NEXICAL)
    connection.secret = person.upstream["token"]
    connection.save(using=SHARED)
    return user


def track_in_shared(cast: Cast, place, job: dict, users: list) -> None:
    """What the job page does when a job is first shown, in the shared database."""
    tracked = TrackedJob.objects.using(SHARED).create(
        team_id=cast.team["id"],
        project_id=place.project["id"],
        branch_id=place.branch["id"],
        job_id=job["id"],
        status="pending",
        job_type=job["type"],
    )
    JobEvent.objects.using(SHARED).create(job=tracked, from_status="", to_status="pending", at=timezone.now())
    for user, reason in users:
        JobInterest.objects.using(SHARED).create(user=user, job=tracked, reason=reason)


def make_jobs(cast: Cast, branches: int, per_branch: int) -> list[dict]:
    owner, viewer = shared_user(cast.owner), shared_user(cast.member)
    jobs = []
    for _ in range(branches):
        place = new_branch(cast)
        for _ in range(per_branch):
            job = place.new_job()
            track_in_shared(cast, place, job, [(owner, Reason.TRIGGERED), (viewer, Reason.VIEWED)])
            jobs.append(job)
    return jobs


def tracked() -> list[TrackedJob]:
    return list(TrackedJob.objects.using(SHARED).order_by("job_id"))


def run_every_job_to_the_end(
    worker: Worker, jobs: list[dict], pollers: Pollers, on_running=None
) -> dict[int, str]:
    """Start all jobs, log, wait until the pollers saw them run, then finish them (half fail)."""
    started = [worker.acquire() for _ in jobs]
    for job in started:
        worker.log(job, "line one", "line two", "line three")
    if on_running:
        on_running()
    wait_until(
        lambda: (
            all(job.status == "running" for job in tracked())
            and LogLine.objects.using(SHARED).count() == 3 * len(jobs)
        ),
        pollers,
        "every job seen running with its first lines",
    )
    finals = {}
    for index, job in enumerate(started):
        worker.log(job, "last line")
        if index % 2:
            worker.fail(job)
            finals[job["id"]] = "failed"
        else:
            worker.complete(job)
            finals[job["id"]] = "completed"
    wait_until(
        lambda: all(job.is_finished and job.logs_complete for job in tracked()),
        pollers,
        "every job finished with its whole log",
    )
    return finals


def assert_exactly_once(cast: Cast, finals: dict[int, str]) -> None:
    for job in tracked():
        transitions = list(job.events.using(SHARED).order_by("id").values_list("from_status", "to_status"))
        assert transitions == [("", "pending"), ("pending", "running"), ("running", finals[job.job_id])]
        lines = list(job.log_lines.using(SHARED).order_by("id").values_list("upstream_id", "message"))
        assert [message for _, message in lines] == ["line one", "line two", "line three", "last line"]
        assert [upstream_id for upstream_id, _ in lines] == sorted({upstream_id for upstream_id, _ in lines})
        assert job.last_log_id == lines[-1][0] and job.lease_owner == ""
    # The one who triggered them heard of each start and each end exactly once; the viewer of none.
    sent = Counter(
        Notification.objects.using(SHARED).values_list("user__connections__secret_prefix", "kind", "url")
    )
    assert set(sent.values()) == {1}
    kinds = Counter(kind for (_, kind, _) in sent)
    failed = sum(1 for status in finals.values() if status == "failed")
    assert kinds == {"job_started": len(finals), "job_failed": failed, "job_completed": len(finals) - failed}
    assert {prefix for (prefix, _, _) in sent} == {cast.owner.upstream["token"][:8]}


def test_it_shares_twenty_jobs_between_two_pollers_recording_everything_once(cast, pollers):
    jobs = make_jobs(cast, branches=4, per_branch=5)
    worker = Worker(cast)  # enrolled before the pollers load the machine
    pollers.start("A")
    pollers.start("B")
    both = PollerHeartbeat.objects.using(SHARED).filter(name__in=["A", "B"])
    wait_until(lambda: both.count() == 2, pollers, "both pollers through a pass")
    wait_until(lambda: all(job.status_checked_at for job in tracked()), pollers, "every job polled once")
    finals = run_every_job_to_the_end(worker, jobs, pollers)
    assert pollers.stop_all() == {"A": 0, "B": 0}

    assert_exactly_once(cast, finals)
    # Both did part of the work, and both wrote heartbeats.
    seen_by = Counter(
        pass_id.split("#")[0]
        for pass_id in JobEvent.objects.using(SHARED).exclude(pass_id="").values_list("pass_id", flat=True)
    )
    assert set(seen_by) == {"A", "B"}, seen_by
    beats = dict(PollerHeartbeat.objects.using(SHARED).values_list("name", "passes"))
    assert beats.keys() == {"A", "B"} and min(beats.values()) > 0


def test_it_takes_over_the_work_of_a_poller_killed_mid_pass(cast, pollers):
    jobs = make_jobs(cast, branches=2, per_branch=5)
    worker = Worker(cast)
    cast.sandbox.set_knobs(latency_ms=150)  # long passes: the kill lands in the middle of one
    victim = pollers.start("A")
    wait_until(lambda: all(job.status_checked_at for job in tracked()), pollers, "A polled every job")
    pollers.start("B")
    killed_at = {}

    def kill_a_mid_pass() -> None:
        wait_until(
            lambda: TrackedJob.objects.using(SHARED).filter(lease_owner="A").exists(),
            pollers,
            "A holding leases",
        )
        victim.send_signal(signal.SIGKILL)
        victim.wait()
        killed_at["time"] = timezone.now()
        killed_at["leased"] = TrackedJob.objects.using(SHARED).filter(lease_owner="A").count()

    finals = run_every_job_to_the_end(worker, jobs, pollers, on_running=kill_a_mid_pass)
    assert victim.returncode == -signal.SIGKILL
    assert killed_at["leased"] > 0  # A died holding work…
    assert pollers.stop_all()["B"] == 0

    assert_exactly_once(cast, finals)  # …and B finished it: nothing lost, nothing twice
    late = JobEvent.objects.using(SHARED).filter(to_status__in=["completed", "failed"])
    assert {event.pass_id.split("#")[0] for event in late} == {"B"}
    assert not TrackedJob.objects.using(SHARED).filter(lease_owner="A").exists()


def test_it_stops_cleanly_on_sigterm_and_gives_its_leases_back(cast, pollers):
    make_jobs(cast, branches=1, per_branch=5)
    cast.sandbox.set_knobs(latency_ms=300)
    process = pollers.start("C")
    wait_until(
        lambda: TrackedJob.objects.using(SHARED).filter(lease_owner="C").exists(), pollers, "C in a pass"
    )
    process.send_signal(signal.SIGTERM)  # during the pass: it is finished, then the process exits
    assert process.wait(timeout=30) == 0
    assert not TrackedJob.objects.using(SHARED).exclude(lease_owner="").exists()
    assert all(job.status_checked_at for job in tracked())
    assert "stopped after" in (pollers.logs / "C.log").read_text()
    assert httpx.get(f"{cast.sandbox.url}/_sandbox/health").status_code == 200
