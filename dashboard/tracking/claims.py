"""What the job poller claims in a pass: due jobs, their branches' other jobs, and due project scans.

The leases themselves (claim, renew, release) are dashboard.core.leases, shared with the task poller.
"""

from datetime import datetime
from functools import reduce
from operator import or_

from django.db.models import Q, QuerySet

from dashboard.core import leases

from .models import FINISHED, ProjectScan, TrackedJob

LEASED = (TrackedJob, ProjectScan)
BATCH = 200  # sibling jobs claimed along with one pass's due jobs


def followed_jobs() -> QuerySet[TrackedJob]:
    """Jobs the poller still has work on: not gone, trackable, and unfinished or missing their last lines."""
    return TrackedJob.objects.filter(gone=False, untrackable_reason="").exclude(
        status__in=FINISHED, logs_complete=True
    )


def claim_due_jobs(owner: str, now: datetime, limit: int | None = None) -> list[TrackedJob]:
    due = followed_jobs().filter(leases.free(now), next_poll_at__lte=now).order_by("next_poll_at")
    return leases.claim(due, owner, now, limit)


def claim_branch_siblings(owner: str, now: datetime, branches: set[tuple[int, int, int]]) -> list[TrackedJob]:
    """The other followed jobs of these branches, not yet due: one branch list updates them all."""
    if not branches:
        return []
    same_branch = reduce(
        or_, (Q(team_id=team, project_id=project, branch_id=branch) for team, project, branch in branches)
    )
    siblings = (
        followed_jobs().filter(leases.free(now), same_branch).exclude(status__in=FINISHED).order_by("pk")
    )
    return leases.claim(siblings, owner, now, BATCH)


def claim_due_scans(owner: str, now: datetime, limit: int = 50) -> list[ProjectScan]:
    due = ProjectScan.objects.filter(leases.free(now), next_scan_at__lte=now).order_by("next_scan_at")
    return leases.claim(due, owner, now, limit)


def release_all(owner: str) -> None:
    leases.release(LEASED, owner)
