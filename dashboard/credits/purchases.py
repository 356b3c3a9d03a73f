"""Recording Stripe top-ups: one idempotent function, whatever path sees the payment.

The redirect back from checkout proves nothing (anyone can type `?session_id=`): only the upstream's
answer about the session says whether it was paid. The ledger row moves from open to paid or
cancelled with a conditional UPDATE, so a reload, a double submit or two tabs record it once.
"""

from dataclasses import dataclass

from django.utils import timezone

from dashboard.services.nexustoken import Balance, CheckoutSession

from .models import Purchase


@dataclass(frozen=True)
class Recorded:
    purchase: Purchase
    newly: bool  # this call moved it out of "open" (the first to see the outcome)


async def start_checkout(user, session: CheckoutSession, amount_credits: int) -> Purchase:
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
