"""`make loadtest`: the dashboard under many people at once, as `make run` starts it.

The runner starts the sandbox, the poller and the web server (the three commands of `make run`) on
free ports with fresh databases of their own, so a developer's db.sqlite3 and .sandbox/ are never
touched. It makes the people (dashboard users, each connected to a fresh Nexical user in one shared
team and to a NexusToken account with credits), runs Locust headless against the web server (see
locustfile.py for what each simulated person does), then compares every job and task status change
the sandbox made with what the dashboard recorded, and prints per page kind p50/p95/p99, the errors
and the status changes lost. Everything it started is stopped, and its databases dropped, at the end.

    .venv/bin/python -m loadtest [--users 50] [--minutes 5 | --seconds 300] [--database sqlite|postgres]
"""

import argparse
import csv
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
POSTGRES_URL = "postgres://postgres@127.0.0.1:5432/postgres"
# Page kinds in the order the report lists them (the names the locustfile gives its requests).
KINDS = [
    "home",
    "teams",
    "team",
    "project",
    "branch",
    "job",
    "deployments",
    "tasks",
    "task",
    "credits",
    "usage",
    "notifications",
    "connections",
    "stream",
    "deploy",
    "task form",
    "task post",
]
# The simulated worker runs this many jobs at once (the sandbox's default is 4, a small factory):
# enough that the deploys of fifty people start within seconds rather than queueing for minutes.
WORKER_SLOTS = 16
CREDITS = 5_000  # granted to each person's NexusToken account on top of the sign-up credits
# How long the dashboard has, after the load stops, to show every status the sandbox reached: the
# sandbox's webhook retries (1, 3 and 10 s), and the task poller's fallback, which looks at a task
# every tenth of its age (30 s for one five minutes old) when every delivery failed.
DRAIN_SECONDS = 60.0
TERMINAL_TASK_STATUSES = {"SETTLED", "EXPIRED", "CANCELLED"}


@dataclass(frozen=True)
class Options:
    users: int
    seconds: int
    spawn_rate: float
    database: str
    web_workers: int
    json_path: Path | None


def parse_options(argv: list[str] | None = None) -> Options:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__.split("\n\n")[0])
    parser.add_argument("--users", type=int, default=int(env.get("LOADTEST_USERS", "50")))
    length = parser.add_mutually_exclusive_group()
    length.add_argument("--minutes", type=float, default=float(env.get("LOADTEST_MINUTES", "5")))
    length.add_argument(
        "--seconds", type=int, default=int(env["LOADTEST_SECONDS"]) if env.get("LOADTEST_SECONDS") else None
    )
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="people started per second")
    parser.add_argument(
        "--database",
        choices=["sqlite", "postgres"],
        default=env.get("LOADTEST_DATABASE", "sqlite"),
        help="postgres: fresh databases on LOADTEST_POSTGRES_URL (default 127.0.0.1:5432), dropped after",
    )
    parser.add_argument(
        "--web-workers",
        type=int,
        default=int(env.get("WEB_WORKERS", "2")),
        help="uvicorn --workers for the web server (default: WEB_WORKERS, else 2, as make run)",
    )
    parser.add_argument("--json", dest="json_path", type=Path, help="also write the figures here, as JSON")
    args = parser.parse_args(argv)
    if args.users < 1:
        parser.error("--users must be at least 1")
    seconds = args.seconds if args.seconds is not None else round(args.minutes * 60)
    if seconds < 1:
        parser.error("the run must last at least a second")
    return Options(args.users, seconds, args.spawn_rate, args.database, args.web_workers, args.json_path)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


# --- Databases ---------------------------------------------------------------------------------------


