"""The local record of upstream jobs: what the poller keeps up to date and the live pages read.

Live pages never call upstream for a tracked job; they read these rows. Only the poller writes the
upstream-derived fields, and only while it holds the row's lease (`lease_owner`), so a poller that
lost its lease cannot overwrite what a newer one recorded.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    RUNNING = "running", "Running"
    COMPLETED = "completed", "Completed"
    FAILED = "failed", "Failed"


FINISHED = frozenset({Status.COMPLETED, Status.FAILED})
# Upstream statuses only move forward; a lower rank than the stored one is a stale answer.
STATUS_RANK = {Status.PENDING: 0, Status.RUNNING: 1, Status.COMPLETED: 2, Status.FAILED: 2}

# A log message longer than this (in UTF-8 bytes) is cut and flagged `truncated`.
MAX_MESSAGE_BYTES = 64 * 1024


class TrackedJob(models.Model):
    """One upstream job the dashboard follows (triggered, shown or discovered in a watched project)."""

    team_id = models.PositiveBigIntegerField()
    project_id = models.PositiveBigIntegerField()
    branch_id = models.PositiveBigIntegerField()
    job_id = models.PositiveBigIntegerField()
    # Names for display, as last seen; empty when the page that registered the job did not know them.
    team_name = models.CharField(max_length=200, blank=True)
    project_name = models.CharField(max_length=200, blank=True)
    branch_name = models.CharField(max_length=200, blank=True)

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    job_type = models.CharField(max_length=100, blank=True)
    queue = models.CharField(max_length=100, blank=True)
    worker = models.CharField(max_length=100, blank=True)  # upstream's assignedFactoryId, once taken
    inputs = models.JSONField(null=True, blank=True)
    outputs = models.JSONField(null=True, blank=True)
    # Upstream's timestamps (created_at is null only for a job registered by id before its first fetch).
    created_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    # The upstream id of the newest cached log line: the `?after=` cursor of the next fetch.
    last_log_id = models.PositiveBigIntegerField(null=True, blank=True)
    # Set by the fetch made after the job finished: the cache then holds every line.
    logs_complete = models.BooleanField(default=False)
    # When the poller last read the job's log: a running job nobody views is read only every
    # settings.POLLER_UNWATCHED_LOG_SECONDS (and once more when it ends), see poller._logs.
    logs_read_at = models.DateTimeField(null=True, blank=True)

    # Scheduling and leases (see poller.py).
    next_poll_at = models.DateTimeField(default=timezone.now)
    status_checked_at = models.DateTimeField(null=True, blank=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    # Touched by viewers of the job page: a recently viewed running job gets sub-second log polling.
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    # Why the poller stopped: "" while tracked; a sentence when no interested user's token works.
    untrackable_reason = models.TextField(blank=True)
    gone = models.BooleanField(default=False)  # upstream answered 404: deleted, tracking stopped
    error_count = models.PositiveIntegerField(default=0)  # consecutive failures, reset on success
    last_error = models.TextField(blank=True)  # a sentence safe to show the user
    last_error_at = models.DateTimeField(null=True, blank=True)

    first_seen_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team_id", "project_id", "branch_id", "job_id"],
                name="one_tracked_job_per_upstream_job",
            )
        ]
        indexes = [models.Index(fields=["next_poll_at"], name="tracking_due_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED

    @property
    def is_tracked(self) -> bool:
        """Whether the poller still follows this job (finished jobs are followed until logs are complete)."""
        return not self.gone and not self.untrackable_reason and not (self.is_finished and self.logs_complete)


class Reason(models.TextChoices):
    TRIGGERED = "triggered", "Triggered it"
    WATCHED = "watched", "Watches its project"
    VIEWED = "viewed", "Viewed it"


# Whose token is tried first, and which reason a repeated registration may upgrade to.
REASON_RANK = {Reason.TRIGGERED: 0, Reason.WATCHED: 1, Reason.VIEWED: 2}


class JobInterest(models.Model):
    """A user who may see a job: their token may be used to poll it, and they are notified about it."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="job_interests")
    job = models.ForeignKey(TrackedJob, on_delete=models.CASCADE, related_name="interests")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "job"], name="one_interest_per_user_and_job")]

    def __str__(self) -> str:
        return f"user {self.user_id} {self.reason} job {self.job_id}"


