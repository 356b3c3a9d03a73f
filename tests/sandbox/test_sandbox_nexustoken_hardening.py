"""The NexusToken emulator under hostile or unusual input, concurrency and limits, over real HTTP.

Every error must come back as JSON `{"detail": ...}` (the SDK reads that key), never as a 500 or
as one of Django's HTML pages.
"""

import json
import sqlite3
import tempfile
import threading
import uuid
from pathlib import Path

import httpx
import pytest
from nexus_sdk.webhook import verify_webhook_signature

from tests.sandbox.test_sandbox_nexustoken_api import (
    SCHEMA,
    Api,
    WebhookReceiver,
    account_api,
    award,
    new_task,
    wait_until,
)
from tests.support.sandbox_process import start_sandbox

CAPABILITY = {
    "name": "json_extraction",
    "category": "data",
    "input_mode": "text",
    "output_mode": "json",
    "price_nc": 5,
}


def assert_json_error(response: httpx.Response, status: int) -> str:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/json"), response.text
    detail = response.json()["detail"]
    assert detail
    return detail if isinstance(detail, str) else json.dumps(detail)


def post_raw(api: Api, path: str, raw: str | bytes) -> httpx.Response:
    content = raw.encode() if isinstance(raw, str) else raw
    return api.post(path, content=content, headers={"Content-Type": "application/json"})


def settle(sandbox, requester: Api, worker: Api, **fields) -> dict:
    task = award(sandbox, requester, worker, **fields)
    reply = worker.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "Ada"}})
    assert reply.json()["status"] == "SETTLED", reply.text
    return task


# --- 1. Validation rules ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "rule",
    [
        {"type": "required_fields", "fields": [["name"]]},
        {"type": "required_fields", "fields": []},
        {"type": "required_fields", "fields": ["name", 3]},
        {"type": "min_length", "field": "name", "min": -1},
        {"type": "min_length", "field": "name", "min": "2"},
        {"type": "max_length", "field": "name", "max": True},
        {"type": "max_length", "field": "name", "max": 2.5},
        {"type": "enum", "field": "name", "values": []},
        {"type": "enum", "field": ["name"], "values": ["Ada"]},
        {"type": "regex", "field": "name", "pattern": "("},
        {"type": "field_type", "field": "name", "expected": "date"},
        {"type": "min_length", "field": "name", "min": 1, "max": 3},
        {"type": "telepathy"},
        "required_fields",
    ],
)
def test_malformed_rules_are_refused_at_create(sandbox, rule):
    _, api = account_api(sandbox)
    response = api.post(
        "/tasks",
        json={"input_data": "x", "schema": SCHEMA, "example_output": {"name": "A"}, "rules": [rule]},
    )
    assert_json_error(response, 422)
    assert ["body", "validation_rules", 0] in [error["loc"] for error in response.json()["detail"]]
    assert api.get("/credits/balance").json()["credits_frozen"] == 0


def test_well_formed_rules_are_enforced_at_submit(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    rules = [
        {"type": "required_fields", "fields": ["name"]},
        {"type": "max_length", "field": "name", "max": 3},
        {"type": "field_type", "field": "name", "expected": "string"},
    ]
    task = award(sandbox, requester, worker, validation_rules=rules)
    path = f"/tasks/{task['id']}/submit"
    assert (
        worker.post(path, json={"result_data": {"name": "Adaline"}}).json()["error_code"] == "RULE_VIOLATION"
    )
    assert worker.post(path, json={"result_data": {"name": "Ada"}}).json()["status"] == "SETTLED"


# --- 2. References in validation_schema ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "schema",
    [
        {"$ref": "https://example.com/schema.json"},
        {"type": "object", "properties": {"name": {"$ref": "other.json#/name"}}},
        {"$ref": "#"},  # refers to itself without end
        {"type": "object", "properties": {"name": {"$ref": "#/$defs/missing"}}},
    ],
)
def test_unusable_references_are_refused_at_create(sandbox, schema):
    _, api = account_api(sandbox)
    response = api.post("/tasks", json={"input_data": "x", "schema": schema, "example_output": {"name": "A"}})
    detail = assert_json_error(response, 422)
    assert "validation_schema" in detail


