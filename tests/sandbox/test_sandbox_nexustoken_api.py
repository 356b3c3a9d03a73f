"""The NexusToken emulator's HTTP API, endpoint by endpoint, over real HTTP against the sandbox."""

import hashlib
import hmac
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest

SCHEMA = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
DEMO_KEY = "5e" + hashlib.sha256(b"nexustoken-demo-key").hexdigest()[:62]


# --- Helpers shared with the other test_sandbox_nexustoken_* modules -----------------------------------


def wait_until(predicate, what: str, timeout: float = 20.0):
    """Poll until predicate() is truthy and return its value; fail after the deadline."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def register(server, **extra) -> dict:
    """A fresh account (500 NC) on that sandbox: {"account_id", "api_key", "webhook_secret", ...}."""
    email = f"t-{uuid.uuid4().hex[:12]}@example.com"
    response = httpx.post(f"{server.nexustoken_url}/api/v1/auth/register", json={"email": email, **extra})
    assert response.status_code == 201, response.text
    return {**response.json(), "email": email}


class Api:
    """A tiny client for one account: api.get("/tasks/available") -> httpx.Response."""

    def __init__(self, server, api_key: str | None):
        headers = {"X-API-Key": api_key} if api_key else {}
        self.http = httpx.Client(base_url=f"{server.nexustoken_url}/api/v1", headers=headers, timeout=10)

    def __getattr__(self, name):
        return getattr(self.http, name)


def account_api(server) -> tuple[dict, Api]:
    account = register(server)
    return account, Api(server, account["api_key"])


def new_task(api: Api, **fields) -> dict:
    body = {"input_data": "Ada Lovelace, 36", "validation_schema": SCHEMA, "example_output": {"name": "Ada"}}
    response = api.post("/tasks", json={**body, "max_budget_credits": 20, **fields})
    assert response.status_code == 201, response.text
    return response.json()


def award(server, requester: Api, worker: Api, **fields) -> dict:
    """A task of requester's, awarded to worker (a lone bid wins when the auction closes)."""
    task = new_task(requester, **fields)
    assert worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 10}).status_code == 200
    server.close_auction(task["id"])
    return wait_until(
        lambda: (t := worker.get(f"/tasks/{task['id']}").json())["status"] == "AWARDED" and t, "the award"
    )


class WebhookReceiver:
    """A local HTTP server that records webhook requests; `fail_first` answers 500 that many times."""

    def __init__(self, fail_first: int = 0):
        self.requests: list[tuple[dict, bytes]] = []
        self.fail_first = fail_first
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                failing = len(receiver.requests) <= receiver.fail_first
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __enter__(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc):
        self.server.shutdown()
        self.server.server_close()


# --- System and auth -----------------------------------------------------------------------------------


def test_health_and_heartbeat_need_no_key(sandbox):
    assert httpx.get(f"{sandbox.nexustoken_url}/health").json()["status"] == "ok"
    heartbeat = httpx.get(f"{sandbox.nexustoken_url}/api/v1/heartbeat").json()
    assert heartbeat == {
        "status": "ok",
        "min_sdk_version": "0.4.0",
        "latest_sdk_version": "0.6.6",
        "announcement": "",
    }


def test_register_returns_a_hex_key_and_refuses_duplicates(sandbox):
    account = register(sandbox, source="github", accepted_terms=True)
    assert len(account["api_key"]) == 64
    int(account["api_key"], 16)
    assert account["credits_balance"] == 500
    assert account["webhook_secret"]
    again = httpx.post(f"{sandbox.nexustoken_url}/api/v1/auth/register", json={"email": account["email"]})
    assert again.status_code == 409
    bad = httpx.post(f"{sandbox.nexustoken_url}/api/v1/auth/register", json={"email": "not-an-email"})
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "email"]


def test_missing_or_wrong_keys_get_401(sandbox):
    assert Api(sandbox, None).get("/credits/balance").status_code == 401
    response = Api(sandbox, "f" * 64).get("/credits/balance")
    assert response.status_code == 401
    assert response.json() == {"detail": "Invalid or missing API key"}


def test_rotate_key_replaces_the_calling_key(sandbox):
    _, api = account_api(sandbox)
    rotated = api.post("/auth/rotate-key")
    assert rotated.status_code == 200
    assert api.get("/credits/balance").status_code == 401
    assert Api(sandbox, rotated.json()["api_key"]).get("/credits/balance").status_code == 200


