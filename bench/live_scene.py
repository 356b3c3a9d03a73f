"""What the live-page benchmarks share: a sandbox with 50 ms of latency, the dashboard as `make run`
starts it (uvicorn and runpoller on their own SQLite file), a dashboard user connected to the team's
owner, a worker of the team, and a running job the user has open."""

import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tracking_scene import new_person  # noqa: E402
from tests.support.live_stack import Stack, start_stack  # noqa: E402
from tests.support.sandbox_process import Sandbox, start_sandbox  # noqa: E402

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, Playwright

USERNAME, PASSWORD = "bench", "bench-password-123"
LATENCY_MS = 50


@dataclass
class LiveScene:
    sandbox: Sandbox
    stack: Stack
    owner_token: str
    job_path: str  # the upstream path of the running job
    page_path: str  # its page in the dashboard
    job_id: int
    worker: httpx.Client

    def log(self, message: str, level: str = "info") -> None:
        self.worker.post(
            f"{self.job_path}/logs", json={"message": message, "level": level}, timeout=30
        ).raise_for_status()

    def burst(self, count: int, chunk: int = 20_000) -> None:
        """`count` lines written upstream at once (the sandbox's burst knob), a chunk per call."""
        path = f"/_sandbox/nexical/jobs/{self.job_id}/burst"
        for start in range(0, count, chunk):
            size = min(chunk, count - start)
            self.sandbox._http.post(path, json={"count": size}, timeout=600).raise_for_status()

    def complete(self) -> None:
        self.worker.post(f"{self.job_path}/complete", json={"outputs": {}}).raise_for_status()

    def cached_lines(self) -> int:
        """Lines in the dashboard's log cache (read straight from its SQLite file)."""
        path = self.stack.env["DATABASE_URL"].removeprefix("sqlite:///")
        with sqlite3.connect(path, timeout=30) as db:
            count: int = db.execute("SELECT COUNT(*) FROM tracking_logline").fetchone()[0]
        return count

    def stop(self) -> None:
        self.worker.close()
        self.stack.stop()
        self.sandbox.stop()

    def session(self) -> httpx.Client:
        """An HTTP client signed in to the dashboard through its login form."""
        client = httpx.Client(base_url=self.stack.url, timeout=60)
        client.get("/accounts/login/")
        client.post(
            "/accounts/login/",
            data={
                "username": USERNAME,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.stack.url}/accounts/login/"},
        )
        assert "sessionid" in client.cookies, "the bench user could not sign in"
        return client


def build(web_command: list[str] | None = None) -> LiveScene:
    sandbox = start_sandbox()
    stack = start_stack(sandbox, web_command=web_command)
    owner, system = new_person(sandbox), new_person(sandbox, role="system")
    stack.user(USERNAME, PASSWORD, owner["token"])
    api = httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {owner['token']}"}, timeout=30
    )
    team = api.post("/teams", json={"name": "Bench", "slug": f"bench-{time.monotonic_ns()}"}).json()["team"]
    project = api.post(
        f"/teams/{team['id']}/projects",
        json={"name": "app", "repoUrl": "https://git.example.com/app.git", "mode": "self_hosted"},
    ).json()["project"]
    branch_path = f"/teams/{team['id']}/projects/{project['id']}/branches"
    branch = api.post(branch_path, json={"name": "main"}).json()["branch"]
    job = api.post(f"{branch_path}/{branch['id']}/jobs", json={"type": "deploy", "inputs": {}}).json()["job"]
    admin = httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {system['token']}"}, timeout=30
    )
    enrollment = admin.post("/admin/enrollment-tokens", json={"teamId": team["id"], "name": "bench"}).json()
    session = httpx.post(
        f"{sandbox.nexical_url}/auth/worker/enroll",
        json={"token": enrollment["token"], "metadata": {"name": "bench"}},
        timeout=30,
    ).json()
    worker = httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {session['token']}"}, timeout=30
    )
    worker.post("/workers/acquire", json={}).raise_for_status()
    sandbox.set_knobs(latency_ms=LATENCY_MS)
    job_path = f"{branch_path}/{branch['id']}/jobs/{job['id']}"
    return LiveScene(sandbox, stack, owner["token"], job_path, f"/{job_path.lstrip('/')}/", job["id"], worker)


def sign_in(page: "Page", scene: LiveScene) -> None:
    page.goto(f"{scene.stack.url}/accounts/login/")
    page.fill("input[name=username]", USERNAME)
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()


def chromium(playwright: "Playwright") -> "Browser":
    from tests.conftest import chromium_path

    return playwright.chromium.launch(executable_path=chromium_path(), args=["--no-sandbox", "--disable-gpu"])


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]
