"""Settings > Connections, NexusToken card: paste, register, recover, rotate, webhook secret, remove."""

import re

import httpx
import pytest
from asgiref.sync import async_to_sync

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.services import nexustoken
from dashboard.services.errors import AuthError
from dashboard.services.nexustoken import NexusTokenAPI
from tests.support.helpers import dashboard_user, new_nexustoken_account, unique

pytestmark = pytest.mark.django_db

URL = "/settings/connections/"


@pytest.fixture
def person(client):
    user = dashboard_user()
    client.force_login(user)
    return user


def connect(user, account: dict) -> Connection:
    return save_connection(
        user,
        Service.NEXUSTOKEN,
        secret=account["api_key"],
        webhook_secret=account.get("webhook_secret") or "",
        account_id=account["account_id"],
        account_label=account["email"],
    )


def shown_key(page: str) -> str:
    match = re.search(r'<code id="nexustoken-new-key">([0-9a-f]{64})</code>', page)
    assert match, "the new key is shown once"
    return match.group(1)


def key_works(api_key: str) -> bool:
    try:
        async_to_sync(nexustoken.credits_balance)(NexusTokenAPI(api_key=api_key))
    except AuthError:
        return False
    return True


def recovery_code(sandbox, email: str) -> str:
    response = httpx.get(
        f"{sandbox.url}/_sandbox/nexustoken/recover-codes",
        params={"email": email},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()["code"]


def test_it_stores_a_pasted_key_and_shows_the_balance(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    response = client.post(
        URL, {"ntkey-api_key": account["api_key"].upper(), "nexustoken_save": ""}, follow=True
    )
    page = response.content.decode()
    assert "NexusToken connected." in page
    connection = Connection.objects.get(user=person, service=Service.NEXUSTOKEN)
    assert connection.secret == account["api_key"]
    assert connection.account_id == account["account_id"]
    assert "credits available" in page
    assert account["email"] in page
    assert f"{account['api_key'][:8]}…" in page
    assert account["api_key"] not in page


@pytest.mark.parametrize(
    ("key", "sentence"),
    [
        ("", "Paste your API key."),
        ("f" * 600, "This API key is too long (at most 512 characters)."),
        ("abcd " * 13, "The API key cannot contain spaces or line breaks."),
        ("0123456789abcdef", "A NexusToken API key is exactly 64 hexadecimal characters"),
        ("g" * 64, "A NexusToken API key is exactly 64 hexadecimal characters"),
        ("nx_abcdefabcdefabcdef", "This looks like a Nexical token."),
    ],
)
def test_it_rejects_bad_keys_next_to_the_field(client, sandbox, person, key, sentence):
    response = client.post(URL, {"ntkey-api_key": key, "nexustoken_save": ""})
    page = response.content.decode()
    assert re.search(r'id="id_ntkey-api_key_error"><li>[^<]*' + re.escape(sentence), page)
    assert not Connection.objects.exists()


def test_it_says_when_nexustoken_rejects_the_key(client, sandbox, person):
    response = client.post(URL, {"ntkey-api_key": "0" * 64, "nexustoken_save": ""})
    assert b"NexusToken rejected this API key." in response.content
    assert not Connection.objects.exists()


def test_it_registers_an_account_and_shows_the_key_once(client, sandbox, person):
    email = f"{unique('new')}@example.com"
    response = client.post(URL, {"register-email": email, "nexustoken_register": ""})
    assert response.status_code == 200
    page = response.content.decode()
    assert "Your NexusToken account is ready." in page
    key = shown_key(page)
    connection = Connection.objects.get(user=person, service=Service.NEXUSTOKEN)
    assert connection.secret == key
    assert connection.webhook_secret
    assert connection.account_label == email
    assert key_works(key)
    # Once: the next visit shows the prefix only.
    again = client.get(URL).content.decode()
    assert key not in again
    assert f"{key[:8]}…" in again


def test_it_puts_registration_refusals_next_to_the_email(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    response = client.post(URL, {"register-email": account["email"], "nexustoken_register": ""})
    assert re.search(r'id="id_register-email_error"><li>[^<]+', response.content.decode())
    assert not Connection.objects.exists()

    response = client.post(URL, {"register-email": "not-an-email", "nexustoken_register": ""})
    assert b"Enter a valid email address." in response.content


def test_it_recovers_a_lost_key(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    response = client.post(URL, {"recover-email": account["email"], "nexustoken_recover": ""})
    assert b"a recovery code is on its way" in response.content
    assert b'name="recovercode-code"' in response.content

    wrong = client.post(URL, {"recovercode-code": "000000x", "nexustoken_recover_verify": ""})
    assert b"NexusToken did not accept this code." in wrong.content

    code = recovery_code(sandbox, account["email"])
    response = client.post(URL, {"recovercode-code": code, "nexustoken_recover_verify": ""})
    key = shown_key(response.content.decode())
    assert Connection.objects.get(user=person).secret == key
    assert key_works(key)
    assert not key_works(account["api_key"])
    assert b'name="recovercode-code"' not in client.get(URL).content


def test_it_cancels_a_recovery(client, sandbox, person):
    client.post(URL, {"recover-email": "someone@example.com", "nexustoken_recover": ""})
    response = client.post(URL, {"nexustoken_recover_cancel": ""}, follow=True)
    assert b"Key recovery cancelled." in response.content
    assert b'name="recovercode-code"' not in response.content


def test_it_rotates_the_key(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    connect(person, account)
    response = client.post(URL, {"nexustoken_rotate": "", "confirmed": "1"})
    key = shown_key(response.content.decode())
    assert key != account["api_key"]
    connection = Connection.objects.get(user=person)
    assert connection.secret == key
    assert connection.webhook_secret == account["webhook_secret"]
    assert key_works(key)
    assert not key_works(account["api_key"])


ROTATE_DIALOG = re.compile(r'<dialog id="nexustoken_rotate-dialog" open')


def test_it_asks_before_rotating_the_key_without_javascript(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    connect(person, account)
    page = client.get(URL).content.decode()
    assert 'href="?confirm=nexustoken_rotate"' in page
    assert not ROTATE_DIALOG.search(page)

    asked = client.get(URL + "?confirm=nexustoken_rotate").content.decode()
    assert ROTATE_DIALOG.search(asked)
    assert "Rotate your NexusToken API key?" in asked
    assert 'name="confirmed"' in asked
    assert Connection.objects.get(user=person).secret == account["api_key"]


@pytest.mark.parametrize("htmx", [False, True])
def test_it_does_not_rotate_on_one_click(client, sandbox, person, htmx):
    """A stale page's one-click button (or a crafted form) gets the question, not a new key."""
    account = new_nexustoken_account(sandbox)
    connect(person, account)
    headers = {"HX-Request": "true"} if htmx else {}
    response = client.post(URL, {"nexustoken_rotate": ""}, headers=headers)
    assert response.status_code == 200
    page = response.content.decode()
    assert ROTATE_DIALOG.search(page)
    assert "nexustoken-new-key" not in page
    assert Connection.objects.get(user=person).secret == account["api_key"]
    assert key_works(account["api_key"])


def test_it_does_not_rotate_for_someone_without_a_connection(client, sandbox, person):
    response = client.post(URL, {"nexustoken_rotate": "", "confirmed": "1"})
    assert response.status_code == 200
    assert b"Connect NexusToken first." in response.content
    assert not Connection.objects.exists()


def test_it_stores_a_pasted_webhook_secret(client, sandbox, person):
    connect(person, new_nexustoken_account(sandbox))
    response = client.post(
        URL, {"webhook-webhook_secret": "whsec_pasted_by_hand_0001", "nexustoken_webhook_save": ""}
    )
    assert response.status_code == 302
    assert Connection.objects.get(user=person).webhook_secret == "whsec_pasted_by_hand_0001"

    short = client.post(URL, {"webhook-webhook_secret": "short", "nexustoken_webhook_save": ""})
    assert b"That is too short for a webhook secret" in short.content


def test_it_rotates_the_webhook_secret(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    connect(person, account)
    response = client.post(URL, {"nexustoken_webhook_rotate": ""}, follow=True)
    assert b"Webhook secret rotated" in response.content
    stored = Connection.objects.get(user=person).webhook_secret
    assert stored
    assert stored != account["webhook_secret"]
    assert stored not in response.content.decode()


def test_it_removes_the_connection(client, sandbox, person):
    connect(person, new_nexustoken_account(sandbox))
    response = client.post(URL, {"nexustoken_remove": ""}, follow=True)
    assert b"NexusToken disconnected." in response.content
    assert not Connection.objects.filter(user=person).exists()


def test_it_marks_a_rejected_key_and_offers_to_reconnect(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    connect(person, account)
    # The key is rotated behind the dashboard's back: the stored one is now rejected.
    async_to_sync(nexustoken.key_rotate)(NexusTokenAPI(api_key=account["api_key"]))

    page = client.get(URL).content.decode()
    assert Connection.objects.get(user=person).needs_attention
    assert "Reconnect NexusToken" in page
    assert 'class="banner banner-warning"' in page
    assert "NexusToken rejected your API key." in page


def test_it_stores_over_long_upstream_values_cut_to_their_columns(sandbox):
    """What an upstream calls an account id or a label has no fixed length; the columns do."""
    user = dashboard_user()
    connection = save_connection(
        user,
        Service.NEXUSTOKEN,
        secret="a" * 64,
        account_id="x" * 100,
        account_label="y" * 300,
        account_role="z" * 30,
    )
    connection.refresh_from_db()
    assert (len(connection.account_id), len(connection.account_label), len(connection.account_role)) == (
        64,
        200,
        20,
    )


def test_it_registers_with_an_email_longer_than_the_label_column(client, sandbox, person):
    email = f"{'a' * 60}.{unique('r')}@{'b' * 60}.{'c' * 60}.{'d' * 40}.example.com"
    assert len(email) > 200

    response = client.post(URL, {"register-email": email, "nexustoken_register": ""})

    assert response.status_code == 200
    connection = Connection.objects.get(user=person, service=Service.NEXUSTOKEN)
    assert connection.account_label == email[:199] + "…"
    assert shown_key(response.content.decode()) == connection.secret


@pytest.mark.parametrize(
    ("pasted", "sentence"),
    [
        ("nx_" + "a" * 40, "This looks like a Nexical token, not a webhook secret."),
        ("nxs_" + "b" * 40, "This looks like a Nexical token, not a webhook secret."),
        ("ab" * 32, "This looks like your NexusToken API key, not the webhook secret."),
    ],
)
def test_it_refuses_another_credential_as_the_webhook_secret(client, sandbox, person, pasted, sentence):
    account = new_nexustoken_account(sandbox)
    connect(person, account)

    response = client.post(URL, {"webhook-webhook_secret": pasted, "nexustoken_webhook_save": ""})

    assert response.status_code == 200
    assert sentence in response.content.decode()
    assert pasted not in response.content.decode()
    assert Connection.objects.get(user=person).webhook_secret == account["webhook_secret"]
