"""Recording Stripe top-ups: one idempotent function, whatever path sees the payment.

The redirect back from checkout proves nothing (anyone can type `?session_id=`): only the upstream's
answer about the session says whether it was paid. The ledger row moves from open to paid or
cancelled with a conditional UPDATE, so a reload, a double submit or two tabs record it once.
"""

import asyncio
from dataclasses import dataclass
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from dashboard.services import nexustoken
from dashboard.services.errors import UpstreamError
from dashboard.services.nexustoken import Balance, CheckoutSession, NexusTokenAPI

from .models import Purchase

# A checkout left open this long is abandoned: the credits page stops asking about it.
RECHECK_WINDOW = timedelta(days=1)
RECHECK_AT_MOST = 5


@dataclass(frozen=True)
class Recorded:
    purchase: Purchase
    newly: bool  # this call moved it out of "open" (the first to see the outcome)


async def start_checkout(user: User, session: CheckoutSession, amount_credits: int) -> Purchase:
    """The row for a checkout the upstream has just opened for this user."""
    return await Purchase.objects.acreate(
        user=user, session_id=session.session_id, amount_credits=session.amount_credits or amount_credits
    )


async def record_checkout(purchase: Purchase, session: CheckoutSession, balance: Balance | None) -> Recorded:
    """Record what the upstream says about this checkout, once."""
    if session.status == Purchase.Status.PAID:
        changes = {
            "status": Purchase.Status.PAID,
            "settled_at": session.paid_at or timezone.now(),
            "balance_after": balance.credits_balance if balance else None,
        }
    elif session.status == Purchase.Status.CANCELLED:
        changes = {"status": Purchase.Status.CANCELLED, "settled_at": timezone.now()}
    else:
        return Recorded(purchase, newly=False)
    moved = await Purchase.objects.filter(pk=purchase.pk, status=Purchase.Status.OPEN).aupdate(**changes)
    return Recorded(await Purchase.objects.aget(pk=purchase.pk), newly=bool(moved))


async def settle_open(api: NexusTokenAPI, user: User) -> None:
    """Checkouts whose browser never came back (closed tab, lost connection): ask the upstream how
    they ended, so the ledger matches the balance. A failed question leaves them open for next time."""
    since = timezone.now() - RECHECK_WINDOW
    rows = Purchase.objects.filter(user=user, status=Purchase.Status.OPEN, created_at__gte=since)
    waiting = [purchase async for purchase in rows[:RECHECK_AT_MOST]]
    answers = await asyncio.gather(
        *(nexustoken.credits_checkout_get(api, session_id=p.session_id) for p in waiting),
        return_exceptions=True,
    )
    for purchase, answer in zip(waiting, answers, strict=True):
        if isinstance(answer, CheckoutSession):
            await record_checkout(purchase, answer, None)
        elif not isinstance(answer, UpstreamError):
            raise answer
