"""The sign-in page once django-axes has locked a username out at one address (AXES_LOCKOUT_CALLABLE).

The form again, so nothing else on the page changes, with one sentence saying until when, as a 429:
no JavaScript needed, and a script or a test can tell it from a wrong password (a 200).
"""

from datetime import datetime
from typing import Any

from axes.models import AccessAttempt
from django.conf import settings
from django.contrib.auth.forms import AuthenticationForm
from django.db.models import Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone


def unlocks_at(username: str, ip_address: str | None) -> datetime:
    """When this username may try again from this address: the cool-off after its last counted failure."""
    last = AccessAttempt.objects.filter(username=username, ip_address=ip_address).aggregate(
        last=Max("attempt_time")
    )["last"]
    return (last or timezone.now()) + settings.AXES_COOLOFF_TIME


def lockout_sentence(until: datetime) -> str:
    minutes = max(1, round((until - timezone.now()).total_seconds() / 60))
    at = timezone.localtime(until).strftime("%H:%M %Z")
    return (
        f"Too many failed sign-ins for this username from your address. "
        f"Try again after {at} (in about {minutes} minute{'s' if minutes != 1 else ''}), "
        "or reset your password."
    )


def signin_locked_out(
    request: HttpRequest,
    original_response: HttpResponse | None = None,
    credentials: dict[str, Any] | None = None,
) -> HttpResponse:
    username = str((credentials or {}).get("username") or request.POST.get("username", ""))[:150]
    until = unlocks_at(username, getattr(request, "axes_ip_address", None))
    form = AuthenticationForm(request, initial={"username": username})
    context = {"form": form, "lockout": lockout_sentence(until), "next": request.POST.get("next", "")}
    return render(request, "registration/login.html", context, status=429)
