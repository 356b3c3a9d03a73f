"""Development setup: the sandbox beside the dashboard on one host, and `make sandbox` on a fresh clone."""

import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import httpx
import pytest
from django.conf import settings

from tests.support.helpers import PASSWORD, new_nexical_user
from tests.support.sandbox_process import free_port

ROOT = Path(__file__).resolve().parents[2]


def test_it_keeps_the_sandbox_cookies_apart_from_the_dashboards(sandbox):
    """Cookies are per host, not per port: signing in on the sandbox's approval page must not replace
    the dashboard's session or CSRF cookie on 127.0.0.1."""
    person = new_nexical_user(sandbox)
    with httpx.Client(base_url=sandbox.url, timeout=10) as browser:
        page = browser.get("/nexical/device")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        signed_in = browser.post(
            "/nexical/device",
            data={
                "csrfmiddlewaretoken": token,
                "email": person["user"]["email"],
                "password": PASSWORD,
                "sign_in": "",
            },
            headers={"Referer": f"{sandbox.url}/nexical/device"},
        )
        assert signed_in.status_code == 302
        names = {cookie.name for cookie in browser.cookies.jar}
    assert names == {"sandbox_sessionid", "sandbox_csrftoken"}
    assert settings.SESSION_COOKIE_NAME not in names
    assert settings.CSRF_COOKIE_NAME not in names


@pytest.fixture
def fresh_clone(tmp_path):
    """What `make sandbox` needs of a fresh clone (no .sandbox/ yet), with the shared virtualenv."""
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt"):
        shutil.copy2(ROOT / name, tmp_path / name)
    for name in ("sandbox", "scripts"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    (tmp_path / ".venv").symlink_to((ROOT / ".venv").resolve())
    return tmp_path


@pytest.mark.process
def test_it_starts_the_sandbox_from_a_fresh_clone(fresh_clone):
    assert not (fresh_clone / ".sandbox").exists()
    port = free_port()
    # As from a shell: none of the test run's settings (pytest-django sets the dashboard's).
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("SANDBOX_") and key != "DJANGO_SETTINGS_MODULE"
    }
    # -o: the shared virtualenv counts as installed; the copied requirements look newer than it.
    server = subprocess.Popen(
        ["make", "-o", ".venv/.installed", "sandbox", f"SANDBOX_PORT={port}"],
        cwd=fresh_clone,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and server.poll() is None:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.3)
        assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
        assert httpx.get(f"http://127.0.0.1:{port}/_sandbox/health", timeout=5).status_code == 200
        assert (fresh_clone / ".sandbox" / "sandbox.sqlite3").exists()
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
