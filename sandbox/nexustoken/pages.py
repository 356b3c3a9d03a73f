"""HTML pages: the fake Stripe Checkout and the device-flow approval page."""

import re
from datetime import date

from django.db import transaction
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils import timezone

from . import ledger
from .api import ApiError, auth_failure, hash_key
from .models import ApiKey, CheckoutSession, expire_if_due
from .views_auth import decide_device_code

CARD_OK = "4242424242424242"
CARD_DECLINED = "4000000000000002"


def _luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def card_error(number: str, expiry: str, cvc: str, today: date | None = None) -> str | None:
    """Why the card is refused, or None when it pays (only the sandbox's success card pays)."""
    today = today or date.today()
    digits = re.sub(r"[\s-]", "", number)
    if not re.fullmatch(r"\d{13,19}", digits) or not _luhn_ok(digits):
        return "Your card number is invalid."
    match = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{2}|\d{4})\s*", expiry)
    if not match or not 1 <= int(match[1]) <= 12:
        return "Your card's expiration date is invalid."
    year = int(match[2]) + (2000 if len(match[2]) == 2 else 0)
    if (year, int(match[1])) < (today.year, today.month):
        return "Your card has expired."
    if not re.fullmatch(r"\d{3,4}", cvc.strip()):
        return "Your card's security code is invalid."
    if digits == CARD_DECLINED:
        return "Your card was declined."
    if digits != CARD_OK:
        return "Your card was declined. In the sandbox, pay with 4242 4242 4242 4242."
    return None


def _with_session_id(url: str, session_id: str) -> str:
    return f"{url}{'&' if '?' in url else '?'}session_id={session_id}"


def _message(request, heading: str, message: str, kind: str = "ok", status: int = 200) -> HttpResponse:
    return render(
        request,
        "nexustoken/message.html",
        {"heading": heading, "message": message, "kind": kind},
        status=status,
    )


def _pay(session_id: str) -> CheckoutSession | None:
    """Mark the session paid and grant its credits, once: a second payment changes nothing."""
    expire_if_due(session_id)
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None or session.status != CheckoutSession.OPEN:
            return session
        account = ledger.lock_accounts(session.account_id)[session.account_id]
        account.credits_balance += session.amount_credits
        ledger.save_money(account)
        session.status = CheckoutSession.PAID
        session.paid_at = timezone.now()
        session.save(update_fields=["status", "paid_at"])
    return session


def checkout(request: HttpRequest, session_id: str):
    expire_if_due(session_id)
    session = CheckoutSession.objects.filter(pk=session_id).first()
    if session is None:
        return _message(request, "Checkout", "This checkout session does not exist.", "error", 404)
    context = {
        "session": session,
        "dollars": f"{session.amount_credits / 100:.2f}",
        "form": {},
        "error": None,
    }
    if request.method == "POST" and session.status == CheckoutSession.OPEN:
        form = {name: request.POST.get(name, "") for name in ("card_number", "expiry", "cvc")}
        error = card_error(form["card_number"], form["expiry"], form["cvc"])
        if error:
            context.update(error=error, form={"card_number": form["card_number"], "expiry": form["expiry"]})
            return render(request, "nexustoken/checkout.html", context, status=402)
        paid = _pay(session_id)
        assert paid is not None, "the session read above still exists"
        session = paid
    if request.method == "POST" and session.status == CheckoutSession.PAID:
        if session.success_url:
            return HttpResponseRedirect(_with_session_id(session.success_url, session.id))
        return _message(
            request, "Payment complete", f"{session.amount_credits} NC were added to your account."
        )
    context["session"] = session
    return render(request, "nexustoken/checkout.html", context)


def checkout_cancel(request: HttpRequest, session_id: str):
    expire_if_due(session_id)
    with transaction.atomic():
        session = CheckoutSession.objects.select_for_update().filter(pk=session_id).first()
        if session is None:
            return _message(request, "Checkout", "This checkout session does not exist.", "error", 404)
        if session.status == CheckoutSession.OPEN:
            session.status = CheckoutSession.CANCELLED
            session.save(update_fields=["status"])
    if session.cancel_url:
        return HttpResponseRedirect(_with_session_id(session.cancel_url, session.id))
    return _message(request, "Checkout cancelled", "No payment was made.", "error")


def device(request: HttpRequest):
    context: dict[str, object] = {"user_code": request.GET.get("user_code", ""), "error": None, "done": None}
    if request.method != "POST":
        return render(request, "nexustoken/device.html", context)
    user_code = context["user_code"] = request.POST.get("user_code", "")
    try:
        raw = request.POST.get("api_key", "").strip()
        key = ApiKey.objects.select_related("account").filter(key_hash=hash_key(raw)).first() if raw else None
        if key is None:
            raise auth_failure(request, 401, "That API key is not valid.")
        approve = request.POST.get("decision") == "approve"
        grant = decide_device_code(key.account, user_code, approve)
    except ApiError as exc:
        context["error"] = exc.detail
        return render(request, "nexustoken/device.html", context, status=exc.status)
    context["approved"] = approve
    context["done"] = (
        f"Approved: {grant.client_name} is now connected. You can close this page."
        if approve
        else f"Denied: {grant.client_name} was not connected."
    )
    return render(request, "nexustoken/device.html", context)
