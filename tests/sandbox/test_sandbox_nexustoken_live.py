"""Live behaviour of the NexusToken emulator: the SSE stream, simulated nodes, and the pending pool."""

import json

import httpx
import pytest

from tests.sandbox.test_sandbox_nexustoken_api import account_api, new_task, register, wait_until
from tests.support.sandbox_process import start_sandbox


@pytest.fixture(scope="module")
def empty_market():
    """A private, unseeded sandbox: its simulated nodes bid on this module's tasks only, never on
    the open tasks other tests leave in the shared sandbox (a node works through them one by one)."""
    server = start_sandbox()
    yield server
    server.stop()


def sse_events(lines) -> dict:
    """The next `data:` event of an SSE line iterator."""
    for line in lines:
        if line.startswith("data:"):
            return json.loads(line[len("data:") :])
    raise AssertionError("the stream ended")


def test_the_stream_announces_new_tasks_as_single_line_json(sandbox):
    _, requester = account_api(sandbox)
    account = register(sandbox)
    url = f"{sandbox.nexustoken_url}/api/v1/events/stream"
    headers = {"X-API-Key": account["api_key"]}
    with httpx.stream("GET", url, headers=headers, params={"topics": "task.new"}, timeout=10) as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")
        lines = stream.iter_lines()
        assert next(lines) == ": connected"
        task = new_task(requester)
        while (event := sse_events(lines))["task"]["id"] != task["id"]:
            pass  # open tasks of others are replayed first
    assert event["type"] == "task.new"
    for key in ("id", "task_type", "max_budget_credits", "max_execution_seconds"):
        assert key in event["task"]


def test_the_stream_needs_a_key(sandbox):
    response = httpx.get(f"{sandbox.nexustoken_url}/api/v1/events/stream")
    assert response.status_code == 401


def test_simulated_nodes_settle_tasks(empty_market):
    empty_market.set_knobs(simulate_nodes=True)
    _, requester = account_api(empty_market)
    rules = [{"type": "enum", "field": "label", "values": ["positive", "negative"]}]
    schema = {
        "type": "object",
        "properties": {"label": {"type": "string"}, "score": {"type": "number", "minimum": 0}},
        "required": ["label", "score"],
    }
    task = new_task(
        requester,
        task_type="text_classification",
        validation_schema=schema,
        validation_rules=rules,
        example_output={"label": "positive", "score": 0.9},
    )
    proof = new_task(requester, task_type="physical_proof", validation_schema={}, example_output={})

    for created in (task, proof):
        settled = wait_until(
            lambda created=created: (
                (t := requester.get(f"/tasks/{created['id']}").json())["status"] == "SETTLED" and t
            ),
            "a node to settle the task",
            timeout=40,
        )
        assert settled["awarded_to"]
    assert settled["result_data"]["proof"]["type"] == "file_ref"
    assert requester.get(f"/tasks/{task['id']}").json()["result_data"]["label"] in ("positive", "negative")


def test_unbid_tasks_move_to_the_pending_pool_and_a_bid_revives_them(sandbox):
    sandbox.set_knobs(nexustoken_routing_seconds=0.5)  # 10 minutes by default
    _, requester = account_api(sandbox)
    _, worker = account_api(sandbox)
    task = new_task(requester)

    pooled = wait_until(
        lambda: (t := requester.get(f"/tasks/{task['id']}").json())["status"] == "PENDING_POOL" and t,
        "the pool",
    )
    assert task["id"] in [t["id"] for t in worker.get("/tasks/available").json()]
    assert worker.post(f"/tasks/{task['id']}/bid", json={"bid_credits": 8}).json()["status"] == "BIDDING"
    sandbox.close_auction(task["id"])
    awarded = wait_until(
        lambda: (t := worker.get(f"/tasks/{task['id']}").json())["status"] == "AWARDED" and t, "the award"
    )
    assert "PENDING_POOL" in [event["type"] for event in pooled["events"]]
    assert awarded["awarded_price"] == 8
