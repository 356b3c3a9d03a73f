"""The NexusToken client against the live sandbox: every function once through the real HTTP path."""

import asyncio
import time
import uuid

import httpx
import pytest

from dashboard.services import http
from dashboard.services import nexustoken as nt
from dashboard.services.errors import APIError, AuthError, DeviceFlowError, DevicePending
from tests.support.credits_cast import SIGNUP_CREDITS

SCHEMA = {
    "type": "object",
    "properties": {"company": {"type": "string"}, "revenue": {"type": "string"}},
    "required": ["company", "revenue"],
}
EXAMPLE = {"company": "Apple Inc", "revenue": "$81.8 billion"}


@pytest.fixture(autouse=True)
async def _close_clients():
    yield
    await http.aclose()


def _email(label: str) -> str:
    return f"{label}-{uuid.uuid4().hex[:10]}@example.com"


async def _account(label: str = "nt") -> tuple[nt.Registration, nt.NexusTokenAPI]:
    registration = await nt.account_register(email=_email(label))
    return registration, nt.NexusTokenAPI(registration.api_key)


async def _task(api: nt.NexusTokenAPI, **overrides) -> nt.Task:
    fields = {
        "input_data": "Apple Inc reported Q3 revenue of $81.8 billion.",
        "validation_schema": SCHEMA,
        "example_output": EXAMPLE,
        "max_budget_credits": 20,
        **overrides,
    }
    return await nt.task_create(api, **fields)


async def _wait_for_status(api: nt.NexusTokenAPI, task_id: str, status: str, timeout: float = 15) -> nt.Task:
    deadline = time.monotonic() + timeout
    while True:
        task = await nt.task_get(api, task_id=task_id)
        if task.status == status or time.monotonic() > deadline:
            return task
        await asyncio.sleep(0.2)


async def test_it_checks_heartbeat_and_health(sandbox):
    beat = await nt.heartbeat()
    assert beat.min_sdk_version
    assert beat.latest_sdk_version == "0.6.6"
    assert (await nt.health()).status == "ok"


async def test_it_registers_and_rejects_a_duplicate_email(sandbox):
    email = _email("register")
    registration = await nt.account_register(email=email)
    assert len(registration.api_key) == 64
    assert registration.webhook_secret
    assert registration.api_key not in repr(registration)

    with pytest.raises(APIError) as caught:
        await nt.account_register(email=email)
    assert caught.value.status == 409
    assert caught.value.user_message == "An account with this email already exists"


async def test_it_rotates_the_api_key(sandbox):
    _, api = await _account("rotate")

    rotated = await nt.key_rotate(api)

    assert rotated.api_key != api.api_key
    assert (await nt.credits_balance(nt.NexusTokenAPI(rotated.api_key))).credits_balance == SIGNUP_CREDITS
    with pytest.raises(AuthError):
        await nt.credits_balance(api)


async def test_it_recovers_a_lost_key(sandbox):
    registration, api = await _account("recover")
    email = (await nt.reputation(api)).email

    started = await nt.key_recover(email=email)
    assert started.expires_in == 300
    with pytest.raises(APIError) as wrong:
        await nt.key_verify_recover(email=email, code="not-it")
    assert wrong.value.status == 400

    code = httpx.get(
        f"{sandbox.url}/_sandbox/nexustoken/recover-codes",
        params={"email": email},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    ).json()["code"]
    recovered = await nt.key_verify_recover(email=email, code=code)

    assert recovered.account_id == registration.account_id
    assert (await nt.reputation(nt.NexusTokenAPI(recovered.api_key))).account_id == registration.account_id
    with pytest.raises(AuthError):
        await nt.reputation(api)


async def test_it_runs_a_task_from_creation_to_settlement(sandbox):
    _, requester = await _account("requester")
    _, worker = await _account("worker")
    before = await nt.credits_balance(requester)

    task = await _task(requester, max_budget_credits=30, quality_preference="cheapest")
    assert task.status == "BIDDING"
    assert task.max_budget_credits == 30
    assert task.input_data == "Apple Inc reported Q3 revenue of $81.8 billion."
    assert task.id in {t.id for t in await nt.task_list_mine(requester)}
    frozen = await nt.credits_balance(requester)
    assert frozen.credits_frozen == before.credits_frozen + 30

    listed = {t.id: t for t in await nt.task_list_available(worker)}
    assert listed[task.id].input_data is None
    assert task.id not in {t.id for t in await nt.task_list_available(requester)}

    with pytest.raises(AuthError) as own:
        await nt.task_bid(requester, task_id=task.id, bid_credits=10)
    assert (own.value.status, own.value.user_message) == (403, "You cannot bid on your own task")
    bid = await nt.task_bid(worker, task_id=task.id, bid_credits=10)
    assert bid.bid_credits == 10
    sandbox.close_auction(task.id)
    awarded = await _wait_for_status(worker, task.id, "AWARDED")
    assert awarded.status == "AWARDED"
    assert awarded.awarded_price == 10

    rejected = await nt.task_submit(worker, task_id=task.id, result_data={"company": "Apple Inc"})
    assert not rejected.passed
    assert rejected.error_code == "SCHEMA_MISMATCH"
    assert rejected.retries_left == 2
    accepted = await nt.task_submit(worker, task_id=task.id, result_data=EXAMPLE)
    assert accepted.passed
    assert accepted.status == "SETTLED"

    settled = await nt.task_get(requester, task_id=task.id)
    assert settled.status == "SETTLED"
    assert settled.is_finished
    assert settled.result_data == EXAMPLE
    assert settled.events[0].type == "CREATED"


