"""Start the sandbox as a real server in a subprocess, for tests and benchmarks."""

import fcntl
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parents[2]
ADMIN_TOKEN = "nx_sandbox_admin_test_token_0000"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _postgres_database(database_url: str, name: str, *, create: bool = True, like: str | None = None) -> str:
    """Create (anew) a database beside the one in database_url, as a copy of the database `like`
    if given, and return its URL; or only drop it."""
    import psycopg

    parts = urlsplit(database_url)
    admin_url = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        if create:
            template = f' TEMPLATE "{like}"' if like else ""
            conn.execute(f'CREATE DATABASE "{name}"{template}')
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

    def close_auction(self, task_id: str) -> None:
        """End a NexusToken task's auction now, rather than auction_seconds after its first bid."""
        response = self._http.post(f"/_sandbox/nexustoken/tasks/{task_id}/close-auction")
        response.raise_for_status()

    def expire_checkout(self, session_id: str) -> dict:
        """A NexusToken checkout session's time runs out now, rather than 24 hours after it opened."""
        response = self._http.post(f"/_sandbox/nexustoken/checkout/{session_id}/expire")
        response.raise_for_status()
        return response.json()

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
        shutil.rmtree(self.log_path.parent, ignore_errors=True)


# Set by tests/conftest.py for a whole test run (its xdist workers inherit it): the sandboxes of one
# run copy their database from templates migrated (and seeded) once for that run. Outside a test run
# (benchmarks) each sandbox migrates its own.
RUN_ENV = "NEXUS_TEST_RUN"

# What every sandbox of the tests starts with; tests switch knobs on where they are what is tested,
# and DELETE /_sandbox/knobs brings these back.
TEST_ENV = {
    "SANDBOX_ADMIN_TOKEN": ADMIN_TOKEN,
    "SANDBOX_FAST_PASSWORD_HASHING": "on",
    "SANDBOX_RATE_LIMITS": "off",
    "SANDBOX_SIMULATE_WORKER": "off",
    "SANDBOX_SIMULATE_NODES": "off",
    "SANDBOX_AUCTION_SECONDS": "1",
    "PYTHONUNBUFFERED": "1",
}


def _sandbox_env(extra: dict[str, str]) -> dict[str, str]:
    env = {**os.environ, **TEST_ENV}
    # The sandbox's own address is the port it takes (`make run` exports these for its own sandbox).
    env.pop("SANDBOX_PUBLIC_URL", None)
    env.pop("DJANGO_SETTINGS_MODULE", None)
    env.update(extra)
    return env


def _postgres_url() -> str:
    database_url = os.environ.get("DATABASE_URL", "")
    return database_url if database_url.startswith(("postgres://", "postgresql://")) else ""


def _templates_dir(run: str) -> Path:
    return Path(tempfile.gettempdir()) / f"nexus-sandbox-{run}"


