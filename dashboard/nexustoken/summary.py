"""The NexusToken half of the home page: balance, this month's spend against the budget, open
tasks, and whatever needs the user's attention. Upstream trouble becomes one sentence in the pane;
the rest of the home page (and the local figures) still show."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts import clients
from dashboard.accounts.models import Service
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.services import nexustoken
from dashboard.services.errors import UpstreamError
from dashboard.services.nexustoken import Balance, CreditInfo, Reputation

from . import budgets
from .models import OPEN_STATUSES, SUSPENSION_DAYS, Status, Task

MIN_TASK_BUDGET = 5  # seed: "Minimum task budget: 5 NC"
OPEN_TASKS_SHOWN = 5


@dataclass(frozen=True)
class Attention:
    text: str
    url: str
    link: str


@dataclass
class Summary:
    spend: budgets.MonthSpend
    open_tasks: list[Task]
    open_count: int
    expired_this_week: int
    balance: Balance | None = None
    info: CreditInfo | None = None
    reputation: Reputation | None = None
    problem: str = ""
    attention: list[Attention] = field(default_factory=list)


def _local(user: User) -> Summary:
    open_tasks = Task.objects.filter(user=user, status__in=OPEN_STATUSES)
    week_ago = timezone.now() - timedelta(days=7)
    return Summary(
        spend=budgets.month_spend(user),
        open_tasks=list(open_tasks[:OPEN_TASKS_SHOWN]),
        open_count=open_tasks.count(),
        expired_this_week=Task.objects.filter(
            user=user, status=Status.EXPIRED, finished_at__gte=week_ago
        ).count(),
    )


def _attention(summary: Summary) -> list[Attention]:
    credits, usage, tasks = (
        reverse("nexustoken:credits"),
        reverse("nexustoken:credits_usage"),
        reverse("nexustoken:task_list"),
    )
    items = []
    if summary.reputation and summary.reputation.is_frozen:
        items.append(
            Attention(
                "Your account is frozen: its reputation is below -10.",
                reverse("nexustoken:reputation"),
                "See reputation",
            )
        )
    if summary.info and summary.info.suspended:
        items.append(
            Attention("Your API access is suspended until the debt is repaid.", credits, "Repay debt")
        )
    elif summary.info and summary.info.debt:
        days = max(0, SUSPENSION_DAYS - summary.info.days_in_debt)
        items.append(
            Attention(
                f"{summary.info.debt} NC of debt: repay it within {days} day(s) to avoid suspension.",
                credits,
                "Repay debt",
            )
        )
    if summary.balance and (summary.balance.purchasing_power or 0) < MIN_TASK_BUDGET:
        items.append(Attention("Not enough credits to post a task (at least 5 NC).", credits, "Buy credits"))
    if summary.spend.percent is not None and summary.spend.percent >= 80:
        items.append(
            Attention(f"{summary.spend.percent}% of this month's AI budget is used.", usage, "See usage")
        )
    if summary.expired_this_week:
        items.append(
            Attention(
                f"{summary.expired_this_week} task(s) expired this week without a result.",
                f"{tasks}?status=EXPIRED",
                "See them",
            )
        )
    return items


async def nexustoken_summary(request: AuthenticatedRequest) -> Summary | None:
    """None when the user has not connected NexusToken (the pane then offers to connect)."""
    connection = request.connections.get(Service.NEXUSTOKEN)
    if connection is None:
        return None
    summary = await sync_to_async(_local)(request.user)
    if not connection.needs_attention:
        try:
            api = await clients.nexustoken_api(connection)
            summary.balance, summary.info, summary.reputation = await asyncio.gather(
                nexustoken.credits_balance(api), nexustoken.credits_info(api), nexustoken.reputation(api)
            )
        except UpstreamError as error:
            await pages.record_failure(request, error)
            summary.problem = pages.error_message(error)
    summary.attention = _attention(summary)
    return summary