def test_recover_and_verify_recover_issue_a_new_key(sandbox):
    account, api = account_api(sandbox)
    anon = Api(sandbox, None)
    started = anon.post("/auth/recover", json={"email": account["email"]})
    assert started.json() == {"message": "Verification code generated", "expires_in": 300}
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    code = httpx.get(
        f"{sandbox.url}/_sandbox/nexustoken/recover-codes", params={"email": account["email"]}, headers=admin
    ).json()["code"]

    wrong = anon.post("/auth/verify-recover", json={"email": account["email"], "code": "000000x"})
    recovered = anon.post("/auth/verify-recover", json={"email": account["email"], "code": code})

    assert wrong.status_code == 400
    assert recovered.status_code == 200
    assert recovered.json()["account_id"] == account["account_id"]
    assert api.get("/credits/balance").status_code == 401  # the old key is gone
    assert Api(sandbox, recovered.json()["api_key"]).get("/credits/balance").status_code == 200
    assert (
        anon.post("/auth/verify-recover", json={"email": account["email"], "code": code}).status_code == 400
    )
    assert "recovery code for" in sandbox.log_text()


def test_admin_helpers_need_the_admin_token(sandbox):
    assert httpx.get(f"{sandbox.url}/_sandbox/nexustoken/webhooks").status_code == 401
    account = register(sandbox)
    granted = httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{account['account_id']}/credits",
        json={"amount": 100},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert granted.json()["credits_balance"] == 600


# --- Tasks ---------------------------------------------------------------------------------------------


def test_create_accepts_short_names_and_freezes_the_budget(sandbox):
    _, api = account_api(sandbox)
    response = api.post(
        "/tasks",
        json={
            "input_data": "x" * 300,
            "schema": SCHEMA,
            "example_output": {"name": "Ada"},
            "budget": 30,
            "max_seconds": 60,
            "rules": [{"type": "min_length", "field": "name", "min": 2}],
        },
    )
    assert response.status_code == 201
    task = response.json()
    assert task["max_budget_credits"] == 30
    assert task["max_execution_seconds"] == 60
    assert task["validation_schema"] == SCHEMA
    assert task["validation_rules"] == [{"type": "min_length", "field": "name", "min": 2}]
    assert task["input_data"] == "x" * 300
    assert len(task["input_data_preview"]) == 200
    assert task["status"] == "BIDDING"
    balance = api.get("/credits/balance").json()
    assert (balance["credits_balance"], balance["credits_frozen"]) == (470, 30)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"input_data": ""}, "input_data"),
        ({"input_data": "x" * 10_001}, "input_data"),
        ({"max_budget_credits": 4}, "max_budget_credits"),
        ({"max_budget_credits": 1001}, "max_budget_credits"),
        ({"max_execution_seconds": 301}, None),
        ({"max_execution_seconds": 0}, "max_execution_seconds"),
        ({"task_type": "poetry"}, "task_type"),
        ({"quality_preference": "fast"}, "quality_preference"),
        ({"min_skill_rating": 6}, "min_skill_rating"),
        ({"surprise": 1}, "surprise"),
        ({"example_output": {"name": 5}}, "example_output"),
        ({"validation_schema": {"type": "nonsense"}}, "validation_schema"),
        ({"validation_rules": [{"type": "regex", "field": "name"}]}, "validation_rules"),
    ],
)
def test_create_validation_errors_are_422(sandbox, change, field):
    _, api = account_api(sandbox)
    body = {"input_data": "x", "validation_schema": SCHEMA, "example_output": {"name": "A"}, **change}
    response = api.post("/tasks", json=body)
    assert response.status_code == 422, response.text
    if field:
        assert any(field in error["loc"] for error in response.json()["detail"])
    assert api.get("/credits/balance").json()["credits_frozen"] == 0


def test_malformed_and_oversized_bodies(sandbox):
    _, api = account_api(sandbox)
    malformed = api.post("/tasks", content=b"{not json", headers={"Content-Type": "application/json"})
    too_big = api.post("/tasks", content=b'{"input_data": "' + b"x" * (1024 * 1024 + 10) + b'"}')
    assert malformed.status_code == 400
    assert "detail" in malformed.json()
    assert too_big.status_code == 413
    assert "detail" in too_big.json()


