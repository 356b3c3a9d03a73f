"""Demo data: one requester account with tasks in every status, and the nodes that worked on them."""

import hashlib
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from .api import hash_key
from .lifecycle import fee_for, iso
from .models import AWARDED, BIDDING, CANCELLED, EXPIRED, PENDING_POOL, SETTLED, Account, ApiKey, Bid, Task
from .nodes import ensure_node
from .views_auth import create_account

DEMO_EMAIL = "demo@nexustoken.local"
DEMO_API_KEY = "5e" + hashlib.sha256(b"nexustoken-demo-key").hexdigest()[:62]
DEMO_WEBHOOK_SECRET = "whsec_demo_" + hashlib.sha256(b"nexustoken-demo-webhook").hexdigest()[:32]
DEMO_BALANCE = 2500

INVOICE_SCHEMA = {
    "type": "object",
    "properties": {
        "vendor": {"type": "string", "description": "Company that issued the invoice"},
        "total": {"type": "string", "description": "Total with currency, e.g. '$1,240.00'"},
        "due_date": {"type": "string", "description": "ISO date"},
    },
    "required": ["vendor", "total"],
}
INVOICE_EXAMPLE = {"vendor": "Acme Corp", "total": "$1,240.00", "due_date": "2026-05-01"}
SENTIMENT_SCHEMA = {
    "type": "object",
    "properties": {"label": {"type": "string", "enum": ["positive", "negative", "neutral"]}},
    "required": ["label"],
}


def _task(creator: Account, status: str, minutes_ago: int, **fields) -> Task:
    moment = timezone.now() - timedelta(minutes=minutes_ago)
    defaults = {
        "task_type": "json_extraction",
        "validation_schema": INVOICE_SCHEMA,
        "example_output": INVOICE_EXAMPLE,
        "max_budget_credits": 40,
        "max_execution_seconds": 120,
    }
    task = Task.objects.create(
        creator=creator, status=status, opened_at=moment, is_demo=True, **{**defaults, **fields}
    )
    # auto_now_add ignores a given value: backdate it afterwards so the list looks lived-in.
    Task.objects.filter(pk=task.pk).update(created_at=moment)
    task.refresh_from_db()
    return task


def _history(*items: tuple[str, str]) -> list[dict]:
    now = iso(timezone.now())
    return [{"at": now, "type": kind, "detail": detail} for kind, detail in items]


def seed() -> dict:
    """Create the demo account and its tasks once; always return the demo credentials."""
    with transaction.atomic():
        demo = Account.objects.filter(email=DEMO_EMAIL).first()
        if demo is None:
            demo = _create_demo()
        ApiKey.objects.get_or_create(
            key_hash=hash_key(DEMO_API_KEY), defaults={"account": demo, "label": "demo"}
        )
    return {
        "email": DEMO_EMAIL,
        "api_key": DEMO_API_KEY,
        "webhook_secret": DEMO_WEBHOOK_SECRET,
        "account_id": str(demo.id),
    }


def _create_demo() -> Account:
    demo = create_account(DEMO_EMAIL, source="demo", credits=DEMO_BALANCE)
    demo.webhook_secret = DEMO_WEBHOOK_SECRET
    node1, node2 = ensure_node(1), ensure_node(2)
    now = timezone.now()

    bidding = _task(
        demo, BIDDING, 1, input_data="Invoice #4471 from Nordwind GmbH, total EUR 2,310.50, due 2026-06-30."
    )
    pooled = _task(
        demo,
        PENDING_POOL,
        30,
        task_type="text_classification",
        input_data="The delivery was late again and nobody answered my emails.",
        validation_schema=SENTIMENT_SCHEMA,
        example_output={"label": "negative"},
        max_budget_credits=10,
        pooled_at=now - timedelta(minutes=20),
        events=_history(("CREATED", "budget 10 NC frozen"), ("PENDING_POOL", "no bids yet")),
    )
    awarded = _task(
        demo,
        AWARDED,
        5,
        task_type="physical_proof",
        input_data="Photograph the opening hours sign of the Central Library main entrance.",
        validation_schema={},
        example_output={},
        max_budget_credits=100,
        max_execution_seconds=1800,
        awarded_to=node1,
        awarded_price=80,
        awarded_at=now,
        events=_history(("CREATED", "budget 100 NC frozen"), ("AWARDED", "80 NC, 1 bid(s)")),
    )
    Bid.objects.create(task=awarded, account=node1, bid_credits=80)
    price = 24
    fee = fee_for(price, 40)
    _task(
        demo,
        SETTLED,
        90,
        input_data="Apple Inc reported Q3 revenue of $81.8 billion, up 5% year over year.",
        validation_schema={
            "type": "object",
            "properties": {
                "company": {"type": "string"},
                "revenue": {"type": "string"},
                "growth": {"type": "string"},
            },
            "required": ["company", "revenue"],
        },
        example_output={"company": "Apple Inc", "revenue": "$81.8 billion", "growth": "5%"},
        awarded_to=node2,
        awarded_price=price,
        awarded_at=now - timedelta(minutes=89),
        fee_credits=fee,
        result_data={"company": "Apple Inc", "revenue": "$81.8 billion", "growth": "5%"},
        finished_at=now - timedelta(minutes=88),
        events=_history(
            ("CREATED", "budget 40 NC frozen"),
            ("AWARDED", f"{price} NC, 2 bid(s)"),
            ("SUBMISSION_REJECTED", "SCHEMA_MISMATCH: (root): 'revenue' is a required property"),
            ("SETTLED", f"paid {price} NC to the worker plus a {fee} NC fee; the rest refunded"),
        ),
    )
    _task(
        demo,
        EXPIRED,
        240,
        input_data="Scanned receipt, mostly unreadable: T0TAL ... 1?.9",
        max_budget_credits=15,
        auto_retry=0,
        finished_at=now - timedelta(minutes=200),
        events=_history(
            ("CREATED", "budget 15 NC frozen"),
            ("AWARDED", "12 NC, 1 bid(s)"),
            ("REJECTED", "validation failed after all retries"),
            ("EXPIRED", "the worker's results failed validation; no automatic retries left, budget refunded"),
        ),
    )
    _task(
        demo,
        CANCELLED,
        600,
        input_data="Draft contract, superseded before anyone bid.",
        finished_at=now - timedelta(minutes=590),
        events=_history(("CREATED", "budget 40 NC frozen"), ("CANCELLED", "cancelled by the requester")),
    )
    open_tasks = [bidding, pooled, awarded]
    for task in open_tasks:
        task.frozen_credits = task.max_budget_credits
        task.save(update_fields=["frozen_credits"])
    demo.credits_frozen = sum(task.frozen_credits for task in open_tasks)
    demo.task_count = 1
    demo.save()
    node2.credits_balance += price
    node2.task_count += 1
    node2.tasks_succeeded += 1
    node2.reputation += 1
    node2.save()
    return demo
