"""How fast a task's new status reaches its page, and what the task pages cost upstream.

For each round a task is posted with the dashboard's receiver as callback_url, a worker account
settles it in the sandbox, and the sandbox's signed webhook goes to a real dashboard server
(uvicorn). The clock starts just before the worker's submission (the sandbox settles the task and
sends the webhook while answering it) and stops when the task page's live fragment shows the new
status. Two pollers read the fragment: one every 10 ms (how soon the status is on the page), and
one every 500 ms, as the page itself polls (what a viewer sees). The goal is p95 under 1 s.

Then it counts the upstream requests the task pages make per view (goal: 0, they read the local
record), and the requests one webhook costs (the GET that confirms it).

    .venv/bin/python -m bench.task_webhook [--rounds 20]

It starts its own sandbox and dashboard on free ports with a throwaway SQLite database.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.team_page import configure_django  # noqa: E402
from tests.support.sandbox_process import Sandbox, free_port, start_sandbox  # noqa: E402

if TYPE_CHECKING:  # for their types only: Django is set up when the benchmark runs
    from django.contrib.auth.models import User

    from dashboard.accounts.models import Connection
    from dashboard.nexustoken.models import Task

SCHEMA = {"type": "object", "properties": {"company": {"type": "string"}}, "required": ["company"]}
EXAMPLE = {"company": "Acme"}
STOPPED = 286  # the live fragment's answer once the task is finished


def start_dashboard(port: int) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "dashboard.asgi:application",
        "--port",
        str(port),
        "--no-access-log",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=os.environ.copy(), stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            httpx.get(f"http://127.0.0.1:{port}/login/", timeout=1)
            return server
        except httpx.TransportError:
            time.sleep(0.1)
    server.kill()
    raise RuntimeError("the dashboard did not start")


def account(sandbox: Sandbox) -> dict[str, Any]:
    email = f"bench-{time.monotonic_ns()}@example.com"
    response = httpx.post(f"{sandbox.nexustoken_url}/api/v1/auth/register", json={"email": email})
    response.raise_for_status()
    upstream: dict[str, Any] = response.json()
    return upstream


def owner_and_session(sandbox: Sandbox) -> tuple["User", "Connection", str, str]:
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.accounts.connections import save_connection
    from dashboard.accounts.models import Service

    upstream = account(sandbox)
    user = get_user_model().objects.create_user(username="bench-tasks", password="bench-password")
    connection = save_connection(
        user, Service.NEXUSTOKEN, secret=upstream["api_key"], webhook_secret=upstream["webhook_secret"]
    )
    client = Client()
    client.force_login(user)
    return user, connection, upstream["api_key"], client.cookies["sessionid"].value


def post_task(user: "User", connection: "Connection", api_key: str, sandbox: Sandbox) -> "Task":
    from dashboard.nexustoken.models import Origin
    from dashboard.nexustoken.recording import create_record
    from dashboard.nexustoken.webhooks import callback_url
    from dashboard.services.nexustoken import Task as UpstreamTask

    body = {
        "input_data": "Acme Corp.",
        "validation_schema": SCHEMA,
        "example_output": EXAMPLE,
        "max_budget_credits": 5,
        "callback_url": callback_url(connection),
    }
    response = httpx.post(f"{sandbox.nexustoken_url}/api/v1/tasks", json=body, headers={"X-API-Key": api_key})
    response.raise_for_status()
    return create_record(user, UpstreamTask.model_validate(response.json()), origin=Origin.POSTED)


def award(worker: httpx.Client, task_id: str) -> None:
    worker.post(f"/tasks/{task_id}/bid", json={"bid_credits": 4}).raise_for_status()
    while worker.get(f"/tasks/{task_id}").json()["status"] != "AWARDED":
        time.sleep(0.1)


def settle_and_watch(
    worker: httpx.Client, page: httpx.Client, task_id: str, every: float
) -> tuple[float, float]:
    """(seconds from the submission to the live fragment showing the settled task, seconds from the
    webhook's arrival at the dashboard to the same moment)."""
    url = f"/tasks/{task_id}/"
    version = page.get(url).text.split('data-version="')[1].split('"')[0]
    started = time.monotonic()
    worker.post(f"/tasks/{task_id}/submit", json={"result_data": EXAMPLE}).raise_for_status()
    while True:
        answer = page.get(url, params={"live": version}, headers={"HX-Request": "true"})
        if answer.status_code == STOPPED:
            return time.monotonic() - started, time.time() - arrival(task_id)
        time.sleep(every)


def arrival(task_id: str) -> float:
    """When the dashboard received the task's webhook (its own record, same machine clock)."""
    from dashboard.nexustoken.models import WebhookDelivery

    return WebhookDelivery.objects.get(task_id=task_id).received_at.timestamp()


def percentiles(samples: list[float]) -> str:
    cuts = statistics.quantiles(samples, n=20)
    return (
        f"p50 {statistics.median(samples) * 1000:6.0f} ms   p95 {cuts[18] * 1000:6.0f} ms   n={len(samples)}"
    )


def upstream_calls(sandbox: Sandbox, page: httpx.Client, task_id: str, views: int = 10) -> float:
    sandbox.reset_request_counts()
    for _ in range(views):
        page.get(f"/tasks/{task_id}/")
        page.get(f"/tasks/{task_id}/", params={"live": "x"}, headers={"HX-Request": "true"})
        page.get("/tasks/")
    return sum(sandbox.request_counts().values()) / (3 * views)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="tasks per polling interval")
    args = parser.parse_args()

    sandbox = start_sandbox()
    web_port = free_port()
    os.environ["PUBLIC_URL"] = f"http://127.0.0.1:{web_port}"
    configure_django(sandbox)
    server = start_dashboard(web_port)
    try:
        user, connection, api_key, session = owner_and_session(sandbox)
        worker_key = account(sandbox)["api_key"]
        worker = httpx.Client(base_url=f"{sandbox.nexustoken_url}/api/v1", headers={"X-API-Key": worker_key})
        page = httpx.Client(base_url=f"http://127.0.0.1:{web_port}", cookies={"sessionid": session})
        results: dict[str, list[float]] = {}
        for name, every in (("10 ms polling", 0.01), ("500 ms polling, as the page", 0.5)):
            for _ in range(args.rounds):
                task = post_task(user, connection, api_key, sandbox)
                award(worker, task.task_id)
                total, own = settle_and_watch(worker, page, task.task_id, every)
                results.setdefault(f"submission -> page, {name}", []).append(total)
                results.setdefault(f"webhook received -> page, {name}", []).append(own)

        open_task = post_task(user, connection, api_key, sandbox)
        per_view = upstream_calls(sandbox, page, open_task.task_id)
        award(worker, open_task.task_id)
        sandbox.reset_request_counts()
        settle_and_watch(worker, page, open_task.task_id, 0.01)
        time.sleep(0.5)
        counts = sandbox.request_counts()
        confirms = sum(n for key, n in counts.items() if key.startswith("GET") and open_task.task_id in key)
    finally:
        server.terminate()
        server.wait()
        sandbox.stop()

    print("A task's settled status reaching its page (the submission includes the sandbox settling it")
    print("and starting the delivery; 'received' starts when the dashboard has the webhook):")
    for label, samples in results.items():
        print(f"  {label:55} {percentiles(samples)}")
    print(f"Upstream requests per task page view (page, live fragment, list): {per_view:.2f}")
    print(f"Upstream requests to confirm one webhook (GET /tasks/{{id}}): {confirms}")


if __name__ == "__main__":
    main()
