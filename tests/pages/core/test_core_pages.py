"""Layout, home, the reconnect banner, error pages and /healthz."""

from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.core.exceptions import PermissionDenied
from django.db import OperationalError
from django.test import RequestFactory
from django.utils import timezone

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.core import views
from dashboard.core.models import PollerHeartbeat
from dashboard.home import views as home_views
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI
from tests.support.helpers import connected_user, dashboard_user, new_nexical_user
from tests.support.sandbox_process import free_port

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_visitors_to_sign_in(client):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_it_shows_what_to_do_when_nothing_is_connected(client):
    client.force_login(dashboard_user())
    page = client.get("/").content.decode()
    assert "Connect Nexical to see your teams" in page
    assert "Connect NexusToken to post AI tasks" in page
    assert 'href="/settings/connections/#nexical"' in page


def test_it_renders_the_layout(client, sandbox):
    user, upstream = connected_user(sandbox)
    client.force_login(user)
    page = client.get("/").content.decode()
    assert f"Connected as <strong>{upstream['user']['email']}</strong>" in page
    assert user.username in page
    assert 'action="/accounts/logout/"' in page  # sign out is a POST form
    assert "/static/django_htmx/htmx-2" in page  # htmx served locally
    assert "<script>" not in page  # CSP: no inline scripts
    assert "style=" not in page  # CSP: no inline styles
    assert 'href="/tasks/"' in page and 'href="/credits/"' in page  # the NexusToken pages are in the nav
    assert 'class="banner' not in page


def test_it_shows_the_reconnect_banner_when_a_token_is_revoked(client, sandbox):
    upstream = new_nexical_user(sandbox)
    owner_api = NexicalAPI(token=upstream["token"])
    created = async_to_sync(nexical.token_create)(owner_api, name="dashboard")
    user = dashboard_user()
    save_connection(user, Service.NEXICAL, secret=created.token, account_label=upstream["user"]["email"])
    client.force_login(user)
    assert 'class="banner' not in client.get("/").content.decode()

    async_to_sync(nexical.token_revoke)(owner_api, token_id=created.id)
    page = client.get("/settings/connections/").content.decode()
    assert "Nexical rejected your token. Reconnect it in Settings &gt; Connections." in page
    assert "Reconnect Nexical" in page
    assert Connection.objects.get(user=user).needs_attention

    # Every page shows the banner from now on, until the user reconnects.
    home = client.get("/").content.decode()
    assert 'class="banner banner-warning"' in home
    assert "Nexical Orchestrator</strong> rejected your stored credentials" in home
    client.post("/settings/connections/", {"nexical-token": upstream["token"], "nexical_save": ""})
    assert 'class="banner' not in client.get("/").content.decode()


def test_it_shows_a_friendly_404(client):
    client.force_login(dashboard_user())
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert b"This page doesn't exist" in response.content


def test_it_shows_why_something_is_forbidden(client):
    request = RequestFactory().get("/")
    request.user = dashboard_user()
    response = views.permission_denied(request, PermissionDenied("You need the admin role for that."))
    assert response.status_code == 403
    assert b"You need the admin role for that." in response.content


def test_it_shows_a_500_page_without_touching_the_database(django_assert_num_queries):
    with django_assert_num_queries(0):
        response = views.server_error(RequestFactory().get("/"))
    assert response.status_code == 500
    assert b"Something went wrong on our side" in response.content


def test_healthz_reports_everything_up(client, sandbox):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "ok",
        "upstreams": {"nexical": "reachable", "nexustoken": "reachable"},
        "poller": None,  # no poller has completed a pass in this test database
    }


def test_it_reports_in_healthz_how_long_ago_the_poller_completed_a_pass(client, sandbox):
    PollerHeartbeat.objects.create(name="a", last_pass_at=timezone.now() - timedelta(seconds=42), passes=7)
    PollerHeartbeat.objects.create(name="b", last_pass_at=timezone.now() - timedelta(seconds=300), passes=1)
    age = client.get("/healthz").json()["poller"]
    assert 42 <= age < 50  # the newest pass of any poller counts


def test_healthz_degrades_when_upstreams_are_down(client, settings):
    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    settings.NEXUSTOKEN_API_URL = f"http://127.0.0.1:{free_port()}/nexustoken"
    settings.UPSTREAM_GET_RETRIES = 0
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["upstreams"] == {"nexical": "unreachable", "nexustoken": "unreachable"}


def test_healthz_treats_an_upstream_500_as_unreachable(client, sandbox, settings):
    settings.UPSTREAM_GET_RETRIES = 0
    sandbox.set_knobs(error_rate=1.0)
    body = client.get("/healthz").json()
    assert body["upstreams"] == {"nexical": "unreachable", "nexustoken": "unreachable"}


def test_healthz_fails_when_the_database_is_down(client, monkeypatch, settings):
    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    settings.NEXUSTOKEN_API_URL = f"http://127.0.0.1:{free_port()}/nexustoken"

    def broken() -> None:
        raise OperationalError("connection refused")

    monkeypatch.setattr(home_views, "_ping_database", broken)
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["database"] == "failed"