async def test_it_cancels_an_open_task_and_refuses_twice(sandbox):
    _, api = await _account("cancel")
    task = await _task(api)
    assert task.is_cancellable

    cancelled = await nt.task_cancel(api, task_id=task.id)
    assert cancelled.status == "CANCELLED"
    assert (await nt.credits_balance(api)).credits_frozen == 0

    with pytest.raises(APIError) as caught:
        await nt.task_cancel(api, task_id=task.id)
    assert caught.value.status == 409


async def test_it_reports_invalid_task_fields(sandbox):
    _, api = await _account("invalid")

    with pytest.raises(APIError) as caught:
        await _task(api, max_budget_credits=1)

    assert caught.value.status == 422
    assert "max_budget_credits" in caught.value.field_errors


async def test_it_manages_credits(sandbox):
    _, api = await _account("credits")
    start = await nt.credits_balance(api)

    topped = await nt.credits_topup(api, amount_credits=250)
    assert topped.credits_balance == start.credits_balance + 250
    assert topped.added == 250

    session = await nt.credits_checkout_create(
        api, amount_credits=1000, success_url="http://127.0.0.1/ok", cancel_url="http://127.0.0.1/no"
    )
    assert session.status == "open"
    assert session.checkout_url.startswith("http")
    assert (await nt.credits_checkout_get(api, session_id=session.session_id)).amount_credits == 1000

    info = await nt.credits_info(api)
    assert info.rating == "Newcomer"
    assert info.debt == 0
    with pytest.raises(APIError) as caught:
        await nt.credits_repay(api, amount_credits=10)
    assert caught.value.status == 409


async def test_it_manages_capabilities(sandbox):
    _, api = await _account("capability")
    tag = uuid.uuid4().hex[:8]

    capability = await nt.capability_create(
        api,
        name="json_extraction",
        category="data",
        input_mode="text",
        output_mode="json",
        price_nc=12,
        tags=[tag],
    )
    assert capability.is_available
    assert [c.id for c in await nt.capability_list(api)] == [capability.id]
    assert [c.id for c in await nt.capability_browse(api, tag=tag, category="data")] == [capability.id]

    stats = await nt.capability_stats(api, capability_id=capability.id)
    assert stats.capability_id == capability.id
    assert stats.tasks_completed == 0

    hidden = await nt.capability_set_availability(api, capability_id=capability.id, is_available=False)
    assert hidden.is_available is False
    assert await nt.capability_browse(api, tag=tag) == []


async def test_it_reads_reputation_and_links_github(sandbox):
    registration, api = await _account("github")

    reputation = await nt.reputation(api)
    assert reputation.account_id == registration.account_id
    assert (reputation.reputation, reputation.is_frozen) == (0, False)

    authorization = await nt.github_authorize(api)
    assert authorization.authorize_url.startswith("http")
    linked = await nt.github_link(api, github_login="octo-cat")
    assert (linked.linked, linked.github_login) == (True, "octo-cat")
    refreshed = await nt.github_refresh(api)
    assert refreshed.refreshed_at is not None
    assert refreshed.github_credit_score is not None


async def test_it_completes_the_github_callback(sandbox):
    """The callback is what GitHub's redirect lands on: no API key, only the code and the signed state."""
    _, api = await _account("callback")
    authorization = await nt.github_authorize(api)
    query = httpx.URL(authorization.authorize_url).params

    linked = await nt.github_callback(code=query["code"], state=query["state"])

    assert linked.linked is True
    assert linked.github_login and linked.github_credit_score is not None
    assert (await nt.credits_info(api)).github_login == linked.github_login


async def test_it_refuses_a_github_callback_with_a_forged_state(sandbox):
    with pytest.raises(APIError) as caught:
        await nt.github_callback(code="abc", state="not-a-signed-state")

    assert caught.value.status == 400


async def test_it_rotates_the_webhook_secret(sandbox):
    registration, api = await _account("webhook")

    rotated = await nt.webhook_secret_rotate(api)

    assert rotated.webhook_secret != registration.webhook_secret
    assert rotated.previous_secret_expires_at is not None
    assert rotated.webhook_secret not in repr(rotated)


async def test_it_runs_the_device_flow(sandbox):
    registration, approver = await _account("device")
    grant = await nt.device_authorize(client_name="nexus-dashboard-test")
    assert grant.verification_url.startswith("http")
    assert grant.device_code not in repr(grant)

    with pytest.raises(DevicePending) as pending:
        await nt.device_token(device_code=grant.device_code)
    assert pending.value.slow_down is False
    # The SDK's "slow down" is a 429 on this endpoint; it must not surface as a rate-limit error.
    sandbox.set_knobs(force_429=1)
    with pytest.raises(DevicePending) as too_fast:
        await nt.device_token(device_code=grant.device_code)
    assert too_fast.value.slow_down is True

    decision = await nt.device_approve(approver, user_code=grant.user_code)
    assert decision.state == "approved"
    issued = await nt.device_token(device_code=grant.device_code)
    assert issued.account_id == registration.account_id
    assert (await nt.reputation(nt.NexusTokenAPI(issued.api_key))).account_id == registration.account_id

    with pytest.raises(DeviceFlowError):
        await nt.device_token(device_code=grant.device_code)
