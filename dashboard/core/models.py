from django.db import models
from django.utils import timezone


class PollerHeartbeat(models.Model):
    """Written by each poller process after every completed pass. It lives below the apps whose
    pages read it (the job pages, the task pages, `/healthz`): see `dashboard.core.tracker`."""

    name = models.CharField(max_length=100, unique=True)
    started_at = models.DateTimeField(default=timezone.now)
    last_pass_at = models.DateTimeField(null=True, blank=True)
    passes = models.PositiveBigIntegerField(default=0)
    last_pass_seconds = models.FloatField(null=True, blank=True)  # how long that pass took

    def __str__(self) -> str:
        return f"poller {self.name}"
