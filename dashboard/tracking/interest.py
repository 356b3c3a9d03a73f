"""What views call to put jobs and projects under the poller's watch.

Views register interest; only the poller fetches upstream data. Registering records who may see a
job (whose token the poller may use, who is notified) and makes the job due at once.
"""

from datetime import datetime, timedelta
from typing import Any, NamedTuple, TypedDict

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from dashboard.services import nexical

from .channel import announce
from .models import REASON_RANK, JobEvent, JobInterest, ProjectScan, ProjectWatch, Reason, Status, TrackedJob

# A viewer refreshes its mark at most this often: an open page must not write on every request.
VIEWED_WRITE_EVERY = timedelta(seconds=2)


class JobPath(NamedTuple):
    """Where a job lives upstream (its URL); a Job from a branch list does not always carry it."""

    team_id: int
    project_id: int
    branch_id: int


class Names(NamedTuple):
    team: str = ""
    project: str = ""
    branch: str = ""


def track_job(
    user: User, job: nexical.Job, ids: JobPath, reason: Reason = Reason.VIEWED, names: Names | None = None
) -> TrackedJob:
    """Follow `job` on behalf of `user` (who has just seen it upstream with their own token)."""
    return _register(user, _tracked_job(job, ids, names), reason)


def add_viewer(user: User, tracked: TrackedJob) -> TrackedJob:
    """`user` may see this tracked job (their team's member list says so): register them as a viewer,
    as a first view of the job would, without an upstream call."""
    return _register(user, tracked, Reason.VIEWED)


def _register(user: User, tracked: TrackedJob, reason: Reason) -> TrackedJob:
    interest, created = JobInterest.objects.get_or_create(user=user, job=tracked, defaults={"reason": reason})
    if not created and REASON_RANK[Reason(reason)] < REASON_RANK[Reason(interest.reason)]:
        JobInterest.objects.filter(pk=interest.pk).update(reason=reason)
    now = timezone.now()
    changes: dict[str, object] = {}
    if tracked.untrackable_reason:
        # A new (or renewed) interest brings a token that may work: try again at once.
        changes.update(untrackable_reason="", next_poll_at=now, error_count=0)
    if reason == Reason.VIEWED:
        changes["last_viewed_at"] = now
    if changes:
        TrackedJob.objects.filter(pk=tracked.pk).update(**changes)
        for field, value in changes.items():
            setattr(tracked, field, value)
    return tracked


def _tracked_job(job: nexical.Job, ids: JobPath, names: Names | None) -> TrackedJob:
    key = {"team_id": ids.team_id, "project_id": ids.project_id, "branch_id": ids.branch_id, "job_id": job.id}
    tracked = TrackedJob.objects.filter(**key).first()
    if tracked is None:
        try:
            with transaction.atomic():
                tracked = TrackedJob.objects.create(**key, **_names(names), **job_fields(job))
                record_first_event(tracked, pass_id="")
        except IntegrityError:  # registered by another request or the poller a moment ago
            tracked = TrackedJob.objects.get(**key)
    elif (
        names
        and any(names)
        and (tracked.team_name, tracked.project_name, tracked.branch_name) != tuple(names)
    ):
        TrackedJob.objects.filter(pk=tracked.pk).update(**_names(names))
    return tracked


def store_names(tracked: TrackedJob, names: Names) -> None:
    """Keep the names of a tracked job's team, project and branch (on the row and this instance)."""
    fields = _names(names)
    TrackedJob.objects.filter(pk=tracked.pk).update(**fields)
    for field, value in fields.items():
        setattr(tracked, field, value)


def _names(names: Names | None) -> dict[str, str]:
    names = names or Names()
    return {
        "team_name": names.team[:200],
        "project_name": names.project[:200],
        "branch_name": names.branch[:200],
    }


