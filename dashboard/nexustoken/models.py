"""The dashboard's own record of NexusToken tasks: the seed has no "list my tasks" endpoint.

A task row is written when the dashboard posts a task (or a user adds one by id) and then kept up
to date by three writers, all through `recording.apply_upstream`: the signed webhook, the poller
fallback and the task page's "check now". Each status change is also a `TaskEvent` row, the
page's timeline.

The money side the dashboard keeps itself: Stripe purchases and each user's monthly budget.
Purchases are a ledger keyed by the upstream checkout session id, so whichever path sees a payment
first (the return page, a reload of it, a later visit) records it once and only once.
"""

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone

from dashboard.accounts.models import Connection


class Status(models.TextChoices):
    BIDDING = "BIDDING", "Bidding"
    PENDING_POOL = "PENDING_POOL", "Waiting for bids"
    AWARDED = "AWARDED", "Awarded"
    SETTLED = "SETTLED", "Settled"
    EXPIRED = "EXPIRED", "Expired"
    CANCELLED = "CANCELLED", "Cancelled"


OPEN_STATUSES = frozenset({Status.BIDDING, Status.PENDING_POOL, Status.AWARDED})
FINISHED_STATUSES = frozenset({Status.SETTLED, Status.EXPIRED, Status.CANCELLED})
CANCELLABLE_STATUSES = frozenset({Status.BIDDING, Status.PENDING_POOL})


class Quality(models.TextChoices):
    BEST = "best", "Best: the most skilled worker"
    BALANCED = "balanced", "Balanced: price and skill"
    CHEAPEST = "cheapest", "Cheapest: the lowest bid"


class TaskType(models.TextChoices):
    JSON_EXTRACTION = "json_extraction", "JSON extraction"
    TEXT_CLASSIFICATION = "text_classification", "Text classification"
    TEXT_GENERATION = "text_generation", "Text generation"
    DATA_TRANSFORMATION = "data_transformation", "Data transformation"
    CODE_EXECUTION = "code_execution", "Code execution"
    PHYSICAL_PROOF = "physical_proof", "Physical proof"


class Origin(models.TextChoices):
    POSTED = "posted", "Posted from the dashboard"
    ADDED = "added", "Added by id"


class Task(models.Model):
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="tasks")
    task_id = models.CharField("upstream task id", max_length=64)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.POSTED)
    task_type = models.CharField(max_length=40, default=TaskType.JSON_EXTRACTION)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.BIDDING)
    budget = models.PositiveIntegerField(help_text="NC frozen upstream while the task is open")
    awarded_price = models.PositiveIntegerField(null=True, blank=True)
    platform_fee = models.PositiveIntegerField(null=True, blank=True)
    input_data = models.TextField(blank=True)
    schema = models.JSONField(default=dict, blank=True)
    example_output = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=list, blank=True)
    max_seconds = models.PositiveIntegerField(default=120)
    quality_preference = models.CharField(max_length=10, choices=Quality.choices, default=Quality.BALANCED)
    min_skill_rating = models.PositiveSmallIntegerField(default=0)
    pending_pool_hours = models.PositiveSmallIntegerField(default=24)
    auto_retry = models.PositiveSmallIntegerField(default=3)
    result_data = models.JSONField(null=True, blank=True)
    # [{"code": "SCHEMA_MISMATCH" | "RULE_VIOLATION" | "TIMEOUT", "detail": str, "at": iso}], from
    # the upstream task's event history.
    validation_errors = models.JSONField(default=list, blank=True)
    # How many upstream events we have seen: the history only grows, so it orders two answers.
    upstream_event_count = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The poller's fallback (webhooks are the primary path): when to look next, and who holds it.
    next_poll_at = models.DateTimeField(null=True, blank=True, db_index=True)
    lease_owner = models.CharField(max_length=100, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    error_count = models.PositiveIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["user", "task_id"], name="one_record_per_user_task")]
        indexes = [models.Index(fields=["user", "status", "created_at"])]

    def __str__(self) -> str:
        return f"{self.task_type} {self.task_id} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    @property
    def is_cancellable(self) -> bool:
        return self.status in CANCELLABLE_STATUSES

    @property
    def total_cost(self) -> int | None:
        """What the requester paid: the winning bid plus the platform fee (None until settled)."""
        if self.awarded_price is None or self.platform_fee is None:
            return None
        return self.awarded_price + self.platform_fee


class Source(models.TextChoices):
    CREATED = "created", "posted"
    WEBHOOK = "webhook", "webhook"
    POLLER = "poller", "poller"
    PAGE = "page", "page"


class TaskEvent(models.Model):
    """One status change of a task, as the dashboard learned it."""

    task = models.ForeignKey(Task, on_delete=models.CASCADE, related_name="events")
    from_status = models.CharField(max_length=20, choices=Status.choices, blank=True)
    to_status = models.CharField(max_length=20, choices=Status.choices)
    at = models.DateTimeField(default=timezone.now)
    source = models.CharField(max_length=10, choices=Source.choices)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.from_status or '-'} -> {self.to_status} ({self.source})"