def test_a_budget_beyond_purchasing_power_is_402(sandbox):
    _, api = account_api(sandbox)
    response = api.post("/tasks", json={"input_data": "x", "max_budget_credits": 600})
    assert response.status_code == 402
    assert "purchasing power" in response.json()["detail"]


def test_bids_are_200_once_then_409_and_never_on_own_tasks(sandbox):
    sandbox.set_knobs(auction_seconds=60)  # still open for the last bid, however slow the machine
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = new_task(requester)
    path = f"/tasks/{task['id']}/bid"

    first = worker.post(path, json={"bid_credits": 12})
    duplicate = worker.post(path, json={"bid_credits": 11})
    own = requester.post(path, json={"bid_credits": 5})
    too_high = Api(sandbox, register(sandbox)["api_key"]).post(path, json={"bid_credits": 21})

    assert first.status_code == 200
    assert first.json()["bid_id"]
    assert duplicate.status_code == 409
    assert own.status_code == 403
    assert too_high.status_code == 422
    assert worker.post(f"/tasks/{uuid.uuid4()}/bid", json={"bid_credits": 5}).status_code == 404


def test_the_lowest_bid_wins_and_losers_cannot_submit(sandbox):
    _, requester = account_api(sandbox)
    (_, high), (low_account, low) = account_api(sandbox), account_api(sandbox)
    task = new_task(requester)
    assert high.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 15}).status_code == 200
    assert low.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 9}).status_code == 200
    sandbox.close_auction(task["id"])

    awarded = wait_until(
        lambda: (t := requester.get(f"/tasks/{task['id']}").json())["status"] == "AWARDED" and t, "award"
    )
    loser_view = high.get(f"/tasks/{task['id']}").json()
    winner_view = low.get(f"/tasks/{task['id']}").json()
    rejected = high.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "Ada"}})

    assert awarded["awarded_to"] == low_account["account_id"]
    assert awarded["awarded_price"] == 9
    assert loser_view["input_data"] is None
    assert winner_view["input_data"] == "Ada Lovelace, 36"
    assert rejected.status_code == 403
    assert rejected.json() == {"detail": "Task not awarded to you"}
    assert requester.delete(f"/tasks/{task['id']}").status_code == 409


def test_failed_submissions_count_down_then_reopen_the_task(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = award(
        sandbox, requester, worker, validation_rules=[{"type": "enum", "field": "name", "values": ["Ada"]}]
    )
    path = f"/tasks/{task['id']}/submit"

    replies = [
        worker.post(path, json={"result_data": {}}).json(),
        worker.post(path, json={"result_data": {"name": "Bob"}}).json(),
        worker.post(path, json={"result_data": {"nom": "Ada"}}).json(),
    ]

    assert [r["error_code"] for r in replies] == ["SCHEMA_MISMATCH", "RULE_VIOLATION", "SCHEMA_MISMATCH"]
    assert [r["retries_left"] for r in replies] == [2, 1, 0]
    assert [r["status"] for r in replies] == ["AWARDED", "AWARDED", "BIDDING"]
    reopened = requester.get(f"/tasks/{task['id']}").json()
    assert reopened["status"] == "BIDDING"
    assert reopened["awarded_to"] is None
    assert reopened["auto_retry"] == 2
    assert {"REJECTED", "REOPENED"} <= {event["type"] for event in reopened["events"]}
    assert worker.get("/account/reputation").json()["reputation"] == -2
    assert worker.post(path, json={"result_data": {"name": "Ada"}}).status_code == 403


def test_without_auto_retry_a_rejected_task_expires_with_a_refund(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = award(sandbox, requester, worker, auto_retry=0)
    for _ in range(3):
        worker.post(f"/tasks/{task['id']}/submit", json={"result_data": {}})
    assert requester.get(f"/tasks/{task['id']}").json()["status"] == "EXPIRED"
    assert requester.get("/credits/balance").json()["credits_balance"] == 500


def test_an_awardee_that_times_out_loses_the_task(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = award(sandbox, requester, worker, max_execution_seconds=1, auto_retry=0)
    expired = wait_until(
        lambda: (t := requester.get(f"/tasks/{task['id']}").json())["status"] == "EXPIRED" and t, "expiry"
    )
    assert "TIMED_OUT" in [event["type"] for event in expired["events"]]
    assert worker.get("/account/reputation").json()["reputation"] == -3
    assert requester.get("/credits/balance").json()["credits_frozen"] == 0


def test_settlement_fee_is_capped_at_the_budget(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = new_task(requester, max_budget_credits=5)
    worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 5})
    sandbox.close_auction(task["id"])
    wait_until(lambda: worker.get(f"/tasks/{task['id']}").json()["status"] == "AWARDED", "award")
    reply = worker.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "Ada"}}).json()
    assert reply["error_code"] is None
    assert reply["status"] == "SETTLED"
    settled = requester.get(f"/tasks/{task['id']}").json()
    assert settled["fee_credits"] == 0
    assert settled["result_data"] == {"name": "Ada"}
    assert requester.get("/credits/balance").json()["credits_balance"] == 495
    assert worker.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "A"}}).status_code == 409


