"""The spend guardrail: a monthly limit the dashboard enforces before a task is posted, and alerts
when this month's spend crosses a threshold.

Spend of a month = what settled tasks cost (awarded price + platform fee, by settlement date) plus
the budgets still frozen by open tasks, whenever they were posted: money that is committed now
counts now, so the guardrail cannot be dodged by posting many tasks before any settles.
"""

from dataclasses import dataclass
from datetime import date, datetime

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone

from dashboard.notifications.models import Kind
from dashboard.notifications.notify import notify

from .models import OPEN_STATUSES, Budget, Status, Task


@dataclass(frozen=True)
class SpendVerdict:
    allowed: bool
    message: str
    spent: int  # this month so far, open budgets included
    limit: int | None  # None: the user set no limit


@dataclass(frozen=True)
class MonthSpend:
    settled: int  # awarded prices + fees of tasks settled this month
    committed: int  # budgets frozen by open tasks
    limit: int | None

    @property
    def total(self) -> int:
        return self.settled + self.committed

    @property
    def percent(self) -> int | None:
        """Share of the limit used, rounded down (None without a limit)."""
        if not self.limit:
            return None
        return self.total * 100 // self.limit

    @property
    def remaining(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.total)


def month_start(now: datetime | None = None) -> date:
    now = timezone.localtime(now or timezone.now())
    return now.date().replace(day=1)


def _month_start_datetime(now: datetime | None = None) -> datetime:
    first = month_start(now)
    return timezone.make_aware(datetime(first.year, first.month, 1))


def budget_for(user: User) -> Budget:
    budget, _ = Budget.objects.get_or_create(user=user)
    return budget


def month_spend(user: User, now: datetime | None = None) -> MonthSpend:
    cost = Coalesce(Sum("awarded_price"), 0) + Coalesce(Sum("platform_fee"), 0)
    tasks = Task.objects.filter(user=user)
    settled = tasks.filter(status=Status.SETTLED, settled_at__gte=_month_start_datetime(now)).aggregate(
        cost=cost
    )["cost"]
    committed = tasks.filter(status__in=OPEN_STATUSES).aggregate(total=Coalesce(Sum("budget"), 0))["total"]
    limit = Budget.objects.filter(user=user).values_list("monthly_limit", flat=True).first()
    return MonthSpend(settled=settled, committed=committed, limit=limit)


def check_spend(user: User, amount: int) -> SpendVerdict:
    """May this user commit `amount` NC more this month? (The task form asks before posting.)"""
    spend = month_spend(user)
    if spend.limit is None:
        return SpendVerdict(True, "", spend.total, None)
    after = spend.total + amount
    if after <= spend.limit:
        return SpendVerdict(True, "", spend.total, spend.limit)
    message = (
        f"A budget of {amount} NC would bring this month's AI spend to {after} NC, over your monthly "
        f"limit of {spend.limit} NC ({spend.total} NC already spent or frozen by open tasks). Lower the "
        "budget, raise the limit on the Usage page, or tick the override to post it anyway."
    )
    return SpendVerdict(False, message, spend.total, spend.limit)


acheck_spend = sync_to_async(check_spend)


def note_spend(user: User, now: datetime | None = None) -> int | None:
    """Raise the budget alert for the highest threshold this month's spend has reached, once.

    Call it whenever spend may have grown (a task posted, a task settled). Returns the threshold
    announced, or None when there was nothing new to say.
    """
    spend = month_spend(user, now)
    if spend.percent is None:
        return None
    budget = Budget.objects.get(user=user)
    thresholds: list[int] = budget.thresholds  # a JSON list of percentages (default_thresholds)
    reached = [level for level in sorted(thresholds) if spend.percent >= level]
    if not reached:
        return None
    level, period = reached[-1], month_start(now)
    # The claim: only the caller that moves the mark up announces it; a second caller (or a
    # concurrent settlement) finds the level already recorded and updates nothing.
    claimed = (
        Budget.objects.filter(pk=budget.pk)
        .filter(~Q(alert_period=period) | Q(alert_period__isnull=True) | Q(alert_level__lt=level))
        .update(alert_period=period, alert_level=level)
    )
    if not claimed:
        return None
    _announce(user, level, spend)
    return level


anote_spend = sync_to_async(note_spend)


def _announce(user: User, level: int, spend: MonthSpend) -> None:
    title = (
        f"You have reached your monthly AI budget ({spend.limit} NC)"
        if level >= 100
        else f"{level}% of your monthly AI budget is used"
    )
    body = (
        f"This month's NexusToken spend is {spend.total} NC of your {spend.limit} NC limit: "
        f"{spend.settled} NC on settled tasks and {spend.committed} NC frozen by open tasks."
    )
    notify(user, kind=Kind.BUDGET_THRESHOLD, title=title, body=body, url=reverse("nexustoken:credits_usage"))
