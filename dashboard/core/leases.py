"""Claiming work with leases in the database: the database is the queue.

Both pollers (tracked jobs and project scans, NexusToken tasks) claim rows that have a `lease_owner`
and a `lease_until` column. A claim is a conditional UPDATE (lease empty or expired), which is
exclusive on every database; where the database can, the candidates are also picked with
`FOR UPDATE SKIP LOCKED` so concurrent pollers take different rows instead of queueing on the same
ones. A lease outlives a normal pass and a live poller renews what it holds, so a slow pass keeps its
work; a poller that dies keeps its rows only until the lease expires, then another poller takes them.
"""

import asyncio
import logging
from collections.abc import Iterable
from datetime import datetime, timedelta

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import connection, transaction
from django.db.models import Model, Q, QuerySet
from django.utils import timezone

logger = logging.getLogger(__name__)


def lease_length() -> timedelta:
    return timedelta(seconds=settings.POLLER_LEASE_SECONDS)


def claim_batch() -> int:
    """How many due rows one pass claims; the rest wait for the next pass, or for another poller."""
    batch: int = settings.POLLER_CLAIM_BATCH
    return batch


def free(now: datetime) -> Q:
    """Rows nobody holds: never leased, given back, or whose lease ran out."""
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def claim[M: Model](candidates: QuerySet[M], owner: str, now: datetime, limit: int | None = None) -> list[M]:
    """Lease up to `limit` (default: the claim batch) of these candidates, in their order, to `owner`.

    Returns the rows this owner now holds; a row another poller took meanwhile is left out.
    """
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        pks = list(candidates.values_list("pk", flat=True)[: limit or claim_batch()])
        if not pks:
            return []
        candidates.model._default_manager.filter(free(now), pk__in=pks).update(
            lease_owner=owner, lease_until=now + lease_length()
        )
    return list(candidates.model._default_manager.filter(pk__in=pks, lease_owner=owner))


def renew(models: Iterable[type[Model]], owner: str, now: datetime) -> None:
    """Extend what this poller holds: a slow pass (a hanging upstream) keeps its work, while a dead
    poller's leases still run out, since only a live pass renews them. Lost leases are not matched."""
    until = now + lease_length()
    for model in models:
        model._default_manager.filter(lease_owner=owner).update(lease_until=until)


async def keep_renewed(models: Iterable[type[Model]], owner: str) -> None:
    """Renew this poller's leases every third of their length until cancelled: run beside a pass."""
    every = lease_length().total_seconds() / 3
    while True:
        await asyncio.sleep(every)
        try:
            await sync_to_async(renew)(models, owner, timezone.now())
        except Exception:  # a busy database: the next renewal (or the lease's margin) covers it
            logger.exception("Renewing the leases of %s failed", owner)


def release(models: Iterable[type[Model]], owner: str) -> None:
    """Give back whatever this poller still holds (at a clean stop, so others need not wait)."""
    for model in models:
        model._default_manager.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