def test_local_references_work_through_submit(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    schema = {
        "$defs": {"short": {"type": "string", "maxLength": 5}},
        "type": "object",
        "properties": {"name": {"$ref": "#/$defs/short"}},
        "required": ["name"],
    }
    task = award(sandbox, requester, worker, validation_schema=schema)
    path = f"/tasks/{task['id']}/submit"
    assert (
        worker.post(path, json={"result_data": {"name": "Adaline"}}).json()["error_code"] == "SCHEMA_MISMATCH"
    )
    assert worker.post(path, json={"result_data": {"name": "Ada"}}).json()["status"] == "SETTLED"


# --- 3-5. Bodies that parse badly or cannot be stored -------------------------------------------------------


@pytest.mark.parametrize(
    "raw",
    [
        '{"input_data": "x", "max_budget_credits": NaN}',
        '{"input_data": "x", "max_budget_credits": Infinity}',
        '{"input_data": "x", "example_output": {"n": -Infinity}}',
        '{"input_data": "x", "example_output": {"n": 1e400}}',
    ],
)
def test_non_finite_numbers_are_400(sandbox, raw):
    _, api = account_api(sandbox)
    assert_json_error(post_raw(api, "/tasks", raw), 400)


@pytest.mark.parametrize("depth", [70, 3000])
def test_deeply_nested_bodies_are_400(sandbox, depth):
    _, api = account_api(sandbox)
    raw = '{"input_data": "x", "example_output": {"n": ' + "[" * depth + "]" * depth + "}}"
    assert "nested" in assert_json_error(post_raw(api, "/tasks", raw), 400)


@pytest.mark.parametrize(
    ("raw", "word"),
    [
        ('{"input_data": "bad \\ud800 half"}', "surrogate"),
        ('{"input_data": "x", "example_output": {"n": "\\udfff"}}', "surrogate"),
        ('{"input_data": "nul \\u0000 inside"}', "NUL"),
        ('{"input_data": "x", "example_output": {"k\\u0000": 1}}', "NUL"),
    ],
)
def test_strings_postgres_cannot_store_are_400(sandbox, raw, word):
    _, api = account_api(sandbox)
    assert word in assert_json_error(post_raw(api, "/tasks", raw), 400)


def test_a_surrogate_pair_is_an_ordinary_character(sandbox):
    _, api = account_api(sandbox)
    response = post_raw(api, "/tasks", '{"input_data": "smile \\ud83d\\ude00"}')
    assert response.status_code == 201, response.text
    assert response.json()["input_data"] == "smile \U0001f600"
    api.delete(f"/tasks/{response.json()['id']}")


# --- 6. JSON errors everywhere ------------------------------------------------------------------------------


def test_unknown_paths_and_malformed_ids_are_json_404(sandbox):
    _, api = account_api(sandbox)
    assert_json_error(httpx.get(f"{sandbox.nexustoken_url}/nothing-here"), 404)
    assert_json_error(api.get("/no/such/endpoint"), 404)
    assert_json_error(api.get("/tasks/not-a-uuid"), 404)
    assert_json_error(api.delete("/tasks/not-a-uuid"), 404)
    assert_json_error(api.post("/tasks/not-a-uuid/bid", json={"bid_credits": 5}), 404)
    assert_json_error(api.post("/tasks/not-a-uuid/submit", json={"result_data": {}}), 404)
    assert_json_error(api.get(f"/tasks/{uuid.uuid4()}"), 404)
    assert_json_error(api.get("/capabilities/not-a-uuid/stats"), 404)
    assert_json_error(api.patch("/capabilities/12/availability", json={"is_available": True}), 404)


def test_an_unexpected_failure_is_a_logged_json_500():
    # A sandbox of our own whose table we can break underneath it: a real bug, seen from outside.
    database = Path(tempfile.mkdtemp(prefix="nt-broken-")) / "sandbox.sqlite3"
    server = start_sandbox(extra_env={"SANDBOX_DATABASE_URL": f"sqlite:///{database}"})
    try:
        _, api = account_api(server)
        assert api.get("/capabilities").status_code == 200
        with sqlite3.connect(database) as conn:
            conn.execute("DROP TABLE sandbox_nexustoken_capability")
        response = api.get("/capabilities")
        assert assert_json_error(response, 500) == "Internal error"
        assert "nexustoken: GET /nexustoken/api/v1/capabilities failed" in server.log_text()
    finally:
        server.stop()


# --- 7. Strict types ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/tasks", {"input_data": "x", "max_budget_credits": "50"}),
        ("/tasks", {"input_data": "x", "max_budget_credits": 50.0}),
        ("/tasks", {"input_data": "x", "max_budget_credits": True}),
        ("/tasks", {"input_data": "x", "min_skill_rating": True}),
        ("/tasks", {"input_data": 5}),
        ("/credits/topup", {"amount_credits": "100"}),
        ("/credits/topup", {"amount_credits": 100.0}),
    ],
)
def test_lax_types_are_refused(sandbox, path, body):
    _, api = account_api(sandbox)
    assert_json_error(api.post(path, json=body), 422)
    assert api.get("/credits/balance").json()["credits_frozen"] == 0


