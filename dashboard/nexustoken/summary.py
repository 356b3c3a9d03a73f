"""The NexusToken half of the home page: balance, this month's spend against the budget, open
tasks, and whatever needs the user's attention. Upstream trouble becomes one sentence in the pane;
the rest of the home page (and the local figures) still show."""

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from dashboard.accounts import clients
from dashboard.accounts.models import Service
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.rows import columns, rows
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


# The pane's own reads as plain SQL: built with the ORM, the list and its two counts took about 1.2 ms
# of CPU on every home page. Same rows, same order (the model's); only names from the model are formatted in.
_TASKS = Task._meta.db_table
_OPEN = ", ".join(["%s"] * len(OPEN_STATUSES))
_OPEN_TASKS = (
    f"SELECT {columns(Task)} FROM {_TASKS} WHERE user_id = %s AND status IN ({_OPEN})"  # noqa: S608
    " ORDER BY created_at DESC, id DESC LIMIT %s"
)
_COUNTS = (
    f"SELECT (SELECT COUNT(*) FROM {_TASKS} WHERE user_id = %s AND status IN ({_OPEN})),"  # noqa: S608
    f" (SELECT COUNT(*) FROM {_TASKS} WHERE user_id = %s AND status = %s AND finished_at >= %s)"
)


def local(user: User) -> Summary:
    """What the pane shows from the database (sync, for the home page's one trip to its thread); the
    upstream's figures are added by `nexustoken_summary`."""
    open_statuses = sorted(str(status.value) for status in OPEN_STATUSES)
    week_ago = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=7))
    open_tasks = rows(Task, _OPEN_TASKS, [user.pk, *open_statuses, OPEN_TASKS_SHOWN])
    with connection.cursor() as cursor:
        cursor.execute(_COUNTS, [user.pk, *open_statuses, user.pk, str(Status.EXPIRED.value), week_ago])
        open_count, expired_this_week = cursor.fetchone()
    return Summary(
        spend=budgets.month_spend(user),
        open_tasks=open_tasks,
        open_count=open_count,
        expired_this_week=expired_this_week,
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


async def nexustoken_summary(request: AuthenticatedRequest, summary: Summary) -> Summary:
    """The local `summary`, completed with the upstream's balance, credit and reputation (when the
    stored key works) and what needs the user's attention. For a user connected to NexusToken."""
    stored = request.connections[Service.NEXUSTOKEN]
    if not stored.needs_attention:
        try:
            api = await clients.nexustoken_api(stored)
            summary.balance, summary.info, summary.reputation = await asyncio.gather(
                nexustoken.credits_balance(api), nexustoken.credits_info(api), nexustoken.reputation(api)
            )
        except UpstreamError as error:
            await pages.record_failure(request, error)
            summary.problem = pages.error_message(error)
    summary.attention = _attention(summary)
    return summary
