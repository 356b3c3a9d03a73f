"""The dashboard's own CPU time per page, per page kind, with an upstream that answers at once.

    .venv/bin/python -m bench.page_cpu [--rounds 40] [--warmup 5] [--database-url postgres://...]
    .venv/bin/python -m bench.page_cpu --profile DIR [--rounds 40]


It starts a sandbox with no added latency and the dashboard as one uvicorn process (as `make run`
starts each worker) on a throwaway database (SQLite, or a fresh PostgreSQL database beside the one
--database-url names), signs in through the login form, makes a team, a project, a branch, a job and
a NexusToken task upstream, opens every page kind a few times to warm up, then makes `--rounds`
rounds, each requesting every kind once in turn. The CPU time is the web server process's own
(utime + stime from /proc/<pid>/stat, before and after each request, summed per kind): the sandbox,
the client and the database server run in other processes and are not counted. The goal is at most
10 ms a page.

The kernel counts CPU time in clock ticks (10 ms), so a kind's figure is only as fine as
10 ms / rounds: keep --rounds at 40 or more (200 gives figures that move by a few tenths of a ms
between runs on a quiet machine).

With --profile DIR the server runs under cProfile, one profile per page kind over its measured
rounds (bench/profiling_web.py): DIR/KIND.prof for snakeviz or pstats, and for each kind the
function calls and thread hand-offs (`sync_to_async` calls) per request, then its 25 costliest
functions by cumulative and by own time. Call counts do not move with the machine's load, unlike CPU
time: compare them to judge a change.
"""

import argparse
import functools
import inspect
import os
import pstats
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.tracking_scene import new_person  # noqa: E402
from tests.support.live_stack import Stack  # noqa: E402
from tests.support.sandbox_process import Sandbox, _postgres_database, free_port, start_sandbox  # noqa: E402

