"""Fault handling of the service layer: each error class, retries, and no token in any log line.

The faults come from the live sandbox's knobs (hang, error_rate, force_429, malformed). respx fakes
only what a faithful emulator never sends: a body that breaks the schema, a missing extension
endpoint, a Retry-After given as an HTTP date.
"""

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import httpx
import pytest
import respx
from asgiref.sync import async_to_sync

from dashboard.services import http, nexical, nexustoken
from dashboard.services.errors import (
    APIError,
    AuthError,
    ContractError,
    NetworkError,
    RateLimitError,
    UpstreamError,
)
from tests.services.test_services_nexical import create_nexical_user
from tests.support.credits_cast import SIGNUP_CREDITS
from tests.support.helpers import new_nexustoken_account
from tests.support.sandbox_process import free_port

# Seconds: long enough for any answer of a sandbox on a loaded machine, short next to its hangs.
SHORT_TIMEOUT = 1.5  # under the hang knob's 4 s, and well over a loaded machine's answer time


@pytest.fixture(autouse=True)
async def _close_clients():
    yield
    await http.aclose()


@pytest.fixture
def two_retries(settings):
    """A known number of GET retries, so the requests the sandbox counted can be checked."""
    settings.UPSTREAM_GET_RETRIES = 2
    return settings


@pytest.fixture
def user_api(sandbox) -> nexical.NexicalAPI:
    return nexical.NexicalAPI(create_nexical_user(sandbox)["token"])


def _count(sandbox, method: str, path: str) -> int:
    return sandbox.request_counts().get(f"{method} /nexical{path}", 0)


async def test_it_raises_network_error_on_timeout(sandbox, settings, user_api):
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 0
    sandbox.set_knobs(hang=1, hang_seconds=4)

    with pytest.raises(NetworkError) as caught:
        await nexical.users_me(user_api)

    assert caught.value.service == "Nexical"
    assert caught.value.user_message == (
        "The Nexical orchestrator is unreachable right now. Try again in a minute."
    )


async def test_it_retries_a_timed_out_get(sandbox, settings, user_api):
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 1
    sandbox.set_knobs(hang=1, hang_seconds=4)
    sandbox.reset_request_counts()

    user = await nexical.users_me(user_api)

    assert user.role == "user"
    assert _count(sandbox, "GET", "/users/me") == 2


async def test_it_never_retries_a_timed_out_write(sandbox, settings, user_api):
    """The upstream may have acted on a POST that timed out: sending it again could do it twice."""
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 2
    sandbox.set_knobs(hang=1, hang_seconds=4)
    sandbox.reset_request_counts()

    with pytest.raises(NetworkError):
        await nexical.team_create(user_api, name="Slow", slug="slow-write")

    assert _count(sandbox, "POST", "/teams") == 1


async def test_it_raises_network_error_when_the_connection_is_refused(settings):
    settings.UPSTREAM_GET_RETRIES = 1
    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    settings.NEXUSTOKEN_API_URL = f"http://127.0.0.1:{free_port()}/nexustoken"

    with pytest.raises(NetworkError):
        await nexical.team_list(nexical.NexicalAPI("nx_whatever"))
    with pytest.raises(NetworkError) as caught:
        await nexustoken.heartbeat()
    assert caught.value.user_message == "NexusToken is unreachable right now. Try again in a minute."


async def test_it_retries_a_failing_get_then_raises_api_error(sandbox, two_retries, user_api):
    sandbox.set_knobs(error_rate=1.0)
    sandbox.reset_request_counts()

    with pytest.raises(APIError) as caught:
        await nexical.team_list(user_api)

    assert caught.value.status == 500
    assert caught.value.code == "internal_error"
    assert caught.value.user_message == "Nexical is having problems (HTTP 500). Try again shortly."
    assert _count(sandbox, "GET", "/teams") == 3


async def test_it_never_retries_a_failing_write(sandbox, two_retries, user_api):
    sandbox.set_knobs(error_rate=1.0)
    sandbox.reset_request_counts()

    with pytest.raises(APIError) as caught:
        await nexical.team_create(user_api, name="Never twice", slug="never-twice")

    assert caught.value.status == 500
    assert _count(sandbox, "POST", "/teams") == 1


async def test_it_maps_nexustoken_server_errors(sandbox, two_retries):
    registration = await nexustoken.account_register(email="faults-500@example.com")
    api = nexustoken.NexusTokenAPI(registration.api_key)
    sandbox.set_knobs(error_rate=1.0, scope="nexustoken")
    sandbox.reset_request_counts()

    with pytest.raises(APIError) as caught:
        await nexustoken.credits_balance(api)

    assert caught.value.status == 500
    assert caught.value.user_message == "NexusToken is having problems (HTTP 500). Try again shortly."
    assert sandbox.request_counts()["GET /nexustoken/api/v1/credits/balance"] == 3