def test_my_tasks_newest_first_and_cancel_rules(sandbox):
    _, api = account_api(sandbox)
    _, other = account_api(sandbox)
    first, second = new_task(api), new_task(api)
    mine = api.get("/tasks", params={"mine": 1}).json()
    assert [t["id"] for t in mine] == [second["id"], first["id"]]
    assert other.delete(f"/tasks/{first['id']}").status_code == 403
    assert api.delete(f"/tasks/{first['id']}").json()["status"] == "CANCELLED"
    assert api.get(f"/tasks/{uuid.uuid4()}").status_code == 404


def test_demo_account_has_tasks_in_every_status(sandbox):
    demo = Api(sandbox, DEMO_KEY)
    statuses = {task["status"] for task in demo.get("/tasks", params={"mine": 1}).json()}
    assert statuses == {"BIDDING", "PENDING_POOL", "AWARDED", "SETTLED", "EXPIRED", "CANCELLED"}
    assert demo.get("/credits/balance").json()["credits_balance"] == 2500


# --- Credits, account, capabilities, OAuth -------------------------------------------------------------


def test_credit_info_and_repay_without_debt(sandbox):
    _, api = account_api(sandbox)
    info = api.get("/credits/credit-info").json()
    assert info["rating"] == "Newcomer"
    assert info["credit_line"] == 0
    assert info["debt"] == 0
    assert api.post("/credits/repay", json={}).status_code == 409
    assert api.post("/credits/topup", json={"amount": 5}).json()["credits_balance"] == 505
    assert api.post("/credits/topup", json={"amount_credits": 0}).status_code == 422


def admin_update(sandbox, account: dict, **fields) -> dict:
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{account['account_id']}",
        json=fields,
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_old_debt_suspends_trading_until_repaid(sandbox):
    account, api = account_api(sandbox)
    admin_update(sandbox, account, debt=100, debt_days=8)
    info = api.get("/credits/credit-info").json()
    assert (info["debt"], info["days_in_debt"], info["suspended"]) == (100, 8, True)
    suspended = api.post("/tasks", json={"input_data": "x"})
    assert suspended.status_code == 403
    assert "debt" in suspended.json()["detail"]

    partly = api.post("/credits/repay", json={"amount_credits": 60}).json()
    fully = api.post("/credits/repay", json={}).json()

    assert (partly["repaid"], partly["debt"], partly["credits_balance"]) == (60, 40, 440)
    assert (fully["repaid"], fully["debt"], fully["credits_balance"]) == (40, 0, 400)
    assert api.post("/tasks", json={"input_data": "x"}).status_code == 201


