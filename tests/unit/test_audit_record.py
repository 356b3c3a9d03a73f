"""record() and arecord(): one row per call, who/where from the request, never a secret."""

import pytest
from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AnonymousUser
from django.test import RequestFactory, override_settings

from dashboard.accounts.models import Connection, Service
from dashboard.audit import AuditEntry, Result, arecord, record

pytestmark = pytest.mark.django_db


@pytest.fixture
def grace():
    user = get_user_model().objects.create_user("grace", "grace@example.com", "pw")
    nexical = Connection(
        user=user, service=Service.NEXICAL, account_id="7", account_label="grace@example.com"
    )
    nexical.secret = "nxl_grace_secret_value"
    nexical.save()
    nexustoken = Connection(user=user, service=Service.NEXUSTOKEN, account_id="acct_42")
    nexustoken.secret = "nt_grace_secret_value"
    nexustoken.save()
    return user


def _request(user, **meta):
    request = RequestFactory().post(
        "/teams/3/", REMOTE_ADDR="203.0.113.9", HTTP_USER_AGENT="Firefox " * 80, **meta
    )
    request.user = user
    return request


def test_a_row_says_who_what_on_what_from_where_and_how_it_ended(grace):
    entry = record(
        _request(grace),
        "team.member.remove",
        team_id=3,
        target="linus@example.com",
        detail={"role": "member"},
    )
    entry.refresh_from_db()
    assert (entry.user, entry.username, entry.action, entry.result) == (
        grace,
        "grace",
        "team.member.remove",
        "done",
    )
    assert (entry.team_id, entry.project_id, entry.target, entry.detail) == (
        3,
        None,
        "linus@example.com",
        {"role": "member"},
    )
    assert (entry.nexical_user_id, entry.nexical_email, entry.nexustoken_account_id) == (
        "7",
        "grace@example.com",
        "acct_42",
    )
    assert entry.ip == "203.0.113.9"
    assert entry.user_agent.startswith("Firefox") and len(entry.user_agent) == 300
    # The identity is the upstream's ids and labels: no stored secret reaches the row.
    assert "secret_value" not in str(AuditEntry.objects.values().get())


def test_the_request_connections_are_used_when_the_middleware_loaded_them(grace, django_assert_num_queries):
    request = _request(grace)
    request.connections = {c.service: c for c in Connection.objects.filter(user=grace)}
    with django_assert_num_queries(1):  # the insert only
        record(request, "token.revoke", target="ci")
    assert AuditEntry.objects.get().nexustoken_account_id == "acct_42"


def test_without_a_request_everything_is_given():
    entry = record(None, "signin.failed", user=None, username="bob", ip="198.51.100.4", user_agent="curl/8")
    entry.refresh_from_db()
    assert (entry.user, entry.username, entry.ip, entry.user_agent) == (None, "bob", "198.51.100.4", "curl/8")
    assert entry.result == Result.DONE


def test_an_anonymous_request_records_no_user():
    entry = record(_request(AnonymousUser()), "signin.failed", result=Result.REFUSED, username="mallory")
    assert (entry.user, entry.username, entry.result) == (None, "mallory", "refused")


@pytest.mark.parametrize(
    "key", ["token", "api_key", "webhookSecret", "password", "otp_code", "recovery-code"]
)
def test_a_detail_key_that_looks_like_a_secret_is_refused(grace, key):
    with pytest.raises(ValueError, match="secret"):
        record(_request(grace), "token.create", detail={"name": "ci", key: "s3cr3t"})
    with pytest.raises(ValueError, match="secret"):
        record(_request(grace), "token.create", detail={"nested": {key: "s3cr3t"}})
    assert not AuditEntry.objects.exists()


def test_outside_strict_mode_a_secret_looking_key_is_dropped_not_written(grace):
    with override_settings(AUDIT_STRICT=False):
        entry = record(_request(grace), "token.create", detail={"name": "ci", "token": "s3cr3t"})
    entry.refresh_from_db()
    assert entry.detail == {"name": "ci"}


@pytest.mark.parametrize("action", ["", "remove", "Team.Remove", "team member.remove", "team..remove"])
def test_an_action_name_must_be_dotted_lower_case(action):
    with pytest.raises(ValueError):
        record(None, action, user=None)


def test_x_forwarded_for_counts_only_behind_a_trusted_proxy(grace):
    spoofed = _request(grace, HTTP_X_FORWARDED_FOR="10.9.9.9, 192.0.2.77")
    assert record(spoofed, "job.trigger").ip == "203.0.113.9"
    with override_settings(TRUSTED_PROXY_COUNT=1):
        assert record(spoofed, "job.trigger").ip == "192.0.2.77"


def test_arecord_writes_the_same_row_from_async_code(grace):
    # Run as an async view is (async_to_sync): its ORM calls then share the test's database connection.
    entry = async_to_sync(arecord)(_request(grace), "task.cancel", result=Result.FAILED, target="task 9")
    saved = AuditEntry.objects.select_related("user").get(pk=entry.pk)
    assert (saved.user, saved.action, saved.result, saved.nexical_user_id) == (
        grace,
        "task.cancel",
        "failed",
        "7",
    )


def test_rows_cannot_be_changed_or_deleted_in_the_admin(client, grace):
    root = get_user_model().objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(root)
    entry = record(None, "signin.failed", user=None, username="bob")
    assert client.get("/admin/audit/auditentry/").status_code == 200
    assert client.get("/admin/audit/auditentry/add/").status_code == 403
    assert client.post(f"/admin/audit/auditentry/{entry.pk}/delete/").status_code == 403
    page = client.get(f"/admin/audit/auditentry/{entry.pk}/change/")
    assert page.status_code == 200 and b'name="_save"' not in page.content
    assert AuditEntry.objects.filter(pk=entry.pk).exists()
