"""Credits: ratings and credit lines, purchasing power, and locked balance updates."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from sandbox.core import knobs

from .models import SETTLED, Account, Task

SUSPEND_AFTER = timedelta(days=7)  # unpaid debt this old suspends the API


def signup_credits() -> int:
    return knobs.get("signup_credits")


@dataclass(frozen=True)
class Rating:
    name: str
    stars: int
    credit_line: int
    min_tasks: int
    min_counterparties: int
    min_honeypots: int
    min_success_rate: float  # strictly above this share, 0 = no requirement


# Highest first: an account gets the first rating whose requirements it meets (seed table).
RATINGS = [
    Rating("Diamond", 5, 500_000, 200, 20, 1, 0.95),
    Rating("Platinum", 4, 100_000, 80, 10, 1, 0.90),
    Rating("Gold", 3, 20_000, 30, 5, 1, 0.0),
    Rating("Silver", 2, 5_000, 10, 3, 0, 0.0),
    Rating("Bronze", 1, 0, 10, 0, 0, 0.0),
    Rating("Newcomer", 0, 0, 0, 0, 0, 0.0),
]


def counterparties(account: Account) -> int:
    """Distinct accounts this one settled a task with, on either side."""
    settled = Task.objects.filter(status=SETTLED)
    workers = settled.filter(creator=account).exclude(awarded_to=None).values_list("awarded_to", flat=True)
    requesters = settled.filter(awarded_to=account).values_list("creator", flat=True)
    return len(set(workers) | set(requesters))


def success_rate(account: Account) -> float:
    done = account.tasks_succeeded + account.tasks_failed
    return account.tasks_succeeded / done if done else 1.0


def rating_of(account: Account, parties: int | None = None) -> Rating:
    parties = counterparties(account) if parties is None else parties
    rate = success_rate(account)
    for rating in RATINGS:
        if (
            account.task_count >= rating.min_tasks
            and parties >= rating.min_counterparties
            and account.honeypots_passed >= rating.min_honeypots
            and (rating.min_success_rate == 0 or rate > rating.min_success_rate)
        ):
            return rating
    return RATINGS[-1]


def purchasing_power(account: Account, credit_line: int | None = None) -> int:
    line = rating_of(account).credit_line if credit_line is None else credit_line
    return account.credits_balance + max(0, line - account.debt)


def is_suspended(account: Account, now: datetime | None = None) -> bool:
    now = now or timezone.now()
    return account.debt > 0 and account.debt_since is not None and now - account.debt_since >= SUSPEND_AFTER


def is_frozen(account: Account) -> bool:
    return account.reputation < -10


def balance_json(account: Account) -> dict:
    line = rating_of(account).credit_line
    return {
        "account_id": str(account.id),
        "credits_balance": account.credits_balance,
        "credits_frozen": account.credits_frozen,
        "credits_available": account.credits_balance,
        "credit_line": line,
        "debt": account.debt,
        "purchasing_power": purchasing_power(account, line),
    }


def credit_info_json(account: Account) -> dict:
    parties = counterparties(account)
    rating = rating_of(account, parties)
    higher = [r for r in RATINGS if r.stars == rating.stars + 1]
    days_in_debt = (timezone.now() - account.debt_since).days if account.debt and account.debt_since else 0
    return {
        "account_id": str(account.id),
        "rating": rating.name,
        "stars": rating.stars,
        "credit_line": rating.credit_line,
        "debt": account.debt,
        "debt_since": account.debt_since.isoformat() if account.debt and account.debt_since else None,
        "days_in_debt": days_in_debt,
        "suspended": is_suspended(account),
        "purchasing_power": purchasing_power(account, rating.credit_line),
        "task_count": account.task_count,
        "counterparties": parties,
        "success_rate": round(success_rate(account), 4),
        "honeypots_passed": account.honeypots_passed,
        "github_login": account.github_login or None,
        "github_credit_score": account.github_credit_score,
        "next_rating": (
            {
                "name": higher[0].name,
                "credit_line": higher[0].credit_line,
                "min_tasks": higher[0].min_tasks,
                "min_counterparties": higher[0].min_counterparties,
                "min_honeypots": higher[0].min_honeypots,
                "min_success_rate": higher[0].min_success_rate,
            }
            if higher
            else None
        ),
    }


def lock_accounts(*ids) -> dict:
    """Lock these accounts' rows (in id order, so two transactions never wait on each other)."""
    wanted = sorted({i for i in ids if i is not None}, key=str)
    rows = Account.objects.select_for_update().filter(pk__in=wanted).order_by("pk")
    return {row.pk: row for row in rows}


def save_money(account: Account) -> None:
    account.save(update_fields=["credits_balance", "credits_frozen", "debt", "debt_since"])


def freeze(account: Account, amount: int) -> None:
    """Move a budget to frozen, borrowing on the credit line when the balance is short."""
    shortfall = max(0, amount - account.credits_balance)
    account.credits_balance -= amount - shortfall
    if shortfall:
        if account.debt == 0:
            account.debt_since = timezone.now()
        account.debt += shortfall
    account.credits_frozen += amount


def release(account: Account, amount: int) -> None:
    """Unfreeze an amount: it pays down debt first (a budget may have been borrowed), the rest
    goes back to the spendable balance."""
    account.credits_frozen -= amount
    repaid = min(amount, account.debt)
    account.debt -= repaid
    if account.debt == 0:
        account.debt_since = None
    account.credits_balance += amount - repaid


def repay(account: Account, amount: int) -> None:
    account.credits_balance -= amount
    account.debt -= amount
    if account.debt == 0:
        account.debt_since = None
