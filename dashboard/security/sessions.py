"""The user's signed-in sessions: recorded as requests arrive, listed, ended.

A session is recorded when it is first seen signed in, and its "last seen" moves at most once a
minute: the session itself remembers when it was last written (`SEEN`), so an ordinary page costs
no query here. Ending a session deletes it from the session store: its next request is signed out.
"""

import contextlib
import hashlib
import time
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.contrib.auth.signals import user_logged_out
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils import timezone

from dashboard.accounts import crypto
from dashboard.audit import record
from dashboard.audit.recording import client_ip

from .models import UserSession
from .useragent import device_name

SEEN = "security.seen"  # [hash of the session key it was written for, epoch seconds]
SEEN_EVERY = 60.0  # seconds between two writes of a session's "last seen"


def key_hash(session_key: str) -> str:
    return hashlib.sha256(session_key.encode()).hexdigest()


def _store(session_key: str | None = None) -> SessionBase:
    engine = import_module(settings.SESSION_ENGINE)
    store: SessionBase = engine.SessionStore(session_key)
    return store


def due(request: HttpRequest) -> bool:
    """Whether this request's session must be recorded: never yet, under this key, or not for a minute.
    Reads only the session, already loaded by the sign-in check: no query."""
    key = request.session.session_key
    if not key:
        return False
    seen = request.session.get(SEEN)
    if not (isinstance(seen, list) and len(seen) == 2 and seen[0] == key_hash(key)):
        return True
    return bool(time.time() - seen[1] >= SEEN_EVERY)


def note(request: HttpRequest, user: AbstractBaseUser) -> None:
    """Record this signed-in request's session (call it when `due`)."""
    session = request.session
    key = session.session_key
    if not key:
        return
    digest = key_hash(key)
    now = time.time()
    user_agent = request.headers.get("User-Agent", "")[:400]
    UserSession.objects.update_or_create(
        key_hash=digest,
        defaults={"last_seen_at": timezone.now(), "ip": client_ip(request), "user_agent": user_agent},
        create_defaults={
            "user_id": user.pk,
            "key_sealed": crypto.encrypt(key),
            "ip": client_ip(request),
            "user_agent": user_agent,
        },
    )
    session[SEEN] = [digest, now]


def forget(session_key: str | None) -> None:
    """Drop the record of a session that ended or changed its key (sign-out, the second step)."""
    if session_key:
        UserSession.objects.filter(key_hash=key_hash(session_key)).delete()


def cycle(request: HttpRequest) -> None:
    """A new session key for this session (a privilege change): the old key's record goes, the
    middleware records the new one on the next request."""
    forget(request.session.session_key)
    request.session.cycle_key()
    request.session.pop(SEEN, None)


@dataclass
class ListedSession:
    id: int
    device: str
    user_agent: str
    ip: str | None
    created_at: datetime
    last_seen_at: datetime
    current: bool


def listed(request: HttpRequest, user: AbstractBaseUser) -> list[ListedSession]:
    """The user's sessions that still exist, newest first; records of vanished ones are removed."""
    current = key_hash(request.session.session_key or "")
    alive: list[ListedSession] = []
    for row in UserSession.objects.filter(user_id=user.pk).order_by("-last_seen_at"):
        if row.key_hash != current and not _exists(row):
            row.delete()
            continue
        alive.append(
            ListedSession(
                id=row.pk,
                device=device_name(row.user_agent),
                user_agent=row.user_agent,
                ip=row.ip,
                created_at=row.created_at,
                last_seen_at=row.last_seen_at,
                current=row.key_hash == current,
            )
        )
    alive.sort(key=lambda session: not session.current)  # this session first, then newest first
    return alive


def _exists(row: UserSession) -> bool:
    try:
        key = crypto.decrypt(row.key_sealed)
    except crypto.UndecryptableSecret:
        return False
    return _store().exists(key)


def end(request: HttpRequest, user: AbstractBaseUser, session_id: int) -> bool:
    """End one of the user's other sessions. False when there is no such session (or it is this one)."""
    current = key_hash(request.session.session_key or "")
    row = UserSession.objects.filter(user_id=user.pk, pk=session_id).exclude(key_hash=current).first()
    if row is None:
        return False
    _end(request, row)
    return True


def end_others(request: HttpRequest, user: AbstractBaseUser) -> int:
    current = key_hash(request.session.session_key or "")
    rows = list(UserSession.objects.filter(user_id=user.pk).exclude(key_hash=current))
    for row in rows:
        _end(request, row)
    return len(rows)


def _end(request: HttpRequest, row: UserSession) -> None:
    # A key unreadable with today's keys leaves nothing to end but the record.
    with contextlib.suppress(crypto.UndecryptableSecret):
        _store(crypto.decrypt(row.key_sealed)).delete()
    record(
        request,
        "session.end",
        target=device_name(row.user_agent),
        detail={"address": row.ip or "", "signed_in_at": row.created_at.isoformat()},
    )
    row.delete()


def _signed_out(
    sender: Any, request: HttpRequest | None, user: AbstractBaseUser | AnonymousUser | None, **_: Any
) -> None:
    if request is not None and hasattr(request, "session"):
        forget(request.session.session_key)


def connect_signals() -> None:
    user_logged_out.connect(_signed_out, dispatch_uid="security.sessions.signed_out")
