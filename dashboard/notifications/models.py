"""What the dashboard tells a user about (a deploy failed, a budget threshold was crossed), and how
they want to hear about it."""

from django.conf import settings
from django.db import models


class Kind(models.TextChoices):
    JOB_STARTED = "job_started", "A deploy started"
    JOB_FAILED = "job_failed", "A deploy failed"
    JOB_COMPLETED = "job_completed", "A deploy completed"
    JOB_UNTRACKABLE = "job_untrackable", "A deploy can no longer be tracked"
    TASK_SETTLED = "task_settled", "An AI task settled"
    TASK_FAILED = "task_failed", "An AI task expired or failed"
    BUDGET_THRESHOLD = "budget_threshold", "AI spend crossed a budget threshold"
    CONNECTION_REJECTED = "connection_rejected", "A stored token was rejected"
    CHANNEL_PAUSED = "channel_paused", "A team channel was paused after failing"


# Which kinds a new user hears about, and which of them also by email (failures and money).
DEFAULT_IN_APP = frozenset(Kind.values)
DEFAULT_EMAIL = frozenset(
    {Kind.JOB_FAILED, Kind.JOB_UNTRACKABLE, Kind.TASK_FAILED, Kind.BUDGET_THRESHOLD, Kind.CONNECTION_REJECTED}
)


class Notification(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=32, choices=Kind.choices)
    title = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    url = models.CharField(max_length=500, blank=True)  # a path inside the dashboard
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread")]

    def __str__(self) -> str:
        return f"{self.title} → {self.user}"


class NotificationPreference(models.Model):
    """One row per user who changed the defaults; absent means DEFAULT_IN_APP / DEFAULT_EMAIL."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    in_app = models.JSONField(default=list)  # Kind values shown in the bell
    email = models.JSONField(default=list)  # Kind values also sent by email
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Notification preferences of {self.user}"
