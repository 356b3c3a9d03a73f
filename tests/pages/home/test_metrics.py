"""/metrics, the operators' Prometheus page: there only when METRICS_TOKEN is set, for its bearer only,
with the figures of every app (upstream requests, live streams, webhook deliveries, the poller)."""

import re

import pytest
from django.test import Client, override_settings
from django.urls import reverse

from dashboard.core import tracker
from dashboard.nexustoken.models import WebhookEndpoint
from tests.support.orchestrator_cast import as_user
from tests.support.tasks_cast import Person, delivery, settle, signed

pytestmark = pytest.mark.django_db

TOKEN = "metrics-token-for-the-tests-0123456789"


def scrape(token: str | None = TOKEN, **headers):
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return Client().get(reverse("home:metrics"), headers=headers)


def sample(text: str, name: str, **labels: str) -> float | None:
    """The value of one sample of the exposition, None when it is not there."""
    wanted = ",".join(f'{key}="{value}"' for key, value in labels.items())
    pattern = rf"^{re.escape(name)}{re.escape('{' + wanted + '}') if wanted else ''} (\S+)$"
    found = re.search(pattern, text, re.MULTILINE)
    return float(found[1]) if found else None


def test_it_is_not_there_without_the_setting():
    with override_settings(METRICS_TOKEN=""):
        assert scrape().status_code == 404
        assert scrape(None).status_code == 404


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_asks_for_the_token_and_refuses_a_wrong_one():
    missing = scrape(None)
    assert missing.status_code == 401
    assert missing["WWW-Authenticate"].startswith("Bearer")
    assert scrape("not-the-token").status_code == 403
    assert scrape(TOKEN + "x").status_code == 403
    assert scrape(None, Authorization=TOKEN).status_code == 401  # the scheme is part of it
    assert TOKEN not in scrape("not-the-token").content.decode()


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_counts_the_upstream_requests_of_a_page_view(client, cast):
    before = scrape().content.decode()
    as_user(client, cast.owner)
    assert client.get(reverse("orchestrator:team_list")).status_code == 200

    response = scrape()
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/plain")
    text = response.content.decode()
    ok = {"service": "nexical", "status": "200"}
    counted = sample(text, "dashboard_upstream_requests_total", **ok)
    assert counted is not None
    assert counted > (sample(before, "dashboard_upstream_requests_total", **ok) or 0)
    for name in ("dashboard_live_streams_open", "dashboard_poller_lag_seconds", "dashboard_pollers_active"):
        assert sample(text, name) is not None, name


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_reports_the_pollers_lag_and_pass_time():
    assert sample(scrape().content.decode(), "dashboard_pollers_active") == 0
    tracker.beat("metrics-test-poller", 0.25)
    text = scrape().content.decode()
    assert sample(text, "dashboard_poller_pass_seconds") == 0.25
    assert sample(text, "dashboard_pollers_active") == 1
    lag = sample(text, "dashboard_poller_lag_seconds")
    assert lag is not None and 0 <= lag < 60


@override_settings(METRICS_TOKEN=TOKEN)
def test_it_counts_webhook_deliveries_by_outcome(client, sandbox):
    sandbox.set_knobs(deliver_webhooks=False)  # delivered by hand: no dashboard listens for the sandbox
    owner = Person(sandbox)
    task = owner.post_task(client)
    settle(sandbox, task.task_id)
    url = reverse(
        "nexustoken:task_webhook", args=[WebhookEndpoint.objects.get(connection=owner.connection).token]
    )
    body = delivery(task.task_id, "SETTLED")
    before = scrape().content.decode()

    for signature in (signed(body, owner.account["webhook_secret"]),) * 2 + ("sha256=0000",):
        Client().post(url, body, content_type="application/json", headers={"X-Nexus-Signature": signature})

    text = scrape().content.decode()
    for outcome in ("recorded", "duplicate", "bad_signature"):
        was = sample(before, "dashboard_webhook_deliveries_total", outcome=outcome) or 0
        assert sample(text, "dashboard_webhook_deliveries_total", outcome=outcome) == was + 1, outcome
