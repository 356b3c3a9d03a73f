"""A team's notification channels: admins only, the address and secret never shown back, SSRF
refused with a sentence, a test message sent by the sender (not the request), pause and resume."""

import hashlib
import hmac

import pytest
from asgiref.sync import async_to_sync
from django.urls import reverse

from dashboard.accounts import crypto
from dashboard.audit.models import AuditEntry
from dashboard.channels import sender
from dashboard.channels.models import Channel, Delivery, TeamAdminSeen
from tests.support.orchestrator_cast import as_user
from tests.support.receiver import Receiver

pytestmark = pytest.mark.django_db


@pytest.fixture
def receiver():
    receiving = Receiver().start()
    yield receiving
    receiving.stop()


def channels_url(cast) -> str:
    return reverse("orchestrator:team_channels", args=[cast.team["id"]])


def detail_url(channel: Channel) -> str:
    return reverse("orchestrator:channel_detail", args=[channel.team_id, channel.pk])


def form(url: str, **fields) -> dict:
    return {
        "name": "#deploys",
        "kind": "slack",
        "url": url,
        "events": ["started", "failed", "completed"],
        "production_branch": "main",
        "create": "1",
    } | fields


def test_only_owners_and_admins_see_and_manage_channels(client, cast):
    channel = Channel.objects.create(
        team_id=cast.team["id"], name="x", kind="slack", url_encrypted="-", url_hint="h"
    )
    for someone in (cast.owner, cast.admin):
        assert as_user(client, someone).get(channels_url(cast)).status_code == 200
        assert client.get(detail_url(channel)).status_code == 200
    as_user(client, cast.member)
    for response in (
        client.get(channels_url(cast)),
        client.get(detail_url(channel)),
        client.post(channels_url(cast), form("http://127.0.0.1:9/hook")),
        client.post(detail_url(channel), {"delete": "1", "confirmed": "1"}),
    ):
        assert response.status_code == 403
        assert "owner and admins manage its notification channels." in response.content.decode()
    as_user(client, cast.outsider)
    assert client.get(channels_url(cast)).status_code == 404
    assert client.post(detail_url(channel), {"test": "1"}).status_code == 404
    assert Channel.objects.count() == 1 and not Delivery.objects.exists()
    # Another team's channel id under this team's address is no channel at all.
    as_user(client, cast.admin)
    other = Channel.objects.create(
        team_id=cast.team["id"] + 10_000, name="y", kind="slack", url_encrypted="-"
    )
    assert (
        client.get(reverse("orchestrator:channel_detail", args=[cast.team["id"], other.pk])).status_code
        == 404
    )
    assert set(TeamAdminSeen.objects.values_list("user", flat=True)) == {
        cast.owner.user.pk,
        cast.admin.user.pk,
    }


def test_an_admin_adds_a_slack_channel_whose_address_is_never_shown_back(client, cast):
    secret_path = "/services/T000/B000/hush-hush-0123"
    response = as_user(client, cast.admin).post(channels_url(cast), form(f"http://127.0.0.1:9{secret_path}"))
    channel = Channel.objects.get()
    assert response.status_code == 302 and response.url == detail_url(channel)
    assert crypto.decrypt(channel.url_encrypted) == f"http://127.0.0.1:9{secret_path}"
    assert secret_path not in channel.url_encrypted
    for page in (client.get(response.url), client.get(channels_url(cast))):
        html = page.content.decode()
        assert "http://127.0.0.1:9/…" in html and secret_path not in html
    entry = AuditEntry.objects.get(action="channel.create")
    assert (entry.team_id, entry.target, entry.user_id) == (cast.team["id"], "#deploys", cast.admin.user.pk)
    assert secret_path not in str(entry.detail)

    # Saved again with the address left blank: it keeps the stored one.
    edit = form("", name="#ops", events=["failed"], save="1")
    edit.pop("create")
    assert client.post(detail_url(channel), edit).status_code == 302
    channel.refresh_from_db()
    assert (channel.name, channel.events) == ("#ops", ["failed"])
    assert crypto.decrypt(channel.url_encrypted).endswith(secret_path)
    assert AuditEntry.objects.filter(action="channel.update").count() == 1


