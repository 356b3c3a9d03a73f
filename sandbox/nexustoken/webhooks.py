"""Signed webhook delivery of terminal tasks to their callback_url (contract §5), in the background."""

import hashlib
import hmac
import json
import logging
import threading
import time
import uuid

import httpx
from django.db import close_old_connections, connections
from django.utils import timezone

from sandbox.core import knobs, tls

from .lifecycle import iso
from .models import SETTLED, Task, WebhookDelivery

logger = logging.getLogger(__name__)

# Seconds to wait before each attempt: the first at once, then the seed's 1 s, 3 s and 10 s retries.
SCHEDULE = (0, 1, 3, 10)


def sign(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


def payload(task: Task) -> bytes:
    """The body, serialized once: every attempt sends these exact bytes."""
    data = {
        "event": "task.terminal",
        "task_id": str(task.id),
        "status": task.status,
        "result_data": task.result_data if task.status == SETTLED else None,
        "awarded_price": task.awarded_price,
        "created_at": iso(task.created_at),
        "timestamp": iso(timezone.now()),
    }
    return json.dumps(data, separators=(",", ":")).encode()


def deliver_later(task_id) -> None:
    """Start delivering a terminal task's webhook in a daemon thread (if the knob allows it)."""
    if not knobs.get("deliver_webhooks"):
        return
    threading.Thread(target=_deliver, args=(task_id,), daemon=True, name=f"webhook-{task_id}").start()


def _deliver(task_id) -> None:
    try:
        task = Task.objects.select_related("creator").get(pk=task_id)
        body = payload(task)
        signature = sign(body, task.creator.webhook_secret)
        url = task.callback_url
        with httpx.Client(timeout=10, verify=tls.context()) as client:
            for attempt, delay in enumerate(SCHEDULE, start=1):
                time.sleep(delay)
                if _attempt(client, task, url, body, signature, attempt):
                    return
        logger.info("webhook for task %s gave up after %d attempts", task_id, len(SCHEDULE))
    finally:
        connections.close_all()


def _attempt(client: httpx.Client, task: Task, url: str, body: bytes, signature: str, attempt: int) -> bool:
    delivery_id = uuid.uuid4()
    headers = {
        "Content-Type": "application/json",
        "X-Nexus-Event": "task.terminal",
        "X-Nexus-Task-Id": str(task.id),
        "X-Nexus-Delivery": str(delivery_id),
        "X-Nexus-Signature": signature,
    }
    status_code, error = None, ""
    try:
        response = client.post(url, content=body, headers=headers)
        status_code = response.status_code
    except httpx.HTTPError as exc:
        error = type(exc).__name__
    close_old_connections()
    WebhookDelivery.objects.create(
        task=task,
        url=url,
        delivery_id=delivery_id,
        attempt=attempt,
        status=task.status,
        response_status=status_code,
        error=error,
    )
    return status_code is not None and 200 <= status_code < 300