class JobFields(TypedDict):
    """The TrackedJob fields an upstream Job determines."""

    status: nexical.JobStatus
    job_type: str
    queue: str
    worker: str
    inputs: dict[str, Any] | None
    outputs: dict[str, Any] | None
    created_at: datetime
    started_at: datetime | None
    completed_at: datetime | None


def job_fields(job: nexical.Job) -> JobFields:
    return {
        "status": job.status,
        "job_type": job.type[:100],
        "queue": job.queue[:100],
        "worker": (job.assigned_factory_id or "")[:100],
        "inputs": job.inputs,
        "outputs": job.outputs,
        "created_at": job.created_at,
        "started_at": job.started_at,
        "completed_at": job.completed_at,
    }


def record_first_event(tracked: TrackedJob, *, pass_id: str) -> None:
    """The status the job had when tracking began (the timeline's first point); call in a transaction."""
    at = {Status.RUNNING: tracked.started_at, Status.PENDING: tracked.created_at}.get(
        Status(tracked.status), tracked.completed_at
    )
    JobEvent.objects.create(
        job=tracked, from_status="", to_status=tracked.status, at=at or timezone.now(), pass_id=pass_id
    )
    announce(tracked.pk)


# Every job page runs it, so plain SQL: the ORM took about 0.4 ms of CPU to build it. The table's name only.
_TOUCH = (
    f"UPDATE {TrackedJob._meta.db_table} SET last_viewed_at = %s"  # noqa: S608
    " WHERE id = %s AND (last_viewed_at IS NULL OR last_viewed_at < %s)"
)


def touch_viewed(job: TrackedJob | int) -> None:
    """Someone has the job's page open: a running job then gets sub-second log polling.

    Writes at most every VIEWED_WRITE_EVERY per job, however many viewers there are. A job that was
    not viewed recently is made due at once, so the first lines arrive without waiting a full cycle.
    """
    pk = job.pk if isinstance(job, TrackedJob) else job
    now = timezone.now()
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(_TOUCH, [adapt(now), pk, adapt(now - VIEWED_WRITE_EVERY)])
        touched = cursor.rowcount
    if touched:
        unfinished = [Status.PENDING, Status.RUNNING]
        TrackedJob.objects.filter(pk=pk, status__in=unfinished, next_poll_at__gt=now).update(next_poll_at=now)


def watch_project(user: User, team_id: int, project_id: int, names: Names | None = None) -> ProjectWatch:
    """Follow every job of the project, including those started outside the dashboard."""
    watch, _ = ProjectWatch.objects.get_or_create(user=user, team_id=team_id, project_id=project_id)
    scan, created = ProjectScan.objects.get_or_create(team_id=team_id, project_id=project_id)
    changes: dict[str, object] = {} if created else {"next_scan_at": timezone.now(), "error_count": 0}
    if names and (names.team or names.project):
        changes.update(team_name=names.team[:200], project_name=names.project[:200])
    if changes:
        ProjectScan.objects.filter(pk=scan.pk).update(**changes)
    return watch


def unwatch_project(user: User, team_id: int, project_id: int) -> None:
    """Stop following the project; the user keeps the jobs they triggered or viewed."""
    with transaction.atomic():
        ProjectWatch.objects.filter(user=user, team_id=team_id, project_id=project_id).delete()
        JobInterest.objects.filter(
            user=user, reason=Reason.WATCHED, job__team_id=team_id, job__project_id=project_id
        ).delete()
        if not ProjectWatch.objects.filter(team_id=team_id, project_id=project_id).exists():
            ProjectScan.objects.filter(team_id=team_id, project_id=project_id).delete()


def is_watching(user: User, team_id: int, project_id: int) -> bool:
    return ProjectWatch.objects.filter(user=user, team_id=team_id, project_id=project_id).exists()


# Async views call these.
atrack_job = sync_to_async(track_job)
aadd_viewer = sync_to_async(add_viewer)
astore_names = sync_to_async(store_names)
awatch_project = sync_to_async(watch_project)
aunwatch_project = sync_to_async(unwatch_project)
ais_watching = sync_to_async(is_watching)
