"""The poller's database work: reading whom to act for, and writing what a pass learnt.

Every write about a job happens in one transaction that first re-reads the row WHERE lease_owner is
this poller: a poller that lost its lease (it stalled past the lease and another took over) writes
nothing. Inserted events and lines are announced (pg_notify) in the same transaction.
"""

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Max, Min
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts.models import Connection, Service
from dashboard.channels.enqueue import enqueue_job_event
from dashboard.channels.messages import Facts
from dashboard.notifications.models import Kind
from dashboard.notifications.notify import notify
from dashboard.services import nexical

from . import cadence
from .channel import announce
from .claims import followed_jobs
from .interest import job_fields, record_first_event
from .models import (
    FINISHED,
    MAX_MESSAGE_BYTES,
    REASON_RANK,
    STATUS_RANK,
    JobEvent,
    JobInterest,
    LogLine,
    ProjectScan,
    ProjectWatch,
    Reason,
    Status,
    TrackedJob,
)

logger = logging.getLogger("dashboard.tracking")

UNTRACKABLE = (
    "Nobody who follows this job has a Nexical token that still works, so it is no longer tracked. "
    "Reconnect Nexical in Settings > Connections, then open the job again."
)


@dataclass
class Observation:
    """What one pass learnt about one job."""

    due: bool  # claimed because it was due (not only as a sibling on the same branch)
    upstream: nexical.Job | None = None  # its state upstream, when the pass fetched it
    gone: bool = False
    logs_complete: bool = False
    logs_read: bool = False  # upstream answered the pass's ask for the job's new log lines
    error: str = ""  # a sentence for the user: upstream failed, try later
    untrackable: bool = False
    retry_in: float | None = None  # every token is rate limited for this long


# Reading ------------------------------------------------------------------------------------------


def candidates(job_pks: list[int]) -> list[Connection]:
    """Usable Nexical connections of the users interested in these jobs, who triggered first."""
    interests = JobInterest.objects.filter(job_id__in=job_pks).values_list("user_id", "reason", "created_at")
    ranked = sorted(interests, key=lambda row: (REASON_RANK[Reason(row[1])], row[2]))
    return _connections([user_id for user_id, _, _ in ranked])


def scan_candidates(team_id: int, project_id: int) -> list[Connection]:
    watches = ProjectWatch.objects.filter(team_id=team_id, project_id=project_id).order_by("created_at")
    return _connections(list(watches.values_list("user_id", flat=True)))


def _connections(user_ids: list[int]) -> list[Connection]:
    usable = Connection.objects.filter(user_id__in=user_ids, service=Service.NEXICAL, needs_attention=False)
    by_user = {connection.user_id: connection for connection in usable}
    ordered = dict.fromkeys(user_ids)  # first appearance decides the order
    return [by_user[user_id] for user_id in ordered if user_id in by_user]


def next_due(now: datetime) -> datetime | None:
    """When the earliest job or scan is due (the command sleeps until then, within bounds)."""
    job = followed_jobs().aggregate(due=Min("next_poll_at"))["due"]
    scan = ProjectScan.objects.aggregate(due=Min("next_scan_at"))["due"]
    return min((when for when in (job, scan) if when is not None), default=None)


# Writing ------------------------------------------------------------------------------------------


def _leased(pk: int, owner: str) -> TrackedJob | None:
    return TrackedJob.objects.select_for_update().filter(pk=pk, lease_owner=owner).first()


# NUL, and the halves of a surrogate pair that arrived alone (`"\\ud800"` in upstream JSON).
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def cut_message(message: str) -> tuple[str, bool]:
    """The message as stored: at most MAX_MESSAGE_BYTES of UTF-8, without NUL or lone surrogates (which
    JSON can carry but PostgreSQL refuses, and UTF-8 cannot encode)."""
    message = UNSTORABLE.sub("\ufffd", message)
    encoded = message.encode("utf-8")
    if len(encoded) <= MAX_MESSAGE_BYTES:
        return message, False
    return encoded[:MAX_MESSAGE_BYTES].decode("utf-8", errors="ignore"), True


