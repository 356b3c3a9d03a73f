"""The notification list (mark read, mark all read, open) and the preferences page."""

from typing import TypedDict

from django.conf import settings
from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme

from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.sections import menu_section

from .forms import IdForm, PreferenceForm
from .models import Notification, NotificationPreference
from .notify import preferences

LISTED = 100  # the newest notifications shown; older ones are kept but not listed


def _own(request: AuthenticatedRequest) -> Notification:
    """The notification named by the POST's id, if it is the user's; else 404."""
    form = IdForm(request.POST)
    if not form.is_valid():
        raise Http404("No such notification.")
    found = Notification.objects.filter(user=request.user, pk=form.cleaned_data["id"]).first()
    if found is None:
        raise Http404("No such notification.")
    return found


def _after(request: AuthenticatedRequest) -> HttpResponse:
    if request.htmx:
        # The body, and the bell of the top bar out of band, with the count after the change.
        context = _list_context(request)
        request.unread_notifications = context["unread"]
        return render(request, "notifications/list.html#body", context)
    return redirect("notifications:notifications")


class ListContext(TypedDict):
    notifications: list[Notification]
    unread: int
    total: int


def _list_context(request: AuthenticatedRequest) -> ListContext:
    mine = Notification.objects.filter(user=request.user)
    listed = list(mine[:LISTED])
    if len(listed) < LISTED:  # every notification is listed: counted here, without two more queries
        return {
            "notifications": listed,
            "unread": sum(notification.read_at is None for notification in listed),
            "total": len(listed),
        }
    return {
        "notifications": listed,
        "unread": mine.filter(read_at__isnull=True).count(),
        "total": mine.count(),
    }


@menu_section("notifications")
@login_required
def notification_list(request: AuthenticatedRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "notifications/list.html", _list_context(request))
    unread = Notification.objects.filter(user=request.user, read_at__isnull=True)
    if "read_all" in request.POST:
        count = unread.update(read_at=timezone.now())
        messages.success(request, f"{count} notification{'s' if count != 1 else ''} marked as read.")
        return _after(request)
    notification = _own(request)
    unread.filter(pk=notification.pk).update(read_at=timezone.now())
    if "open" in request.POST:
        local = url_has_allowed_host_and_scheme(notification.url, allowed_hosts=None)
        return redirect(
            notification.url if notification.url and local else reverse("notifications:notifications")
        )
    return _after(request)


@login_required
def notification_preferences(request: AuthenticatedRequest) -> HttpResponse:
    in_app, email = preferences(request.user)
    form = PreferenceForm(initial={"in_app": sorted(in_app), "email": sorted(email)})
    if request.method == "POST":
        form = PreferenceForm(request.POST)
        if form.is_valid():
            NotificationPreference.objects.update_or_create(user=request.user, defaults=form.cleaned_data)
            messages.success(request, "Notification preferences saved.")
            return redirect("notifications:notification_preferences")
    status = 400 if form.errors else 200
    # The console backend prints mail instead of sending it: the page says so, or a developer waits in vain.
    debug_mail = settings.MAILERS["default"]["BACKEND"].endswith("console.EmailBackend")
    context = {"form": form, "debug_mail": debug_mail}
    return render(request, "notifications/preferences.html", context, status=status)
