"""Stored upstream secrets never reach the database in clear, the logs, or a rendered page."""

import logging

import pytest
from django.db import connection as db

from dashboard.accounts.models import Connection, Service
from tests.support.helpers import dashboard_user, new_nexical_user, new_nexustoken_account, unique

pytestmark = pytest.mark.django_db

URL = "/settings/connections/"


@pytest.fixture
def everything_logged(caplog):
    caplog.set_level(logging.DEBUG)
    # The HTTP client libraries are quiet by default; open them up too.
    for name in ("httpx", "httpcore", "dashboard", "django"):
        caplog.set_level(logging.DEBUG, logger=name)
    return caplog


def raw_rows() -> str:
    with db.cursor() as cursor:
        cursor.execute("SELECT * FROM accounts_connection")
        return repr(cursor.fetchall())


def connect_everything(client, sandbox, settings) -> list[str]:
    """Drive every connection flow, failures included; return every secret that went through."""
    user = dashboard_user()
    client.force_login(user)
    nexical_user = new_nexical_user(sandbox)
    account = new_nexustoken_account(sandbox)
    secrets = [nexical_user["token"], account["api_key"], account["webhook_secret"]]

    # Failures first: a rejected token, an upstream error, a malformed answer.
    client.post(URL, {"nexical-token": nexical_user["token"] + "x", "nexical_save": ""})
    settings.UPSTREAM_GET_RETRIES = 0
    sandbox.set_knobs(error_rate=1.0)
    client.post(URL, {"nexical-token": nexical_user["token"], "nexical_save": ""})
    client.post(URL, {"ntkey-api_key": account["api_key"], "nexustoken_save": ""})
    sandbox.set_knobs(error_rate=0.0, malformed=2)
    client.post(URL, {"nexical-token": nexical_user["token"], "nexical_save": ""})
    client.post(URL, {"ntkey-api_key": account["api_key"], "nexustoken_save": ""})
    sandbox.reset_knobs()

    # Then the real thing, through the forms.
    client.post(URL, {"nexical-token": nexical_user["token"], "nexical_save": ""})
    client.post(URL, {"ntkey-api_key": account["api_key"], "nexustoken_save": ""})
    client.post(URL, {"webhook-webhook_secret": account["webhook_secret"], "nexustoken_webhook_save": ""})
    rotated = client.post(URL, {"nexustoken_rotate": "", "confirmed": "1"})
    connection = Connection.objects.get(user=user, service=Service.NEXUSTOKEN)
    assert connection.secret in rotated.content.decode()  # shown once, in that response only
    secrets.append(connection.secret)
    client.post(URL, {"nexustoken_webhook_rotate": ""})
    secrets.append(Connection.objects.get(user=user, service=Service.NEXUSTOKEN).webhook_secret)

    other = dashboard_user()
    client.force_login(other)
    registered = client.post(URL, {"register-email": f"{unique('s')}@example.com", "nexustoken_register": ""})
    connection = Connection.objects.get(user=other, service=Service.NEXUSTOKEN)
    assert connection.secret in registered.content.decode()
    secrets += [connection.secret, connection.webhook_secret]
    client.force_login(user)
    return [secret for secret in secrets if secret]


def test_secrets_stay_out_of_the_database_the_logs_and_the_pages(
    client, sandbox, settings, everything_logged
):
    secrets = connect_everything(client, sandbox, settings)

    # The database holds ciphertext only.
    assert Connection.objects.count() == 3
    rows = raw_rows()
    for secret in secrets:
        assert secret not in rows
        assert secret[8:24] not in rows  # not even a slice beyond the shown prefix

    # No log line, at any level, carries a secret (the failures were logged, though).
    logged = "\n".join(
        [record.getMessage() for record in everything_logged.records]
        + [repr(record.args) for record in everything_logged.records]
        + [everything_logged.text]
    )
    assert "Nexical" in logged
    for secret in secrets:
        assert secret not in logged

    # No page renders a stored secret back, the admin included.
    user = Connection.objects.filter(service=Service.NEXICAL).get().user
    user.is_staff = user.is_superuser = True
    user.save()
    pages = ["/", URL, URL + "?confirm=nexical_remove", URL + "?confirm=nexustoken_remove"]
    pages += [URL + "?confirm=nexustoken_rotate"]
    pages += ["/admin/accounts/connection/"]
    pages += [
        f"/admin/accounts/connection/{pk}/change/" for pk in Connection.objects.values_list("pk", flat=True)
    ]
    for path in pages:
        response = client.get(path)
        assert response.status_code == 200, path
        page = response.content.decode()
        for secret in secrets:
            assert secret not in page, path

    # A form that failed re-renders without the value that was pasted.
    rejected = client.post(URL, {"ntkey-api_key": "0" * 64, "nexustoken_save": ""}).content.decode()
    assert "NexusToken rejected this API key." in rejected
    assert "0" * 64 not in rejected


class Boom(Exception):
    """An unexpected bug after the secret was read: what DEBUG's error page is for."""


def _explode(*args, **kwargs):
    raise Boom("unexpected")


@pytest.fixture
def debug_errors(client, settings):
    """DEBUG on and the test client returning the 500 page instead of raising."""
    settings.DEBUG = True
    client.raise_request_exception = False
    return client


@pytest.mark.parametrize(
    ("card", "field", "action"),
    [
        ("nexical_card", "nexical-token", "nexical_save"),
        ("nexustoken_card", "ntkey-api_key", "nexustoken_save"),
        ("nexustoken_card", "webhook-webhook_secret", "nexustoken_webhook_save"),
    ],
)
def test_debugs_error_page_never_shows_a_pasted_secret(
    debug_errors, sandbox, monkeypatch, card, field, action
):
    from dashboard.connections.views import nexical_card, nexustoken_card

    module = {"nexical_card": nexical_card, "nexustoken_card": nexustoken_card}[card]
    monkeypatch.setattr(module, "finish", _explode)
    user = dashboard_user()
    debug_errors.force_login(user)
    account = new_nexustoken_account(sandbox)
    secret = {
        "nexical-token": new_nexical_user(sandbox)["token"],
        "ntkey-api_key": account["api_key"],
        "webhook-webhook_secret": account["webhook_secret"],
    }[field]
    if action == "nexustoken_webhook_save":
        debug_errors.post(URL, {"ntkey-api_key": account["api_key"], "nexustoken_save": ""})

    response = debug_errors.post(URL, {field: secret, action: ""})

    assert response.status_code == 500
    page = response.content.decode()
    assert "Boom" in page  # it is DEBUG's technical page, with POST data and frame locals
    assert field in page
    assert secret not in page
    assert secret[:12] not in page


def test_a_new_key_is_never_cached(client, sandbox):
    client.force_login(dashboard_user())

    response = client.post(URL, {"register-email": f"{unique('c')}@example.com", "nexustoken_register": ""})

    assert response.status_code == 200
    assert "nexustoken-new-key" in response.content.decode()
    assert "no-store" in response["Cache-Control"]
