"""Start the sandbox as a real server in a subprocess, for tests and benchmarks."""

import os
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
ADMIN_TOKEN = "nx_sandbox_admin_test_token_0000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(database_url: str, name: str, *, create: bool = True) -> str:
    """Create (anew) a database beside the one in database_url and return its URL; or only drop it."""
    import psycopg

    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(parts._replace(path=f"/{name}"))


@dataclass
class Sandbox:
    url: str
    admin_token: str
    process: subprocess.Popen
    log_path: Path
    postgres_database: str = ""  # the sandbox's own PostgreSQL database, dropped when it stops
    _http: httpx.Client = field(init=False)

    def __post_init__(self):
        self._http = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=10
        )

    @property
    def nexical_url(self) -> str:
        return f"{self.url}/nexical"

    @property
    def nexustoken_url(self) -> str:
        return f"{self.url}/nexustoken"

    def set_knobs(self, **values) -> dict:
        response = self._http.post("/_sandbox/knobs", json=values)
        response.raise_for_status()
        return response.json()

    def reset_knobs(self) -> None:
        self._http.delete("/_sandbox/knobs").raise_for_status()

    def request_counts(self) -> dict[str, int]:
        return self._http.get("/_sandbox/requests").json()

    def reset_request_counts(self) -> None:
        self._http.delete("/_sandbox/requests").raise_for_status()

    def log_text(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> None:
        self._http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.postgres_database:
            _postgres_database(os.environ["DATABASE_URL"], self.postgres_database, create=False)


def start_sandbox(extra_env: dict[str, str] | None = None, seed: bool = False, processes: int = 1) -> Sandbox:
    """Start a fresh sandbox with its own database on a free port; the caller stops it."""
    port = free_port()
    workdir = Path(tempfile.mkdtemp(prefix="nexus-sandbox-"))
    env = {
        **os.environ,
        "SANDBOX_ADMIN_TOKEN": ADMIN_TOKEN,
        "SANDBOX_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "SANDBOX_DATABASE_URL": f"sqlite:///{workdir / 'sandbox.sqlite3'}",
        # Tests switch these on where they are what is tested.
        "SANDBOX_RATE_LIMITS": "off",
        "SANDBOX_SIMULATE_WORKER": "off",
        "SANDBOX_SIMULATE_NODES": "off",
        "SANDBOX_AUCTION_SECONDS": "1",
        "PYTHONUNBUFFERED": "1",
        **(extra_env or {}),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    database_url = os.environ.get("DATABASE_URL", "")
    postgres_database = ""
    if database_url.startswith(("postgres://", "postgresql://")) and "SANDBOX_DATABASE_URL" not in (
        extra_env or {}
    ):
        postgres_database = f"nexus_sandbox_test_{port}"
        env["SANDBOX_DATABASE_URL"] = _postgres_database(database_url, postgres_database)

    log_path = workdir / "sandbox.log"
    command = [sys.executable, "-m", "sandbox", "serve", "--port", str(port)]
    if seed:
        command.append("--seed")
    if processes > 1:
        command += ["--processes", str(processes)]
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox exited at start:\n{log_path.read_text()}")
        try:
            if httpx.get(f"{url}/_sandbox/health", timeout=1).status_code == 200:
                return Sandbox(
                    url=url,
                    admin_token=ADMIN_TOKEN,
                    process=process,
                    log_path=log_path,
                    postgres_database=postgres_database,
                )
        except httpx.TransportError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"the sandbox did not answer within 120 s:\n{log_path.read_text()}")