@dataclass
class Databases:
    """The dashboard's and the sandbox's databases, made fresh for one run and removed after it."""

    dashboard: str
    sandbox: str
    postgres_names: list[str] = field(default_factory=list)
    postgres_admin: str = ""

    @classmethod
    def create(cls, kind: str, workdir: Path) -> "Databases":
        if kind == "sqlite":
            return cls(
                f"sqlite:///{workdir / 'dashboard.sqlite3'}", f"sqlite:///{workdir / 'sandbox.sqlite3'}"
            )
        import psycopg

        admin = os.environ.get("LOADTEST_POSTGRES_URL", POSTGRES_URL)
        stem = f"nexus_loadtest_{uuid.uuid4().hex[:10]}"
        names = [stem, f"{stem}_sandbox"]
        try:
            with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
                for name in names:
                    conn.execute(f'CREATE DATABASE "{name}"')
        except psycopg.OperationalError as error:
            raise SystemExit(f"PostgreSQL is not reachable at {_safe(admin)}: {error}") from None
        urls = [urlunsplit(urlsplit(admin)._replace(path=f"/{name}")) for name in names]
        return cls(urls[0], urls[1], names, admin)

    def drop(self) -> None:
        if not self.postgres_names:
            return
        import psycopg

        with psycopg.connect(self.postgres_admin, autocommit=True) as conn:
            for name in self.postgres_names:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _safe(url: str) -> str:
    """A database URL without its password, to be printed."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return urlunsplit(parts._replace(netloc=f"{host}:{parts.port}" if parts.port else host))


# --- The stack ---------------------------------------------------------------------------------------


@dataclass
class Stack:
    """The sandbox, the poller and the web server, each a process of its own with a log file."""

    workdir: Path
    env: dict[str, str]
    web_url: str = ""
    sandbox_url: str = ""
    admin_token: str = ""
    processes: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)

    def start(self, name: str, *command: str, env: dict[str, str]) -> subprocess.Popen[bytes]:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        self.processes[name] = process
        return process

    def log_tail(self, name: str, lines: int = 30) -> str:
        text = (self.workdir / f"{name}.log").read_text(errors="replace")
        return "\n".join(text.splitlines()[-lines:])

    def check_alive(self) -> None:
        for name, process in self.processes.items():
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited (status {process.returncode}):\n{self.log_tail(name)}")

    def cpu_seconds(self, name: str) -> float:
        """CPU time used so far by a process and its children (uvicorn's workers), read from /proc."""
        pid = self.processes[name].pid
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if stat.parent.name == str(pid) or fields[1] == str(pid):  # the process, or its child
                total += (int(fields[11]) + int(fields[12])) / tick
        return total

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _migrate(databases: Databases, env: dict[str, str]) -> None:
    """Both projects' migrations at once: they touch different databases."""
    runs = [
        subprocess.Popen(
            [PYTHON, "manage.py", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env={**env, "DATABASE_URL": databases.dashboard},
            stderr=subprocess.PIPE,
        ),
        subprocess.Popen(
            [PYTHON, "-m", "sandbox", "migrate", "--verbosity", "0"],
            cwd=ROOT,
            env={**env, "SANDBOX_DATABASE_URL": databases.sandbox},
            stderr=subprocess.PIPE,
        ),
    ]
    for run in runs:
        _, error = run.communicate(timeout=300)
        if run.returncode != 0:
            raise RuntimeError(f"a migration failed:\n{error.decode(errors='replace')[-2000:]}")


def _wait_until(ready: Any, stack: Stack, what: str, seconds: float = 120) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        stack.check_alive()
        value = ready()
        if value:
            return value
        time.sleep(0.1)
    raise RuntimeError(f"{what} did not start within {seconds:g} s")


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def start_stack(workdir: Path, databases: Databases, web_workers: int) -> Stack:
    """What `make run` starts, on free ports: the sandbox, the poller and the web server (all three at
    once: none needs another to start)."""
    base = {key: value for key, value in os.environ.items() if not key.startswith(("DJANGO_", "SANDBOX_"))}
    base.pop("DATABASE_URL", None)
    base["PYTHONUNBUFFERED"] = "1"
    _migrate(databases, base)
    stack = Stack(workdir, base, admin_token=f"nx_loadtest_admin_{secrets.token_hex(16)}")
    web_port, sandbox_port = free_port(), free_port()
    stack.web_url = f"http://127.0.0.1:{web_port}"
    stack.sandbox_url = f"http://127.0.0.1:{sandbox_port}"
    port_file = workdir / "sandbox.port"  # written once the sandbox answers
    sandbox_env = {
        **base,
        "SANDBOX_DATABASE_URL": databases.sandbox,
        "SANDBOX_ADMIN_TOKEN": stack.admin_token,
        "NEXICAL_INVITE_URL": f"{stack.web_url}/invites/accept/",
    }
    serve = ("serve", "--port", str(sandbox_port), "--port-file", str(port_file), "--no-migrate")
    stack.start("sandbox", PYTHON, "-m", "sandbox", *serve, env=sandbox_env)
    stack.env = {
        **base,
        "DATABASE_URL": databases.dashboard,
        "NEXICAL_API_URL": f"{stack.sandbox_url}/nexical",
        "NEXUSTOKEN_API_URL": f"{stack.sandbox_url}/nexustoken",
        "PUBLIC_URL": stack.web_url,
    }
    stack.start("poller", PYTHON, "manage.py", "runpoller", env=stack.env)
    web = [PYTHON, "-m", "uvicorn", "dashboard.asgi:application", "--host", "127.0.0.1"]
    web += ["--port", str(web_port)]
    if web_workers > 1:
        web += ["--workers", str(web_workers)]
    stack.start("web", *web, env=stack.env)
    _wait_until(port_file.exists, stack, "the sandbox")
    _wait_until(lambda: _answers(f"{stack.web_url}/accounts/login/"), stack, "the web server")
    return stack


# --- The people ----------------------------------------------------------------------------------------


class Sandbox:
    """The sandbox's admin endpoints and the few API calls that set the scene."""

    def __init__(self, stack: Stack):
        self.url = stack.sandbox_url
        self.admin = httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {stack.admin_token}"}, timeout=30
        )

    def nexical_user(self, label: str) -> dict[str, Any]:
        email = f"{label}-{uuid.uuid4().hex[:8]}@loadtest.example.com"
        body = {"email": email, "fullName": label.title(), "role": "user"}
        return self.admin.post("/_sandbox/nexical/users", json=body).raise_for_status().json()

    def nexical(self, token: str) -> httpx.Client:
        return httpx.Client(
            base_url=f"{self.url}/nexical", headers={"Authorization": f"Bearer {token}"}, timeout=30
        )

    def nexustoken_account(self) -> dict[str, Any]:
        email = f"agent-{uuid.uuid4().hex[:8]}@loadtest.example.com"
        response = httpx.post(
            f"{self.url}/nexustoken/api/v1/auth/register",
            json={"email": email, "source": "loadtest"},
            timeout=30,
        )
        account: dict[str, Any] = {**response.raise_for_status().json(), "email": email}
        grant = {"amount": CREDITS}
        self.admin.post(
            f"/_sandbox/nexustoken/accounts/{account['account_id']}/credits", json=grant
        ).raise_for_status()
        return account

    def set_knobs(self, **values: object) -> None:
        self.admin.post("/_sandbox/knobs", json=values).raise_for_status()


def configure_django(stack: Stack) -> None:
    """This process's Django on the stack's database, to make the people and read what was recorded."""
    os.environ.update({**stack.env, "DJANGO_SETTINGS_MODULE": "dashboard.settings"})
    import django

    django.setup()


def make_people(sandbox: Sandbox, count: int) -> dict[str, Any]:
    """A team (its owner is not one of the people), a project and a branch; then `count` dashboard
    users, each connected to a fresh Nexical member of that team and to a NexusToken account, and
    signed in (their session cookies go to the locustfile)."""
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.test import Client

    from dashboard.accounts.connections import save_connection
    from dashboard.accounts.models import Service

    owner = sandbox.nexical_user("owner")
    slug = f"load-{uuid.uuid4().hex[:8]}"
    with sandbox.nexical(owner["token"]) as api:
        team = api.post("/teams", json={"name": "Load test", "slug": slug}).raise_for_status().json()["team"]
        project_body = {"name": "shop", "repoUrl": "https://git.example.com/shop.git", "mode": "managed"}
        project = (
            api.post(f"/teams/{team['id']}/projects", json=project_body).raise_for_status().json()["project"]
        )
        branches = f"/teams/{team['id']}/projects/{project['id']}/branches"
        branch = api.post(branches, json={"name": "main"}).raise_for_status().json()["branch"]
        people = []
        for number in range(count):
            upstream = sandbox.nexical_user(f"person{number}")
            # An existing account joins at once when invited.
            invite = {"email": upstream["user"]["email"], "role": "member"}
            api.post(f"/teams/{team['id']}/invites", json=invite).raise_for_status()
            account = sandbox.nexustoken_account()
            user = get_user_model().objects.create_user(f"load{number}-{uuid.uuid4().hex[:6]}")
            save_connection(
                user,
                Service.NEXICAL,
                secret=upstream["token"],
                account_id=upstream["user"]["id"],
                account_label=upstream["user"]["email"],
                account_role=upstream["user"]["role"],
            )
            save_connection(
                user,
                Service.NEXUSTOKEN,
                secret=account["api_key"],
                webhook_secret=account["webhook_secret"],
                account_id=account["account_id"],
                account_label=account["email"],
            )
            browser = Client()
            browser.force_login(user)
            session = browser.cookies[settings.SESSION_COOKIE_NAME].value
            people.append({"user_id": user.pk, "account_id": account["account_id"], "session": session})
    return {
        "session_cookie": settings.SESSION_COOKIE_NAME,
        "team_id": team["id"],
        "project_id": project["id"],
        "branch_id": branch["id"],
        "people": people,
    }


# --- Locust ---------------------------------------------------------------------------------------------


def run_locust(stack: Stack, plan_path: Path, options: Options) -> tuple[Path, dict[str, float]]:
    """Locust headless for the run's length; returns the prefix of its CSV files and the CPU seconds
    each process of the stack used meanwhile."""
    prefix = stack.workdir / "locust"
    command = [
        *(PYTHON, "-m", "locust", "-f", str(ROOT / "loadtest" / "locustfile.py"), "--headless"),
        *("-u", str(options.users), "-r", str(options.spawn_rate), "-t", f"{options.seconds}s"),
        *("--host", stack.web_url, "--csv", str(prefix), "--only-summary", "--stop-timeout", "5"),
        *("--loglevel", "WARNING", "--exit-code-on-error", "0"),
    ]
    env = {**stack.env, "LOADTEST_PLAN": str(plan_path)}
    names = ("web", "poller", "sandbox")
    before = {name: stack.cpu_seconds(name) for name in names}
    with (stack.workdir / "locust.log").open("wb") as log:
        done = subprocess.run(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, timeout=options.seconds + 180
        )
    if done.returncode != 0 or not Path(f"{prefix}_stats.csv").exists():
        raise RuntimeError(f"Locust failed (status {done.returncode}):\n{stack.log_tail('locust')}")
    return prefix, {name: stack.cpu_seconds(name) - before[name] for name in names}


@dataclass
class Figures:
    requests: int
    errors: int
    kinds: dict[str, dict[str, float]]  # kind -> requests, errors, p50, p95, p99 (ms)
    failures: list[str]


def read_figures(prefix: Path) -> Figures:
    kinds: dict[str, dict[str, float]] = {}
    total = errors = 0
    with open(f"{prefix}_stats.csv", newline="") as file:
        for row in csv.DictReader(file):
            if row["Name"] == "Aggregated":
                total, errors = int(row["Request Count"]), int(row["Failure Count"])
                continue
            kinds[row["Name"]] = {
                "requests": int(row["Request Count"]),
                "errors": int(row["Failure Count"]),
                "p50": float(row["50%"] or 0),
                "p95": float(row["95%"] or 0),
                "p99": float(row["99%"] or 0),
            }
    failures = []
    with open(f"{prefix}_failures.csv", newline="") as file:
        for row in csv.DictReader(file):
            failures.append(f"{row['Occurrences']} x {row['Name']}: {row['Error']}")
    return Figures(total, errors, kinds, failures)


# --- Lost status changes ----------------------------------------------------------------------------------


@dataclass
class Changes:
    made: int  # status changes the sandbox made that the dashboard should show
    lost: list[str]  # those it did not show within DRAIN_SECONDS of the end


def _upstream_changes(sandbox: Sandbox, plan: dict[str, Any]) -> dict[str, set[str]]:
    """Every status each job of the branch reached, and the final status of each finished task."""
    wanted: dict[str, set[str]] = {}
    jobs = sandbox.admin.get("/_sandbox/nexical/jobs", params={"branch": plan["branch_id"]})
    for job in jobs.raise_for_status().json()["jobs"]:
        statuses = {"pending"}
        if job["startedAt"]:
            statuses.add("running")
        if job["completedAt"]:
            statuses.add(job["status"])
        wanted[f"job {job['id']}"] = statuses
    for person in plan["people"]:
        tasks = sandbox.admin.get("/_sandbox/nexustoken/tasks", params={"creator": person["account_id"]})
        for task in tasks.raise_for_status().json()["tasks"]:
            # Open tasks move between bidding and awarded faster than a dashboard is meant to
            # follow (it is told by webhook when a task ends); how each one ends must not be lost.
            if task["status"] in TERMINAL_TASK_STATUSES:
                wanted[f"task {task['id']}"] = {task["status"]}
    return wanted


def _recorded_changes(plan: dict[str, Any]) -> dict[str, set[str]]:
    from django.db import close_old_connections

    from dashboard.nexustoken.models import Task
    from dashboard.tracking.models import JobEvent

    close_old_connections()
    seen: dict[str, set[str]] = {}
    events = JobEvent.objects.filter(
        job__team_id=plan["team_id"], job__project_id=plan["project_id"], job__branch_id=plan["branch_id"]
    ).values_list("job__job_id", "to_status")
    for job_id, status in events:
        seen.setdefault(f"job {job_id}", set()).add(status)
    users = [person["user_id"] for person in plan["people"]]
    for task_id, status in Task.objects.filter(user_id__in=users).values_list("task_id", "status"):
        seen[f"task {task_id}"] = {status}
    return seen


def lost_changes(sandbox: Sandbox, plan: dict[str, Any], drain_seconds: float = DRAIN_SECONDS) -> Changes:
    """What the sandbox did, then what the dashboard shows, until it shows all of it or time is up.
    The sandbox's side is read once: later changes are not yet the dashboard's to know."""
    wanted = _upstream_changes(sandbox, plan)
    made = sum(len(statuses) for statuses in wanted.values())
    deadline = time.monotonic() + drain_seconds
    while True:
        seen = _recorded_changes(plan)
        lost = [
            f"{item}: {status}"
            for item, statuses in sorted(wanted.items())
            for status in sorted(statuses - seen.get(item, set()))
        ]
        if not lost or time.monotonic() > deadline:
            return Changes(made, lost)
        time.sleep(0.5)


# --- Report -------------------------------------------------------------------------------------------------


def report(
    options: Options, figures: Figures, changes: Changes, cpu: dict[str, float], load: tuple[float, ...]
) -> str:
    lines = [
        f"{options.users} people for {options.seconds} s on {options.database}: "
        f"{figures.requests} requests, {figures.errors} errors, "
        f"{len(changes.lost)} of {changes.made} status changes lost",
        "",
        f"{'kind':<14}{'requests':>9}{'errors':>8}{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}",
    ]
    names = [kind for kind in KINDS if kind in figures.kinds] + sorted(set(figures.kinds) - set(KINDS))
    for name in names:
        row = figures.kinds[name]
        lines.append(
            f"{name:<14}{row['requests']:>9.0f}{row['errors']:>8.0f}{row['p50']:>9.0f}{row['p95']:>9.0f}{row['p99']:>9.0f}"
        )
    lines.append("")
    lines.append("(stream: until the response headers; each stream is then read for a while)")
    per_request = 1000 * cpu["web"] / max(1, figures.requests)
    lines.append(
        f"CPU during the run: web {cpu['web']:.1f} s ({per_request:.0f} ms per request), "
        f"poller {cpu['poller']:.1f} s, sandbox {cpu['sandbox']:.1f} s; the machine's load average "
        f"at the end: {load[0]:.1f} (1 min), {load[1]:.1f} (5 min) on {os.cpu_count()} CPUs"
    )
    for failure in figures.failures[:10]:
        lines.append(f"error: {failure}")
    for lost in changes.lost[:10]:
        lines.append(f"lost: {lost}")
    return "\n".join(lines)


@contextmanager
def workspace() -> Iterator[Path]:
    workdir = Path(tempfile.mkdtemp(prefix="nexus-loadtest-"))
    try:
        yield workdir
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    options = parse_options(argv)
    began = time.monotonic()

    def say(text: str) -> None:
        print(f"[{time.monotonic() - began:5.1f} s] {text}", flush=True)

    with workspace() as workdir:
        databases = Databases.create(options.database, workdir)
        stack: Stack | None = None
        try:
            stack = start_stack(workdir, databases, options.web_workers)
            sandbox = Sandbox(stack)
            sandbox.set_knobs(worker_slots=WORKER_SLOTS)
            configure_django(stack)
            say(f"stack up (web {stack.web_url}); making {options.users} people")
            plan = make_people(sandbox, options.users)
            plan_path = workdir / "plan.json"
            plan_path.touch(mode=0o600)  # the people's session cookies
            plan_path.write_text(json.dumps(plan))
            say(f"running Locust for {options.seconds} s")
            prefix, cpu = run_locust(stack, plan_path, options)
            load = os.getloadavg()
            stack.check_alive()
            say("comparing status changes")
            changes = lost_changes(sandbox, plan)
            figures = read_figures(prefix)
        except BaseException:
            if stack is not None:
                for name in ("web", "poller", "sandbox"):
                    print(f"--- {name} (last lines)\n{stack.log_tail(name, 15)}", file=sys.stderr)
            raise
        finally:
            if stack is not None:
                stack.stop()
            if "django.db" in sys.modules:
                from django.db import connections

                connections.close_all()
            databases.drop()
    say("stopped")
    print(report(options, figures, changes, cpu, load))
    if options.json_path:
        summary = {
            "users": options.users,
            "seconds": options.seconds,
            "database": options.database,
            "requests": figures.requests,
            "errors": figures.errors,
            "status_changes": changes.made,
            "lost": len(changes.lost),
            "cpu_seconds": cpu,
            "load_average": load,
            "kinds": figures.kinds,
        }
        options.json_path.write_text(json.dumps(summary, indent=2))
    return 0 if figures.errors == 0 and not changes.lost else 1


if __name__ == "__main__":
    raise SystemExit(main())