def test_lax_types_are_refused_on_bid_submit_and_availability(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = new_task(requester)
    assert_json_error(worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": "10"}), 422)
    assert_json_error(worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 10.0}), 422)
    awarded = award(sandbox, requester, worker)
    submit = f"/tasks/{awarded['id']}/submit"
    body = {"result_data": {"name": "Ada"}, "publish_as_artifact": "yes"}
    assert_json_error(worker.post(submit, json=body), 422)
    capability = worker.post("/capabilities", json=CAPABILITY).json()
    toggle = f"/capabilities/{capability['id']}/availability"
    assert_json_error(worker.patch(toggle, json={"is_available": "no"}), 422)
    requester.delete(f"/tasks/{task['id']}")


# --- 8. Method errors are JSON, not CSRF pages --------------------------------------------------------------


def test_posts_to_get_only_views_are_json_405(sandbox):
    base = sandbox.nexustoken_url
    _, api = account_api(sandbox)
    assert_json_error(api.post("/events/stream"), 405)
    assert_json_error(httpx.post(f"{base}/api/v1/heartbeat"), 405)
    assert_json_error(httpx.post(f"{base}/health"), 405)
    assert httpx.get(f"{base}/api/v1/heartbeat").json()["latest_sdk_version"] == "0.6.6"


# --- 10. min_skill_rating and quality_preference ------------------------------------------------------------


def test_min_skill_rating_limits_bids_and_the_open_list(sandbox):
    sandbox.set_knobs(auction_seconds=3)
    _, requester = account_api(sandbox)
    _, skilled = account_api(sandbox)
    _, newcomer = account_api(sandbox)
    # One settled first-try task makes a skill score of about 73 (Silver) for that task type.
    settle(sandbox, requester, skilled, task_type="text_classification")
    capability = skilled.post("/capabilities", json={**CAPABILITY, "name": "text_classification"}).json()
    assert skilled.get(f"/capabilities/{capability['id']}/stats").json()["skill_tier"] == "Silver"

    silver = new_task(requester, task_type="text_classification", min_skill_rating=2)
    gold = new_task(requester, task_type="text_classification", min_skill_rating=3)
    anyone = new_task(requester, task_type="text_classification")
    try:
        seen_by_newcomer = {t["id"] for t in newcomer.get("/tasks/available").json()}
        seen_by_skilled = {t["id"] for t in skilled.get("/tasks/available").json()}
        assert anyone["id"] in seen_by_newcomer
        assert silver["id"] not in seen_by_newcomer
        assert silver["id"] in seen_by_skilled
        assert gold["id"] not in seen_by_skilled
        assert "skill" in assert_json_error(
            newcomer.post(f"/tasks/{silver['id']}/bid", json={"bid_credits": 5}), 403
        )
        assert_json_error(skilled.post(f"/tasks/{gold['id']}/bid", json={"bid_credits": 5}), 403)
        assert skilled.post(f"/tasks/{silver['id']}/bid", json={"bid_credits": 5}).status_code == 200
    finally:
        for task in (gold, anyone):
            requester.delete(f"/tasks/{task['id']}")


