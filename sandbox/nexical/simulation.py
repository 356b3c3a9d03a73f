"""A simulated factory worker that runs pending jobs over the real HTTP API (knob `simulate_worker`).

It behaves like the SDK's NexicalWorker: enroll with the demo enrollment token, poll
/workers/acquire, stream logs, then complete or fail. Errors are logged and backed off from; the
thread never takes the server down.
"""

import logging
import random
import threading
import time

import httpx
from django.db import connection

from sandbox.core import knobs

from .auth import hash_token
from .demo import ENROLLMENT_TOKEN
from .logscript import job_script
from .models import EnrollmentToken

logger = logging.getLogger("sandbox.nexical.worker")

IDLE_SECONDS = 1.0
FAIL_SHARE = 0.15


def start(base_url: str) -> None:
    """Start the simulated worker's daemon thread; it idles while the knob is off."""
    thread = threading.Thread(target=_loop, args=(f"{base_url}/nexical",), name="nexical-worker", daemon=True)
    thread.start()


def _loop(api_url: str) -> None:
    session: str | None = None
    backoff = IDLE_SECONDS
    with httpx.Client(base_url=api_url, timeout=10) as http:
        while True:
            if not knobs.get("simulate_worker"):
                time.sleep(IDLE_SECONDS)
                continue
            try:
                if session is None:
                    session = _enroll(http)
                job = _acquire(http, session)
                if job is None:
                    time.sleep(IDLE_SECONDS)
                else:
                    _run(http, session, job)
                backoff = IDLE_SECONDS
            except httpx.HTTPStatusError as error:
                if error.response.status_code == 401:
                    session = None  # expired or unknown: enroll again
                logger.warning("simulated worker: HTTP %s, backing off", error.response.status_code)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)
            except Exception:
                logger.exception("simulated worker: unexpected failure, backing off")
                time.sleep(backoff)
                backoff = min(backoff * 2, 30)


def _ensure_enrollment_token() -> None:
    """The demo's enrollment token, also in an unseeded sandbox, so the worker can always enroll."""
    EnrollmentToken.objects.get_or_create(
        token_hash=hash_token(ENROLLMENT_TOKEN),
        defaults={"name": "demo (public)", "token_prefix": ENROLLMENT_TOKEN[:8]},
    )
    # This thread lives forever: do not keep a database connection open for it.
    connection.close()


def _enroll(http: httpx.Client) -> str:
    _ensure_enrollment_token()
    body = {"token": ENROLLMENT_TOKEN, "metadata": {"workerId": "sandbox-sim-worker"}}
    response = http.post("/auth/worker/enroll", json=body)
    response.raise_for_status()
    return response.json()["token"]


def _acquire(http: httpx.Client, session: str) -> dict | None:
    response = http.post("/workers/acquire", json={}, headers=_auth(session))
    response.raise_for_status()
    return response.json().get("job")


def _run(http: httpx.Client, session: str, job: dict) -> None:
    # inputs {"fail": true} always fails and {"fail": false} never does (tests and demos choose).
    inputs = job.get("inputs") or {}
    fail = inputs["fail"] if isinstance(inputs.get("fail"), bool) else random.random() < FAIL_SHARE
    script = job_script(job["type"], fail=fail)
    prefix = f"/teams/{job['teamId']}/projects/{job['projectId']}/branches/{job['branchId']}/jobs/{job['id']}"
    # A real run takes 10-30 s; worker_speed divides that so tests finish in about a second.
    pause = random.uniform(10, 30) / len(script)
    for step, (level, message) in enumerate(script, start=1):
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