async def test_it_raises_rate_limit_error_with_retry_after(sandbox, user_api):
    sandbox.set_knobs(force_429=1, retry_after=30)

    with pytest.raises(RateLimitError) as caught:
        await nexical.team_list(user_api)

    assert caught.value.retry_after == 30
    assert caught.value.user_message == "Nexical is rate limiting requests. Try again in 30 seconds."


async def test_it_waits_out_a_short_rate_limit_once_for_a_get(sandbox, settings, user_api):
    settings.UPSTREAM_MAX_RETRY_AFTER = 2
    sandbox.set_knobs(force_429=1, retry_after=1)
    sandbox.reset_request_counts()

    teams = await nexical.team_list(user_api)

    assert teams == []
    assert _count(sandbox, "GET", "/teams") == 2


async def test_it_never_waits_out_a_rate_limit_on_a_write(sandbox, settings, user_api):
    settings.UPSTREAM_MAX_RETRY_AFTER = 2
    sandbox.set_knobs(force_429=1, retry_after=1)
    sandbox.reset_request_counts()

    with pytest.raises(RateLimitError) as caught:
        await nexical.team_create(user_api, name="Limited", slug="limited-write")

    assert caught.value.retry_after == 1
    assert _count(sandbox, "POST", "/teams") == 1


async def test_it_maps_nexustoken_rate_limits(sandbox):
    registration = await nexustoken.account_register(email="faults-429@example.com")
    sandbox.set_knobs(force_429=1, retry_after=45)

    with pytest.raises(RateLimitError) as caught:
        await nexustoken.reputation(nexustoken.NexusTokenAPI(registration.api_key))

    assert caught.value.service == "NexusToken"
    assert caught.value.retry_after == 45


async def test_it_raises_contract_error_on_a_body_that_is_not_json(sandbox, user_api):
    sandbox.set_knobs(malformed=1)
    sandbox.reset_request_counts()

    with pytest.raises(ContractError) as caught:
        await nexical.users_me(user_api)

    assert caught.value.user_message == "Nexical answered something unexpected. The problem has been logged."
    assert _count(sandbox, "GET", "/users/me") == 1


