"""Writing the audit log: `record()` for sync code, `arecord()` for async views.

The caller says what happened; the request says who and from where. Both functions only insert a row:
a caller that changes local data wraps the change and the record in one `transaction.atomic()`, and a
caller that asks an upstream records right after the answer, with its result.
"""

import logging
import re
from collections.abc import Mapping
from typing import Any

from django.conf import settings
from django.contrib.auth.models import AnonymousUser, User
from django.http import HttpRequest

from dashboard.accounts.models import Connection, Service

from .models import AuditEntry, Result

logger = logging.getLogger(__name__)

# Stable dotted names, lower case: "team.member.remove", "signin.2fa.enable".
_ACTION = re.compile(r"^[a-z0-9_]+(\.[a-z0-9_]+)+$")
# A detail key with one of these words in it could carry a secret, so it is never written.
_SECRET_WORDS = frozenset({"token", "key", "secret", "password", "passwd", "code", "otp", "credential"})
_USER_AGENT_LENGTH = AuditEntry._meta.get_field("user_agent").max_length or 300
_TARGET_LENGTH = AuditEntry._meta.get_field("target").max_length or 300


class _Unset:
    """`user` was not given: take it from the request."""


_UNSET = _Unset()
AnyUser = User | AnonymousUser | None


def client_ip(request: HttpRequest) -> str | None:
    """The client's address: REMOTE_ADDR, or with `TRUSTED_PROXY_COUNT` proxies in front of us, the
    address the outermost of them saw (that many entries from the right of X-Forwarded-For; entries
    further left are whatever the client chose to send)."""
    proxies: int = getattr(settings, "TRUSTED_PROXY_COUNT", 0)
    if proxies > 0:
        forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",")]
        forwarded = [part for part in forwarded if part]
        if len(forwarded) >= proxies:
            return forwarded[-proxies] or None
    return request.META.get("REMOTE_ADDR") or None


def _secret_keys(detail: Mapping[str, Any], path: str = "") -> list[str]:
    found = []
    for key, value in detail.items():
        spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", str(key))  # webhookSecret -> webhook_Secret
        words = set(re.split(r"[^a-z0-9]+", spaced.lower()))
        if words & _SECRET_WORDS:
            found.append(path + str(key))
        if isinstance(value, Mapping):
            found.extend(_secret_keys(value, f"{path}{key}."))
    return found


def _clean_detail(detail: Mapping[str, Any] | None) -> dict[str, Any]:
    """The detail without any key that looks like a secret. Strict mode (DEBUG and the tests) raises
    instead, so the caller that passed one is fixed rather than silently trimmed."""
    if not detail:
        return {}
    suspicious = _secret_keys(detail)
    if not suspicious:
        return dict(detail)
    if getattr(settings, "AUDIT_STRICT", settings.DEBUG):
        raise ValueError(f"Audit detail keys look like secrets and are never written: {suspicious}")
    logger.warning("Audit detail keys dropped because they look like secrets: %s", suspicious)
    top = {key.split(".")[0] for key in suspicious}
    return {key: value for key, value in detail.items() if key not in top}


def _check_action(action: str) -> None:
    if not _ACTION.match(action):
        raise ValueError(f"Audit action names are dotted lower-case words, not {action!r}")


def _identity(connections: Mapping[str, Connection]) -> dict[str, str]:
    """Who the user is upstream, from their stored connections (never the secret)."""
    nexical, nexustoken = connections.get(Service.NEXICAL), connections.get(Service.NEXUSTOKEN)
    return {
        "nexical_user_id": nexical.account_id if nexical else "",
        "nexical_email": nexical.account_label[:200] if nexical else "",
        "nexustoken_account_id": nexustoken.account_id if nexustoken else "",
    }


def _who(
    request: HttpRequest | None, user: AnyUser | _Unset
) -> tuple[User | None, Mapping[str, Connection] | None]:
    """The acting user, and their connections when the middleware already loaded them on the request."""
    request_user = getattr(request, "user", None)
    if isinstance(user, _Unset):
        user = request_user
    if not isinstance(user, User) or not user.is_authenticated:
        return None, None
    loaded: Mapping[str, Connection] | None = getattr(request, "connections", None)
    same = isinstance(request_user, User) and request_user.pk == user.pk
    return user, loaded if same else None


def _entry(
    request: HttpRequest | None,
    action: str,
    user: User | None,
    *,
    result: Result | str,
    team_id: int | None,
    project_id: int | None,
    target: str,
    detail: Mapping[str, Any] | None,
    username: str | None,
    ip: str | None,
    user_agent: str | None,
) -> AuditEntry:
    _check_action(action)
    meta = request.META if request is not None else {}
    if ip is None and request is not None:
        ip = client_ip(request)
    if user_agent is None:
        user_agent = meta.get("HTTP_USER_AGENT", "")
    return AuditEntry(
        user=user,
        username=(username if username is not None else (user.get_username() if user else ""))[:150],
        action=action,
        result=Result(result),
        team_id=team_id,
        project_id=project_id,
        target=str(target)[:_TARGET_LENGTH],
        detail=_clean_detail(detail),
        ip=ip or None,
        user_agent=user_agent[:_USER_AGENT_LENGTH],
    )


def record(
    request: HttpRequest | None,
    action: str,
    *,
    result: Result | str = Result.DONE,
    team_id: int | None = None,
    project_id: int | None = None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    user: AnyUser | _Unset = _UNSET,
    username: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> AuditEntry:
    """Write one audit row. `request` gives the user, address and user agent; each can be given
    instead (`record(None, "signin.failed", user=None, username="bob", ip=...)`)."""
    who, connections = _who(request, user)
    entry = _entry(
        request, action, who, result=result, team_id=team_id, project_id=project_id, target=target,
        detail=detail, username=username, ip=ip, user_agent=user_agent,
    )  # fmt: skip
    if who is not None:
        if connections is None:
            connections = {c.service: c for c in Connection.objects.filter(user_id=who.pk)}
        for field, value in _identity(connections).items():
            setattr(entry, field, value)
    entry.save()
    return entry


async def arecord(
    request: HttpRequest | None,
    action: str,
    *,
    result: Result | str = Result.DONE,
    team_id: int | None = None,
    project_id: int | None = None,
    target: str = "",
    detail: Mapping[str, Any] | None = None,
    user: AnyUser | _Unset = _UNSET,
    username: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> AuditEntry:
    """`record()` for async code."""
    who, connections = _who(request, user)
    entry = _entry(
        request, action, who, result=result, team_id=team_id, project_id=project_id, target=target,
        detail=detail, username=username, ip=ip, user_agent=user_agent,
    )  # fmt: skip
    if who is not None:
        if connections is None:
            connections = {c.service: c async for c in Connection.objects.filter(user_id=who.pk)}
        for field, value in _identity(connections).items():
            setattr(entry, field, value)
    await entry.asave()
    return entry
