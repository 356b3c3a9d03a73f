"""The money side the dashboard keeps itself: Stripe purchases and each user's monthly budget.

Purchases are a ledger keyed by the upstream checkout session id, so whichever path sees a payment
first (the return page, a reload of it, a later visit) records it once and only once.
"""

from django.conf import settings
from django.db import models

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


def dollars(credits: int) -> str:
    """1 NC = $0.01 (seed pricing)."""
    return f"${credits / 100:,.2f}"
