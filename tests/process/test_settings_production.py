"""Production mode (DEBUG=false): the deploy checks pass with real secrets, and it refuses without them."""

import os
import secrets
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

pytestmark = pytest.mark.process

ROOT = Path(__file__).resolve().parents[2]
# Never the developer's db.sqlite3: several of these processes open it at once, beside the rest of the
# suite (a test's own DATABASE_URL still wins).
DATABASE_URL = f"sqlite:///{Path(tempfile.mkdtemp(prefix='nexus-production-')) / 'db.sqlite3'}"


def manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    # A clean environment: nothing from the developer's shell or from the test run leaks in.
    base = {
        "PATH": os.environ.get("PATH", ""),
        "HOME": os.environ.get("HOME", "/tmp"),
        "DEBUG": "false",
        "DATABASE_URL": DATABASE_URL,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def production_env() -> dict[str, str]:
    return {
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "dashboard.example.com",
        "TOKEN_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
    }


def collected(tmp_path: Path) -> dict[str, str]:
    """STATIC_ROOT as `collectstatic` leaves it, as far as the deploy check looks (its manifest)."""
    (tmp_path / "staticfiles.json").write_text('{"paths": {}, "version": "1.1"}')
    return {"STATIC_ROOT": str(tmp_path)}


def test_deploy_checks_pass_in_production_mode(tmp_path):
    result = manage("check", "--deploy", "--fail-level", "WARNING", **production_env(), **collected(tmp_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_it_refuses_to_start_without_secrets():
    result = manage("check")
    assert result.returncode != 0
    assert "Production mode (DEBUG=false) needs: SECRET_KEY" in result.stderr
    assert "ALLOWED_HOSTS" in result.stderr
    assert "TOKEN_ENCRYPTION_KEYS" in result.stderr


def test_it_refuses_the_development_defaults():
    from dashboard import settings

    env = {
        **production_env(),
        "SECRET_KEY": settings.DEV_SECRET_KEY,
        "TOKEN_ENCRYPTION_KEYS": settings.DEV_TOKEN_ENCRYPTION_KEY,
    }
    result = manage("check", **env)
    assert result.returncode != 0
    assert "SECRET_KEY (at least 32 random characters)" in result.stderr
    assert "TOKEN_ENCRYPTION_KEYS" in result.stderr
    assert "ALLOWED_HOSTS" not in result.stderr.split("needs:")[-1]


def test_it_refuses_a_token_encryption_key_fernet_cannot_use():
    good = Fernet.generate_key().decode()
    cases = {"notakey": "key 1 of 1", f"{good},notakey2": "key 2 of 2", "x" * 44: "key 1 of 1"}
    for keys, position in cases.items():
        result = manage("check", "--deploy", **{**production_env(), "TOKEN_ENCRYPTION_KEYS": keys})
        assert result.returncode != 0
        assert f"TOKEN_ENCRYPTION_KEYS: {position} is not a Fernet key" in result.stderr
        for key in keys.split(","):
            assert key not in result.stdout + result.stderr  # no key is ever echoed


def test_it_refuses_a_bad_token_encryption_key_in_development_too():
    result = manage("check", DEBUG="true", TOKEN_ENCRYPTION_KEYS="notakey")
    assert result.returncode != 0
    assert "TOKEN_ENCRYPTION_KEYS: key 1 of 1 is not a Fernet key" in result.stderr
    assert "notakey" not in result.stderr


def test_the_health_check_answers_plain_http_in_production(tmp_path):
    """A load balancer's plain-HTTP probe gets the health check, not a redirect; pages still redirect."""
    from tests.support.sandbox_process import free_port

    closed = f"http://127.0.0.1:{free_port()}"
    script = (
        "from django.test import Client; c = Client(); "
        "print(c.get('/healthz').status_code, c.get('/').status_code)"
    )
    env = {
        **production_env(),
        "ALLOWED_HOSTS": "testserver",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "NEXICAL_API_URL": f"{closed}/nexical",
        "NEXUSTOKEN_API_URL": f"{closed}/nexustoken",
    }
    result = manage("shell", "-c", script, **env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[-1].split() == ["200", "301"]


NOT_COLLECTED = "Production mode (DEBUG=false) serves the static files collected in"


def test_the_deploy_check_says_when_static_files_were_not_collected(tmp_path):
    result = manage(
        "check", "--deploy", "--tag", "staticfiles-collected", **production_env(), STATIC_ROOT=str(tmp_path)
    )
    assert result.returncode != 0
    assert NOT_COLLECTED in result.stderr
    assert "run `python manage.py collectstatic --noinput`" in result.stderr


def test_the_web_server_refuses_to_start_without_collected_static_files(tmp_path):
    """Rather than answering every page with a 500: the process stops at once with the sentence."""
    base = {"PATH": os.environ.get("PATH", ""), "HOME": os.environ.get("HOME", "/tmp"), "DEBUG": "false"}
    env = {**base, **production_env(), "STATIC_ROOT": str(tmp_path), "DATABASE_URL": DATABASE_URL}
    result = subprocess.run(
        [sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--port", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode != 0
    assert NOT_COLLECTED in result.stderr


def test_channels_post_only_to_public_addresses_in_production(tmp_path):
    shown = "from django.conf import settings; print(settings.CHANNELS_ALLOW_PRIVATE)"
    result = manage("shell", "-c", shown, **production_env(), **collected(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip().splitlines()[-1] == "False"
