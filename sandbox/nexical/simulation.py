"""A simulated factory worker that runs pending jobs over the real HTTP API (knob `simulate_worker`).

It behaves like the SDK's NexicalWorker: enroll with the demo enrollment token, poll
/workers/acquire, stream logs, then complete or fail. Self-hosted projects' jobs wait in a team's
private queue, so it also enrolls one worker per team that has such work. Errors are logged and
backed off from; the thread never takes the server down.
"""

import logging
import random
import threading
import time

import httpx
from django.db import connection, transaction

from sandbox.core import knobs, tls

from .auth import hash_token, new_secret
from .demo import ENROLLMENT_TOKEN
from .logscript import job_script
from .models import EnrollmentToken, Job

logger = logging.getLogger("sandbox.nexical.worker")

IDLE_SECONDS = 1.0
SLOT_WAIT_SECONDS = 0.2  # all slots busy: look again this soon
FAIL_SHARE = 0.15
# The public worker is the seeded demo's own, so the demo's running jobs can finish too.
PUBLIC_WORKER = "demo-worker-01"
TEAM_WORKER = "sandbox-sim-worker-team-"
TEAM_TOKEN_NAME = "simulated worker"


def start(base_url: str) -> None:
    """Start the simulated worker's daemon thread; it idles while the knob is off."""
    thread = threading.Thread(target=_loop, args=(f"{base_url}/nexical",), name="nexical-worker", daemon=True)
    thread.start()


def _loop(api_url: str) -> None:
    """Acquire jobs and run each in its own thread, up to `worker_slots` at once, so a new deploy
    starts within about a second even while others are still running."""
    workers = _Workers()
    running: set[threading.Thread] = set()
    backoff = IDLE_SECONDS
    with httpx.Client(base_url=api_url, timeout=10, verify=tls.context()) as http:
        while True:
            running = {thread for thread in running if thread.is_alive()}
            if not knobs.get("simulate_worker") or len(running) >= knobs.get("worker_slots"):
                time.sleep(SLOT_WAIT_SECONDS)
                continue
            try:
                found = _next_job(http, workers)
                if found is None:
                    time.sleep(IDLE_SECONDS)
                else:
                    runner = threading.Thread(target=_run_safely, args=(api_url, *found), daemon=True)
                    runner.start()
                    running.add(runner)
                backoff = IDLE_SECONDS
            except httpx.HTTPStatusError as error:
                if error.response.status_code == 401:
                    workers.forget()  # expired, unknown or its team is gone: enroll again
                logger.warning("simulated worker: HTTP %s, backing off", error.response.status_code)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
            except Exception:
                logger.exception("simulated worker: unexpected failure, backing off")
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
            finally:
                # This thread lives forever: do not keep a database connection open for it.
                connection.close()


def _run_safely(api_url: str, session: str, job: dict, resumed: bool) -> None:
    """One job, in its own thread; a failure ends this job's run, never the worker."""
    try:
        with httpx.Client(base_url=api_url, timeout=10, verify=tls.context()) as http:
            _run(http, session, job, resumed)
    except httpx.HTTPStatusError as error:
        # 409: someone else finished the job; 401: the session expired. Either way this run is over.
        logger.warning("simulated worker: job %s stopped on HTTP %s", job["id"], error.response.status_code)
    except Exception:
        logger.exception("simulated worker: job %s stopped on an unexpected failure", job["id"])


class _Workers:
    """The simulator's worker sessions: the public worker, plus one worker per team whose private
    (self-hosted) queue has work, enrolled when first needed, as a team's own factory would be."""

    def __init__(self) -> None:
        self.sessions: dict[int | None, str] = {}  # team id (None = public) -> worker session
        # Jobs the simulator's workers held when it last stopped (or the seed's running jobs):
        # nobody else may finish them, so they are run again first.
        self.to_resume: list[tuple[int | None, int]] = []

    def session(self, http: httpx.Client, team_id: int | None) -> str:
        if team_id not in self.sessions:
            self.sessions[team_id] = self._enroll(http, team_id)
        return self.sessions[team_id]

    def forget(self) -> None:
        self.sessions.clear()
        self.to_resume.clear()

    def _enroll(self, http: httpx.Client, team_id: int | None) -> str:
        if team_id is None:
            _ensure_enrollment_token()
            body = {"token": ENROLLMENT_TOKEN, "metadata": {"workerId": PUBLIC_WORKER}}
        else:
            body = {
                "token": _team_enrollment_token(team_id),
                "metadata": {"workerId": f"{TEAM_WORKER}{team_id}"},
            }
        response = http.post("/auth/worker/enroll", json=body)
        response.raise_for_status()
        worker_id = response.json()["worker"]["id"]
        held = Job.objects.filter(worker_id=worker_id, status=Job.Status.RUNNING).order_by("id")
        self.to_resume += [(team_id, job_id) for job_id in held.values_list("id", flat=True)]
        return response.json()["token"]


