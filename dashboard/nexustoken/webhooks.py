"""The NexusToken webhook receiver: one unguessable URL per connection.

A delivery is only a hint. Its signature (HMAC-SHA256 over the raw body, keyed with the connection's
webhook secret) proves it came from NexusToken for that account; then the task's state is confirmed
with `GET /tasks/{id}` and recorded through `recording`, so a replayed or out-of-order delivery can
never move a task backwards. NexusToken repeats the exact body on every retry with a new delivery id,
so the body's hash makes the receiver idempotent. This is the only CSRF-exempt view: its caller is
a server, authenticated by the signature instead of a session.
"""

import asyncio
import hashlib
import hmac
import json
import logging
import re

from asgiref.sync import sync_to_async
from django.conf import settings
from django.db import IntegrityError
from django.http import HttpRequest, JsonResponse
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from dashboard.accounts import clients
from dashboard.accounts.crypto import UndecryptableSecret
from dashboard.accounts.models import Connection
from dashboard.services import nexustoken as nt
from dashboard.services.errors import UpstreamError

from . import recording
from .metrics import WEBHOOK_DELIVERIES
from .models import Outcome, Source, Task, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)

# The sender gives up after 10 s; confirming must fit well inside, or its retry would race us.
CONFIRM_SECONDS = 5.0


def endpoint_for(connection: Connection) -> WebhookEndpoint:
    endpoint, _ = WebhookEndpoint.objects.get_or_create(connection=connection)
    return endpoint


def callback_url(connection: Connection) -> str | None:
    """The absolute receiver URL to send as a task's callback_url; None without a webhook secret,
    since unverifiable deliveries would be refused anyway (the poller then does the work)."""
    if not connection.webhook_secret:
        return None
    path = reverse("nexustoken:task_webhook", args=[endpoint_for(connection).token])
    public_url: str = settings.PUBLIC_URL
    return public_url.rstrip("/") + path


acallback_url = sync_to_async(callback_url)


# The documented format, exactly: `sha256=` and the lowercase hex digest. Anything looser (no prefix,
# another case, several signatures) is not what NexusToken sends, so it is refused, not guessed at.
SIGNATURE = re.compile(r"sha256=([0-9a-f]{64})")


def signature_ok(secret: str, body: bytes, header: str) -> bool:
    given = SIGNATURE.fullmatch(header)
    if not secret or given is None:
        return False
    expected = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given[1])


def _webhook_secret(connection: Connection) -> str:
    try:
        return connection.webhook_secret
    except UndecryptableSecret:  # the key it was stored under is gone: nothing can be verified
        return ""


def _answer(status: int, detail: str, outcome: str) -> JsonResponse:
    WEBHOOK_DELIVERIES.labels(outcome).inc()
    return JsonResponse({"detail": detail}, status=status)


def _hint(body: bytes) -> tuple[str, str] | None:
    """(task_id, status) from the body, or None when it is not the documented JSON object."""
    try:
        data = json.loads(body)
    except ValueError:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("task_id"), str) or not data["task_id"]:
        return None
    status = data.get("status")
    return data["task_id"][:64], status[:20] if isinstance(status, str) else ""


async def _claim_delivery(
    connection: Connection, body: bytes, request: HttpRequest, hint: tuple[str, str]
) -> bool:
    """Register this body; False when an earlier delivery of it was already handled."""
    body_hash = hashlib.sha256(body).hexdigest()
    fields = {
        "delivery_id": request.headers.get("X-Nexus-Delivery", "")[:64],
        "task_id": hint[0],
        "status": hint[1],
        "received_at": timezone.now(),
        "outcome": Outcome.FAILED,
    }
    try:
        delivery, created = await WebhookDelivery.objects.aget_or_create(
            connection=connection, body_hash=body_hash, defaults=fields
        )
    except IntegrityError:  # the same body arriving twice at once: the other one handles it
        return False
    return created or delivery.outcome == Outcome.FAILED


async def _set_outcome(connection: Connection, body: bytes, outcome: Outcome) -> None:
    body_hash = hashlib.sha256(body).hexdigest()
    await WebhookDelivery.objects.filter(connection=connection, body_hash=body_hash).aupdate(outcome=outcome)


@csrf_exempt
@require_POST
async def receive(request: HttpRequest, token: str) -> JsonResponse:
    endpoint = await WebhookEndpoint.objects.select_related("connection").filter(token=token).afirst()
    if endpoint is None:
        return _answer(404, "Unknown webhook endpoint.", "unknown_endpoint")
    connection = endpoint.connection
    body = request.body
    if not signature_ok(_webhook_secret(connection), body, request.headers.get("X-Nexus-Signature", "")):
        logger.warning("Refused a webhook with a missing or wrong signature (connection %s)", connection.pk)
        return _answer(401, "Missing or invalid X-Nexus-Signature.", "bad_signature")
    hint = _hint(body)
    if hint is None:
        return _answer(400, "The body must be a JSON object with a task_id.", "bad_body")
    task = await Task.objects.filter(user_id=connection.user_id, task_id=hint[0]).afirst()
    if task is None:
        # Not stored: if the user adds this task by id later, a retry of the delivery still counts.
        return _answer(404, "This dashboard does not track that task.", "unknown_task")
    if not await _claim_delivery(connection, body, request, hint):
        return _answer(200, "Already processed.", "duplicate")
    try:
        api = await clients.nexustoken_api(connection)
        async with asyncio.timeout(CONFIRM_SECONDS):
            upstream = await nt.task_get(api, task_id=task.task_id)
    except (UpstreamError, TimeoutError) as error:
        if isinstance(error, UpstreamError):
            await clients.note_failure(connection, error)
        # Let the sender retry, and have the poller look now in case every retry fails too.
        await Task.objects.filter(pk=task.pk).aupdate(next_poll_at=timezone.now())
        logger.info("Could not confirm webhook for task %s: %s", task.task_id, type(error).__name__)
        return _answer(503, "Could not confirm the task with NexusToken; retry later.", "unconfirmed")
    changed = await recording.arecord(task.pk, upstream, Source.WEBHOOK)
    await _set_outcome(connection, body, Outcome.RECORDED if changed else Outcome.UNCHANGED)
    if changed:
        return _answer(200, "Recorded.", "recorded")
    return _answer(200, "Confirmed; nothing new.", "unchanged")
