"""`manage.py prune_audit`: rows past AUDIT_RETENTION_DAYS go, the rest stay."""

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from dashboard.audit import AuditEntry, record

pytestmark = pytest.mark.django_db


def _aged(days: float) -> AuditEntry:
    entry = record(None, "signin.failed", user=None, username=f"aged-{days}")
    AuditEntry.objects.filter(pk=entry.pk).update(created_at=timezone.now() - timedelta(days=days))
    return entry


def _left() -> set[str]:
    return set(AuditEntry.objects.values_list("username", flat=True))


@override_settings(AUDIT_RETENTION_DAYS=30)
def test_it_deletes_what_is_older_than_the_retention_setting():
    for days in (0, 29.9, 30.1, 400):
        _aged(days)
    out = StringIO()
    call_command("prune_audit", stdout=out)
    assert _left() == {"aged-0", "aged-29.9"}
    assert "Deleted 2 audit entries older than 30 days" in out.getvalue()


def test_days_on_the_command_line_override_the_setting_and_the_default_keeps_400_days():
    for days in (10, 399, 401):
        _aged(days)
    call_command("prune_audit", stdout=StringIO())
    assert _left() == {"aged-10", "aged-399"}
    call_command("prune_audit", "--days", "5", stdout=StringIO())
    assert _left() == set()


def test_it_refuses_to_keep_nothing():
    _aged(1)
    with pytest.raises(SystemExit):
        call_command("prune_audit", "--days", "0", stdout=StringIO(), stderr=StringIO())
    assert _left() == {"aged-1"}
