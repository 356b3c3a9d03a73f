"""What the poller benchmarks share: a sandbox with 50 ms of latency, a throwaway dashboard database,
a team with a branch, a worker the benchmark drives, and `manage.py runpoller` as its own process
(as `make run` starts it), so the poller's upstream calls can be counted at the sandbox."""

import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.sandbox_process import Sandbox, start_sandbox  # noqa: E402

if TYPE_CHECKING:  # for their types only: Django is set up when the benchmark runs
    from django.contrib.auth.models import User


@dataclass
class Scene:
    sandbox: Sandbox
    database_url: str
    owner_token: str
    team_id: int
    project_id: int
    branch_id: int
    worker: httpx.Client
    poller: subprocess.Popen[bytes] | None = None
    _tokens: list[str] = field(default_factory=list)

    def api(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token or self.owner_token}"}
        return httpx.Client(base_url=self.sandbox.nexical_url, headers=headers, timeout=30)

    @property
    def branch_path(self) -> str:
        return f"/teams/{self.team_id}/projects/{self.project_id}/branches/{self.branch_id}"

    def new_job(self) -> dict[str, Any]:
        with self.api() as api:
            response = api.post(f"{self.branch_path}/jobs", json={"type": "deploy", "inputs": {}})
        response.raise_for_status()
        job: dict[str, Any] = response.json()["job"]
        return job

    def acquire(self) -> dict[str, Any]:
        response = self.worker.post("/workers/acquire", json={})
        response.raise_for_status()
        job: dict[str, Any] = response.json()["job"]
        return job

    def job_path(self, job: dict[str, Any]) -> str:
        return f"{self.branch_path}/jobs/{job['id']}"

    def log(self, job: dict[str, Any], message: str) -> None:
        self.worker.post(f"{self.job_path(job)}/logs", json={"message": message}).raise_for_status()

    def complete(self, job: dict[str, Any]) -> None:
        self.worker.post(f"{self.job_path(job)}/complete", json={}).raise_for_status()

    def start_poller(self) -> None:
        env = {**os.environ, "DATABASE_URL": self.database_url, "NEXICAL_API_URL": self.sandbox.nexical_url}
        log = open(Path(tempfile.gettempdir()) / "nexus-bench-poller.log", "w")  # noqa: SIM115 (lives with the process)
        self.poller = subprocess.Popen(
            [sys.executable, "manage.py", "runpoller", "--name", "bench"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=log,
        )

    def stop_poller(self) -> None:
        if self.poller is not None:
            self.poller.send_signal(signal.SIGTERM)
            self.poller.wait(timeout=30)
            self.poller = None

    def get_counts(self) -> dict[str, int]:
        return {path: n for path, n in self.sandbox.request_counts().items() if path.startswith("GET ")}


def new_person(sandbox: Sandbox, role: str = "user") -> dict[str, Any]:
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        json={"email": f"bench-{time.monotonic_ns()}@example.com", "fullName": "Bench", "role": role},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=30,
    )
    response.raise_for_status()
    person: dict[str, Any] = response.json()
    return person


def configure_django(sandbox: Sandbox) -> str:
    """Django on a throwaway SQLite file that the poller process opens too; returns its URL."""
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
    url = f"sqlite:///{workdir / 'bench.sqlite3'}"
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DATABASE_URL=url,
        NEXICAL_API_URL=sandbox.nexical_url,
        NEXUSTOKEN_API_URL=sandbox.nexustoken_url,
        ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return url


def build_scene(latency_ms: int) -> Scene:
    sandbox = start_sandbox()
    database_url = configure_django(sandbox)
    owner = new_person(sandbox)
    headers = {"Authorization": f"Bearer {owner['token']}"}
    with httpx.Client(base_url=sandbox.nexical_url, headers=headers, timeout=30) as api:
        slug = f"bench-{time.monotonic_ns()}"
        team = api.post("/teams", json={"name": "Bench", "slug": slug}).raise_for_status().json()["team"]
        project = (
            api.post(
                f"/teams/{team['id']}/projects",
                json={"name": "app", "repoUrl": "https://git.example.com/app.git", "mode": "self_hosted"},
            )
            .raise_for_status()
            .json()["project"]
        )
        branch_path = f"/teams/{team['id']}/projects/{project['id']}/branches"
        branch = api.post(branch_path, json={"name": "main"}).raise_for_status().json()["branch"]
    system = new_person(sandbox, role="system")
    with httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {system['token']}"}, timeout=30
    ) as admin:
        enrollment = admin.post("/admin/enrollment-tokens", json={"teamId": team["id"], "name": "bench"})
    session = httpx.post(
        f"{sandbox.nexical_url}/auth/worker/enroll",
        json={"token": enrollment.raise_for_status().json()["token"], "metadata": {"name": "bench"}},
        timeout=30,
    )
    worker = httpx.Client(
        base_url=sandbox.nexical_url,
        headers={"Authorization": f"Bearer {session.raise_for_status().json()['token']}"},
        timeout=30,
    )
    sandbox.set_knobs(latency_ms=latency_ms)
    return Scene(sandbox, database_url, owner["token"], team["id"], project["id"], branch["id"], worker)


def dashboard_user(token: str, name: str, account_id: str = "") -> "User":
    """A dashboard user connected to Nexical with `token`; `account_id` is who it belongs to upstream,
    which connecting stores (and the member lists are matched against)."""
    from django.contrib.auth import get_user_model

    from dashboard.accounts.connections import save_connection
    from dashboard.accounts.models import Service

    user = get_user_model().objects.create_user(username=name, password="bench-password")
    save_connection(user, Service.NEXICAL, secret=token, account_id=account_id)
    return user


def track(scene: Scene, user: "User", job: dict[str, Any], reason: str) -> None:
    from dashboard.services import nexical
    from dashboard.tracking.interest import JobPath, track_job
    from dashboard.tracking.models import Reason

    path = JobPath(scene.team_id, scene.project_id, scene.branch_id)
    track_job(user, nexical.Job.model_validate(job), path, Reason(reason))


def every(seconds: float, action: Callable[[], None], stop: threading.Event) -> threading.Thread:
    """Run `action` every `seconds` in a thread until `stop` is set."""

    def loop() -> None:
        while not stop.wait(seconds):
            action()

    thread = threading.Thread(target=loop, daemon=True)
    thread.start()
    return thread
