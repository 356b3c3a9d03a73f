"""The poller's fallback for NexusToken tasks: look at open tasks no webhook has settled yet.

`poll_due_tasks` makes one pass. It claims due open tasks with leases (dashboard.core.leases, as
the job poller does, so several pollers share the work), asks upstream about each outside any
transaction, and records the answer only while it still holds the lease. Calls of one API key are
spaced (dashboard.core.ratelimits) to stay inside the seed's 10 requests/s per key; a 429 or a
rejected key defers that key's remaining tasks instead of hammering on. Each call may take
POLLER_CALL_BUDGET seconds in all; one that gets no answer defers its key's remaining tasks too, so a
hung upstream holds a pass up by one budget per key, and the keys run at once. One failing task
backs off on its own and never stops the pass.
"""

import asyncio
import logging
from collections import defaultdict
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.utils import timezone

from dashboard.accounts import clients
from dashboard.accounts.models import Connection, Service
from dashboard.core import leases
from dashboard.core.ratelimits import TokenLimits
from dashboard.services import nexustoken as nt
from dashboard.services.budget import upstream_budget
from dashboard.services.errors import (
    NEXUSTOKEN,
    APIError,
    AuthError,
    NetworkError,
    RateLimitError,
    UpstreamError,
)

from . import recording
from .models import OPEN_STATUSES, Source, Task

logger = logging.getLogger(__name__)

NOT_CONNECTED_DELAY = timedelta(hours=1)
# A key's call got no answer: its remaining tasks wait this long rather than a budget each now.
NO_ANSWER_DELAY = timedelta(seconds=30)


def _claim(owner: str) -> list[Task]:
    now = timezone.now()
    due = Task.objects.filter(leases.free(now), status__in=OPEN_STATUSES, next_poll_at__lte=now)
    # Most overdue first (the claim gives the rows back in no particular order).
    return sorted(
        leases.claim(due.order_by("next_poll_at"), owner, now), key=lambda task: task.next_poll_at or now
    )


def release_all(owner: str) -> None:
    """Give back the tasks this poller still holds (at a clean stop, so others need not wait)."""
    leases.release([Task], owner)


def _defer(tasks: list[Task], owner: str, delay: timedelta, error: str) -> None:
    """Give these tasks back with a later poll time and the reason (only where we still hold them)."""
    now = timezone.now()
    for task in tasks:
        Task.objects.filter(pk=task.pk, lease_owner=owner).update(
            lease_owner="", lease_until=None, next_poll_at=now + delay, last_error=error[:300]
        )


def _failed(task: Task, owner: str, error: str) -> None:
    now = timezone.now()
    task.error_count += 1
    Task.objects.filter(pk=task.pk, lease_owner=owner).update(
        lease_owner="",
        lease_until=None,
        error_count=task.error_count,
        last_error=error[:300],
        next_poll_at=recording.next_poll(task, now),
    )


adefer = sync_to_async(_defer)
afailed = sync_to_async(_failed)


async def _poll_account(
    connection: Connection | None, tasks: list[Task], owner: str, limits: TokenLimits
) -> None:
    if connection is None:
        await adefer(tasks, owner, NOT_CONNECTED_DELAY, "NexusToken is not connected.")
        return
    try:
        api = await clients.nexustoken_api(connection)
    except AuthError as error:
        await adefer(tasks, owner, NOT_CONNECTED_DELAY, error.user_message)
        return
    for index, task in enumerate(tasks):
        resting = limits.wait(connection.pk)
        if resting > settings.TASK_POLL_SPACING:  # a 429 of an earlier pass: not due again yet
            await adefer(
                tasks[index:],
                owner,
                timedelta(seconds=resting),
                RateLimitError(NEXUSTOKEN, retry_after=resting).user_message,
            )
            return
        await limits.take_turn(connection.pk, settings.TASK_POLL_SPACING)
        try:
            with upstream_budget(settings.POLLER_CALL_BUDGET):
                upstream = await nt.task_get(api, task_id=task.task_id)
        except NetworkError as error:
            # No answer within the budget: the key's other tasks would only wait as long each.
            await afailed(task, owner, error.user_message)
            await adefer(tasks[index + 1 :], owner, NO_ANSWER_DELAY, error.user_message)
            return
        except RateLimitError as error:
            retry_after = limits.limited(connection.pk, error)
            await adefer(tasks[index:], owner, timedelta(seconds=retry_after), error.user_message)
            return
        except AuthError as error:
            await clients.note_failure(connection, error)
            await adefer(tasks[index:], owner, NOT_CONNECTED_DELAY, error.user_message)
            return
        except UpstreamError as error:
            logger.info("Polling task %s failed: %s", task.task_id, type(error).__name__)
            missing = isinstance(error, APIError) and error.is_not_found
            await afailed(
                task, owner, "NexusToken has no task with this id." if missing else error.user_message
            )
            continue
        await recording.arecord(task.pk, upstream, Source.POLLER, lease_owner=owner)


async def poll_due_tasks(*, owner: str, limits: TokenLimits | None = None) -> int:
    """One pass: poll every due open task (up to the claim batch); returns how many were claimed.

    `limits` carries the keys' rate limits from one pass to the next (a fresh one when not given).
    """
    limits = limits if limits is not None else TokenLimits()
    tasks = await sync_to_async(_claim)(owner)
    if not tasks:
        return 0
    by_user: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        by_user[task.user_id].append(task)
    found = Connection.objects.filter(user_id__in=by_user, service=Service.NEXUSTOKEN)
    connections = {connection.user_id: connection async for connection in found}
    # Keys are independent: each account's tasks run in parallel with the others', in order within.
    renewing = asyncio.create_task(leases.keep_renewed([Task], owner))
    try:
        await asyncio.gather(
            *(
                _poll_account(connections.get(user_id), user_tasks, owner, limits)
                for user_id, user_tasks in by_user.items()
            )
        )
    finally:
        renewing.cancel()
    return len(tasks)
