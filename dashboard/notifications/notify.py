"""Raising a notification: a row for the bell, and an email when the user's preferences ask for it.

Called by the poller (deploy status changes) and the money code (budget thresholds), in a request or
outside one. Whoever calls it decides that the event happened once (a status change recorded once, a
threshold level stored by a conditional UPDATE); this module only delivers.
"""

import logging

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.mail import send_mail

from .models import DEFAULT_EMAIL, DEFAULT_IN_APP, Kind, Notification, NotificationPreference

logger = logging.getLogger(__name__)


def preferences(user) -> tuple[frozenset[str], frozenset[str]]:
    """(kinds shown in the bell, kinds also emailed) for this user."""
    stored = NotificationPreference.objects.filter(user=user).first()
    if stored is None:
        return DEFAULT_IN_APP, DEFAULT_EMAIL
    return frozenset(stored.in_app), frozenset(stored.email)


def notify(user, *, kind: Kind | str, title: str, body: str = "", url: str = "") -> Notification | None:
    """Tell `user` about one event; returns the bell's row, or None when they turned this kind off."""
    in_app, email = preferences(user)
    notification = None
    if kind in in_app:
        notification = Notification.objects.create(
            user=user, kind=kind, title=title[:200], body=body, url=url
        )
    if kind in email and user.email:
        link = f"{settings.PUBLIC_URL.rstrip('/')}{url}" if url else settings.PUBLIC_URL
        try:
            send_mail(title[:200], f"{body}\n\n{link}".strip(), None, [user.email])
        except Exception:  # a mail server outage must not lose the in-app notification or stop the caller
            logger.exception("Could not email notification %r to user %s", kind, user.pk)
    return notification


anotify = sync_to_async(notify)
