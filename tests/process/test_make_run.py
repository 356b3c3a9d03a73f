"""`make run` points the links the two processes write (invitation mails from the sandbox, notification
mails and webhook URLs from the dashboard) at the dashboard on whatever port it runs."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

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