async def test_it_raises_contract_error_on_a_body_that_breaks_the_schema(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    team = {
        "id": "7",  # the seed's ids are numbers; a string must not slip through
        "name": "A",
        "slug": "a",
        "billingPlan": "free",
        "createdAt": "2025-12-13T01:46:30.123Z",
        "updatedAt": "2025-12-13T01:46:30.123Z",
    }
    with respx.mock:
        respx.get("http://nexical.test/teams").respond(json={"teams": [team]})
        with pytest.raises(ContractError) as caught:
            await nexical.team_list(nexical.NexicalAPI("nx_schema_test"))

    assert [error["loc"] for error in caught.value.details] == [(0, "id")]
    assert all("input" not in error for error in caught.value.details)


async def test_it_raises_contract_error_on_an_unknown_job_status(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    job = {
        "id": 1,
        "branchId": 2,
        "type": "deploy",
        "status": "cancelled",
        "queue": "public",
        "inputs": None,
        "outputs": None,
        "startedAt": None,
        "completedAt": None,
        "createdAt": "2025-12-13T01:46:30.123Z",
    }
    with respx.mock:
        respx.get("http://nexical.test/teams/1/projects/1/branches/2/jobs/1").respond(json={"job": job})
        with pytest.raises(ContractError) as caught:
            await nexical.job_get(
                nexical.NexicalAPI("nx_schema_test"), team_id=1, project_id=1, branch_id=2, job_id=1
            )

    assert caught.value.details[0]["loc"] == ("status",)


async def test_it_raises_auth_error_for_a_revoked_token(sandbox, user_api):
    created = await nexical.token_create(user_api, name="short-lived")
    await nexical.token_revoke(user_api, token_id=created.id)

    with pytest.raises(AuthError) as caught:
        await nexical.users_me(nexical.NexicalAPI(created.token))

    assert caught.value.status == 401
    assert caught.value.is_unauthenticated
    assert caught.value.user_message == "Nexical rejected your token. Reconnect it in Settings > Connections."
    assert created.token not in str(caught.value)


async def test_it_raises_auth_error_for_a_bad_nexustoken_key(sandbox):
    with pytest.raises(AuthError) as caught:
        await nexustoken.credits_balance(nexustoken.NexusTokenAPI("0" * 64))

    assert caught.value.status == 401
    assert caught.value.user_message == (
        "NexusToken rejected your API key. Reconnect it in Settings > Connections."
    )


async def test_it_explains_a_missing_write_scope(sandbox, user_api):
    read_only = await nexical.token_create(user_api, name="read only", scopes=["read"])

    with pytest.raises(AuthError) as caught:
        await nexical.team_create(nexical.NexicalAPI(read_only.token), name="No", slug="no-scope")

    assert caught.value.status == 403
    assert caught.value.code == "insufficient_scope"
    assert caught.value.user_message == "Your token lacks the write scope."


async def test_it_logs_failures_without_any_token(sandbox, settings, caplog, user_api):
    settings.UPSTREAM_GET_RETRIES = 1
    caplog.set_level(logging.DEBUG)
    for name in ("dashboard.services", "httpx", "httpcore"):
        caplog.set_level(logging.DEBUG, logger=name)
    registration = await nexustoken.account_register(email="faults-logs@example.com")
    nexus_api = nexustoken.NexusTokenAPI(registration.api_key)
    created = await nexical.token_create(user_api, name="logged")
    secrets = [user_api.token, created.token, registration.api_key]
    if registration.webhook_secret:
        secrets.append(registration.webhook_secret)
    errors: list[UpstreamError] = []

    sandbox.set_knobs(error_rate=1.0)
    for call in (nexical.users_me(user_api), nexustoken.credits_balance(nexus_api)):
        with pytest.raises(APIError) as caught:
            await call
        errors.append(caught.value)
    sandbox.set_knobs(error_rate=0.0, malformed=1)
    with pytest.raises(ContractError) as caught:
        await nexical.token_list(user_api)
    errors.append(caught.value)
    await nexical.token_revoke(user_api, token_id=created.id)
    with pytest.raises(AuthError) as caught:
        await nexical.team_list(nexical.NexicalAPI(created.token))
    errors.append(caught.value)

    assert "answered 500" in caplog.text
    assert "not JSON" in caplog.text
    for secret in secrets:
        assert secret not in caplog.text
        for error in errors:
            assert secret not in str(error)
            assert secret not in repr(error)
    assert created.token not in repr(created)
    assert registration.api_key not in repr(registration)
    assert user_api.token not in repr(user_api)


def test_it_opens_a_fresh_client_for_each_event_loop(sandbox):
    """async_to_sync runs each call in a new loop; a client bound to a dead loop must not be reused."""
    api = nexical.NexicalAPI(create_nexical_user(sandbox)["token"])

    first = async_to_sync(nexical.users_me)(api)
    second = async_to_sync(nexical.users_me)(api)

    assert first.id == second.id


async def test_it_reuses_one_client_within_a_loop(sandbox, user_api):
    await nexical.users_me(user_api)
    client = http._client(http.NEXICAL_UPSTREAM.base_url)
    await nexical.team_list(user_api)

    assert http._client(http.NEXICAL_UPSTREAM.base_url) is client
    assert isinstance(client, httpx.AsyncClient)


async def test_it_flags_a_missing_extension_endpoint(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        respx.get("http://nexical.test/teams/1/members").respond(405, text="Method Not Allowed")
        with pytest.raises(APIError) as caught:
            await nexical.team_member_list(nexical.NexicalAPI("nx_extension_test"), team_id=1)

    assert caught.value.is_missing_endpoint
    assert caught.value.user_message == "Nexical refused the request (HTTP 405)."


async def test_it_reads_retry_after_as_an_http_date(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=90), usegmt=True)
    with respx.mock:
        respx.get("http://nexical.test/teams").respond(429, headers={"Retry-After": later}, json={})
        with pytest.raises(RateLimitError) as caught:
            await nexical.team_list(nexical.NexicalAPI("nx_date_test"))

    assert 0 < caught.value.retry_after <= 90


def test_it_scrubs_credentials_from_upstream_messages():
    error = APIError(
        "Nexical",
        status=400,
        message="Token nx_3fa9c0ffee1234 is malformed",
        details={
            "token": ["nk_worker_abcdef0123 is not valid"],
        },
    )

    assert error.user_message == "Token [redacted] is malformed"
    assert error.field_errors == {"token": ["[redacted] is not valid"]}
    assert "0123" not in str(error)


# ---------------------------------------------------------------------------------------------
# Answers a faithful emulator never sends: waits that are not numbers, broken encodings, hostile
# nesting, a body that trickles in. respx fakes the malformed ones; a raw socket server the trickle.


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"Retry-After": "inf"}, b"{}"),
        ({"Retry-After": "1e999"}, b"{}"),
        ({"Retry-After": "nan"}, b"{}"),
        ({}, b'{"retryAfter": Infinity}'),
        ({}, b'{"retryAfter": NaN}'),
    ],
)
async def test_it_ignores_a_retry_after_that_is_not_a_finite_number(settings, headers, content):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        respx.get("http://nexical.test/teams").respond(
            429, headers={**headers, "Content-Type": "application/json"}, content=content
        )
        with pytest.raises(RateLimitError) as caught:
            await nexical.team_list(nexical.NexicalAPI("nx_inf_test"))

    assert caught.value.retry_after is None
    assert caught.value.user_message == "Nexical is rate limiting requests. Try again shortly."


