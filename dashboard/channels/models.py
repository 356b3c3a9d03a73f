"""A team's notification channels (a Slack-compatible or a signed generic webhook) and their deliveries.

Deliveries are rows: the poller writes one per job event per channel in the transaction that records
the event (unique per channel and event, so never twice), and the sender claims due rows with the
same leases as the poller (dashboard.core.leases). Nothing here is sent inside a request.
"""

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    SLACK = "slack", "Slack-compatible incoming webhook"
    WEBHOOK = "webhook", "Signed webhook (JSON)"


class Event(models.TextChoices):
    STARTED = "started", "Deploy started"
    FAILED = "failed", "Deploy failed"
    COMPLETED = "completed", "Deploy completed"
    TEST = "test", "Test message"


# The events a channel may subscribe to (a test message is always sent when asked for).
SUBSCRIBABLE = [Event.STARTED, Event.FAILED, Event.COMPLETED]


class Channel(models.Model):
    team_id = models.PositiveBigIntegerField(db_index=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    # The address is a secret too (a Slack webhook URL is its own credential): stored encrypted
    # (accounts.crypto), and only its scheme and host are shown back.
    url_encrypted = models.TextField()
    url_hint = models.CharField(max_length=300)
    # The generic webhook's signing secret, encrypted (accounts.crypto); shown once, at creation.
    secret_encrypted = models.TextField(blank=True)
    events = models.JSONField(default=list)  # a list of Event values from SUBSCRIBABLE
    # Empty: every project of the team; else only these project ids.
    project_ids = models.JSONField(default=list)
    # Only jobs on the branch of this name (the team's production branch) when set.
    production_only = models.BooleanField(default=False)
    production_branch = models.CharField(max_length=200, default="main")

    # Deliveries that ended failed in a row; at CHANNELS_PAUSE_AFTER the channel pauses.
    failures_in_row = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(null=True, blank=True)
    paused_reason = models.TextField(blank=True)

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.kind}, team {self.team_id})"

    @property
    def is_paused(self) -> bool:
        return self.paused_at is not None


class TeamAdminSeen(models.Model):
    """A dashboard user whom Nexical showed as an owner or admin of the team on the channels page:
    the people told when one of the team's channels is paused (the sender has no upstream call)."""

    team_id = models.PositiveBigIntegerField()
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    seen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team_id", "user"], name="one_admin_seen_per_team")]

    def __str__(self) -> str:
        return f"user {self.user_id} admin of team {self.team_id}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class Delivery(models.Model):
    channel = models.ForeignKey(Channel, on_delete=models.CASCADE, related_name="deliveries")
    # The tracking JobEvent behind it (null for a test message). A plain id: channels sit below
    # tracking in the layers, and the event may outlive nothing here.
    event_id = models.PositiveBigIntegerField(null=True, blank=True)
    event = models.CharField(max_length=16, choices=Event.choices)
    # What the message says, fixed when the event happened (team, project, branch, job, link).
    facts = models.JSONField(default=dict)

    status = models.CharField(max_length=16, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.TextField(blank=True)  # a sentence, never a secret or a raw body
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["channel", "event_id"], name="one_delivery_per_channel_and_event")
        ]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="channels_due_idx")]

    def __str__(self) -> str:
        return f"{self.event} to channel {self.channel_id} ({self.status})"