def test_a_webhook_s_secret_is_shown_once_and_signs_the_test_message(client, cast, receiver):
    response = as_user(client, cast.owner).post(channels_url(cast), form(receiver.url, kind="webhook"))
    assert response.status_code == 200
    assert response["Cache-Control"].startswith("max-age=0") or "no-cache" in response["Cache-Control"]
    html = response.content.decode()
    channel = Channel.objects.get()
    secret = crypto.decrypt(channel.secret_encrypted)
    assert secret.startswith("ndwh_") and secret in html
    assert secret not in client.get(channels_url(cast)).content.decode()
    assert secret not in client.get(detail_url(channel)).content.decode()

    queued = client.post(detail_url(channel), {"test": "1"})
    assert queued.status_code == 302
    delivery = Delivery.objects.get()
    assert (delivery.event, delivery.status, len(receiver.requests)) == (
        "test",
        "pending",
        0,
    )  # not in the request
    page = client.get(detail_url(channel)).content.decode()
    assert 'hx-trigger="every 2s"' in page and "waiting" in page

    async_to_sync(sender.run_once)("page-sender")
    (request,) = receiver.wait_for(1)
    expected = "sha256=" + hmac.new(secret.encode(), request.body, hashlib.sha256).hexdigest()
    assert request.headers["X-Nexus-Dashboard-Signature"] == expected
    assert request.json["event"] == "test"
    fragment = client.get(detail_url(channel) + "?part=deliveries", headers={"HX-Request": "true"})
    html = fragment.content.decode()
    assert html.lstrip().startswith('<div id="deliveries"') and "every 2s" not in html
    assert ">sent<" in html and "<td>200</td>" in html
    assert AuditEntry.objects.filter(action="channel.test", result="done").count() == 1


@pytest.mark.parametrize(
    ("url", "sentence"),
    [
        ("gopher://example.com/", "Use an http:// or https:// address."),
        ("http://127.0.0.1:7/hook", "resolves to an internal address (127.0.0.1)"),
        ("http://169.254.169.254/latest/", "resolves to an internal address (169.254.169.254)"),
        ("http://localhost:7/hook", "resolves to an internal address"),
        ("http://no-such-host.invalid/hook", "could not be resolved"),
    ],
)
def test_it_refuses_internal_destinations_with_a_sentence(client, cast, settings, url, sentence):
    settings.CHANNELS_ALLOW_PRIVATE = False
    response = as_user(client, cast.admin).post(channels_url(cast), form(url))
    assert response.status_code == 400
    assert sentence in response.content.decode()
    assert not Channel.objects.exists()


def test_the_dashboard_itself_is_refused_even_where_loopback_is_allowed(client, cast, settings):
    settings.PUBLIC_URL = "http://127.0.0.1:8000"
    response = as_user(client, cast.admin).post(channels_url(cast), form("http://127.0.0.1:8000/teams/"))
    assert response.status_code == 400
    assert "That address is this dashboard itself" in response.content.decode()


def test_a_paused_channel_is_resumed_and_deleted_after_confirming(client, cast):
    as_user(client, cast.admin).post(channels_url(cast), form("http://127.0.0.1:9/hook"))
    channel = Channel.objects.get()
    Channel.objects.filter(pk=channel.pk).update(
        paused_reason="Paused after 5 deliveries in a row failed (the last: The receiver answered 500.)",
        paused_at="2026-01-01T00:00:00Z",
        failures_in_row=5,
    )
    page = client.get(detail_url(channel)).content.decode()
    assert "Paused after 5 deliveries in a row failed" in page and 'name="resume"' in page
    assert client.post(detail_url(channel), {"resume": "1"}).status_code == 302
    channel.refresh_from_db()
    assert not channel.is_paused and channel.failures_in_row == 0

    asked = client.post(detail_url(channel), {"delete": "1"})
    assert asked.status_code == 302 and "confirm=delete" in asked.url
    assert Channel.objects.exists()
    gone = client.post(detail_url(channel), {"delete": "1", "confirmed": "1"})
    assert gone.status_code == 302 and gone.url == channels_url(cast)
    assert not Channel.objects.exists()
    # Signing in (force_login) is a row of its own: the channel's actions are the rest.
    channel_rows = AuditEntry.objects.exclude(action__startswith="signin.").order_by("pk")
    assert list(channel_rows.values_list("action", flat=True)) == [
        "channel.create",
        "channel.update",
        "channel.delete",
    ]