@pytest.mark.parametrize(
    ("headers", "content"),
    [
        ({"Retry-After": "99999999999"}, b"{}"),
        ({}, b'{"retryAfter": 1' + b"0" * 400 + b"}"),  # an int too large for a float
        ({"Retry-After": "Fri, 31 Dec 9999 23:59:59 GMT"}, b"{}"),
    ],
)
async def test_it_clamps_a_huge_retry_after_to_a_day(settings, headers, content):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        respx.get("http://nexical.test/teams").respond(
            429, headers={**headers, "Content-Type": "application/json"}, content=content
        )
        with pytest.raises(RateLimitError) as caught:
            await nexical.team_list(nexical.NexicalAPI("nx_huge_test"))

    assert caught.value.retry_after == http.MAX_RETRY_AFTER
    assert caught.value.user_message.endswith("Try again in 86400 seconds.")


def test_a_rate_limit_error_built_with_an_infinite_wait_still_has_a_message():
    assert RateLimitError("NexusToken", retry_after=float("inf")).retry_after is None
    assert "Try again shortly" in str(RateLimitError("NexusToken", retry_after=float("nan")))


async def test_it_raises_contract_error_on_a_broken_gzip_body(settings, caplog):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        route = respx.get("http://nexical.test/users/me").respond(
            200,
            headers={"Content-Encoding": "gzip", "Content-Type": "application/json"},
            stream=httpx.ByteStream(b"this is not gzip at all"),  # decoded only when read
        )
        with pytest.raises(ContractError) as caught:
            await nexical.users_me(nexical.NexicalAPI("nx_gzip_test"))

    assert caught.value.user_message == "Nexical answered something unexpected. The problem has been logged."
    assert route.call_count == 1  # a broken encoding is not retried
    assert "cannot be decoded" in caplog.text


async def test_it_raises_contract_error_on_a_broken_gzip_error_body(settings):
    settings.NEXUSTOKEN_API_URL = "http://nexustoken.test"
    settings.UPSTREAM_GET_RETRIES = 0
    with respx.mock:
        respx.get("http://nexustoken.test/api/v1/credits/balance").respond(
            500, headers={"Content-Encoding": "gzip"}, stream=httpx.ByteStream(b"\x1f\x8b broken")
        )
        with pytest.raises(ContractError):
            await nexustoken.credits_balance(nexustoken.NexusTokenAPI("a" * 64))


DEEP = b"[" * 100_000 + b"]" * 100_000


