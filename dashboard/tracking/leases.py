"""Claiming work with leases in the database: the database is the queue, so pollers need no broker.

A claim is a conditional UPDATE (lease empty or expired), which is exclusive on every database; on
PostgreSQL the candidates are also picked with `FOR UPDATE SKIP LOCKED` so concurrent pollers take
different rows instead of queueing on the same ones. A lease outlives a normal pass; a poller that
dies keeps its rows only until the lease expires, then another poller takes them.
"""

from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, QuerySet

from .models import FINISHED, ProjectScan, TrackedJob

BATCH = 200  # sibling jobs claimed along with one pass's due jobs


def lease_length() -> timedelta:
    return timedelta(seconds=settings.TRACKING_LEASE_SECONDS)


def _free(now: datetime) -> Q:
    return Q(lease_until__isnull=True) | Q(lease_until__lt=now)


def followed_jobs() -> QuerySet[TrackedJob]:
    """Jobs the poller still has work on: not gone, trackable, and unfinished or missing their last lines."""
    return TrackedJob.objects.filter(gone=False, untrackable_reason="").exclude(
        status__in=FINISHED, logs_complete=True
    )


def _claim[M: (TrackedJob, ProjectScan)](
    candidates: QuerySet[M], owner: str, now: datetime, limit: int
) -> list[M]:
    with transaction.atomic():
        if connection.features.has_select_for_update_skip_locked:
            candidates = candidates.select_for_update(skip_locked=True)
        pks = list(candidates.values_list("pk", flat=True)[:limit])
        if not pks:
            return []
        candidates.model.objects.filter(_free(now), pk__in=pks).update(
            lease_owner=owner, lease_until=now + lease_length()
        )
    return list(candidates.model.objects.filter(pk__in=pks, lease_owner=owner))


def claim_due_jobs(owner: str, now: datetime, limit: int | None = None) -> list[TrackedJob]:
    limit = limit or settings.TRACKING_CLAIM_BATCH
    due = followed_jobs().filter(_free(now), next_poll_at__lte=now).order_by("next_poll_at")
    return _claim(due, owner, now, limit)


def claim_branch_siblings(owner: str, now: datetime, branches: set[tuple[int, int, int]]) -> list[TrackedJob]:
    """The other followed jobs of these branches, not yet due: one branch list updates them all."""
    if not branches:
        return []
    same_branch = reduce(
        or_, (Q(team_id=team, project_id=project, branch_id=branch) for team, project, branch in branches)
    )
    siblings = followed_jobs().filter(_free(now), same_branch).exclude(status__in=FINISHED).order_by("pk")
    return _claim(siblings, owner, now, BATCH)


def claim_due_scans(owner: str, now: datetime, limit: int = 50) -> list[ProjectScan]:
    due = ProjectScan.objects.filter(_free(now), next_scan_at__lte=now).order_by("next_scan_at")
    return _claim(due, owner, now, limit)


def renew(owner: str, now: datetime) -> None:
    """Extend what this poller holds: a slow pass (a hanging upstream) keeps its work, while a dead
    poller's leases still run out, since only a live pass renews them. Lost leases are not matched."""
    until = now + lease_length()
    TrackedJob.objects.filter(lease_owner=owner).update(lease_until=until)
    ProjectScan.objects.filter(lease_owner=owner).update(lease_until=until)


def release_all(owner: str) -> None:
    """Give back whatever this poller still holds (at a clean stop, so others need not wait)."""
    TrackedJob.objects.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
    ProjectScan.objects.filter(lease_owner=owner).update(lease_owner="", lease_until=None)