def save_lines(pk: int, owner: str, lines: list[nexical.JobLog]) -> bool:
    """Cache a page of upstream lines (those past the cursor); False when the lease was lost."""
    with transaction.atomic():
        job = _leased(pk, owner)
        if job is None:
            return False
        after = job.last_log_id if job.last_log_id is not None else -1
        new = [line for line in lines if line.id > after]
        if not new:
            return True
        # The job's row is locked (select_for_update above): no other writer numbers its lines now.
        stored = LogLine.objects.filter(job_id=pk).aggregate(top=Max("number"))["top"] or 0
        rows = []
        for position, line in enumerate(sorted(new, key=lambda line: line.id), start=stored + 1):
            message, truncated = cut_message(line.message)
            rows.append(
                LogLine(
                    job_id=pk,
                    upstream_id=line.id,
                    number=position,
                    level=line.level,
                    message=message,
                    truncated=truncated,
                    logged_at=line.timestamp,
                )
            )
        # The unique (job, upstream_id) constraint is the last guard against a line recorded twice.
        LogLine.objects.bulk_create(rows, ignore_conflicts=True)
        TrackedJob.objects.filter(pk=pk).update(last_log_id=max(line.id for line in new))
        announce(pk)
    return True


def finish_job(pk: int, owner: str, pass_id: str, seen: Observation, started: datetime) -> bool:
    """Record what the pass saw, schedule the next look and give the lease back; False if lost.

    The next look is counted from the pass's start, the same for every job of the pass, so jobs
    polled together stay together however long their writes took.
    """
    now = timezone.now()
    with transaction.atomic():
        job = _leased(pk, owner)
        if job is None:
            return False
        fields: dict[str, object] = {"lease_owner": "", "lease_until": None, "updated_at": now}
        before = after = job.status
        upstream = seen.upstream
        if upstream is not None:
            fields["status_checked_at"] = started
            # A stale answer (an older replica, a cache) must not move a job backwards.
            if STATUS_RANK[Status(upstream.status)] >= STATUS_RANK[Status(before)]:
                refreshed = job_fields(upstream)
                fields.update(refreshed)
                after = refreshed["status"]
        fields.update(_schedule(job, seen, after, started))
        if seen.logs_complete:
            fields["logs_complete"] = True
        if seen.logs_read:
            fields["logs_read_at"] = started
        if seen.gone:
            fields["gone"] = True
        if seen.untrackable and not job.untrackable_reason:
            fields["untrackable_reason"] = UNTRACKABLE
            _tell_owner_untrackable(job)
        TrackedJob.objects.filter(pk=pk).update(**fields)
        if after != before:
            job.refresh_from_db()
            _record_change(job, before, after, pass_id)
    return True


def _schedule(job: TrackedJob, seen: Observation, status: str, now: datetime) -> dict[str, object]:
    if seen.error:
        count = job.error_count + 1
        return {
            "error_count": count,
            "last_error": seen.error,
            # The start of the failing streak: pages say "paused … since 12:04".
            "last_error_at": job.last_error_at if job.error_count else now,
            "next_poll_at": now + cadence.backoff(count),
        }
    fields: dict[str, object] = (
        {"error_count": 0, "last_error": "", "last_error_at": None} if job.error_count else {}
    )
    if seen.retry_in is not None:
        fields["next_poll_at"] = now + timedelta(seconds=seen.retry_in)
    elif seen.due or seen.upstream is not None:
        # A sibling whose status the branch list just refreshed is rescheduled with the due job, so
        # a branch's jobs fall into step and one list call keeps serving all of them.
        fields["next_poll_at"] = cadence.next_poll_at(status, now)
    return fields


def _record_change(job: TrackedJob, before: str, after: str, pass_id: str) -> None:
    """One event per change, and the notifications for it, in the transaction that saw it."""
    if JobEvent.objects.filter(job=job, to_status=after).exists():
        return
    at = (job.started_at if after == Status.RUNNING else job.completed_at) or timezone.now()
    event = JobEvent.objects.create(job=job, from_status=before, to_status=after, at=at, pass_id=pass_id)
    announce(job.pk)
    notify_change(job, after)
    tell_channels(job, event)


CHANNEL_EVENTS = {Status.RUNNING: "started", Status.COMPLETED: "completed", Status.FAILED: "failed"}


def tell_channels(job: TrackedJob, event: JobEvent) -> None:
    """The team's channels' deliveries of this event, in its transaction (the sender posts them later)."""
    kind = CHANNEL_EVENTS.get(Status(event.to_status))
    if kind is None:
        return
    error = (job.outputs or {}).get("error") if isinstance(job.outputs, dict) else None
    facts: Facts = {
        "team_id": job.team_id,
        "team_name": job.team_name,
        "project_id": job.project_id,
        "project_name": job.project_name,
        "branch_id": job.branch_id,
        "branch_name": job.branch_name,
        "job_id": job.job_id,
        "job_type": job.job_type,
        "status": event.to_status,
        "url": settings.PUBLIC_URL.rstrip("/") + job_url(job),
        "at": event.at.isoformat(),
    }
    if kind == "failed" and isinstance(error, str) and error:
        facts["error"] = error[:500]
    enqueue_job_event(event.pk, kind, facts)