@pytest.mark.parametrize(
    ("preference", "winner"), [("cheapest", "newcomer"), ("best", "skilled"), ("balanced", "skilled")]
)
def test_quality_preference_weights_the_award(sandbox, preference, winner):
    sandbox.set_knobs(auction_seconds=60)  # open until both bids are in: closed below
    _, requester = account_api(sandbox)
    workers = {"skilled": account_api(sandbox), "newcomer": account_api(sandbox)}
    settle(sandbox, requester, workers["skilled"][1], task_type="data_transformation")

    task = new_task(requester, task_type="data_transformation", quality_preference=preference)
    bids = {"skilled": 15, "newcomer": 6}  # balanced: 0.5*0.25 + 0.5*0.73 beats 0.5*0.7 + 0
    for name, (_, api) in workers.items():
        assert api.post(f"/tasks/{task['id']}/bid", json={"bid_credits": bids[name]}).status_code == 200
    sandbox.close_auction(task["id"])
    awarded = wait_until(
        lambda: (t := requester.get(f"/tasks/{task['id']}").json())["status"] == "AWARDED" and t, "the award"
    )
    assert awarded["awarded_to"] == workers[winner][0]["account_id"]
    assert awarded["awarded_price"] == bids[winner]


# --- 11. New tasks reach workers however many are open ------------------------------------------------------


def test_new_tasks_lead_the_open_list_and_the_stream_replay(sandbox):
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    requester.post("/credits/topup", json={"amount_credits": 1000})
    created = [new_task(requester, max_budget_credits=5, task_type="text_generation") for _ in range(102)]
    try:
        listed = [t["id"] for t in worker.get("/tasks/available").json()]
        assert len(listed) == 100
        assert listed[0] == created[-1]["id"]  # newest first
        assert created[0]["id"] not in listed

        replayed = []
        with worker.stream("GET", "/events/stream", timeout=httpx.Timeout(10, read=5)) as stream:
            for line in stream.iter_lines():
                if line.startswith("data: "):
                    replayed.append(json.loads(line[6:])["task"]["id"])
                if len(replayed) == 100:
                    break
        assert created[-1]["id"] in replayed
        assert replayed[-1] == created[-1]["id"]  # the replay ends with the newest
    finally:
        for task in created:
            requester.delete(f"/tasks/{task['id']}")


# --- 12. GitHub callback ------------------------------------------------------------------------------------


@pytest.mark.parametrize("login", ["a" * 101, "not a login", "<script>"])
def test_github_callback_refuses_bad_logins(sandbox, login):
    _, api = account_api(sandbox)
    authorize_url = api.get("/oauth/github/authorize").json()["authorize_url"]
    assert_json_error(httpx.get(authorize_url, params={"login": login}), 400)
    assert api.get("/credits/credit-info").json()["github_login"] is None
    linked = httpx.get(f"{authorize_url}&login={'b' * 100}").json()
    assert linked["github_login"] == "b" * 100


# --- 13. Races, limits, webhooks, ownership and auth errors -------------------------------------------------