class TaskTemplate(models.Model):
    """A kind of task a user posts again and again, with the input text it was saved with, so posting
    it again is one step."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="task_templates"
    )
    name = models.CharField(max_length=100)
    task_type = models.CharField(max_length=40, default=TaskType.JSON_EXTRACTION)
    input_data = models.TextField(blank=True)
    schema = models.JSONField(default=dict, blank=True)
    example_output = models.JSONField(default=dict, blank=True)
    rules = models.JSONField(default=list, blank=True)
    default_budget = models.PositiveIntegerField(default=20)
    # max_seconds, quality_preference, min_skill_rating, pending_pool_hours, auto_retry
    settings = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="one_template_name_per_user")]

    def __str__(self) -> str:
        return self.name


def new_endpoint_token() -> str:
    return secrets.token_urlsafe(32)


class WebhookEndpoint(models.Model):
    """The unguessable receiver URL of one NexusToken connection (created when first needed)."""

    connection = models.OneToOneField(Connection, on_delete=models.CASCADE, related_name="webhook_endpoint")
    token = models.CharField(max_length=64, unique=True, default=new_endpoint_token)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"webhook endpoint of {self.connection}"


class Outcome(models.TextChoices):
    RECORDED = "recorded", "recorded a new status"
    UNCHANGED = "unchanged", "confirmed, nothing new"
    UNKNOWN_TASK = "unknown_task", "not a task of this user"
    FAILED = "failed", "could not confirm upstream"


class WebhookDelivery(models.Model):
    """One signed delivery, keyed by its body: the sender's retries repeat the exact bytes (with a new
    delivery id each time), so the body hash is what makes the receiver idempotent."""

    connection = models.ForeignKey(Connection, on_delete=models.CASCADE, related_name="webhook_deliveries")
    body_hash = models.CharField(max_length=64)
    delivery_id = models.CharField(max_length=64, blank=True)
    task_id = models.CharField(max_length=64, blank=True)
    status = models.CharField(max_length=20, blank=True)
    received_at = models.DateTimeField(default=timezone.now)
    outcome = models.CharField(max_length=20, choices=Outcome.choices)

    class Meta:
        ordering = ["-received_at"]
        constraints = [
            models.UniqueConstraint(fields=["connection", "body_hash"], name="one_delivery_per_body"),
        ]

    def __str__(self) -> str:
        return f"{self.task_id} {self.status}: {self.outcome}"


DEFAULT_THRESHOLDS = [50, 80, 100]
# Seed: "Debt unpaid for 7+ days = API suspended until repayment."
SUSPENSION_DAYS = 7


def default_thresholds() -> list[int]:
    return list(DEFAULT_THRESHOLDS)


class Purchase(models.Model):
    """One Stripe checkout started from the dashboard, and how it ended."""

    class Status(models.TextChoices):
        OPEN = "open", "Waiting for payment"
        PAID = "paid", "Paid"
        CANCELLED = "cancelled", "Cancelled"
        # The checkout session's time ran out unpaid (abandoned, or every card was declined).
        EXPIRED = "expired", "Expired unpaid"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="purchases")
    session_id = models.CharField(max_length=255, unique=True)
    amount_credits = models.PositiveIntegerField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(auto_now_add=True)
    # Set once, by the conditional UPDATE in purchases.record_checkout: the proof it was counted.
    settled_at = models.DateTimeField(null=True, blank=True)
    balance_after = models.IntegerField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.amount_credits} NC ({self.status}) for {self.user}"

    @property
    def dollars(self) -> str:
        return dollars(self.amount_credits)


class Budget(models.Model):
    """A user's monthly AI spend limit and the alert levels (percent of the limit)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="budget")
    monthly_limit = models.PositiveIntegerField(null=True, blank=True)  # NC; None = no limit
    thresholds = models.JSONField(default=default_thresholds)
    # The highest threshold already announced in `alert_period` (the first day of that month):
    # moved only by a conditional UPDATE, so concurrent settlements raise one alert, not two.
    alert_period = models.DateField(null=True, blank=True)
    alert_level = models.PositiveSmallIntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Budget of {self.user}: {self.monthly_limit or 'no'} NC/month"


class SpendReservation(models.Model):
    """A task's budget set aside against its owner's monthly limit while the task is being posted.

    Taken under the lock of the owner's budget row (budgets.reserve), before the upstream call, so
    posts at the same moment cannot all pass one check; released when the upstream refuses the task,
    and turned into the task's record (whose open budget then counts instead) when it accepts it.
    A post over the limit is allowed only with the explicit override, and `over_limit_by` keeps it.
    """

    class State(models.TextChoices):
        HELD = "held", "Held while the task is posted"
        POSTED = "posted", "Posted: the task's frozen budget counts now"
        RELEASED = "released", "Released: the task was not posted"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reservations")
    amount = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=State.choices, default=State.HELD)
    created_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    task_id = models.CharField("upstream task id", max_length=64, blank=True)
    # The override, recorded: the limit when the post was decided and how far past it the post went
    # (0 when it stayed within the limit, or when there was no limit).
    monthly_limit = models.PositiveIntegerField(null=True, blank=True)
    over_limit_by = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["user", "state", "created_at"])]

    def __str__(self) -> str:
        return f"{self.amount} NC {self.state} for {self.user}"


def dollars(credits: int) -> str:
    """1 NC = $0.01 (seed pricing)."""
    return f"${credits / 100:,.2f}"
