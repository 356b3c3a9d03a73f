"""manage.py runpoller: follow every tracked job until stopped (SIGTERM/SIGINT end it after the pass).

Each pass also polls the NexusToken tasks that are due (the NexusToken task poller: the fallback for a
webhook that never came). The two steps are independent and run at once: one failing or waiting on
a hung upstream never stops or holds up the other.

Beside the passes runs the channels' sender (dashboard.channels.sender), a loop of its own in the same
process: it posts the deliveries the passes recorded, so a slow receiver never holds up a pass.
"""

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django.core.management.base import BaseCommand, CommandParser, OutputWrapper
from django.db import close_old_connections, connections
from django.utils import timezone

from dashboard.channels import sender
from dashboard.core.ratelimits import TokenLimits
from dashboard.nexustoken.poller import poll_due_tasks
from dashboard.nexustoken.poller import release_all as release_tasks
from dashboard.services import http
from dashboard.tracking import cadence, claims, record
from dashboard.tracking.poller import Poller, default_name

logger = logging.getLogger("dashboard.tracking")

# Between passes: never busier than this, never idler than that (new work appears from views).
MIN_SLEEP = 0.05
MAX_SLEEP = 1.0


class Command(BaseCommand):
    help = "Poll upstream for every tracked job: status events, the log cache, notifications."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--once", action="store_true", help="Make one pass and exit (tests, cron).")
        parser.add_argument("--name", default="", help="This poller's name in leases and heartbeats.")

    def handle(self, *args: Any, once: bool, name: str, **options: Any) -> None:
        poller = Poller(name=name or default_name())
        asyncio.run(_main(poller, once=once, out=self.stdout))


async def _main(poller: Poller, *, once: bool, out: OutputWrapper, stop: asyncio.Event | None = None) -> None:
    """The passes (and the sender) until `stop` is set: by SIGTERM/SIGINT, or by a test that passes it."""
    if stop is None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)  # the pass under way finishes, then the loop ends
    out.write(f"Poller {poller.name} started.")
    failures = 0
    # The sender's own loop; with --once, one round of sending beside the one pass instead.
    sending = asyncio.create_task(_send_once(poller.name) if once else _send(poller.name, stop))
    try:
        while not stop.is_set():
            # Independent steps, at once: a hung upstream of one never holds up the other.
            delay, _ = await asyncio.gather(
                _poll_jobs(poller), _poll_tasks(poller.name, poller.tokens.limits)
            )
            if delay is None:
                # The database is down or locked for long: wait, then try again; never exit on it.
                failures += 1
                delay = cadence.backoff(failures).total_seconds()
            else:
                failures = 0
            if once:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=delay)
    finally:
        stop.set()
        await sending
        await sync_to_async(claims.release_all)(poller.name)
        await sync_to_async(release_tasks)(poller.name)
        await sync_to_async(connections.close_all)()  # the thread that ran the passes holds them
        await http.aclose()
    out.write(f"Poller {poller.name} stopped after {poller.passes} passes.")


async def _poll_jobs(poller: Poller) -> float | None:
    """One pass over the tracked jobs: seconds until the next is due, or None when the pass failed."""
    try:
        # A long-lived process: drop a connection the database closed (restart, failover).
        await sync_to_async(close_old_connections)()
        summary = await poller.run_pass()
        delay = await sync_to_async(_until_due)()
    except Exception:
        logger.exception("Poller pass %d failed", poller.passes)
        return None
    if summary.lost_leases:
        logger.warning("Poller lost %d leases in pass %d", summary.lost_leases, poller.passes)
    return delay


async def _poll_tasks(owner: str, limits: TokenLimits) -> None:
    """The due NexusToken tasks; a failure is logged and the next pass tries again."""
    try:
        await poll_due_tasks(owner=owner, limits=limits)
    except Exception:
        logger.exception("Polling due NexusToken tasks failed")


async def _send(owner: str, stop: asyncio.Event) -> None:
    """The sender until the command stops; a crash of it is logged and it starts again."""
    while not stop.is_set():
        try:
            await sender.run(owner, stop)
        except Exception:
            logger.exception("The channels' sender stopped; starting it again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1.0)


async def _send_once(owner: str) -> None:
    try:
        await sender.run_once(owner)
    except Exception:
        logger.exception("Sending channel deliveries failed")


def _until_due() -> float:
    now = timezone.now()
    due = record.next_due(now)
    wait = (due - now) if due is not None else timedelta(seconds=MAX_SLEEP)
    return min(MAX_SLEEP, max(MIN_SLEEP, wait.total_seconds()))