class ProjectWatch(models.Model):
    """A user follows every job of a project, including deploys started elsewhere (CLI, CI)."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="project_watches"
    )
    team_id = models.PositiveBigIntegerField()
    project_id = models.PositiveBigIntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["user", "team_id", "project_id"], name="one_watch_per_user_and_project"
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} watches project {self.project_id}"


class ProjectScan(models.Model):
    """The poller's schedule for discovering new jobs of a watched project (one row per project,
    however many users watch it), leased like TrackedJob."""

    team_id = models.PositiveBigIntegerField()
    project_id = models.PositiveBigIntegerField()
    team_name = models.CharField(max_length=200, blank=True)
    project_name = models.CharField(max_length=200, blank=True)
    next_scan_at = models.DateTimeField(default=timezone.now)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)
    last_error_at = models.DateTimeField(null=True, blank=True)
    scanned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team_id", "project_id"], name="one_scan_per_project")]

    def __str__(self) -> str:
        return f"scan of project {self.project_id}"


class JobEvent(models.Model):
    """One observed status change. The id only grows: it is the SSE id of the event.

    The first event of a job has an empty `from_status` (the status it had when tracking began).
    Statuses only move forward, so (job, to_status) is unique: a change is never recorded twice.
    """

    job = models.ForeignKey(TrackedJob, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=16, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=16, choices=Status.choices)
    at = models.DateTimeField()
    pass_id = models.CharField(max_length=100, blank=True)  # the poller pass that saw it ("" = a view)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["job", "to_status"], name="one_event_per_status")]
        indexes = [models.Index(fields=["job", "id"], name="tracking_event_cursor_idx")]

    def __str__(self) -> str:
        return f"job {self.job_id}: {self.from_status or '-'} -> {self.to_status}"


class LogLine(models.Model):
    """A cached upstream log line. The id only grows: it is the SSE id and the live `?after=` cursor."""

    job = models.ForeignKey(TrackedJob, on_delete=models.CASCADE, related_name="log_lines")
    upstream_id = models.PositiveBigIntegerField()
    level = models.CharField(max_length=8)
    message = models.TextField()
    truncated = models.BooleanField(default=False)  # the message was cut to MAX_MESSAGE_BYTES
    logged_at = models.DateTimeField()
    # The line's 1-based position in its job's log (its `L<n>` anchor), set by the poller when it
    # stores the line: windows, search results and the outline address lines by it without counting.
    number = models.PositiveIntegerField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job", "upstream_id"], name="one_line_per_upstream_line")
        ]
        # Search indexes on `message` (PostgreSQL pg_trgm GIN, SQLite FTS5 trigram) are made by the
        # migration that added `number`, per database: Django's Meta cannot declare either portably.
        indexes = [
            models.Index(fields=["job", "id"], name="tracking_line_cursor_idx"),
            models.Index(fields=["job", "number"], name="tracking_line_number_idx"),
        ]

    def __str__(self) -> str:
        return f"job {self.job_id} line {self.upstream_id}"


class TeamRoster(models.Model):
    """A team's members as upstream last listed them: who may see the team's tracked jobs.

    One row per team, shared by every web process, read again once it is older than
    TEAM_ROSTER_SECONDS (tracking/access.py). Holds upstream account ids only (Connection.account_id).
    """

    team_id = models.PositiveBigIntegerField(unique=True)
    member_ids = models.JSONField(null=True)  # None: the upstream does not list this team's members
    read_at = models.DateTimeField()

    def __str__(self) -> str:
        return f"members of team {self.team_id}"
