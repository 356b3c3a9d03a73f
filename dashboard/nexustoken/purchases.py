"""Recording Stripe top-ups: one idempotent function, whatever path sees the payment.

The redirect back from checkout proves nothing (anyone can type `?session_id=`): only the upstream's
answer about the session says whether it was paid. The ledger row moves from open to paid, cancelled
or expired with a conditional UPDATE, so a reload, a double submit or two tabs record it once.

A checkout nobody finishes (a closed tab, a declined card never retried) ends when its session
expires upstream (24 hours after it opened, as Stripe's do); the credits page asks about open rows on
every load, so such a row leaves "open" at the first visit after that.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone

from dashboard.audit import record
from dashboard.core.rows import columns, rows
from dashboard.services import nexustoken
from dashboard.services.errors import UpstreamError
from dashboard.services.nexustoken import Balance, CheckoutSession, NexusTokenAPI

from .models import Purchase

# The most open checkouts one page load asks about (the oldest first: they are the likeliest to
# have ended); the rest wait for the next load.
RECHECK_AT_MOST = 5
# A checkout session lives at most this long upstream (Stripe's longest). An upstream answer that
# names no expiry and still says "open" after it is taken as expired.
LONGEST_CHECKOUT = timedelta(hours=24)


@dataclass(frozen=True)
class Recorded:
    purchase: Purchase
    newly: bool  # this call moved it out of "open" (the first to see the outcome)


async def start_checkout(user: User, session: CheckoutSession, amount_credits: int) -> Purchase:
    """The row for a checkout the upstream has just opened for this user."""
    return await Purchase.objects.acreate(
        user=user, session_id=session.session_id, amount_credits=session.amount_credits or amount_credits
    )


def _has_expired(purchase: Purchase, session: CheckoutSession) -> bool:
    if session.status == Purchase.Status.EXPIRED:
        return True
    if session.status != Purchase.Status.OPEN:
        return False  # a status this ledger does not know: leave the row as it is
    now = timezone.now()
    if session.expires_at is not None:
        return session.expires_at <= now
    return purchase.created_at + LONGEST_CHECKOUT <= now


async def record_checkout(
    purchase: Purchase, session: CheckoutSession, balance: Balance | None, request: HttpRequest | None = None
) -> Recorded:
    """Record what the upstream says about this checkout, once; a payment also in the audit log,
    from `request` when the buyer's browser brought the answer."""
    if session.status == Purchase.Status.PAID:
        changes = {
            "status": Purchase.Status.PAID,
            "settled_at": session.paid_at or timezone.now(),
            "balance_after": balance.credits_balance if balance else None,
        }
    elif session.status == Purchase.Status.CANCELLED:
        changes = {"status": Purchase.Status.CANCELLED, "settled_at": timezone.now()}
    elif _has_expired(purchase, session):
        changes = {"status": Purchase.Status.EXPIRED, "settled_at": timezone.now()}
    else:
        return Recorded(purchase, newly=False)
    moved = await _move(purchase, changes, request)
    return Recorded(await Purchase.objects.aget(pk=purchase.pk), newly=bool(moved))


@sync_to_async
def _move(purchase: Purchase, changes: dict[str, object], request: HttpRequest | None) -> int:
    """Move the row out of "open", and log a payment in the same transaction: once, like the row."""
    with transaction.atomic():
        moved = Purchase.objects.filter(pk=purchase.pk, status=Purchase.Status.OPEN).update(**changes)
        if moved and changes["status"] == Purchase.Status.PAID:
            record(
                request,
                "credits.purchase",
                user=purchase.user,
                target=f"{purchase.amount_credits} NC",
                detail={"amount_credits": purchase.amount_credits, "purchase_id": purchase.pk},
            )
    return moved


# Both read on every credits page, so plain SQL (the ORM's build took about 0.4 ms of CPU each). Only the
# model's table and column names are formatted in.
_TABLE = Purchase._meta.db_table
_SELECT = f"SELECT {columns(Purchase)} FROM {_TABLE}"  # noqa: S608
_OPEN = f"{_SELECT} WHERE user_id = %s AND status = %s ORDER BY created_at LIMIT %s"
_RECENT = f"{_SELECT} WHERE user_id = %s ORDER BY created_at DESC LIMIT %s"


def _open(user: User) -> list[Purchase]:
    return rows(Purchase, _OPEN, [user.pk, str(Purchase.Status.OPEN.value), RECHECK_AT_MOST])


def recent(user: User, count: int) -> list[Purchase]:
    """The user's latest purchases, newest first."""
    return rows(Purchase, _RECENT, [user.pk, count])


async def settle_open(api: NexusTokenAPI, user: User) -> None:
    """Checkouts whose browser never came back (closed tab, lost connection, a declined card left
    there): ask the upstream how they ended (paid, cancelled, expired), so the ledger matches the
    balance and nothing stays "open" forever. A failed question leaves them open for next time."""
    waiting = await sync_to_async(_open)(user)
    answers = await asyncio.gather(
        *(nexustoken.credits_checkout_get(api, session_id=p.session_id) for p in waiting),
        return_exceptions=True,
    )
    for purchase, answer in zip(waiting, answers, strict=True):
        if isinstance(answer, CheckoutSession):
            await record_checkout(purchase, answer, None)
        elif not isinstance(answer, UpstreamError):
            raise answer
