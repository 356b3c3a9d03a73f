"""`make run` points the links the two processes write (invitation mails from the sandbox, notification
mails and webhook URLs from the dashboard) at the dashboard on whatever port it runs; it keeps the
poller running when it dies, and Ctrl-C stops everything."""

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support.sandbox_process import free_port

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]


def _exports(web_port: int) -> dict[str, str]:
    """The variables `make run` exports, read from its recipe without running anything (make -n)."""
    recipe = subprocess.run(
        ["make", "-n", "-o", "setup", "run", f"WEB_PORT={web_port}", "SANDBOX_PORT=8124"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return dict(re.findall(r"export (\w+)=(\S+?);", recipe))


def _setting(module: str, name: str, env: dict[str, str]) -> str:
    """A setting as that project reads it from the environment `make run` gives it."""
    code = f"import django; django.setup(); from django.conf import settings; print(settings.{name})"
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**os.environ, **env, "DJANGO_SETTINGS_MODULE": module},
        capture_output=True,
        text=True,
        check=True,
    )
    return result.stdout.strip()


def test_it_sends_invitations_to_the_dashboard_on_its_port():
    exports = _exports(8123)
    assert exports["NEXICAL_INVITE_URL"] == "http://127.0.0.1:8123/invites/accept/"
    assert (
        _setting("sandbox.settings", "NEXICAL_INVITE_URL", exports) == "http://127.0.0.1:8123/invites/accept/"
    )


def test_it_gives_the_dashboard_its_public_url():
    exports = _exports(8123)
    assert exports["PUBLIC_URL"] == "http://127.0.0.1:8123"
    assert _setting("dashboard.settings", "PUBLIC_URL", exports) == "http://127.0.0.1:8123"


# --- the processes it keeps running --------------------------------------------------------------------


def _wait_for(what: str, check, *, seconds: float = 60.0, log: Path | None = None):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        found = check()
        if found:
            return found
        time.sleep(0.1)
    raise AssertionError(
        f"no {what} within {seconds:.0f} s" + (f":\n{log.read_text()[-3000:]}" if log else "")
    )


def _started_pids(log: Path, name: str) -> list[int]:
    return [int(pid) for pid in re.findall(rf"run-stack: {name} started \(pid (\d+)\)", log.read_text())]


def _poller_with_a_pass(database: Path, pid: int) -> bool:
    """The poller's default name is host:pid:suffix, and it writes its heartbeat after each pass."""
    with sqlite3.connect(database) as db:
        names = [row[0] for row in db.execute("SELECT name FROM core_pollerheartbeat WHERE passes > 0")]
    return any(name.split(":")[1:2] == [str(pid)] for name in names)


def _gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


@pytest.fixture
def databases(tmp_path) -> dict[str, str]:
    """`make run`'s environment on throwaway databases, migrated as `make setup` would."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("DJANGO_SETTINGS_MODULE", "DJANGO_ALLOW_ASYNC_UNSAFE")
    }
    env |= {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'dashboard.sqlite3'}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{tmp_path / 'sandbox.sqlite3'}",
        "PYTHONUNBUFFERED": "1",
    }
    migrations = [  # both at once: they touch different files
        subprocess.Popen([sys.executable, *command, "--verbosity", "0"], cwd=ROOT, env=env)
        for command in (["manage.py", "migrate"], ["-m", "sandbox", "migrate"])
    ]
    assert [migration.wait(timeout=120) for migration in migrations] == [0, 0]
    return env


def test_it_restarts_a_killed_poller_and_stops_everything_on_ctrl_c(databases, tmp_path):
    web_port, sandbox_port = free_port(), free_port()
    log = tmp_path / "make-run.log"
    with log.open("w") as out:
        make = subprocess.Popen(
            [
                "make",
                "-o",
                "setup",
                "run",
                f"WEB_PORT={web_port}",
                f"SANDBOX_PORT={sandbox_port}",
                "WEB_WORKERS=2",
            ],
            cwd=ROOT,
            env=databases,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's foreground job is
        )
    database = tmp_path / "dashboard.sqlite3"
    try:
        first = _wait_for("poller", lambda: _started_pids(log, "poller"), log=log)[0]
        _wait_for("heartbeat of the first poller", lambda: _poller_with_a_pass(database, first), log=log)
        healthz = f"http://127.0.0.1:{web_port}/healthz"
        _wait_for("web server", lambda: _answers(healthz), log=log)

        os.kill(first, signal.SIGKILL)
        _wait_for("restart", lambda: len(_started_pids(log, "poller")) == 2, log=log)
        second = _started_pids(log, "poller")[1]
        assert second != first
        assert "the poller stopped (killed by SIGKILL); restarting it in 1 s." in log.read_text()
        _wait_for("heartbeat of the new poller", lambda: _poller_with_a_pass(database, second), log=log)
        assert make.poll() is None and _answers(healthz)  # the sandbox and the web server stayed up
        children = [*_started_pids(log, "sandbox"), *_started_pids(log, "web"), second]
    finally:
        os.killpg(make.pid, signal.SIGINT)  # Ctrl-C in the terminal
        make.wait(timeout=60)
    assert _wait_for("every process stopped", lambda: all(_gone(pid) for pid in children), seconds=10)
    assert not _answers(healthz)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False
