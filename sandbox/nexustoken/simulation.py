"""Background activity: the clock that closes auctions and times out work, and simulated nodes.

The nodes behave like real SDK workers: they use the public API over HTTP with their own keys,
bid on open tasks, wait for the award, and submit results built from the task's schema
(sometimes a wrong one first, so the retry path gets exercised too).
"""

import logging
import random
import threading
import time
import uuid
from typing import Any

import httpx
from django.db import close_old_connections

from sandbox.core import knobs, tls

from . import checks, lifecycle
from .models import Task
from .nodes import NODE_COUNT, ensure_node, node_key

logger = logging.getLogger(__name__)

CLOCK_SECONDS = 0.25
NODE_POLL_SECONDS = 1.0
AWARD_WAIT_SECONDS = 10.0
FIRST_TRY_FAILURE_RATE = 0.25


def start(base_url: str) -> None:
    """Start the clock and the node threads (daemons; nodes idle while simulate_nodes is off)."""
    threading.Thread(target=_clock, name="nexustoken-clock", daemon=True).start()
    for number in range(1, NODE_COUNT + 1):
        node = _Node(number, f"{base_url}/nexustoken")
        threading.Thread(target=node.run, name=f"nexustoken-node-{number}", daemon=True).start()


def _clock() -> None:
    while True:
        try:
            lifecycle.sweep()
        except Exception:
            logger.exception("nexustoken clock: sweep failed")
        finally:
            close_old_connections()
        time.sleep(CLOCK_SECONDS)


# --- Building results -----------------------------------------------------------------------------------


def _fits(schema: dict, value: Any) -> bool:
    try:
        return checks.schema_error(schema, value) is None
    except checks.UnusableSchema:
        return False


def sample_value(schema: Any, example: Any = None) -> Any:
    """A value that satisfies a (simple) JSON Schema, preferring the task's example where it fits."""
    if not isinstance(schema, dict):
        return example
    if example is not None and _fits(schema, example):
        return example
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    kind = schema.get("type")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object" or (kind is None and "properties" in schema):
        examples = example if isinstance(example, dict) else {}
        return {
            name: sample_value(sub, examples.get(name)) for name, sub in schema.get("properties", {}).items()
        }
    if kind == "array":
        return [sample_value(schema.get("items", {})) for _ in range(max(1, schema.get("minItems", 1)))]
    if kind == "integer":
        return int(schema.get("minimum", 1))
    if kind == "number":
        return float(schema.get("minimum", 1.5))
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    text = "sample"
    text = text.ljust(schema.get("minLength", 0), "x")
    return text[: schema.get("maxLength", len(text))]


def _fit_rules(result: dict, rules: list[dict]) -> dict:
    """Nudge a result towards the rules it can satisfy by construction."""
    for rule in checks.usable_rules(rules):
        kind, field = rule["type"], rule.get("field")
        if kind == "required_fields":
            for name in rule["fields"]:
                if result.get(name) in (None, "", [], {}):
                    result[name] = "sample"
        elif kind == "enum" and result.get(field) not in rule["values"]:
            result[field] = rule["values"][0]
        elif kind == "min_length" and len(str(result.get(field, ""))) < rule["min"]:
            result[field] = str(result.get(field, "")).ljust(rule["min"], "x")
        elif kind == "max_length" and len(str(result.get(field, ""))) > rule["max"]:
            result[field] = str(result.get(field, ""))[: rule["max"]]
    return result


def build_result(task: dict) -> dict:
    if task["task_type"] == "physical_proof":
        return {
            "description": "Done on site; photo attached.",
            "proof": {"type": "file_ref", "file_id": str(uuid.uuid4())},
        }
    schema = task.get("validation_schema") or {}
    value = sample_value(schema, task.get("example_output") or None)
    if not isinstance(value, dict):
        value = {"result": "processed"}
    return _fit_rules(dict(value), task.get("validation_rules") or [])


def wrong_result(task: dict) -> dict | None:
    """A result that fails validation, or None when the task accepts anything."""
    candidate = {"unexpected": True}
    schema = task.get("validation_schema") or {}
    try:
        code, _ = checks.check_result(schema, task.get("validation_rules") or [], candidate)
    except checks.UnusableSchema:
        return None
    return candidate if code else None


# --- Nodes ----------------------------------------------------------------------------------------------


class _Node:
    def __init__(self, number: int, api_url: str):
        self.number = number
        self.api_url = api_url
        self.account_id: str | None = None
        self.tried: set[str] = set()

    def run(self) -> None:
        try:
            self.account_id = str(ensure_node(self.number).id)
        except Exception:
            logger.exception("node %d: could not create its account", self.number)
        finally:
            close_old_connections()
        with httpx.Client(
            verify=tls.context(),
            base_url=self.api_url,
            headers={"X-API-Key": node_key(self.number)},
            timeout=10,
        ) as http:
            while True:
                try:
                    if knobs.get("simulate_nodes"):
                        self._round(http)
                except httpx.HTTPError as exc:
                    logger.debug("node %d: %s", self.number, type(exc).__name__)
                except Exception:
                    logger.exception("node %d failed a round", self.number)
                finally:
                    close_old_connections()
                time.sleep(NODE_POLL_SECONDS + random.uniform(0, 0.5))

    def _round(self, http: httpx.Client) -> None:
        if self.account_id is None:
            self.account_id = str(ensure_node(self.number).id)
            close_old_connections()
        response = http.get("/api/v1/tasks/available")
        if response.status_code != 200:
            return
        demo_ids = {str(pk) for pk in Task.objects.filter(is_demo=True).values_list("pk", flat=True)}
        for task in response.json():
            if task["id"] in self.tried or task["id"] in demo_ids or not knobs.get("simulate_nodes"):
                continue
            self.tried.add(task["id"])
            bid = max(1, int(task["max_budget_credits"] * random.uniform(0.5, 0.9)))
            if http.post(f"/api/v1/tasks/{task['id']}/bid", json={"bid_credits": bid}).status_code != 200:
                continue
            awarded = self._wait_for_award(http, task["id"])
            if awarded is not None:
                self._work(http, awarded)

    def _wait_for_award(self, http: httpx.Client, task_id: str) -> dict | None:
        deadline = time.monotonic() + AWARD_WAIT_SECONDS
        while time.monotonic() < deadline:
            response = http.get(f"/api/v1/tasks/{task_id}")
            if response.status_code != 200:
                return None
            task = response.json()
            if task["status"] == "AWARDED":
                return task if task["awarded_to"] == self.account_id else None
            if task["status"] in ("SETTLED", "EXPIRED", "CANCELLED"):
                return None
            time.sleep(0.3)
        return None

    def _work(self, http: httpx.Client, task: dict) -> None:
        time.sleep(random.uniform(0.2, 1.0) / max(0.1, float(knobs.get("worker_speed"))))
        attempts = [build_result(task)]
        wrong = wrong_result(task)
        if wrong is not None and random.random() < FIRST_TRY_FAILURE_RATE:
            attempts.insert(0, wrong)
        for result in attempts:
            response = http.post(f"/api/v1/tasks/{task['id']}/submit", json={"result_data": result})
            if response.status_code != 200 or response.json().get("error_code") is None:
                return
