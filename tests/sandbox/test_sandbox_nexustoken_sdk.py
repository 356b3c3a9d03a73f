"""The NexusToken emulator driven by the real, unchanged nexustoken-sdk (NexusClient and NexusWorker)."""

import threading

import httpx
import pytest
from nexus_sdk import NexusClient, NexusWorker
from nexus_sdk import credentials as sdk_credentials
from nexus_sdk.exceptions import NexusAPIError, VersionError
from nexus_sdk.webhook import verify_webhook_signature

from tests.sandbox.test_sandbox_nexustoken_api import WebhookReceiver, register, wait_until

SCHEMA = {
    "type": "object",
    "properties": {"company": {"type": "string"}, "revenue": {"type": "string"}},
    "required": ["company", "revenue"],
}
EXAMPLE = {"company": "Apple Inc", "revenue": "$81.8 billion"}
# The worker below handles only this type, so it never touches other tests' or the demo's tasks.
WORKER_TYPE = "code_execution"


def start_worker(base_url: str, api_key: str, handler) -> tuple[threading.Thread, threading.Event]:
    """Run NexusWorker.run() in a thread; setting the event stops it at its next request.

    run() only ends on KeyboardInterrupt: an httpx request hook raises it, and the SDK's own
    `except KeyboardInterrupt` ends the loop and closes the worker.
    """
    stop = threading.Event()
    worker = NexusWorker(api_key=api_key, base_url=base_url)
    worker.handler(WORKER_TYPE)(handler)

    def halt_when_told(request):
        if stop.is_set():
            raise KeyboardInterrupt

    worker._http.event_hooks = {"request": [halt_when_told], "response": []}
    thread = threading.Thread(target=worker.run, kwargs={"poll_interval": 0.2}, daemon=True)
    thread.start()
    return thread, stop


def stop_worker(thread: threading.Thread, stop: threading.Event) -> None:
    stop.set()
    thread.join(timeout=15)
    assert not thread.is_alive()


def test_a_worker_processes_a_task_to_settled_and_both_balances_move(sandbox):
    requester = register(sandbox)
    node = register(sandbox)
    client = NexusClient(api_key=requester["api_key"], base_url=sandbox.nexustoken_url)
    handled = []

    def handle(task):
        handled.append(task.input_data)
        # The first answer breaks the schema: the SDK retries on the 200 + error_code reply.
        if len(handled) == 1:
            return {"company": "Apple Inc"}
        return {"company": "Apple Inc", "revenue": "$81.8 billion"}

    thread, stop = start_worker(sandbox.nexustoken_url, node["api_key"], handle)
    try:
        task = client.create_task(
            input_data="Apple Inc reported Q3 revenue of $81.8 billion.",
            schema=SCHEMA,
            example_output=EXAMPLE,
            budget=40,
            task_type=WORKER_TYPE,
        )
        assert task.status == "BIDDING"
        result = task.wait_for_result(timeout=30, poll_interval=0.3)
    finally:
        stop_worker(thread, stop)

    assert result.status == "SETTLED"
    assert result.result_data == {"company": "Apple Inc", "revenue": "$81.8 billion"}
    assert result.awarded_price == 32  # the SDK bids int(40 * 0.8)
    assert handled == ["Apple Inc reported Q3 revenue of $81.8 billion."] * 2
    # The requester paid the bid plus a 5% fee (2 NC) and got the rest of the budget back.
    assert client.balance()["credits_balance"] == 500 - 34
    assert client.balance()["credits_frozen"] == 0
    worker_client = NexusClient(api_key=node["api_key"], base_url=sandbox.nexustoken_url)
    assert worker_client.balance()["credits_balance"] == 500 + 32
    assert worker_client.reputation()["reputation"] == 1
    events = [event["type"] for event in task.refresh()["events"]]
    assert events[-3:] == ["AWARDED", "SUBMISSION_REJECTED", "SETTLED"]


def test_a_worker_in_sse_mode_processes_a_new_task(sandbox):
    requester = NexusClient(api_key=register(sandbox)["api_key"], base_url=sandbox.nexustoken_url)
    worker = NexusWorker(api_key=register(sandbox)["api_key"], base_url=sandbox.nexustoken_url)
    worker.handler(WORKER_TYPE)(lambda task: {"company": "ACME", "revenue": "$1"})
    stop = threading.Event()

    def halt_when_told(request):
        if stop.is_set():
            raise KeyboardInterrupt

    worker._http.event_hooks = {"request": [halt_when_told], "response": []}
    thread = threading.Thread(target=worker.run_sse, daemon=True)
    thread.start()
    task = requester.create_task(
        input_data="ACME made $1", schema=SCHEMA, example_output=EXAMPLE, budget=10, task_type=WORKER_TYPE
    )
    result = task.wait_for_result(timeout=30, poll_interval=0.3)

    # run_sse() only makes a request when an event arrives: one more task wakes it up to stop.
    stop.set()
    wake_up = requester.create_task(
        input_data="stop", schema=SCHEMA, example_output=EXAMPLE, budget=10, task_type=WORKER_TYPE
    )
    thread.join(timeout=15)
    wake_up.cancel()
    assert not thread.is_alive()
    assert result.status == "SETTLED"
    assert result.result_data == {"company": "ACME", "revenue": "$1"}


