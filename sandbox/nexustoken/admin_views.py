"""Admin helpers for tests and demos: recovery codes, credit grants, webhook delivery attempts."""

import json
import logging
import secrets
import uuid
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.http import JsonResponse
from django.utils import timezone
from django.views.decorators.csrf import csrf_exempt

from . import ledger
from .api import error_response
from .lifecycle import iso
from .models import BIDDING, CheckoutSession, RecoveryCode, Task, WebhookDelivery, expire_if_due

logger = logging.getLogger(__name__)


def _is_admin(request) -> bool:
    header = request.headers.get("Authorization", "")
    return secrets.compare_digest(header.encode(), f"Bearer {settings.SANDBOX_ADMIN_TOKEN}".encode())


def recover_codes(request):
    """GET ?email= : the latest recovery code of that account (V1 vendors hand it out by hand)."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    email = request.GET.get("email", "").strip().lower()
    code = RecoveryCode.objects.filter(account__email=email).order_by("-created_at").first()
    if code is None:
        return error_response(404, "No recovery code for this email")
    logger.info("admin read the recovery code of %s", email)
    return JsonResponse(
        {"email": email, "code": code.code, "expires_at": iso(code.expires_at), "used": code.used}
    )


@csrf_exempt
def grant_credits(request, account_id):
    """POST {"amount": n}: add n NC to an account's balance (n may be negative to drain it)."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    if request.method != "POST":
        return error_response(405, "Method Not Allowed")
    try:
        amount = int(json.loads(request.body or b"{}")["amount"])
    except (ValueError, KeyError, TypeError):
        return error_response(422, 'Send {"amount": <int>}')
    with transaction.atomic():
        account = ledger.lock_accounts(account_id).get(account_id)
        if account is None:
            return error_response(404, "Account not found")
        account.credits_balance += amount
        ledger.save_money(account)
    return JsonResponse(ledger.balance_json(account))


# Account fields a test or demo may set directly, to reach ratings, debt or a frozen account quickly.
SETTABLE = ("reputation", "task_count", "tasks_succeeded", "tasks_failed", "honeypots_passed", "debt")


@csrf_exempt
def update_account(request, account_id):
    """POST {"reputation": -11, "debt": 100, "debt_days": 8, ...}: set those fields of an account."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    if request.method != "POST":
        return error_response(405, "Method Not Allowed")
    try:
        changes = json.loads(request.body or b"{}")
        values = {name: int(changes[name]) for name in (*SETTABLE, "debt_days") if name in changes}
    except (ValueError, TypeError, AttributeError):
        return error_response(422, "Send integer values")
    unknown = set(changes) - {*SETTABLE, "debt_days"}
    if unknown:
        return error_response(422, f"Unknown fields: {', '.join(sorted(unknown))}")
    with transaction.atomic():
        account = ledger.lock_accounts(account_id).get(account_id)
        if account is None:
            return error_response(404, "Account not found")
        debt_days = values.pop("debt_days", 0)
        for name, value in values.items():
            setattr(account, name, value)
        if "debt" in values:
            account.debt_since = timezone.now() - timedelta(days=debt_days) if account.debt else None
        account.save()
    return JsonResponse({**ledger.credit_info_json(account), "reputation": account.reputation})


def tasks(request):
    """GET ?creator=<account id>: that account's tasks, oldest first, with their status and event
    history (the load test compares them with what a dashboard recorded)."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    try:
        creator = uuid.UUID(request.GET.get("creator", ""))
    except ValueError:
        return error_response(422, "creator must be an account id (a UUID)")
    rows = Task.objects.filter(creator_id=creator).order_by("created_at", "pk")
    return JsonResponse(
        {
            "tasks": [
                {
                    "id": str(task.pk),
                    "status": task.status,
                    "events": [event["type"] for event in task.events],
                }
                for task in rows
            ]
        }
    )


def webhooks(request):
    """GET [?task_id=]: the latest 100 delivery attempts, newest first."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    rows = WebhookDelivery.objects.order_by("-pk")
    if request.GET.get("task_id"):
        try:
            rows = rows.filter(task_id=uuid.UUID(request.GET["task_id"]))
        except ValueError:
            return error_response(422, "task_id must be a UUID")
    return JsonResponse(
        [
            {
                "task_id": str(row.task_id),
                "url": row.url,
                "delivery_id": str(row.delivery_id),
                "attempt": row.attempt,
                "status": row.status,
                "response_status": row.response_status,
                "error": row.error,
                "created_at": iso(row.created_at),
            }
            for row in rows[:100]
        ],
        safe=False,
    )


@csrf_exempt
def close_auction(request, task_id):
    """POST: close a task's running auction now (it awards at the next look), so a test that places
    several bids need not wait out an auction long enough for all of them."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    if request.method != "POST":
        return error_response(405, "Method Not Allowed")
    closed = Task.objects.filter(pk=task_id, status=BIDDING, auction_closes_at__isnull=False).update(
        auction_closes_at=timezone.now()
    )
    if not closed:
        return error_response(409, "No auction is running for this task")
    return JsonResponse({"task_id": str(task_id), "closed": True})


@csrf_exempt
def expire_checkout(request, session_id):
    """POST: a checkout session's time runs out now (unpaid, it becomes expired), so a test need not
    wait the 24 hours a session lives."""
    if not _is_admin(request):
        return error_response(401, "Send the sandbox admin token")
    if request.method != "POST":
        return error_response(405, "Method Not Allowed")
    if not CheckoutSession.objects.filter(pk=session_id).update(expires_at=timezone.now()):
        return error_response(404, "Checkout session not found")
    expire_if_due(session_id)
    session = CheckoutSession.objects.get(pk=session_id)
    return JsonResponse(
        {"session_id": session.id, "status": session.status, "expires_at": iso(session.expires_at)}
    )