def test_concurrent_bids_make_exactly_one_winner(sandbox):
    sandbox.set_knobs(auction_seconds=60)  # open until every bid is in: closed below
    _, requester = account_api(sandbox)
    task = new_task(requester)
    bidders = [account_api(sandbox) for _ in range(12)]
    start = threading.Barrier(len(bidders))
    statuses: list[int] = []

    def bid(api: Api, amount: int) -> None:
        start.wait()
        statuses.append(api.post(f"/tasks/{task['id']}/bid", json={"bid_credits": amount}).status_code)

    threads = [
        threading.Thread(target=bid, args=(api, 8 + index % 5)) for index, (_, api) in enumerate(bidders)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert sorted(statuses) == [200] * len(bidders)
    sandbox.close_auction(task["id"])
    awarded = wait_until(
        lambda: (t := requester.get(f"/tasks/{task['id']}").json())["status"] == "AWARDED" and t, "the award"
    )
    assert awarded["awarded_price"] == 8
    ids = {account["account_id"]: api for account, api in bidders}
    assert awarded["awarded_to"] in ids
    submits = {
        account_id: api.post(f"/tasks/{task['id']}/submit", json={"result_data": {"name": "A"}}).status_code
        for account_id, api in ids.items()
    }
    assert [code for code in submits.values() if code == 200] == [200]
    assert submits[awarded["awarded_to"]] == 200
    assert requester.get(f"/tasks/{task['id']}").json()["status"] == "SETTLED"


def test_sixty_creates_a_minute_then_429_with_retry_after(sandbox):
    # The general limit of 10 requests a second would otherwise stretch the 60 creates over 6 s.
    sandbox.set_knobs(rate_limits=True, nexustoken_requests_per_second=1000)
    _, api = account_api(sandbox)
    created = []
    for _ in range(60):
        response = api.post("/tasks", json={"input_data": "x", "max_budget_credits": 5})
        assert response.status_code == 201, response.text
        created.append(response.json()["id"])
    limited = api.post("/tasks", json={"input_data": "x", "max_budget_credits": 5})
    assert "60 task creations" in assert_json_error(limited, 429)
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert api.get("/credits/balance").json()["credits_frozen"] == 300  # the refused one froze nothing
    sandbox.set_knobs(rate_limits=False)
    for task_id in created:
        api.delete(f"/tasks/{task_id}")


def test_settled_and_expired_webhooks_verify_with_the_sdk(sandbox):
    account, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    with WebhookReceiver() as receiver:
        settled = award(sandbox, requester, worker, callback_url=receiver.url)
        worker.post(f"/tasks/{settled['id']}/submit", json={"result_data": {"name": "Ada"}})
        expired = award(sandbox, requester, worker, callback_url=receiver.url, auto_retry=0)
        for _ in range(3):
            worker.post(f"/tasks/{expired['id']}/submit", json={"result_data": {}})
        wait_until(lambda: len(receiver.requests) >= 2, "both webhooks")

    bodies = {}
    for headers, raw in receiver.requests:
        assert verify_webhook_signature(headers["X-Nexus-Signature"], raw, account["webhook_secret"])
        bodies[headers["X-Nexus-Task-Id"]] = json.loads(raw)
    assert bodies[settled["id"]]["status"] == "SETTLED"
    assert bodies[settled["id"]]["result_data"] == {"name": "Ada"}
    assert bodies[settled["id"]]["awarded_price"] == 10
    assert bodies[expired["id"]]["status"] == "EXPIRED"
    assert bodies[expired["id"]]["result_data"] is None
    assert bodies[expired["id"]]["awarded_price"] is None


def test_capabilities_of_another_account(sandbox):
    _, owner = account_api(sandbox)
    _, other = account_api(sandbox)
    capability = owner.post("/capabilities", json=CAPABILITY).json()
    toggle = f"/capabilities/{capability['id']}/availability"

    assert_json_error(other.patch(toggle, json={"is_available": False}), 404)
    assert owner.get(toggle.replace("availability", "stats")).status_code == 200
    # Stats are public, like browse: a requester may look a provider up before choosing it.
    assert other.get(f"/capabilities/{capability['id']}/stats").json()["skill_tier"] == "Unrated"
    assert_json_error(other.get(f"/capabilities/{uuid.uuid4()}/stats"), 404)
    assert_json_error(owner.patch(toggle, json={}), 422)
    assert_json_error(owner.get(toggle), 405)
    assert owner.patch(toggle, json={"is_available": False}).json()["is_available"] is False


def test_rotate_key_and_webhook_secret_errors(sandbox):
    account, api = account_api(sandbox)
    anonymous = Api(sandbox, None)
    wrong = Api(sandbox, "f" * 64)
    for path in ("/auth/rotate-key", "/account/webhook-secret/rotate"):
        assert_json_error(anonymous.post(path), 401)
        assert_json_error(wrong.post(path), 401)
        assert_json_error(api.get(path), 405)

    rotated = api.post("/auth/rotate-key").json()["api_key"]
    assert_json_error(api.post("/auth/rotate-key"), 401)  # the old key died with the rotation
    assert_json_error(api.post("/account/webhook-secret/rotate"), 401)
    fresh = Api(sandbox, rotated)
    assert fresh.post("/account/webhook-secret/rotate").json()["webhook_secret"] != account["webhook_secret"]