def test_a_credit_line_lets_budgets_exceed_the_balance(sandbox):
    account, api = account_api(sandbox)
    # Silver needs 3+ counterparties, which only settled tasks make: settle one with each of 3 workers.
    workers = [account_api(sandbox)[1] for _ in range(3)]
    tasks = [new_task(api) for _ in workers]
    for worker, task in zip(workers, tasks, strict=True):
        assert worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 10}).status_code == 200
        sandbox.close_auction(task["id"])
    for worker, task in zip(workers, tasks, strict=True):
        wait_until(lambda w=worker, t=task: w.get(f"/tasks/{t['id']}").json()["status"] == "AWARDED", "award")
        assert (
            worker.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "A"}}).status_code == 200
        )
    info = admin_update(sandbox, account, task_count=10)
    assert (info["rating"], info["credit_line"], info["counterparties"]) == ("Silver", 5000, 3)

    big = new_task(api, max_budget_credits=1000)  # 467 NC of balance, the rest borrowed

    balance = api.get("/credits/balance").json()
    assert (balance["credits_balance"], balance["credits_frozen"], balance["debt"]) == (0, 1000, 533)
    assert balance["purchasing_power"] == 5000 - 533
    # Cancelling refunds the budget into the debt first: nothing is left owed.
    api.delete(f"/tasks/{big['id']}")
    balance = api.get("/credits/balance").json()
    assert (balance["credits_balance"], balance["credits_frozen"], balance["debt"]) == (467, 0, 0)
    assert api.post("/credits/repay", json={}).status_code == 409

    # Settling a partly borrowed budget: the price and fee come out of it, the rest pays the debt.
    big = new_task(api, max_budget_credits=1000)
    worker = workers[0]
    assert worker.post(f"/tasks/{big['id']}/bid", json={"bid_credits": 600}).status_code == 200
    sandbox.close_auction(big["id"])
    wait_until(lambda: worker.get(f"/tasks/{big['id']}").json()["status"] == "AWARDED", "award")
    assert worker.post(f"/tasks/{big['id']}/submit", json={"result_data": {"name": "A"}}).status_code == 200
    balance = api.get("/credits/balance").json()
    # 467 NC of own money paid 600 + a 30 NC fee: 163 NC is still owed, nothing more.
    assert (balance["credits_balance"], balance["credits_frozen"], balance["debt"]) == (0, 0, 163)


def test_a_reputation_below_minus_ten_freezes_the_account(sandbox):
    account, api = account_api(sandbox)
    admin_update(sandbox, account, reputation=-11)
    assert api.get("/account/reputation").json()["is_frozen"] is True
    frozen = api.post("/tasks", json={"input_data": "x"})
    assert frozen.status_code == 403
    assert "frozen" in frozen.json()["detail"]
    assert api.get("/credits/balance").status_code == 200  # reading still works


def test_checkout_session_api(sandbox):
    _, api = account_api(sandbox)
    created = api.post(
        "/credits/stripe/create-session", json={"amount_credits": 1000, "success_url": "http://127.0.0.1/ok"}
    ).json()
    assert created["checkout_url"] == f"{sandbox.url}/nexustoken/checkout/{created['session_id']}"
    status = api.get(f"/credits/stripe/session/{created['session_id']}").json()
    assert status["status"] == "open"
    assert (
        Api(sandbox, register(sandbox)["api_key"])
        .get(f"/credits/stripe/session/{created['session_id']}")
        .status_code
        == 404
    )


def test_webhook_secret_rotation(sandbox):
    account, api = account_api(sandbox)
    rotated = api.post("/account/webhook-secret/rotate").json()
    assert rotated["webhook_secret"] != account["webhook_secret"]
    assert rotated["previous_secret_expires_at"].endswith("Z")


def test_capabilities_register_list_browse_stats_and_toggle(sandbox):
    _, api = account_api(sandbox)
    body = {
        "name": "json_extraction",
        "category": "data",
        "input_mode": "text",
        "output_mode": "json",
        "price_nc": 7,
        "tags": ["invoices"],
    }
    created = api.post("/capabilities", json=body)
    assert created.status_code == 201
    capability = created.json()
    assert capability["is_available"] is True
    assert [c["id"] for c in api.get("/capabilities").json()] == [capability["id"]]
    browsed = api.get("/capabilities/browse", params={"tag": "invoices", "max_price": 7}).json()
    assert capability["id"] in [c["id"] for c in browsed]
    stats = api.get(f"/capabilities/{capability['id']}/stats").json()
    assert stats["tasks_completed"] == 0
    assert stats["skill_tier"] == "Unrated"
    toggled = api.patch(f"/capabilities/{capability['id']}/availability", json={"is_available": False})
    assert toggled.json()["is_available"] is False
    assert capability["id"] not in [c["id"] for c in api.get("/capabilities/browse").json()]
    assert api.post("/capabilities", json={**body, "category": "music"}).status_code == 422


def test_github_oauth_is_simulated_locally(sandbox):
    account, api = account_api(sandbox)
    assert api.post("/oauth/github/refresh").status_code == 409
    authorize_url = api.get("/oauth/github/authorize").json()["authorize_url"]
    assert authorize_url.startswith(f"{sandbox.url}/nexustoken/api/v1/oauth/github/callback?")

    linked = httpx.get(authorize_url).json()

    assert linked["linked"] is True
    assert linked["account_id"] == account["account_id"]
    assert 30 <= linked["github_credit_score"] <= 95
    assert api.post("/oauth/github/refresh").json()["github_login"] == linked["github_login"]
    assert api.post("/oauth/github/link", json={"github_login": "ada-l"}).json()["github_login"] == "ada-l"
    assert (
        httpx.get(f"{sandbox.nexustoken_url}/api/v1/oauth/github/callback?code=x&state=bad").status_code
        == 400
    )