def notify_change(job: TrackedJob, status: str) -> None:
    kind = {
        Status.RUNNING: "job_started",
        Status.COMPLETED: "job_completed",
        Status.FAILED: "job_failed",
    }.get(Status(status))
    if kind is None:
        return
    verb = {"job_started": "started", "job_completed": "completed", "job_failed": "failed"}[kind]
    title = f"{job.job_type.capitalize() or 'Job'} #{job.job_id} {verb}"
    where = " / ".join(name for name in (job.project_name, job.branch_name) if name)
    body = where
    error = (job.outputs or {}).get("error") if isinstance(job.outputs, dict) else None
    if status == Status.FAILED and isinstance(error, str) and error:
        body = f"{where}: {error[:500]}" if where else error[:500]
    followers = JobInterest.objects.filter(job=job, reason__in=[Reason.TRIGGERED, Reason.WATCHED])
    for interest in followers.select_related("user"):
        notify(interest.user, kind=kind, title=title, body=body, url=job_url(job))


def job_url(job: TrackedJob) -> str:
    return reverse(
        "orchestrator:job_detail",
        kwargs={
            "team_id": job.team_id,
            "project_id": job.project_id,
            "branch_id": job.branch_id,
            "job_id": job.job_id,
        },
    )


def _tell_owner_untrackable(job: TrackedJob) -> None:
    interests = sorted(
        JobInterest.objects.filter(job=job).select_related("user"),
        key=lambda interest: (REASON_RANK[Reason(interest.reason)], interest.created_at),
    )
    if interests:
        notify(
            interests[0].user,
            kind=Kind.JOB_UNTRACKABLE,
            title=f"Job #{job.job_id} can no longer be tracked",
            body=UNTRACKABLE,
            url=job_url(job),
        )


def discover(
    team_id: int, project_id: int, jobs: list[nexical.Job], branch_names: dict[int, str], pass_id: str
) -> int:
    """Track the jobs of a watched project that the dashboard has not seen (started by the CLI or
    CI), for every watcher; returns how many were new. Jobs that had finished before anyone watched
    are history, not news, and are left out."""
    watchers = list(
        ProjectWatch.objects.filter(team_id=team_id, project_id=project_id).values_list(
            "user_id", "created_at"
        )
    )
    if not watchers or not jobs:
        return 0
    since = min(created for _, created in watchers)
    key = {"team_id": team_id, "project_id": project_id}
    known = set(
        TrackedJob.objects.filter(**key, job_id__in=[job.id for job in jobs]).values_list(
            "branch_id", "job_id"
        )
    )
    scan = ProjectScan.objects.filter(**key).first()
    new = 0
    for job in jobs:
        if (job.branch_id, job.id) in known or (job.status in FINISHED and job.created_at < since):
            continue
        names = {
            "team_name": scan.team_name if scan else "",
            "project_name": scan.project_name if scan else "",
            "branch_name": branch_names.get(job.branch_id, "")[:200],
        }
        try:
            with transaction.atomic():
                tracked = TrackedJob.objects.create(
                    **key, branch_id=job.branch_id, job_id=job.id, **names, **job_fields(job)
                )
                record_first_event(tracked, pass_id=pass_id)
                new += 1
        except IntegrityError:  # another poller or a view registered it a moment ago
            continue
    tracked_pks = TrackedJob.objects.filter(**key, job_id__in=[job.id for job in jobs]).values_list(
        "pk", flat=True
    )
    JobInterest.objects.bulk_create(
        [
            JobInterest(user_id=user_id, job_id=pk, reason=Reason.WATCHED)
            for pk in tracked_pks
            for user_id, _ in watchers
        ],
        ignore_conflicts=True,
    )
    return new


def finish_scan(pk: int, owner: str, *, error: str = "", retry_in: float | None = None) -> bool:
    now = timezone.now()
    scan = ProjectScan.objects.filter(pk=pk, lease_owner=owner).first()
    if scan is None:
        return False
    fields: dict[str, object] = {"lease_owner": "", "lease_until": None}
    if error:
        count = scan.error_count + 1
        fields.update(
            error_count=count, last_error=error, last_error_at=now, next_scan_at=now + cadence.backoff(count)
        )
    elif retry_in is not None:
        fields["next_scan_at"] = now + timedelta(seconds=retry_in)
    else:
        fields.update(error_count=0, last_error="", scanned_at=now, next_scan_at=now + cadence.SCAN)
    return bool(ProjectScan.objects.filter(pk=pk, lease_owner=owner).update(**fields))
