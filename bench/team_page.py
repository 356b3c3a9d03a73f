"""How long a team's page takes next to one upstream call, with 50 ms of upstream latency.

The team page needs four independent Nexical calls (the team, its members, its invitations and its
projects). Run one after another they would cost four round trips; run at once they should cost
about one. This prints both figures and their ratio (the target is at most 1.3).

    make bench        (or: .venv/bin/python -m bench.team_page [--latency-ms 50] [--rounds 30])

It starts its own sandbox on a free port and a throwaway SQLite database; nothing else is touched.
The sandbox serves from several processes here (--processes), as a real upstream does: a single
Python process would run four requests' own work one after another under its GIL, and measure the
emulator rather than the dashboard.
"""

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.sandbox_process import Sandbox, start_sandbox  # noqa: E402

if TYPE_CHECKING:  # for their types only: Django is set up when the benchmark runs
    from django.contrib.auth.models import User

ADA_TOKEN = "nx_demo_ada_0000000000000001"  # a seeded demo user, owner of team 1 (Acme Rockets)
TEAM_ID = 1


def configure_django(sandbox: Sandbox) -> None:
    workdir = Path(tempfile.mkdtemp(prefix="nexus-bench-"))
    os.environ.update(
        DJANGO_SETTINGS_MODULE="dashboard.settings",
        DATABASE_URL=f"sqlite:///{workdir / 'bench.sqlite3'}",
        NEXICAL_API_URL=sandbox.nexical_url,
        NEXUSTOKEN_API_URL=sandbox.nexustoken_url,
        ALLOWED_HOSTS="testserver,127.0.0.1",
    )
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)


def signed_in_user() -> "User":
    from django.contrib.auth import get_user_model

    from dashboard.accounts.connections import save_connection
    from dashboard.accounts.models import Service

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    save_connection(user, Service.NEXICAL, secret=ADA_TOKEN, account_label="ada@example.com")
    return user


def timed_ms(samples: list[float]) -> str:
    p90 = statistics.quantiles(samples, n=10)[-1]
    return f"median {statistics.median(samples):6.1f} ms   p90 {p90:6.1f} ms"


async def measure(user: "User", rounds: int) -> dict[str, list[float]]:
    from django.test import AsyncClient

    from dashboard.services import nexical
    from dashboard.services.nexical import NexicalAPI

    api = NexicalAPI(token=ADA_TOKEN)
    client = AsyncClient()
    await client.aforce_login(user)
    url = f"/teams/{TEAM_ID}/"

    async def sequential_four() -> None:
        await nexical.team_get(api, team_id=TEAM_ID)
        await nexical.team_member_list(api, team_id=TEAM_ID)
        await nexical.team_invite_list(api, team_id=TEAM_ID)
        await nexical.project_list(api, team_id=TEAM_ID)

    async def concurrent_four() -> None:
        await asyncio.gather(
            nexical.team_get(api, team_id=TEAM_ID),
            nexical.team_member_list(api, team_id=TEAM_ID),
            nexical.team_invite_list(api, team_id=TEAM_ID),
            nexical.project_list(api, team_id=TEAM_ID),
        )

    async def get(page_url: str) -> None:
        response = await client.get(page_url)
        assert response.status_code == 200, f"{page_url} answered {response.status_code}"

    cases: dict[str, Callable[[], Awaitable[Any]]] = {
        "one upstream call (team_get)": lambda: nexical.team_get(api, team_id=TEAM_ID),
        "four calls one after another": sequential_four,
        "four calls at once": concurrent_four,
        "teams list view (one call)": lambda: get("/teams/"),
        "team page view (four at once)": lambda: get(url),
    }
    for run in cases.values():  # warm the connection pool, templates and the ORM
        for _ in range(3):
            await run()
    samples: dict[str, list[float]] = {name: [] for name in cases}
    for _ in range(rounds):  # interleaved, so drift on a noisy machine hits every case alike
        for name, run in cases.items():
            started = time.perf_counter()
            await run()
            samples[name].append((time.perf_counter() - started) * 1000)
    return samples


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency-ms", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=30)
    parser.add_argument("--processes", type=int, default=4, help="sandbox processes")
    args = parser.parse_args()

    knobs = {"SANDBOX_LATENCY_MS": str(args.latency_ms), "SANDBOX_JITTER_MS": "0"}
    sandbox = start_sandbox(extra_env=knobs, seed=True, processes=args.processes)
    try:
        configure_django(sandbox)
        user = signed_in_user()
        samples = asyncio.run(measure(user, args.rounds))
    finally:
        sandbox.stop()

    print(
        f"Upstream latency added by the sandbox: {args.latency_ms} ms; "
        f"sandbox processes: {args.processes}; {args.rounds} rounds\n"
    )
    for name, values in samples.items():
        print(f"  {name:32} {timed_ms(values)}")
    single = statistics.median(samples["one upstream call (team_get)"])
    one_call_view = statistics.median(samples["teams list view (one call)"])
    view = statistics.median(samples["team page view (four at once)"])
    print(f"\n  team page / one call           = {view / single:.2f}  (target <= 1.30)")
    print(f"  team page / a one-call page    = {view / one_call_view:.2f}")


if __name__ == "__main__":
    main()
