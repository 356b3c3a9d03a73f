"""The run-wide secret-leak check itself: it must see the secrets every helper makes, keep the records
that could carry them, and find them there. Were any part to go blind, these fail."""

import asyncio
import logging
import secrets

import httpx
import pytest

from tests.support.credits_cast import connected_person
from tests.support.helpers import new_nexical_user, new_nexustoken_account
from tests.support.leak_check import WATCHED_SECRETS, find_leaks, secret_pattern, watch_secrets_in
from tests.support.orchestrator_cast import make_cast, person, team_worker
from tests.support.sandbox_process import ADMIN_TOKEN


def fake_secret(prefix: str = "nx_") -> str:
    """A secret no answer ever carried: logging it cannot fail the run, only this test's own scan."""
    return prefix + secrets.token_urlsafe(24)


def test_it_finds_a_secret_in_a_record_and_masks_it_in_the_report():
    secret = fake_secret()
    lines = {
        "INFO dashboard.services: GET /teams answered 200": "test_a",
        f"WARNING dashboard: token {secret} refused": "test_b",
    }

    leaks = find_leaks(lines, {secret, fake_secret()})

    assert len(leaks) == 1
    assert (
        "during test_b" in leaks[0] and "token [nx_" in leaks[0] and "REGISTERED SECRET] refused" in leaks[0]
    )
    assert secret not in leaks[0]


def test_it_finds_each_of_many_secrets_wherever_it_sits_in_a_line():
    # Shared prefixes, one secret the start of another, characters a pattern would treat as syntax.
    many = [fake_secret() for _ in range(500)] + [fake_secret("ntk_") for _ in range(500)]
    many += ["nx_short-one", "nx_short-one-longer", "a.b*c+d?(e)[f]|g\\h"]
    pattern = secret_pattern(many)
    for secret in many:
        assert pattern.search(f"Authorization: Bearer{secret}, then more")[0] == secret
    assert len(find_leaks({f"DEBUG httpx: {secret}.": "test" for secret in many}, many)) == len(many)


def test_it_finds_nothing_where_no_secret_was_logged():
    secret = fake_secret()
    near_misses = {f"DEBUG httpx: {secret[:-1]}": "t", f"INFO x: {secret[1:]}": "t", "abcb*c+d": "t"}
    assert find_leaks(near_misses, {secret, "a.b*c+d?(e)"}) == []
    assert find_leaks(near_misses, set()) == []


def test_it_registers_the_secrets_of_every_json_answer_an_httpx_client_reads():
    token, key, hook = fake_secret(), fake_secret("ntk_"), fake_secret("whsec_")
    body = {"user": {"id": "u1", "email": "someone@example.com"}, "token": token, "items": [{"api_key": key}]}

    def upstream(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=body if request.url.path == "/sync" else {"webhook_secret": hook})

    with httpx.Client(transport=httpx.MockTransport(upstream), base_url="http://upstream") as client:
        client.get("/sync")
    assert {token, key} <= WATCHED_SECRETS
    assert "someone@example.com" not in WATCHED_SECRETS  # only secret fields

    async def read_async() -> None:
        async with httpx.AsyncClient(transport=httpx.MockTransport(upstream), base_url="http://up") as client:
            await client.get("/async")

    asyncio.run(read_async())
    assert hook in WATCHED_SECRETS


def test_it_registers_nested_fields_and_ignores_short_values():
    nested, short = fake_secret(), "nx_1"
    watch_secrets_in([{"deep": {"access_token": nested}}, {"token": short}, {"token": None}])
    assert nested in WATCHED_SECRETS and short not in WATCHED_SECRETS


def test_it_keeps_the_records_that_can_carry_a_secret(_no_secret_in_any_log):
    recorder = _no_secret_in_any_log
    at_debug, from_uvicorn, elsewhere = fake_secret(), fake_secret(), fake_secret()
    logging.getLogger("dashboard.anything").debug("token %s", at_debug)  # lowered for the run
    logging.getLogger("uvicorn.error").warning("token %s", from_uvicorn)  # does not propagate
    logging.getLogger("some.library").warning("token %s", elsewhere)  # its usual level, WARNING
    assert len(find_leaks(recorder.lines, {at_debug, from_uvicorn, elsewhere})) == 3


@pytest.mark.django_db
def test_it_watches_every_secret_the_helpers_hand_out(sandbox):
    cast = make_cast(sandbox)
    someone = person(sandbox)
    nexical_user = new_nexical_user(sandbox)
    account = new_nexustoken_account(sandbox)
    paying = connected_person(sandbox)
    worker = team_worker(cast)

    handed_out = {
        ADMIN_TOKEN,
        someone.upstream["token"],
        cast.owner.upstream["token"],
        cast.outsider.upstream["token"],
        nexical_user["token"],
        account["api_key"],
        account["webhook_secret"],
        paying.account["api_key"],
        worker.headers["Authorization"].removeprefix("Bearer "),
    }
    assert handed_out <= WATCHED_SECRETS
