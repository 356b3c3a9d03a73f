"""State of the NexusToken emulator: accounts, keys, tasks with their bids, and the side objects."""

import uuid
from datetime import datetime, timedelta

from django.db import models
from django.utils import timezone

# The only statuses a task ever shows on the wire (contract §6).
BIDDING = "BIDDING"
PENDING_POOL = "PENDING_POOL"
AWARDED = "AWARDED"
SETTLED = "SETTLED"
EXPIRED = "EXPIRED"
CANCELLED = "CANCELLED"
OPEN_STATUSES = (BIDDING, PENDING_POOL)
TERMINAL_STATUSES = (SETTLED, EXPIRED, CANCELLED)
STATUS_CHOICES = [(s, s) for s in (BIDDING, PENDING_POOL, AWARDED, SETTLED, EXPIRED, CANCELLED)]


class Account(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    source = models.CharField(max_length=50, blank=True)
    credits_balance = models.IntegerField(default=0)  # spendable, frozen budgets excluded
    credits_frozen = models.IntegerField(default=0)
    debt = models.IntegerField(default=0)
    debt_since = models.DateTimeField(null=True, blank=True)
    reputation = models.IntegerField(default=0)
    task_count = models.IntegerField(default=0)  # settled tasks, as requester or as worker
    tasks_succeeded = models.IntegerField(default=0)  # as worker
    tasks_failed = models.IntegerField(default=0)  # as worker: rejections and timeouts
    consecutive_failures = models.IntegerField(default=0)
    cooldown_until = models.DateTimeField(null=True, blank=True)
    honeypots_passed = models.IntegerField(default=0)
    webhook_secret = models.CharField(max_length=100)
    previous_webhook_secret = models.CharField(max_length=100, blank=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    github_login = models.CharField(max_length=100, blank=True)
    github_credit_score = models.IntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.email


class ApiKey(models.Model):
    """An API key, stored as its SHA-256 only; an account may hold several (device-flow logins)."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="keys")
    key_hash = models.CharField(max_length=64, unique=True)
    label = models.CharField(max_length=100, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.label)


class RecoveryCode(models.Model):
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="recovery_codes")
    code = models.CharField(max_length=6)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used = models.BooleanField(default=False)

    def __str__(self) -> str:
        return str(self.code)


class Task(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    creator = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="tasks")
    task_type = models.CharField(max_length=40)
    input_data = models.TextField()
    validation_schema = models.JSONField(default=dict)
    validation_rules = models.JSONField(default=list)
    example_output = models.JSONField(default=dict)
    max_budget_credits = models.IntegerField()
    max_execution_seconds = models.IntegerField()
    quality_preference = models.CharField(max_length=20, default="balanced")
    min_skill_rating = models.IntegerField(default=0)
    callback_url = models.URLField(max_length=2000, blank=True)
    input_file_ids = models.JSONField(default=list)
    pending_pool_hours = models.IntegerField(default=24)
    auto_retry = models.IntegerField(default=3)  # reopenings left after a failed award
    status = models.CharField(max_length=20, choices=STATUS_CHOICES, default=BIDDING)
    frozen_credits = models.IntegerField(default=0)  # what this task still holds of the budget
    auction_closes_at = models.DateTimeField(null=True, blank=True)
    pooled_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField()  # when the current round of bidding started
    awarded_to = models.ForeignKey(
        Account, null=True, blank=True, on_delete=models.SET_NULL, related_name="awarded_tasks"
    )
    awarded_price = models.IntegerField(null=True, blank=True)
    awarded_at = models.DateTimeField(null=True, blank=True)
    attempts_left = models.IntegerField(default=3)  # submissions left for the current awardee
    result_data = models.JSONField(null=True, blank=True)
    fee_credits = models.IntegerField(null=True, blank=True)
    events = models.JSONField(default=list)  # history: [{"at", "type", "detail"}]
    # Seeded demo tasks keep their status: no clock timeouts, and simulated nodes leave them alone.
    is_demo = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["status", "created_at"])]

    def __str__(self) -> str:
        return str(self.id)


class Bid(models.Model):
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="bids")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="bids")
    bid_credits = models.IntegerField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["task", "account"], name="nt_one_bid_per_account")]

    def __str__(self) -> str:
        return str(self.bid_credits)


class Submission(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="submissions")
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="submissions")
    result_data = models.JSONField()
    error_code = models.CharField(max_length=30, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.id)


class StreamEvent(models.Model):
    """Feed of the SSE stream: every open stream reads the rows after the last one it sent."""

    type = models.CharField(max_length=40)
    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="stream_events")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.type)


class Capability(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="capabilities")
    name = models.CharField(max_length=100)
    category = models.CharField(max_length=20)
    input_mode = models.CharField(max_length=20)
    output_mode = models.CharField(max_length=20)
    price_nc = models.IntegerField()
    validation_mode = models.CharField(max_length=30, default="deterministic")
    description = models.TextField(blank=True)
    input_schema = models.JSONField(null=True, blank=True)
    output_schema = models.JSONField(null=True, blank=True)
    file_types = models.JSONField(default=list)
    tags = models.JSONField(default=list)
    version = models.CharField(max_length=20, default="1.0")
    is_available = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.name)


class DeviceCode(models.Model):
    PENDING, APPROVED, DENIED, CONSUMED = "pending", "approved", "denied", "consumed"

    device_code_hash = models.CharField(max_length=64, unique=True)
    user_code = models.CharField(max_length=9, unique=True)
    client_name = models.CharField(max_length=100)
    state = models.CharField(max_length=10, default=PENDING)
    account = models.ForeignKey(Account, null=True, blank=True, on_delete=models.CASCADE)
    interval = models.IntegerField()
    last_poll_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()

    def __str__(self) -> str:
        return str(self.user_code)


# Stripe's default (and longest) life of a Checkout Session: unpaid by then, it expires.
CHECKOUT_LIFETIME = timedelta(hours=24)


def checkout_expiry() -> datetime:
    return timezone.now() + CHECKOUT_LIFETIME


class CheckoutSession(models.Model):
    OPEN, PAID, CANCELLED, EXPIRED = "open", "paid", "cancelled", "expired"

    id = models.CharField(primary_key=True, max_length=80)
    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="checkout_sessions")
    amount_credits = models.IntegerField()
    success_url = models.URLField(max_length=2000, blank=True)
    cancel_url = models.URLField(max_length=2000, blank=True)
    status = models.CharField(max_length=10, default=OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(default=checkout_expiry)
    paid_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return str(self.id)


def expire_if_due(session_id: str) -> None:
    """An open session past its expiry becomes expired when next looked at, as Stripe's does."""
    CheckoutSession.objects.filter(
        pk=session_id, status=CheckoutSession.OPEN, expires_at__lte=timezone.now()
    ).update(status=CheckoutSession.EXPIRED)


class WebhookDelivery(models.Model):
    """One delivery attempt, kept so tests and demos can see what was sent."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="webhook_deliveries")
    url = models.URLField(max_length=2000)
    delivery_id = models.UUIDField()
    attempt = models.IntegerField()
    status = models.CharField(max_length=20)  # the task status the body reports
    response_status = models.IntegerField(null=True, blank=True)
    error = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return str(self.delivery_id)