async def test_it_raises_contract_error_on_deeply_nested_json(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        respx.get("http://nexical.test/users/me").respond(
            200, headers={"Content-Type": "application/json"}, content=DEEP
        )
        with pytest.raises(ContractError):
            await nexical.users_me(nexical.NexicalAPI("nx_deep_test"))


async def test_it_maps_an_error_with_a_deeply_nested_body(settings):
    settings.NEXICAL_API_URL = "http://nexical.test"
    with respx.mock:
        respx.post("http://nexical.test/teams").respond(
            400, headers={"Content-Type": "application/json"}, content=DEEP
        )
        with pytest.raises(APIError) as caught:
            await nexical.team_create(nexical.NexicalAPI("nx_deep_test"), name="Deep", slug="deep")

    assert caught.value.status == 400
    assert caught.value.user_message == "Nexical refused the request (HTTP 400)."


class TricklingServer:
    """A real HTTP server that promises a body and sends it one byte every `interval` seconds."""

    def __init__(self, interval: float = 0.1, length: int = 400) -> None:
        self.interval = interval
        self.length = length
        self.connections = 0

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        port = self.server.sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def __aexit__(self, *exc_info) -> None:
        self.server.close()
        self.server.close_clients()
        await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            await reader.readuntil(b"\r\n\r\n")
            head = (
                f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {self.length}\r\n\r\n"
            )
            writer.write(head.encode())
            for _ in range(self.length):
                writer.write(b" ")
                await writer.drain()
                await asyncio.sleep(self.interval)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def test_a_trickling_body_ends_at_the_deadline(settings, caplog):
    """Each byte arrives well within the read timeout; only the whole-answer deadline stops it."""
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 1
    async with TricklingServer() as url:
        settings.NEXICAL_API_URL = url
        started = asyncio.get_running_loop().time()
        with pytest.raises(NetworkError) as caught:
            await nexical.users_me(nexical.NexicalAPI("nx_trickle_test"))
        elapsed = asyncio.get_running_loop().time() - started

    assert elapsed < 20  # two attempts cut at the deadline and a backoff, not 40 s of trickle
    assert caught.value.user_message == (
        "The Nexical orchestrator is unreachable right now. Try again in a minute."
    )
    assert f"no complete answer within {SHORT_TIMEOUT:.1f} s" in caplog.text


# ---------------------------------------------------------------------------------------------
# NexusToken's share of the faults above (the sandbox serves both APIs with the same knobs).


@pytest.fixture
def nexus_api(sandbox) -> nexustoken.NexusTokenAPI:
    return nexustoken.NexusTokenAPI(new_nexustoken_account(sandbox)["api_key"])


async def test_it_raises_network_error_when_nexustoken_hangs(sandbox, settings, nexus_api):
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 0
    sandbox.set_knobs(hang=1, hang_seconds=4, scope="nexustoken")

    with pytest.raises(NetworkError) as caught:
        await nexustoken.credits_balance(nexus_api)

    assert caught.value.user_message == "NexusToken is unreachable right now. Try again in a minute."


async def test_it_retries_a_timed_out_nexustoken_get(sandbox, settings, nexus_api):
    settings.UPSTREAM_TIMEOUT = SHORT_TIMEOUT
    settings.UPSTREAM_GET_RETRIES = 1
    sandbox.set_knobs(hang=1, hang_seconds=4, scope="nexustoken")
    sandbox.reset_request_counts()

    balance = await nexustoken.credits_balance(nexus_api)

    assert balance.credits_balance == SIGNUP_CREDITS  # the fresh account's, on the retry
    assert sandbox.request_counts()["GET /nexustoken/api/v1/credits/balance"] == 2


async def test_it_raises_network_error_when_nexustoken_refuses_the_connection(settings):
    settings.UPSTREAM_GET_RETRIES = 1
    settings.NEXUSTOKEN_API_URL = f"http://127.0.0.1:{free_port()}/nexustoken"

    with pytest.raises(NetworkError) as caught:
        await nexustoken.credits_balance(nexustoken.NexusTokenAPI("a" * 64))

    assert caught.value.service == "NexusToken"


async def test_it_raises_contract_error_on_a_nexustoken_body_that_is_not_json(sandbox, nexus_api):
    sandbox.set_knobs(malformed=1, scope="nexustoken")
    sandbox.reset_request_counts()

    with pytest.raises(ContractError) as caught:
        await nexustoken.reputation(nexus_api)

    assert caught.value.user_message == (
        "NexusToken answered something unexpected. The problem has been logged."
    )
    assert sandbox.request_counts()["GET /nexustoken/api/v1/account/reputation"] == 1


@pytest.mark.parametrize(
    "balance",
    [
        {"credits_balance": "100", "credits_frozen": 0},  # a number sent as a string
        {"credits_balance": True, "credits_frozen": 0},  # a boolean is not a count of credits
        {"credits_balance": 1.5, "credits_frozen": 0},
        {"credits_frozen": 0},
    ],
)
async def test_it_raises_contract_error_on_a_nexustoken_body_that_breaks_the_schema(settings, balance):
    settings.NEXUSTOKEN_API_URL = "http://nexustoken.test"
    with respx.mock:
        respx.get("http://nexustoken.test/api/v1/credits/balance").respond(json=balance)
        with pytest.raises(ContractError) as caught:
            await nexustoken.credits_balance(nexustoken.NexusTokenAPI("a" * 64))

    assert caught.value.details[0]["loc"] == ("credits_balance",)


async def test_it_rejects_a_nexustoken_frozen_flag_that_is_not_a_boolean(settings):
    settings.NEXUSTOKEN_API_URL = "http://nexustoken.test"
    with respx.mock:
        respx.get("http://nexustoken.test/api/v1/account/reputation").respond(
            json={"reputation": 3, "task_count": 1, "is_frozen": "yes"}
        )
        with pytest.raises(ContractError) as caught:
            await nexustoken.reputation(nexustoken.NexusTokenAPI("a" * 64))

    assert caught.value.details[0]["loc"] == ("is_frozen",)