def test_device_flow_statuses(sandbox):
    anon = Api(sandbox, None)
    start = anon.post("/oauth/device/authorize", json={"client_name": "cli"}).json()
    assert start["verification_url"] == f"{sandbox.url}/nexustoken/device"
    assert start["interval"] == 5
    token = {"device_code": start["device_code"]}

    assert anon.post("/oauth/device/token", json=token).status_code == 428
    assert anon.post("/oauth/device/token", json=token).status_code == 429  # polled too fast
    _, api = account_api(sandbox)
    assert api.post("/oauth/device/approve", json={"user_code": start["user_code"]}).status_code == 200
    issued = anon.post("/oauth/device/token", json=token)
    assert issued.status_code == 200
    assert Api(sandbox, issued.json()["api_key"]).get("/credits/balance").status_code == 200
    assert anon.post("/oauth/device/token", json=token).status_code == 410  # served once

    denied = anon.post("/oauth/device/authorize", json={}).json()
    api.post("/oauth/device/approve", json={"user_code": denied["user_code"], "approve": False})
    assert anon.post("/oauth/device/token", json={"device_code": denied["device_code"]}).status_code == 410
    assert anon.post("/oauth/device/token", json={"device_code": "nope"}).status_code == 410


# --- Webhooks, rate limits -----------------------------------------------------------------------------


def test_webhooks_are_retried_with_the_same_body_and_new_delivery_ids(sandbox):
    account, api = account_api(sandbox)
    with WebhookReceiver(fail_first=1) as receiver:
        task = new_task(api, callback_url=receiver.url)
        api.delete(f"/tasks/{task['id']}")
        wait_until(lambda: len(receiver.requests) >= 2, "the retried webhook")

    (first_headers, first_body), (second_headers, second_body) = receiver.requests[:2]
    assert first_body == second_body
    assert first_headers["X-Nexus-Delivery"] != second_headers["X-Nexus-Delivery"]
    expected = hmac.new(account["webhook_secret"].encode(), first_body, hashlib.sha256).hexdigest()
    assert second_headers["X-Nexus-Signature"] == f"sha256={expected}"
    body = json.loads(first_body)
    assert body["event"] == "task.terminal"
    assert body["status"] == "CANCELLED"
    assert body["result_data"] is None

    def attempts() -> list[dict]:
        return httpx.get(
            f"{sandbox.url}/_sandbox/nexustoken/webhooks",
            params={"task_id": task["id"]},
            headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        ).json()

    # The sandbox records an attempt once its answer is in, a moment after the receiver counted it.
    wait_until(lambda: len(attempts()) >= 2, "both attempts recorded")
    assert sorted(a["response_status"] for a in attempts()) == [200, 500]


def test_no_webhooks_when_the_knob_is_off(sandbox):
    sandbox.set_knobs(deliver_webhooks=False)
    _, api = account_api(sandbox)
    task = new_task(api, callback_url="http://127.0.0.1:9/never")
    api.delete(f"/tasks/{task['id']}")
    attempts = httpx.get(
        f"{sandbox.url}/_sandbox/nexustoken/webhooks",
        params={"task_id": task["id"]},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    ).json()
    assert attempts == []


def test_rate_limits_when_switched_on(sandbox):
    sandbox.set_knobs(rate_limits=True)
    _, api = account_api(sandbox)
    statuses = [api.get("/credits/balance") for _ in range(15)]
    limited = [r for r in statuses if r.status_code == 429]
    assert limited
    assert int(limited[0].headers["Retry-After"]) >= 1
    assert "detail" in limited[0].json()


def test_failed_auths_are_limited_per_ip(sandbox):
    sandbox.set_knobs(rate_limits=True)
    _, good = account_api(sandbox)
    bad = Api(sandbox, "e" * 64)
    statuses = [bad.get("/credits/balance").status_code for _ in range(7)]
    assert statuses[:5] == [401] * 5
    assert statuses[5:] == [429, 429]
    assert good.get("/credits/balance").status_code == 200  # only failures are held back