def test_cancel_refunds_the_budget_and_a_second_cancel_conflicts(sandbox):
    account = register(sandbox)
    client = NexusClient(api_key=account["api_key"], base_url=sandbox.nexustoken_url)
    task = client.create_task(input_data="x", schema=SCHEMA, example_output=EXAMPLE, budget=25)
    assert client.balance()["credits_frozen"] == 25

    cancelled = task.cancel()

    assert cancelled["status"] == "CANCELLED"
    assert cancelled["id"] == task.task_id
    assert client.balance()["credits_balance"] == 500
    assert client.balance()["credits_frozen"] == 0
    with pytest.raises(NexusAPIError) as error:
        task.cancel()
    assert error.value.status_code == 409
    assert task.wait_for_result(timeout=5).status == "CANCELLED"


def test_balance_topup_and_reputation(sandbox):
    account = register(sandbox)
    client = NexusClient(api_key=account["api_key"], base_url=sandbox.nexustoken_url)

    assert client.topup(250)["credits_balance"] == 750
    balance = client.balance()
    reputation = client.reputation()

    assert balance["credits_balance"] == 750
    assert isinstance(balance["credits_frozen"], int)
    assert reputation["reputation"] == 0
    assert reputation["task_count"] == 0
    assert reputation["is_frozen"] is False


def test_sdk_errors_carry_the_detail(sandbox):
    client = NexusClient(api_key="0" * 64, base_url=sandbox.nexustoken_url)
    with pytest.raises(NexusAPIError) as error:
        client.balance()
    assert error.value.status_code == 401
    assert error.value.detail == "Invalid or missing API key"


def test_physical_proof_helper_is_accepted(sandbox):
    client = NexusClient(api_key=register(sandbox)["api_key"], base_url=sandbox.nexustoken_url)
    task = client.create_physical_proof_task("Photograph the town hall clock at noon.")
    assert task.task_data["max_execution_seconds"] == 1800
    assert task.task_data["task_type"] == "physical_proof"
    task.cancel()


def test_list_tasks_is_a_bare_array_without_my_own(sandbox):
    mine = NexusClient(api_key=register(sandbox)["api_key"], base_url=sandbox.nexustoken_url)
    other = NexusClient(api_key=register(sandbox)["api_key"], base_url=sandbox.nexustoken_url)
    task = mine.create_task(input_data="hello", schema=SCHEMA, example_output=EXAMPLE, budget=10)
    try:
        assert task.task_id not in {item["id"] for item in mine.list_tasks()}
        listed = {item["id"]: item for item in other.list_tasks()}
        assert listed[task.task_id]["input_data"] is None  # hidden from non-awarded bidders
        assert listed[task.task_id]["input_data_preview"] == "hello"
    finally:
        task.cancel()


def test_webhook_bodies_verify_with_the_sdk(sandbox):
    account = register(sandbox)
    client = NexusClient(api_key=account["api_key"], base_url=sandbox.nexustoken_url)
    with WebhookReceiver() as receiver:
        task = client.create_task(
            input_data="x", schema=SCHEMA, example_output=EXAMPLE, budget=10, callback_url=receiver.url
        )
        task.cancel()
        wait_until(lambda: receiver.requests, "the webhook")

    headers, body = receiver.requests[0]
    assert verify_webhook_signature(headers["X-Nexus-Signature"], body, account["webhook_secret"])
    assert not verify_webhook_signature(headers["X-Nexus-Signature"], body, "whsec_wrong")
    assert headers["X-Nexus-Event"] == "task.terminal"
    assert headers["X-Nexus-Task-Id"] == task.task_id


def test_device_flow_login_saves_credentials(sandbox, tmp_path, monkeypatch):
    server = sandbox
    server.set_knobs(nexustoken_device_interval=1)  # the client polls this often; 5 s by default
    account = register(server)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setattr(sdk_credentials, "CREDENTIALS_PATH", tmp_path / ".nexus" / "credentials")
    lines: list[str] = []

    def approve_when_shown():
        wait_until(lambda: any("Enter code" in line for line in lines), "the user code")
        code = next(line for line in lines if "Enter code" in line).split(":")[1].strip(" │")
        response = httpx.post(
            f"{server.nexustoken_url}/api/v1/oauth/device/approve",
            headers={"X-API-Key": account["api_key"]},
            json={"user_code": code},
        )
        assert response.status_code == 200

    approver = threading.Thread(target=approve_when_shown, daemon=True)
    approver.start()
    client = NexusClient.login_device_flow(
        base_url=server.nexustoken_url, client_name="pytest", timeout=30, print_fn=lines.append
    )
    approver.join(timeout=10)

    assert client.balance()["account_id"] == account["account_id"]
    saved = sdk_credentials.load_credentials(path=tmp_path / ".nexus" / "credentials")
    assert saved["account_id"] == account["account_id"]
    assert saved["webhook_secret"] == account["webhook_secret"]
    assert saved["base_url"] == server.nexustoken_url
    assert len(saved["api_key"]) == 64
    assert any(f"{server.nexustoken_url}/device?user_code=" in line for line in lines)


def test_a_raised_minimum_sdk_version_stops_the_client(sandbox):
    sandbox.set_knobs(nexustoken_min_sdk="9.0.0")
    with pytest.raises(VersionError):
        NexusClient(api_key="0" * 64, base_url=sandbox.nexustoken_url)
    with pytest.raises(VersionError):
        NexusWorker(api_key="0" * 64, base_url=sandbox.nexustoken_url)
