"""The audit log: one row per action taken through the dashboard, never edited, never a secret."""

from django.conf import settings
from django.db import models


class Result(models.TextChoices):
    DONE = "done", "done"
    REFUSED = "refused", "refused upstream"
    FAILED = "failed", "failed"


class AuditEntry(models.Model):
    """Who did what, on what, when, from where, and how it ended.

    `username` and the upstream identity are snapshots taken when the row is written: the log still
    names the person after their account is deleted (the foreign key then becomes null) or their
    connection changes.
    """

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField(max_length=150, blank=True)
    # Who the user is upstream, from their stored connections (ids and labels, never a token).
    nexical_user_id = models.CharField(max_length=64, blank=True)
    nexical_email = models.CharField(max_length=200, blank=True)
    nexustoken_account_id = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.DONE)
    # Nexical's ids: the team and project live upstream, so these are plain numbers, not keys.
    team_id = models.BigIntegerField(null=True, blank=True)
    project_id = models.BigIntegerField(null=True, blank=True)
    target = models.CharField(max_length=300, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=300, blank=True)

    class Meta:
        verbose_name = "audit entry"
        verbose_name_plural = "audit entries"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team_id", "-created_at"], name="audit_team_time"),
            models.Index(fields=["user", "-created_at"], name="audit_user_time"),
        ]

    def __str__(self) -> str:
        return (
            f"{self.created_at:%Y-%m-%d %H:%M:%S} {self.username or 'anonymous'} {self.action} {self.result}"
        )

    @property
    def result_badge(self) -> str:
        """The stylesheet's badge for the result: done green, refused amber, failed red."""
        return {Result.DONE: "ok", Result.REFUSED: "pending"}.get(Result(self.result), "failed")
