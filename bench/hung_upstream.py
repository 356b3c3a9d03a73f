"""How long the home page and the teams list take while both upstreams hang.

The sandbox's `hang` knob makes every API request sleep for a minute. Each page is loaded a few
times in turn: the first loads wait out the page's time budget (UPSTREAM_PAGE_BUDGET, 8 s) and show
"… is unreachable right now."; once an upstream has timed out UPSTREAM_BREAKER_FAILURES times in a
row its circuit breaker is open, and the pages answer at once with the sentence and the time it last
answered. `--unbounded` gives the budget and the breaker out-of-reach values, which is how the
dashboard behaved before they existed (the 10 s timeout times the GET's three attempts).

    make bench        (or: .venv/bin/python -m bench.hung_upstream [--loads 4] [--unbounded])

It starts its own sandbox on a free port and a throwaway SQLite database; nothing else is touched.
"""

import argparse
import asyncio
import hashlib
import os
import re
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.team_page import ADA_TOKEN, configure_django  # noqa: E402
from tests.support.sandbox_process import Sandbox, start_sandbox  # noqa: E402

if TYPE_CHECKING:  # for their types only: Django is set up when the benchmark runs
    from django.contrib.auth.models import User

# The seeded demo account's NexusToken key, as sandbox/nexustoken/demo.py derives it (that module
# needs the sandbox's own Django apps), so the home page asks both upstreams.
DEMO_API_KEY = "5e" + hashlib.sha256(b"nexustoken-demo-key").hexdigest()[:62]
GOAL = 8.0  # seconds: the longest a page may wait on one upstream
SENTENCE = re.compile(r"(The Nexical orchestrator|NexusToken) is unreachable right now[^.<]*\.")


def signed_in_user() -> "User":
    from django.contrib.auth import get_user_model

    from dashboard.accounts.connections import save_connection
    from dashboard.accounts.models import Service

    user = get_user_model().objects.create_user(username="bench", password="bench-password")
    save_connection(user, Service.NEXICAL, secret=ADA_TOKEN, account_label="ada@example.com")
    save_connection(user, Service.NEXUSTOKEN, secret=DEMO_API_KEY, account_label="demo")
    return user


async def measure(user: "User", sandbox: Sandbox, loads: int) -> list[tuple[str, float, int, str]]:
    from django.test import AsyncClient

    client = AsyncClient()
    await client.aforce_login(user)
    for url in ("/", "/teams/"):  # warm templates, the ORM and the connection pool
        await client.get(url)
    sandbox.set_knobs(hang=100_000, hang_seconds=60)
    rows = []
    for _ in range(loads):
        for url in ("/", "/teams/"):
            started = time.perf_counter()
            response = await client.get(url)
            seconds = time.perf_counter() - started
            found = SENTENCE.search(response.content.decode())
            rows.append((url, seconds, response.status_code, found.group(0) if found else "(no sentence)"))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=4, help="loads of each page while hung")
    parser.add_argument("--unbounded", action="store_true", help="no budget and no breaker (as before)")
    args = parser.parse_args()
    if args.unbounded:
        os.environ.update(UPSTREAM_PAGE_BUDGET="1000000", UPSTREAM_BREAKER_FAILURES="1000000000")

    sandbox = start_sandbox(seed=True)
    try:
        configure_django(sandbox)
        from django.conf import settings

        user = signed_in_user()
        rows = asyncio.run(measure(user, sandbox, args.loads))
    finally:
        sandbox.stop()

    mode = (
        "unbounded (as before)"
        if args.unbounded
        else (
            f"budget {settings.UPSTREAM_PAGE_BUDGET:g} s, breaker after {settings.UPSTREAM_BREAKER_FAILURES} "
            f"timeouts for {settings.UPSTREAM_BREAKER_COOLDOWN:g} s"
        )
    )
    print(
        f"Both upstreams hang for 60 s; timeout {settings.UPSTREAM_TIMEOUT:g} s, "
        f"{settings.UPSTREAM_GET_RETRIES} GET retries; {mode}\n"
    )
    for url, seconds, status, sentence in rows:
        print(f"  {url:8} {seconds:6.2f} s  HTTP {status}  {sentence}")
    slowest = max(seconds for _, seconds, _, _ in rows)
    print(f"\n  slowest load: {slowest:.2f} s  (goal: at most about {GOAL:g} s)")


if __name__ == "__main__":
    main()
