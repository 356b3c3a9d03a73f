"""Management commands: rotate_token_keys and demo_user."""

import json

import pytest
from cryptography.fernet import Fernet
from django.core.management import CommandError, call_command
from django.db import connection as db
from django.http import HttpRequest

from dashboard.accounts.connections import save_connection
from dashboard.accounts.crypto import UndecryptableSecret
from dashboard.accounts.models import Connection, Service
from tests.support.helpers import dashboard_user, new_nexical_user
from tests.support.sandbox_process import free_port

pytestmark = pytest.mark.django_db


def raw_ciphertexts(pk: int) -> tuple[str, str]:
    with db.cursor() as cursor:
        cursor.execute(
            "SELECT secret_encrypted, webhook_secret_encrypted FROM accounts_connection WHERE id = %s", [pk]
        )
        return cursor.fetchone()


def test_rotate_token_keys_moves_every_secret_to_the_new_key(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    connection = save_connection(
        dashboard_user(), Service.NEXUSTOKEN, secret="a" * 64, webhook_secret="whsec_rotation_test_1"
    )
    before = raw_ciphertexts(connection.pk)

    settings.TOKEN_ENCRYPTION_KEYS = [new_key, old_key]
    call_command("rotate_token_keys")
    after = raw_ciphertexts(connection.pk)
    assert after[0] != before[0]
    assert after[1] != before[1]

    # With the old key gone, everything still decrypts.
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    stored = Connection.objects.get(pk=connection.pk)
    assert stored.secret == "a" * 64
    assert stored.webhook_secret == "whsec_rotation_test_1"


def test_removing_a_key_before_rotating_is_detected(settings):
    old_key, new_key = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.TOKEN_ENCRYPTION_KEYS = [old_key]
    connection = save_connection(dashboard_user(), Service.NEXICAL, secret="nx_secret_value_1")
    settings.TOKEN_ENCRYPTION_KEYS = [new_key]
    with pytest.raises(UndecryptableSecret) as caught:
        _ = Connection.objects.get(pk=connection.pk).secret
    assert "nx_secret_value_1" not in str(caught.value)


def test_an_undecryptable_token_asks_the_user_to_reconnect(client, settings):
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    user = dashboard_user()
    save_connection(user, Service.NEXICAL, secret="nx_secret_value_2")
    settings.TOKEN_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    client.force_login(user)
    response = client.get("/settings/connections/")
    assert response.status_code == 200
    assert b"The stored token can no longer be read. Connect Nexical again." in response.content


def test_demo_user_connects_to_the_sandbox_demo_accounts(tmp_path, client, settings):
    # No sandbox here: the command still connects the demo user, only without the Nexical id.
    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    settings.UPSTREAM_GET_RETRIES = 0
    credentials = tmp_path / "demo.json"
    credentials.write_text(
        json.dumps(
            {
                "nexical": {
                    "users": [{"email": "ada@example.com", "token": "nx_demo_token_ada", "role": "system"}]
                },
                "nexustoken": {
                    "api_key": "b" * 64,
                    "webhook_secret": "whsec_demo_secret",
                    "account_id": "acc-1",
                    "email": "demo@nexustoken.test",
                },
            }
        )
    )
    call_command("demo_user", credentials=str(credentials))
    call_command("demo_user", credentials=str(credentials))  # idempotent

    assert client.login(request=HttpRequest(), username="demo", password="demo-password")
    connections = {c.service: c for c in Connection.objects.filter(user__username="demo")}
    assert connections[Service.NEXICAL].secret == "nx_demo_token_ada"
    assert connections[Service.NEXICAL].account_role == "system"
    assert connections[Service.NEXUSTOKEN].webhook_secret == "whsec_demo_secret"


def test_demo_user_explains_missing_credentials(tmp_path):
    with pytest.raises(CommandError, match="Cannot read the sandbox's demo credentials"):
        call_command("demo_user", credentials=str(tmp_path / "missing.json"))


def test_demo_user_asks_nexical_who_the_demo_token_belongs_to(tmp_path, sandbox):
    """The team page finds the user's own row by the Nexical account id: the demo user needs it too."""
    upstream = new_nexical_user(sandbox, role="system")
    credentials = tmp_path / "demo.json"
    credentials.write_text(
        json.dumps(
            {
                "nexical": {
                    "users": [{"email": "ada@example.com", "token": upstream["token"], "role": "user"}]
                },
                "nexustoken": {"api_key": "c" * 64, "account_id": "acc-2", "email": "demo@nexustoken.test"},
            }
        )
    )

    call_command("demo_user", credentials=str(credentials))

    connection = Connection.objects.get(user__username="demo", service=Service.NEXICAL)
    assert connection.account_id == str(upstream["user"]["id"])
    assert connection.account_label == upstream["user"]["email"]
    assert connection.account_role == "system"