def _sandbox_command(database_url: str, *args: str) -> None:
    env = _sandbox_env({"SANDBOX_DATABASE_URL": database_url})
    subprocess.run(
        [sys.executable, "-m", "sandbox", *args, "--verbosity", "0"],
        cwd=ROOT,
        env=env,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def _template(run: str, seed: bool) -> str:
    """The run's template database, migrated (and seeded), made by whichever worker needs it first.

    SQLite: the template file's path; PostgreSQL: the template database's name.
    """
    folder = _templates_dir(run)
    folder.mkdir(exist_ok=True)
    postgres = _postgres_url()

    def name(kind: str) -> str:
        return f"nexus_sandbox_{run}_{kind}" if postgres else str(folder / f"{kind}.sqlite3")

    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # the workers of one run take turns; the first one builds
        for kind in ("migrated", "seeded") if seed else ("migrated",):
            done = folder / f"{kind}.done"
            if done.exists():
                continue
            source = name("migrated") if kind == "seeded" else None
            if postgres:
                url = _postgres_database(postgres, name(kind), like=source)
            else:
                if source:
                    shutil.copyfile(source, name(kind))
                url = f"sqlite:///{name(kind)}"
            _sandbox_command(url, "seed_demo" if kind == "seeded" else "migrate")
            if not postgres:
                # Fold the write-ahead log into the file itself, so a plain copy of the file is whole.
                with sqlite3.connect(name(kind)) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            done.touch()
    return name("seeded" if seed else "migrated")


def _migrate_dashboard(database_url: str) -> None:
    command = [sys.executable, "manage.py", "migrate", "--verbosity", "0"]
    env = {**os.environ, "DATABASE_URL": database_url}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    subprocess.run(command, cwd=ROOT, env=env, check=True)


def _dashboard_template(run: str, postgres: str) -> str:
    """The run's migrated dashboard database, made by whichever worker needs it first (as _template
    makes the sandbox's): SQLite, the file's path; PostgreSQL, the database's name."""
    folder = _templates_dir(run)
    folder.mkdir(exist_ok=True)
    name = f"nexus_dashboard_{run}" if postgres else str(folder / "dashboard.sqlite3")
    with (folder / "lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        done = folder / "dashboard.done"
        if not done.exists():
            _migrate_dashboard(_postgres_database(postgres, name) if postgres else f"sqlite:///{name}")
            if not postgres:
                with sqlite3.connect(name) as conn:
                    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            done.touch()
    return name


def dashboard_database(sqlite_path: Path, postgres_name: str | None = None) -> str:
    """A fresh, migrated dashboard database for processes of their own (a stack, pollers, web
    processes), and its URL: a PostgreSQL database named `postgres_name` beside the suite's when
    that is given and the suite runs on PostgreSQL, else the SQLite file `sqlite_path`. In a test run
    it is a copy of a template migrated once for the run (a migration costs some 3 s of CPU); outside
    one (benchmarks) it is migrated in place."""
    postgres = _postgres_url() if postgres_name else ""
    run = os.environ.get(RUN_ENV, "")
    if postgres:
        template = _dashboard_template(run, postgres) if run else None
        url = _postgres_database(postgres, postgres_name, like=template)  # type: ignore[arg-type]
    else:
        url = f"sqlite:///{sqlite_path}"
        if run:
            shutil.copyfile(_dashboard_template(run, ""), sqlite_path)
    if not run:
        _migrate_dashboard(url)
    return url


def drop_templates(run: str) -> None:
    """Remove what the run's sandboxes and dashboards were copied from (called once the whole run is
    over)."""
    postgres = _postgres_url()
    folder = _templates_dir(run)
    if postgres and folder.exists():
        for name in ("seeded", "migrated"):
            if (folder / f"{name}.done").exists():
                _postgres_database(postgres, f"nexus_sandbox_{run}_{name}", create=False)
        if (folder / "dashboard.done").exists():
            _postgres_database(postgres, f"nexus_dashboard_{run}", create=False)
    shutil.rmtree(folder, ignore_errors=True)


def start_sandbox(extra_env: dict[str, str] | None = None, seed: bool = False, processes: int = 1) -> Sandbox:
    """Start a fresh sandbox with its own database on a port of its choosing; the caller stops it."""
    extra_env = extra_env or {}
    workdir = Path(tempfile.mkdtemp(prefix="nexus-sandbox-"))
    env = _sandbox_env(extra_env)
    run = os.environ.get(RUN_ENV, "")
    command = [sys.executable, "-m", "sandbox", "serve", "--port", "0", "--port-file", str(workdir / "port")]
    postgres = _postgres_url()
    postgres_database = ""
    if "SANDBOX_DATABASE_URL" in extra_env:
        pass  # the caller's own database, migrated at start
    elif postgres:
        postgres_database = f"nexus_sandbox_test_{uuid.uuid4().hex[:12]}"
        template = _template(run, seed) if run else None
        env["SANDBOX_DATABASE_URL"] = _postgres_database(postgres, postgres_database, like=template)
    else:
        database = workdir / "sandbox.sqlite3"
        if run:
            shutil.copyfile(_template(run, seed), database)
        env["SANDBOX_DATABASE_URL"] = f"sqlite:///{database}"
    if run and "SANDBOX_DATABASE_URL" not in extra_env:
        command.append("--no-migrate")  # the template was migrated, and seeded if asked
    elif seed:
        command.append("--seed")
    if processes > 1:
        command += ["--processes", str(processes)]

    log_path = workdir / "sandbox.log"
    log = log_path.open("w")
    process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    port_file = workdir / "port"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the sandbox exited at start:\n{log_path.read_text()}")
        if port_file.exists():
            # The port file is written once the sandbox listens: it answers from now on.
            return Sandbox(
                url=f"http://127.0.0.1:{port_file.read_text()}",
                admin_token=ADMIN_TOKEN,
                process=process,
                log_path=log_path,
                postgres_database=postgres_database,
            )
        time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"the sandbox did not start within 120 s:\n{log_path.read_text()}")
