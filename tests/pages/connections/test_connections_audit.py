"""The audit log of sign-ins and connections, the user's own log at /settings/audit/, and sign-in
throttling (django-axes: per username and address together)."""

import csv
import io
from collections import Counter
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from axes.models import AccessAttempt
from django.test import AsyncClient, Client
from django.urls import reverse

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.audit import AuditEntry, record
from tests.support.helpers import PASSWORD, dashboard_user, new_nexical_user, new_nexustoken_account

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"
CONNECTIONS = "/settings/connections/"
MY_LOG = "/settings/audit/"
ATTACKER, OFFICE = "203.0.113.66", "198.51.100.10"


def rows(**filters) -> list[tuple[str, str]]:
    return [(row.action, row.result) for row in AuditEntry.objects.filter(**filters).order_by("id")]


def sign_in(username: str, password: str, address: str):
    # A fresh client per attempt, as a script would: nothing but the address ties them together.
    return Client(REMOTE_ADDR=address).post(LOGIN, {"username": username, "password": password})


# --- connections -----------------------------------------------------------------------------------


@pytest.fixture
def person(client):
    user = dashboard_user()
    client.force_login(user)
    AuditEntry.objects.all().delete()  # signing in is a row of its own
    return user


def test_connecting_nexical_writes_one_row_and_a_refused_token_writes_refused(client, sandbox, person):
    upstream = new_nexical_user(sandbox)
    client.post(CONNECTIONS, {"nexical-token": "nx_not_a_real_token_000000", "nexical_save": ""})
    client.post(CONNECTIONS, {"nexical-token": upstream["token"], "nexical_save": ""})
    assert rows() == [("connection.connect", "refused"), ("connection.connect", "done")]
    done = AuditEntry.objects.get(result="done")
    assert done.detail == {"service": "nexical", "how": "token", "account": upstream["user"]["email"]}
    # The row says who the user now is upstream; the token itself is nowhere in it.
    assert done.nexical_user_id == upstream["user"]["id"]
    assert upstream["token"] not in str(AuditEntry.objects.values().get(pk=done.pk))