USERNAME, PASSWORD = "bench", "bench-password-123"
TASK_FORM = {
    "task_type": "json_extraction",
    "input_data": "Apple Inc reported Q3 revenue of $81.8 billion.",
    "schema": '{"type": "object", "properties": {"company": {"type": "string"}}}',
    "example_output": '{"company": "Apple Inc"}',
    "rules": "",
    "budget": "20",
    "max_seconds": "120",
    "quality_preference": "balanced",
    "min_skill_rating": "0",
    "pending_pool_hours": "24",
    "auto_retry": "3",
    "post": "1",
}
GOAL_MS = 10.0
TICK_SECONDS = 1 / os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float:
    """User plus system CPU time of a process so far (fields 14 and 15 of /proc/<pid>/stat)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()  # the command name may hold spaces
    return (int(fields[11]) + int(fields[12])) * TICK_SECONDS


def start_web(sandbox: Sandbox, database_url: str | None, web: list[str]) -> tuple[Stack, str]:
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-cpu-"))
    port = free_port()
    postgres_name = ""
    if database_url:
        postgres_name = f"nexus_bench_cpu_{os.getpid()}"
        url = _postgres_database(database_url, postgres_name)
    else:
        url = f"sqlite:///{workdir / 'dashboard.sqlite3'}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "NEXICAL_API_URL": sandbox.nexical_url,
        "NEXUSTOKEN_API_URL": sandbox.nexustoken_url,
        "PUBLIC_URL": f"http://127.0.0.1:{port}",
        "EMAIL_BACKEND": "django.core.mail.backends.console.EmailBackend",
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    stack = Stack(url=f"http://127.0.0.1:{port}", env=env, workdir=workdir)
    stack.manage("migrate", "--verbosity", "0")
    stack.start("web", *web, "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning")
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{stack.url}/accounts/login/", timeout=1).status_code == 200:
                return stack, postgres_name
        except httpx.TransportError:
            pass
        if time.monotonic() > deadline or stack.processes["web"].poll() is not None:
            raise RuntimeError(f"the web server did not start:\n{stack.log('web')}")
        time.sleep(0.1)


def make_user(stack: Stack, nexical_token: str, account: dict[str, Any]) -> None:
    """The bench user, connected to both upstreams (secrets read from stdin, not argv)."""
    script = (
        "import sys\n"
        "from django.contrib.auth import get_user_model\n"
        "from dashboard.accounts.connections import save_connection\n"
        "from dashboard.accounts.models import Service\n"
        f"user = get_user_model().objects.create_user({USERNAME!r}, 'bench@example.com', {PASSWORD!r})\n"
        "nexical, key, hook = (sys.stdin.readline().strip() for _ in range(3))\n"
        "save_connection(user, Service.NEXICAL, secret=nexical, account_label='bench')\n"
        "save_connection(user, Service.NEXUSTOKEN, secret=key, webhook_secret=hook,"
        f" account_id={account['account_id']!r}, account_label={account['email']!r})\n"
    )
    secrets = f"{nexical_token}\n{account['api_key']}\n{account['webhook_secret']}\n"
    stack.manage("shell", "-c", script, stdin=secrets)


def new_nexustoken_account(sandbox: Sandbox) -> dict[str, Any]:
    email = f"bench-{time.monotonic_ns()}@example.com"
    response = httpx.post(f"{sandbox.nexustoken_url}/api/v1/auth/register", json={"email": email}, timeout=10)
    response.raise_for_status()
    return {**response.json(), "email": email}


def sign_in(stack: Stack) -> httpx.Client:
    client = httpx.Client(base_url=stack.url, timeout=60)
    client.get("/accounts/login/")
    client.post(
        "/accounts/login/",
        data={"username": USERNAME, "password": PASSWORD, "csrfmiddlewaretoken": client.cookies["csrftoken"]},
        headers={"Referer": f"{stack.url}/accounts/login/"},
    )
    assert "sessionid" in client.cookies, "the bench user could not sign in"
    return client


def upstream_scene(sandbox: Sandbox, stack: Stack) -> dict[str, str]:
    """A team, project, branch, job and task of the bench user; returns the page of each kind."""
    owner = new_person(sandbox)
    account = new_nexustoken_account(sandbox)
    make_user(stack, owner["token"], account)
    httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{account['account_id']}/credits",
        json={"amount": 1000},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    ).raise_for_status()
    api = httpx.Client(base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {owner['token']}"})
    team = api.post("/teams", json={"name": "Bench", "slug": f"bench-{time.monotonic_ns()}"}).json()["team"]
    project = api.post(
        f"/teams/{team['id']}/projects",
        json={"name": "app", "repoUrl": "https://git.example.com/app.git", "mode": "self_hosted"},
    ).json()["project"]
    project_path = f"/teams/{team['id']}/projects/{project['id']}/"
    branch = api.post(f"{project_path}branches", json={"name": "main"}).json()["branch"]
    branch_path = f"{project_path}branches/{branch['id']}/"
    job = api.post(f"{branch_path}jobs", json={"type": "deploy", "inputs": {}}).json()["job"]
    api.close()
    for_task = sign_in(stack)
    for_task.get("/tasks/new/")
    posted = for_task.post(
        "/tasks/new/",
        data={"csrfmiddlewaretoken": for_task.cookies["csrftoken"], **TASK_FORM},
        headers={"Referer": f"{stack.url}/tasks/new/"},
    )
    task_page = posted.headers.get("Location", "")
    assert posted.status_code == 302 and task_page.startswith("/tasks/"), "the bench task was not posted"
    for_task.close()
    return {
        "home": "/",
        "teams": "/teams/",
        "team": f"/teams/{team['id']}/",
        "project": project_path,
        "branch": branch_path,
        "job": f"{branch_path}jobs/{job['id']}/",
        "deployments": "/deployments/",
        "tasks": "/tasks/",
        "task": task_page,
        "credits": "/credits/",
        "usage": "/credits/usage/",
        "notifications": "/notifications/",
        "connections": "/settings/connections/",
    }


PROFILE_HEADER = "x-bench-profile"  # bench/profiling_web.py switches the kind's profiler on for it


def measure(
    client: httpx.Client, pid: int, pages: dict[str, str], rounds: int, warmup: int, *, profile: bool = False
) -> list[tuple[str, float, float]]:
    for path in pages.values():
        for _ in range(warmup):
            response = client.get(path)
            assert response.status_code == 200, f"{path} answered {response.status_code}"
    # The kinds take turns, one request each, and each request's CPU is read on its own: whatever
    # else the process does meanwhile (a webhook from the sandbox, a full GC pass) spreads over every
    # kind instead of landing on the one measured at that moment. The kernel counts whole ticks, so a
    # single request reads 0 or 10 ms; summed over the rounds the ticks fall in proportion.
    cpu = dict.fromkeys(pages, 0.0)
    walls: dict[str, list[float]] = {kind: [] for kind in pages}
    for _ in range(rounds):
        for kind, path in pages.items():
            headers = {PROFILE_HEADER: kind} if profile else {}
            before = cpu_seconds(pid)
            started = time.perf_counter()
            response = client.get(path, headers=headers)
            walls[kind].append(time.perf_counter() - started)
            cpu[kind] += cpu_seconds(pid) - before
            assert response.status_code == 200, f"{path} answered {response.status_code}"
    return [(kind, cpu[kind] * 1000 / rounds, statistics.median(walls[kind]) * 1000) for kind in pages]


def _thread_hops(stats: pstats.Stats) -> int:
    """How many times the profiled requests handed work to a thread: the calls of the function that
    runs a `sync_to_async` callable in its thread (its own `__call__` is a coroutine, and cProfile
    counts each resumption of a coroutine as a call)."""
    from asgiref.sync import SyncToAsync

    handler = SyncToAsync.thread_handler
    target = (handler.__code__.co_filename, inspect.getsourcelines(handler)[1], handler.__name__)
    entries: dict[tuple[str, int, str], tuple[int, ...]] = stats.stats  # type: ignore[attr-defined]
    entry = entries.get(target)
    return entry[1] if entry else 0


def report_profiles(directory: Path, kinds: list[str], rounds: int) -> None:
    """Per kind: calls and thread hand-offs per request, then the top 25 by cumulative and own time."""
    summary = []
    for kind in kinds:
        stats = pstats.Stats(str(directory / f"{kind}.prof"))
        summary.append((kind, stats.total_calls / rounds, _thread_hops(stats) / rounds))  # type: ignore[attr-defined]
        stats.strip_dirs()
        for order in ("cumulative", "tottime"):
            print(f"\n===== {kind}: top 25 by {order} ({rounds} requests) =====")
            stats.sort_stats(order).print_stats(25)
    print(f"\nProfiles in {directory} (one .prof per page kind)")
    print(f"{'page':<15}{'calls/request':>14}{'thread hops/request':>21}")
    for kind, calls, hops in summary:
        print(f"{kind:<15}{calls:>14.0f}{hops:>21.1f}")


def _statements(sql_file: Path, request: Callable[[], httpx.Response]) -> list[str]:
    start = sql_file.stat().st_size
    response = request()
    assert response.status_code in (200, 302), f"{response.request.url} answered {response.status_code}"
    with sql_file.open() as statements:
        statements.seek(start)
        return statements.read().splitlines()


def count_queries(client: httpx.Client, pages: dict[str, str], sql_file: Path) -> None:
    """Each page kind's statements for one request (after a warm-up one), and how many read auth_user:
    the statements that load a user (`SELECT "auth_user".…`), and any other that names the table (a
    join, a subquery, a FROM auth_user that selects something else). Then the load test's other
    requests: the task form, a task post, a deploy (the branch page's form) and a job's stream."""
    print(f"{'request':<15}{'queries':>8}{'user loads':>11}{'other auth_user':>16}")

    def row(kind: str, seen: list[str]) -> None:
        loads = sum(statement.startswith('SELECT "auth_user".') for statement in seen)
        others = sum('"auth_user"' in statement for statement in seen) - loads
        print(f"{kind:<15}{len(seen):>8}{loads:>11}{others:>16}")

    csrf = {"Referer": f"{client.base_url}"}
    for kind, path in {**pages, "task form": "/tasks/new/"}.items():
        client.get(path)
        row(kind, _statements(sql_file, functools.partial(client.get, path)))
    token = client.cookies["csrftoken"]
    posts = {
        "task post": ("/tasks/new/", {"csrfmiddlewaretoken": token, **TASK_FORM}),
        "deploy": (
            pages["branch"],
            {"csrfmiddlewaretoken": token, "type": "deploy", "inputs": "", "create_job": ""},
        ),
    }
    for kind, (path, data) in posts.items():
        row(kind, _statements(sql_file, functools.partial(client.post, path, data=data, headers=csrf)))

    def first_event() -> httpx.Response:
        with client.stream("GET", pages["job"] + "events") as stream:
            next(stream.iter_raw())  # the stream's opening events, then the client leaves
            return stream

    row("stream", _statements(sql_file, first_event))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument(
        "--queries", action="store_true", help="count each kind's queries instead (a slower server)"
    )
    parser.add_argument(
        "--profile",
        default="",
        metavar="DIR",
        help="run the server under cProfile and write one profile per page kind into DIR",
    )
    parser.add_argument("--database-url", default="", help="PostgreSQL: a fresh database beside this one")
    options = parser.parse_args()

    sandbox = start_sandbox()
    web = [sys.executable, "-m", "uvicorn", "dashboard.asgi:application"]
    sql_file = Path(tempfile.mkdtemp(prefix="nexus-bench-sql-")) / "statements.log"
    profile_dir = Path(options.profile).resolve() if options.profile else None
    if profile_dir:
        web = [sys.executable, "-m", "bench.profiling_web", "--profile-dir", str(profile_dir)]
    if options.queries:
        count_file = sql_file.with_name("count")
        web = [
            sys.executable,
            "-m",
            "bench.counting_web",
            "--count-file",
            str(count_file),
            "--sql-file",
            str(sql_file),
        ]
    stack, postgres_name = start_web(sandbox, options.database_url or None, web)
    try:
        pages = upstream_scene(sandbox, stack)
        client = sign_in(stack)
        if options.queries:
            count_queries(client, pages, sql_file)
            return
        rows = measure(
            client, stack.pid("web"), pages, options.rounds, options.warmup, profile=profile_dir is not None
        )
        if profile_dir:
            client.post("/__bench__/profiles").raise_for_status()
            report_profiles(profile_dir, list(pages), options.rounds)
            print("(CPU times under the profiler are several times the real ones: read the calls)")
        database = "PostgreSQL" if options.database_url else "SQLite"
        print(f"\nWeb process CPU per page ({database}, {options.rounds} requests each, no upstream latency)")
        print(f"{'page':<15}{'CPU ms':>8}{'wall ms':>9}")
        for kind, cpu_ms, wall_ms in rows:
            print(f"{kind:<15}{cpu_ms:>8.1f}{wall_ms:>9.1f}")
        mean = statistics.fmean(cpu for _, cpu, _ in rows)
        worst = max(rows, key=lambda row: row[1])
        print(f"{'mean':<15}{mean:>8.1f}")
        verdict = "met" if worst[1] <= GOAL_MS else "not met"
        print(f"worst: {worst[0]} {worst[1]:.1f} ms (goal <= {GOAL_MS:.0f} ms: {verdict})")
    finally:
        stack.stop()
        sandbox.stop()
        if postgres_name:
            _postgres_database(options.database_url, postgres_name, create=False)


if __name__ == "__main__":
    main()
