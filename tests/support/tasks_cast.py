"""Helpers of the task tests: dashboard users connected to fresh NexusToken accounts, tasks they
post through the dashboard, and a worker account that settles them in the live sandbox."""

import hashlib
import hmac
import json
import time

import httpx
from django.urls import reverse

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Connection, Service
from dashboard.nexustoken.models import Task
from tests.support.helpers import dashboard_user, new_nexustoken_account

SCHEMA = {
    "type": "object",
    "properties": {
        "company": {"type": "string", "description": "Full legal company name"},
        "revenue": {"type": "string", "description": "Keep currency and unit, e.g. '$81.8 billion'"},
    },
    "required": ["company", "revenue"],
    "additionalProperties": False,
}
EXAMPLE = {"company": "Apple Inc", "revenue": "$81.8 billion"}


def task_fields(**overrides) -> dict:
    """A valid POST of /tasks/new/ (the seed's short field names); an override of None drops a field."""
    fields = {
        "task_type": "json_extraction",
        "input_data": "Apple Inc reported Q3 revenue of $81.8 billion, up 5% year over year.",
        "schema": json.dumps(SCHEMA),
        "example_output": json.dumps(EXAMPLE),
        "rules": "",
        "budget": "20",
        "max_seconds": "120",
        "quality_preference": "balanced",
        "min_skill_rating": "0",
        "pending_pool_hours": "24",
        "auto_retry": "3",
        "post": "1",
    }
    return {name: value for name, value in {**fields, **overrides}.items() if value is not None}


class Person:
    """A dashboard user connected to their own NexusToken account."""

    def __init__(self, sandbox):
        self.user = dashboard_user()
        self.account = new_nexustoken_account(sandbox)
        self.connection: Connection = save_connection(
            self.user,
            Service.NEXUSTOKEN,
            secret=self.account["api_key"],
            webhook_secret=self.account["webhook_secret"],
            account_id=self.account["account_id"],
            account_label=self.account["email"],
        )
        self.api = httpx.Client(
            base_url=f"{sandbox.nexustoken_url}/api/v1",
            headers={"X-API-Key": self.account["api_key"]},
            timeout=10,
        )

    def login(self, client):
        client.force_login(self.user)
        return client

    def post_task(self, client, **overrides) -> Task:
        response = self.login(client).post(reverse("nexustoken:task_new"), task_fields(**overrides))
        assert response.status_code == 302, response.content.decode()[:3000]
        return Task.objects.get(user=self.user, task_id=response.url.rstrip("/").rsplit("/", 1)[-1])

    def upstream(self, task_id: str) -> dict:
        response = self.api.get(f"/tasks/{task_id}")
        response.raise_for_status()
        return response.json()


def settle(sandbox, task_id: str, result: dict | None = None) -> dict:
    """A fresh worker account bids, has the auction closed at once, waits for the award and submits
    `result` (the example by default); returns the submission answer."""
    worker = new_nexustoken_account(sandbox)
    with httpx.Client(
        base_url=f"{sandbox.nexustoken_url}/api/v1", headers={"X-API-Key": worker["api_key"]}, timeout=10
    ) as api:
        api.post(f"/tasks/{task_id}/bid", json={"bid_credits": 10}).raise_for_status()
        sandbox.close_auction(task_id)
        deadline = time.monotonic() + 10
        while api.get(f"/tasks/{task_id}").json()["status"] != "AWARDED":
            assert time.monotonic() < deadline, "the sandbox did not award the task"
            time.sleep(0.2)
        answer = api.post(f"/tasks/{task_id}/submit", json={"result_data": result or EXAMPLE})
        answer.raise_for_status()
        return answer.json()


def signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def delivery(task_id: str, status: str = "SETTLED", **extra) -> bytes:
    """A body shaped like the sandbox's (and the seed's) task.terminal webhook."""
    data = {
        "event": "task.terminal",
        "task_id": task_id,
        "status": status,
        "result_data": None,
        "awarded_price": None,
        "created_at": "2026-04-01T07:00:00Z",
        "timestamp": "2026-04-01T07:01:30Z",
        **extra,
    }
    return json.dumps(data, separators=(",", ":")).encode()
