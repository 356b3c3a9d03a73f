"""The dashboard as `make run` starts it, for the live journey and the live benchmarks: uvicorn and
`manage.py runpoller` as processes of their own on a throwaway SQLite file, against a sandbox.

The test process's Django is bound to its in-memory test database; this stack has its own database,
so whatever the journey needs in it (a user, a stored token) is made by `manage.py shell` there.
"""

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.support.sandbox_process import ROOT, dashboard_database, free_port


@dataclass
class Stack:
    url: str
    env: dict
    workdir: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def manage(self, *args: str, stdin: str | None = None) -> str:
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
        )
        if done.returncode != 0:
            raise RuntimeError(f"manage.py {args[0]} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def user(self, username: str, password: str, token: str) -> None:
        """A dashboard user whose Nexical connection holds `token` (read from stdin, not argv)."""
        script = (
            "import sys\n"
            "from django.contrib.auth import get_user_model\n"
            "from dashboard.accounts.connections import save_connection\n"
            "from dashboard.accounts.models import Service\n"
            f"user = get_user_model().objects.create_user({username!r}, {username + '@example.com'!r},"
            f" {password!r})\n"
            "save_connection(user, Service.NEXICAL, secret=sys.stdin.readline().strip())\n"
        )
        self.manage("shell", "-c", script, stdin=token + "\n")

    def start(self, name: str, *command: str) -> None:
        log = (self.workdir / f"{name}.log").open("w")
        self.processes[name] = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=log, stderr=log)

    def log(self, name: str) -> str:
        return (self.workdir / f"{name}.log").read_text(errors="replace")

    def pid(self, name: str) -> int:
        return self.processes[name].pid

    def stop(self) -> None:
        for process in self.processes.values():
            process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def start_stack(
    sandbox,
    *,
    poller: bool = True,
    web_command: list[str] | None = None,
    settings: dict[str, str] | None = None,
) -> Stack:
    """Start the web server (and the poller) on a fresh, migrated database; `settings` are added to
    their environment."""
    workdir = Path(tempfile.mkdtemp(prefix="nexus-stack-"))
    port = free_port()
    env = {
        **os.environ,
        "DATABASE_URL": dashboard_database(workdir / "dashboard.sqlite3"),
        "NEXICAL_API_URL": sandbox.nexical_url,
        "NEXUSTOKEN_API_URL": sandbox.nexustoken_url,
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "PYTHONUNBUFFERED": "1",
        **(settings or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
    stack = Stack(url=f"http://127.0.0.1:{port}", env=env, workdir=workdir)
    uvicorn = [sys.executable, "-m", "uvicorn", "dashboard.asgi:application"]
    # As make run: open streams do not hold a stop for more than 5 s.
    web = web_command or [*uvicorn, "--timeout-graceful-shutdown", "5"]
    stack.start("web", *web, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning")
    if poller:
        stack.start("poller", sys.executable, "manage.py", "runpoller", "--name", "stack")
    deadline = time.monotonic() + 60
    while True:
        if stack.processes["web"].poll() is not None:
            raise RuntimeError(f"the web server exited at start:\n{stack.log('web')}")
        try:
            if httpx.get(f"{stack.url}/accounts/login/", timeout=1).status_code == 200:
                return stack
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline:
            stack.stop()
            raise RuntimeError(f"the web server did not answer within 60 s:\n{stack.log('web')}")
        time.sleep(0.1)
