"""The spend guardrail: a monthly limit the dashboard enforces before a task is posted, and alerts
when this month's spend crosses a threshold.

Spend of a month = what settled tasks cost (awarded price + platform fee, by settlement date) plus
the budgets still frozen by open tasks, whenever they were posted, plus the budgets reserved by
posts still in flight: money that is committed now counts now, so the guardrail cannot be dodged by
posting many tasks before any settles, nor by posting several at the same moment.

Posting reserves, it does not check: `reserve` decides and sets the budget aside in one transaction
that holds the owner's budget row, so two posts at once are decided one after the other, each
seeing the other's reservation. A check followed by the upstream call would let both through.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from dashboard.core.rows import columns, rows
from dashboard.notifications.models import Kind
from dashboard.notifications.notify import notify

from .models import OPEN_STATUSES, Budget, SpendReservation, Status, Task

# A reservation counts this long at most: far beyond any upstream call's bound, so it only ends one
# whose process died between reserving and hearing back (it is then neither released nor posted).
RESERVATION_LIFETIME = timedelta(minutes=10)


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
    reserved: int = 0  # budgets of posts in flight (held until the upstream answers)

    @property
    def total(self) -> int:
        return self.settled + self.committed + self.reserved

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


_SAVED_BUDGET = f"SELECT {columns(Budget)} FROM {Budget._meta.db_table} WHERE user_id = %s"  # noqa: S608


def saved_budget(user: User) -> Budget:
    """The user's budget as saved, or the defaults unsaved (reading creates nothing): plain SQL, since
    the usage page reads it every time."""
    return next(iter(rows(Budget, _SAVED_BUDGET, [user.pk])), None) or Budget(user=user)


@cache
def _month_spend_sql() -> str:
    """The statement behind `month_spend`, made once: four scalar subqueries over one user's rows.

    Written as SQL rather than with the ORM: the ORM built and compiled its nested subqueries and
    aggregates anew on every call, several ms of CPU, most of the home page's own work. The SQL is
    plain enough for SQLite and PostgreSQL alike; the tests of this module run on both. Only table
    names (from the models) are put into it; every value is a parameter.
    """
    tasks, held, budgets = (
        connection.ops.quote_name(model._meta.db_table) for model in (Task, SpendReservation, Budget)
    )
    open_statuses = ", ".join(["%s"] * len(OPEN_STATUSES))
    subqueries = [  # S608: only the table names above are formatted in
        f"SELECT COALESCE(SUM(awarded_price), 0) + COALESCE(SUM(platform_fee), 0) FROM {tasks}"  # noqa: S608
        " WHERE user_id = %s AND status = %s AND settled_at >= %s",
        f"SELECT COALESCE(SUM(budget), 0) FROM {tasks} WHERE user_id = %s AND status IN ({open_statuses})",  # noqa: S608
        f"SELECT COALESCE(SUM(amount), 0) FROM {held} WHERE user_id = %s AND state = %s"  # noqa: S608
        " AND created_at >= %s",
        f"SELECT monthly_limit FROM {budgets} WHERE user_id = %s LIMIT 1",  # noqa: S608
    ]
    return "SELECT " + ", ".join(f"({subquery})" for subquery in subqueries)


_OPEN_STATUS_VALUES = sorted(str(status.value) for status in OPEN_STATUSES)


def month_spend(user: User, now: datetime | None = None) -> MonthSpend:
    """This month's figures, read in one statement: one snapshot of the database. Read one by one,
    a task that settles or a post that is recorded between two reads could be counted in neither."""
    since = (now or timezone.now()) - RESERVATION_LIFETIME
    adapt = connection.ops.adapt_datetimefield_value
    params = [
        user.pk,
        str(Status.SETTLED.value),
        adapt(_month_start_datetime(now)),
        user.pk,
        *_OPEN_STATUS_VALUES,
        user.pk,
        str(SpendReservation.State.HELD.value),
        adapt(since),
        user.pk,
    ]
    with connection.cursor() as cursor:
        cursor.execute(_month_spend_sql(), params)
        settled, committed, reserved, limit = cursor.fetchone()
    return MonthSpend(settled=settled, committed=committed, reserved=reserved, limit=limit)


def _verdict(spend: MonthSpend, amount: int) -> SpendVerdict:
    if spend.limit is None:
        return SpendVerdict(True, "", spend.total, None)
    after = spend.total + amount
    if after <= spend.limit:
        return SpendVerdict(True, "", spend.total, spend.limit)
    message = (
        f"A budget of {amount} NC would bring this month's AI spend to {after} NC, over your monthly "
        f"limit of {spend.limit} NC ({spend.total} NC already spent, frozen by open tasks or being "
        "posted). Lower the budget, raise the limit on the Usage page, or tick the override to post it "
        "anyway."
    )
    return SpendVerdict(False, message, spend.total, spend.limit)


def check_spend(user: User, amount: int) -> SpendVerdict:
    """Would `amount` NC more fit this month? An answer for the page only: posting calls `reserve`."""
    return _verdict(month_spend(user), amount)


acheck_spend = sync_to_async(check_spend)


@dataclass(frozen=True)
class Reserved:
    reservation: SpendReservation | None  # None: refused, and nothing was set aside
    verdict: SpendVerdict


def _hold_budget_row(user: User) -> None:
    """Make this transaction the only one deciding for this user until it ends.

    Its first statement is a write to the user's budget row (a no-op value): on PostgreSQL that
    locks the row until commit, and on SQLite it takes the database's one write lock, whatever the
    transaction mode. Every read after it then sees each reservation committed before, and no
    other reservation of this user commits until this one does. (A lone conditional UPDATE cannot
    do it: the figures are sums over other tables, which an UPDATE's condition reads from the
    snapshot it started with, not from what committed while it waited for the row.) A user without a
    budget row has no limit, so there is nothing to hold.
    """
    Budget.objects.filter(user=user).update(alert_level=F("alert_level"))


@transaction.atomic
def reserve(user: User, amount: int, *, override: bool = False) -> Reserved:
    """Set `amount` NC aside against this month's limit, or refuse it with the sentence to show.

    With `override` a post over the limit is allowed, and the reservation records by how much.
    """
    _hold_budget_row(user)
    verdict = _verdict(month_spend(user), amount)
    if not verdict.allowed and not override:
        return Reserved(None, verdict)
    over = 0 if verdict.allowed or verdict.limit is None else verdict.spent + amount - verdict.limit
    reservation = SpendReservation.objects.create(
        user=user, amount=amount, monthly_limit=verdict.limit, over_limit_by=over
    )
    return Reserved(reservation, verdict)


areserve = sync_to_async(reserve)


def release(reservation: SpendReservation) -> None:
    """The task was not posted: the money it held counts no more."""
    SpendReservation.objects.filter(pk=reservation.pk, state=SpendReservation.State.HELD).update(
        state=SpendReservation.State.RELEASED, finished_at=timezone.now()
    )


arelease = sync_to_async(release)


def mark_posted(reservation: SpendReservation, task_id: str) -> None:
    """The task was posted: from now on its record's open budget counts in place of the reservation.
    Called in the transaction that writes that record, so the amount is never counted twice or lost."""
    SpendReservation.objects.filter(pk=reservation.pk, state=SpendReservation.State.HELD).update(
        state=SpendReservation.State.POSTED, finished_at=timezone.now(), task_id=task_id
    )


# Read on every usage page, so plain SQL (the ORM's build took about 0.4 ms of CPU); the model's order.
_OVERRIDES = (
    f"SELECT {columns(SpendReservation)} FROM {SpendReservation._meta.db_table}"  # noqa: S608
    " WHERE user_id = %s AND state = %s"
    " AND over_limit_by > 0 AND created_at >= %s ORDER BY created_at DESC, id DESC"
)


def overrides(user: User, now: datetime | None = None) -> list[SpendReservation]:
    """This month's posts that went over the limit through the override, newest first."""
    since = connection.ops.adapt_datetimefield_value(_month_start_datetime(now))
    posted = str(SpendReservation.State.POSTED.value)
    return rows(SpendReservation, _OVERRIDES, [user.pk, posted, since])


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
        f"{spend.settled} NC on settled tasks and {spend.committed + spend.reserved} NC frozen by open tasks."
    )
    notify(user, kind=Kind.BUDGET_THRESHOLD, title=title, body=body, url=reverse("nexustoken:credits_usage"))