def test_rotating_and_forgetting_nexustoken_write_one_row_each(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    save_connection(person, Service.NEXUSTOKEN, secret=account["api_key"], account_id=account["account_id"])
    assert client.post(CONNECTIONS, {"nexustoken_rotate": "", "confirmed": "1"}).status_code == 200
    assert rows() == [("connection.rotate", "done")]
    client.post(CONNECTIONS, {"nexustoken_remove": ""})
    assert rows() == [("connection.rotate", "done"), ("connection.forget", "done")]
    forgot = AuditEntry.objects.get(action="connection.forget")
    assert forgot.nexustoken_account_id == account["account_id"]  # who it was, before forgetting
    assert not Connection.objects.filter(user=person).exists()


def test_a_failed_rotation_is_recorded_as_failed(client, sandbox, person):
    account = new_nexustoken_account(sandbox)
    save_connection(person, Service.NEXUSTOKEN, secret=account["api_key"], account_id=account["account_id"])
    sandbox.set_knobs(scope="nexustoken", error_rate=1.0)
    client.post(CONNECTIONS, {"nexustoken_rotate": "", "confirmed": "1"})
    assert rows() == [("connection.rotate", "failed")]


# --- the user's own log ------------------------------------------------------------------------------


def test_my_log_shows_my_actions_of_every_team_and_none_of_anyone_elses(client, person):
    other = dashboard_user()
    record(None, "token.create", user=person, target="my-token")
    record(None, "team.rename", user=person, team_id=12, target="my-team")
    record(None, "team.rename", user=other, team_id=12, target="their-team")
    record(None, "signin.failed", user=None, username=person.username, target="tried-my-name")
    record(None, "signin.failed", user=None, username=other.username, target="tried-their-name")
    page = client.get(MY_LOG).content.decode()
    for mine in ("my-token", "my-team", "tried-my-name"):
        assert mine in page
    for theirs in ("their-team", "tried-their-name"):
        assert theirs not in page
    filtered = client.get(MY_LOG + "?action=team.rename").content.decode()
    assert "my-team" in filtered and "my-token" not in filtered


def test_my_log_needs_sign_in_and_is_linked_from_the_settings_menu(client, person):
    assert f'href="{MY_LOG}"' in client.get(CONNECTIONS).content.decode()
    assert Client().get(MY_LOG)["Location"].startswith(reverse("login"))


def test_my_log_exports_a_streamed_csv(client, person):
    record(None, "token.create", user=person, target="ci")

    async def download() -> list[list[str]]:
        browser = AsyncClient()
        await browser.aforce_login(person)
        response = await browser.get(MY_LOG + "?format=csv")
        assert response.streaming and response.is_async
        body = "".join([chunk.decode() async for chunk in response.streaming_content])
        return list(csv.reader(io.StringIO(body)))

    header, *lines = async_to_sync(download)()
    assert header[5:7] == ["action", "result"]
    # force_login above is a sign-in too: the newest row comes first.
    assert [(line[5], line[9]) for line in lines] == [("signin.success", ""), ("token.create", "ci")]


# --- sign-in and throttling ---------------------------------------------------------------------------


def test_sign_ins_are_recorded_with_their_address():
    user = dashboard_user()
    assert sign_in(user.username, "wrong", OFFICE).status_code == 200
    assert sign_in(user.username, PASSWORD, OFFICE).status_code == 302
    assert rows() == [("signin.failed", "refused"), ("signin.success", "done")]
    failed, success = AuditEntry.objects.order_by("id")
    assert (failed.user, failed.username, failed.ip) == (None, user.username, OFFICE)
    assert (success.user, success.ip) == (user, OFFICE)
    assert "wrong" not in str(failed.detail) and not failed.detail


def test_throttling_locks_the_attacker_out_but_not_the_victim_elsewhere_nor_others_at_the_address(settings):
    victim, colleague = dashboard_user(), dashboard_user()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert sign_in(victim.username, "guess", ATTACKER).status_code == 200
    locked = sign_in(victim.username, "guess", ATTACKER)
    assert locked.status_code == 429
    page = locked.content.decode()
    assert "Too many failed sign-ins for this username from your address. Try again after" in page
    assert "(in about 15 minutes)" in page
    assert 'name="password"' in page  # the form is still there: the page works without JavaScript
    # Locked: even the right password is not checked from that address.
    assert sign_in(victim.username, PASSWORD, ATTACKER).status_code == 429
    # The victim from another address, and a colleague from the attacker's address, still sign in.
    assert sign_in(victim.username, PASSWORD, OFFICE).status_code == 302
    assert sign_in(colleague.username, PASSWORD, ATTACKER).status_code == 302

    limit = settings.AXES_FAILURE_LIMIT
    # One row per wrong password, one when the lock starts, one per attempt refused during it.
    assert Counter(rows(username=victim.username, ip=ATTACKER)) == {
        ("signin.failed", "refused"): limit,
        ("signin.locked", "refused"): 2,
    }
    assert rows(user=colleague) == [("signin.success", "done")]


def test_the_lock_ends_after_the_cool_off(settings):
    victim = dashboard_user()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        sign_in(victim.username, "guess", ATTACKER)
    assert sign_in(victim.username, PASSWORD, ATTACKER).status_code == 429
    # The cool-off passes: the failures are older than AXES_COOLOFF_TIME.
    AccessAttempt.objects.update(
        attempt_time=AccessAttempt.objects.get().attempt_time - timedelta(minutes=16)
    )
    assert sign_in(victim.username, PASSWORD, ATTACKER).status_code == 302


def test_an_address_in_x_forwarded_for_counts_only_behind_a_trusted_proxy(settings):
    # Without a trusted proxy, a made-up header per attempt does not escape the lock.
    victim = dashboard_user()
    for n in range(settings.AXES_FAILURE_LIMIT):
        Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}").post(
            LOGIN, {"username": victim.username, "password": "guess"}
        )
    response = Client(REMOTE_ADDR=ATTACKER, HTTP_X_FORWARDED_FOR="10.0.0.99").post(
        LOGIN, {"username": victim.username, "password": PASSWORD}
    )
    assert response.status_code == 429
