"""`manage.py prune_audit`: delete audit rows older than AUDIT_RETENTION_DAYS (run it daily)."""

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandParser
from django.utils import timezone

from dashboard.audit.models import AuditEntry

# Deleted in slices: one huge DELETE would hold its locks (on SQLite, the whole file) for long.
_BATCH = 5000


class Command(BaseCommand):
    help = "Delete audit log rows older than AUDIT_RETENTION_DAYS (or --days)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--days", type=int, help="keep this many days instead of the setting")

    def handle(self, *args: Any, **options: Any) -> None:
        days: int = options["days"] if options["days"] is not None else settings.AUDIT_RETENTION_DAYS
        if days < 1:
            self.stderr.write("Keep at least one day of audit log.")
            raise SystemExit(2)
        cutoff = timezone.now() - timedelta(days=days)
        deleted = 0
        while True:
            ids = list(AuditEntry.objects.filter(created_at__lt=cutoff).values_list("id", flat=True)[:_BATCH])
            if not ids:
                break
            deleted += AuditEntry.objects.filter(id__in=ids).delete()[0]
        self.stdout.write(
            f"Deleted {deleted} audit entries older than {days} days ({cutoff:%Y-%m-%d %H:%M} UTC)."
        )
