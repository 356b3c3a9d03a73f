"""Credits (balance, top-up, fake Stripe, credit line, repay), reputation, webhook secret, capabilities."""

import secrets
from datetime import timedelta
from typing import overload

from django.conf import settings
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from . import ledger, schemas, skill
from .api import ApiError, body, uuid_or_404
from .lifecycle import iso
from .models import Capability, CheckoutSession, expire_if_due
from .views_auth import new_webhook_secret

SECRET_GRACE = timedelta(hours=24)


def balance(request, account):
    return ledger.balance_json(account)


def topup(request, account):
    data = body(request, schemas.Amount)
    with transaction.atomic():
        payer = ledger.lock_accounts(account.pk)[account.pk]
        payer.credits_balance += data.amount_credits
        ledger.save_money(payer)
    return {**ledger.balance_json(payer), "added": data.amount_credits}


def credit_info(request, account):
    return ledger.credit_info_json(account)


def repay(request, account):
    data = body(request, schemas.Repay)
    with transaction.atomic():
        payer = ledger.lock_accounts(account.pk)[account.pk]
        if payer.debt == 0:
            raise ApiError(409, "There is no outstanding debt")
        amount = min(data.amount_credits or payer.debt, payer.debt)
        if payer.credits_balance < amount:
            raise ApiError(
                402, f"Insufficient balance to repay {amount} NC (balance {payer.credits_balance} NC)"
            )
        ledger.repay(payer, amount)
        ledger.save_money(payer)
    return {**ledger.balance_json(payer), "repaid": amount}


def checkout_json(session: CheckoutSession) -> dict:
    return {
        "session_id": session.id,
        "status": session.status,
        "amount_credits": session.amount_credits,
        "checkout_url": f"{settings.SANDBOX_PUBLIC_URL}/nexustoken/checkout/{session.id}",
        "created_at": iso(session.created_at),
        "expires_at": iso(session.expires_at),
        "paid_at": iso(session.paid_at),
    }


def create_checkout(request, account):
    data = body(request, schemas.CheckoutRequest)
    session = CheckoutSession.objects.create(
        id=f"cs_test_{secrets.token_urlsafe(24)}",
        account=account,
        amount_credits=data.amount_credits,
        success_url=data.success_url or "",
        cancel_url=data.cancel_url or "",
    )
    return checkout_json(session)


def checkout_status(request, account, session_id):
    expire_if_due(session_id)
    session = CheckoutSession.objects.filter(pk=session_id, account=account).first()
    if session is None:
        raise ApiError(404, "Checkout session not found")
    return checkout_json(session)


def reputation(request, account):
    return {
        "account_id": str(account.id),
        "email": account.email,
        "reputation": account.reputation,
        "task_count": account.task_count,
        "is_frozen": ledger.is_frozen(account),
        "tasks_succeeded": account.tasks_succeeded,
        "tasks_failed": account.tasks_failed,
        "success_rate": round(ledger.success_rate(account), 4),
        "cooldown_until": iso(account.cooldown_until)
        if account.cooldown_until and account.cooldown_until > timezone.now()
        else None,
        "rating": ledger.rating_of(account).name,
    }


def rotate_webhook_secret(request, account):
    with transaction.atomic():
        row = ledger.lock_accounts(account.pk)[account.pk]
        row.previous_webhook_secret = row.webhook_secret
        row.previous_secret_expires_at = timezone.now() + SECRET_GRACE
        row.webhook_secret = new_webhook_secret()
        row.save(update_fields=["webhook_secret", "previous_webhook_secret", "previous_secret_expires_at"])
    return {
        "webhook_secret": row.webhook_secret,
        "previous_secret_expires_at": iso(row.previous_secret_expires_at),
    }


# --- Capabilities (v1 routes, v2 field names: contract §6) --------------------------------------------

CAPABILITY_FIELDS = (
    "name",
    "category",
    "input_mode",
    "output_mode",
    "price_nc",
    "validation_mode",
    "description",
    "input_schema",
    "output_schema",
    "file_types",
    "tags",
    "version",
    "is_available",
)


def capability_json(capability: Capability) -> dict:
    return {
        "id": str(capability.id),
        "account_id": str(capability.account_id),
        **{name: getattr(capability, name) for name in CAPABILITY_FIELDS},
        "created_at": iso(capability.created_at),
    }


def _capability_or_404(capability_id: str, **filters) -> Capability:
    pk = uuid_or_404(capability_id, "Capability")
    capability = Capability.objects.filter(pk=pk, **filters).first()
    if capability is None:
        raise ApiError(404, "Capability not found")
    return capability


def create_capability(request, account):
    data = body(request, schemas.CapabilityIn)
    capability = Capability.objects.create(account=account, **data.model_dump())
    return capability_json(capability), 201


def my_capabilities(request, account):
    return [capability_json(c) for c in Capability.objects.filter(account=account).order_by("created_at")]


@overload
def _int_param(request: HttpRequest, name: str, default: int, low: int, high: int) -> int: ...
@overload
def _int_param(request: HttpRequest, name: str, default: None, low: int, high: int) -> int | None: ...
def _int_param(request: HttpRequest, name: str, default: int | None, low: int, high: int) -> int | None:
    raw = request.GET.get(name)
    if raw is None or raw == "":
        return default
    try:
        return max(low, min(high, int(raw)))
    except ValueError:
        raise ApiError(422, f"{name} must be an integer") from None


def browse_capabilities(request, account):
    rows = Capability.objects.filter(is_available=True).order_by("price_nc", "created_at")
    for name in ("category", "input_mode", "output_mode"):
        if request.GET.get(name):
            rows = rows.filter(**{name: request.GET[name]})
    max_price = _int_param(request, "max_price", None, 0, 10**9)
    if max_price is not None:
        rows = rows.filter(price_nc__lte=max_price)
    if request.GET.get("provider_mine", "").lower() in {"1", "true"}:
        rows = rows.filter(account=account)
    page = _int_param(request, "page", 1, 1, 10**6)
    per_page = _int_param(request, "per_page", 50, 1, 200)
    tag = request.GET.get("tag")
    # Tags live in a JSON list: filtered here so SQLite and PostgreSQL behave alike.
    matches = [c for c in rows if not tag or tag in c.tags]
    start = (page - 1) * per_page
    return [capability_json(c) for c in matches[start : start + per_page]]


def capability_stats(request, account, capability_id):
    capability = _capability_or_404(capability_id)
    # Public like browse: a requester checks a provider's record before choosing it.
    return {
        "capability_id": str(capability.id),
        "name": capability.name,
        **skill.stats(capability.account, capability.name),
    }


def set_availability(request, account, capability_id):
    capability = _capability_or_404(capability_id, account=account)
    data = body(request, schemas.Availability)
    capability.is_available = data.is_available
    capability.save(update_fields=["is_available"])
    return capability_json(capability)