def _next_job(http: httpx.Client, workers: _Workers) -> tuple[str, dict, bool] | None:
    """(session, job, resumed) for the next job to run: a held one first, then the public queue
    (demos and tests wait on it), then the team queue whose pending job is oldest."""
    public = workers.session(http, None)  # enrolling finds the jobs it held
    while workers.to_resume:
        team_id, job_id = workers.to_resume.pop(0)
        session = workers.session(http, team_id)
        response = http.get(f"/jobs/{job_id}", headers=_auth(session))
        if response.status_code == 200 and response.json()["job"]["status"] == Job.Status.RUNNING:
            return session, response.json()["job"], True
    job = _acquire(http, public)
    if job is not None:
        return public, job, False
    queue = (
        Job.objects.filter(status=Job.Status.PENDING, queue__startswith="private-")
        .order_by("created_at", "id")
        .values_list("queue", flat=True)
        .first()
    )
    if queue is None:
        return None
    session = workers.session(http, int(queue.removeprefix("private-")))
    job = _acquire(http, session)
    return (session, job, False) if job is not None else None


def _ensure_enrollment_token() -> None:
    """The demo's enrollment token, also in an unseeded sandbox, so the worker can always enroll."""
    EnrollmentToken.objects.get_or_create(
        token_hash=hash_token(ENROLLMENT_TOKEN),
        defaults={"name": "demo (public)", "token_prefix": ENROLLMENT_TOKEN[:8]},
    )


def _team_enrollment_token(team_id: int) -> str:
    """A fresh enrollment token for one team; only this thread knows it, so it replaces the last one."""
    raw = new_secret("nk_worker_")
    with transaction.atomic():
        EnrollmentToken.objects.filter(team_id=team_id, name=TEAM_TOKEN_NAME).delete()
        EnrollmentToken.objects.create(
            name=TEAM_TOKEN_NAME, team_id=team_id, token_hash=hash_token(raw), token_prefix=raw[:8]
        )
    return raw


def _acquire(http: httpx.Client, session: str) -> dict | None:
    response = http.post("/workers/acquire", json={}, headers=_auth(session))
    response.raise_for_status()
    return response.json().get("job")


def _run(http: httpx.Client, session: str, job: dict, resumed: bool) -> None:
    # inputs {"fail": true} always fails and {"fail": false} never does (tests and demos choose).
    inputs = job.get("inputs") or {}
    fail = inputs["fail"] if isinstance(inputs.get("fail"), bool) else random.random() < FAIL_SHARE
    script = job_script(job["type"], fail=fail)
    prefix = f"/teams/{job['teamId']}/projects/{job['projectId']}/branches/{job['branchId']}/jobs/{job['id']}"
    # A resumed job goes on after the steps it already logged.
    done = len(http.get(f"{prefix}/logs", headers=_auth(session)).json()["logs"]) if resumed else 0
    # A real run takes 10-30 s; worker_speed divides that so tests finish in about a second.
    pause = random.uniform(10, 30) / len(script)
    for step, (level, message) in list(enumerate(script, start=1))[done:]:
        time.sleep(pause / max(knobs.get("worker_speed"), 0.01))
        body = {"message": message, "level": level, "metadata": {"step": step}}
        http.post(f"{prefix}/logs", json=body, headers=_auth(session)).raise_for_status()
    if fail:
        body = {"error": "Step failed: exit code 1"}
        http.post(f"{prefix}/fail", json=body, headers=_auth(session)).raise_for_status()
    else:
        body = {"outputs": {"url": f"https://job-{job['id']}.preview.example.com"}}
        http.post(f"{prefix}/complete", json=body, headers=_auth(session)).raise_for_status()
    logger.info("simulated worker: job %s %s", job["id"], "failed" if fail else "completed")


def _auth(session: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {session}"}
