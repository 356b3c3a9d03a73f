"""Bearer tokens: minting (raw value shown once, sha256 stored) and resolving a request's caller."""

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Q
from django.http import HttpRequest
from django.utils import timezone

from .models import Job, Role, Token, User, Worker


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def new_secret(prefix: str) -> str:
    return prefix + secrets.token_hex(20)


def mint_token(
    kind: str,
    prefix: str,
    *,
    raw: str | None = None,
    name: str = "",
    user: User | None = None,
    worker: Worker | None = None,
    job: Job | None = None,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
) -> tuple[Token, str]:
    """Store a new token and return it with its raw value (which is never stored)."""
    raw = raw or new_secret(prefix)
    token = Token.objects.create(
        kind=kind,
        name=name,
        token_hash=hash_token(raw),
        token_prefix=raw[:8],
        user=user,
        worker=worker,
        job=job,
        scopes=scopes,
        expires_at=expires_at,
    )
    return token, raw


@dataclass
class Caller:
    """Who sent the request: a user (API or session token), a worker session, or a job's agent."""

    token: Token
    user: User | None = None
    worker: Worker | None = None
    job: Job | None = None  # agent tokens only

    @property
    def scopes(self) -> list[str] | None:
        return self.token.scopes

    @property
    def is_system(self) -> bool:
        return self.user is not None and self.user.role == Role.SYSTEM


def authenticate(request: HttpRequest) -> Caller | None:
    header = request.headers.get("Authorization", "")
    scheme, _, raw = header.partition(" ")
    if scheme.lower() != "bearer" or not raw.strip():
        return None
    now = timezone.now()
    token = (
        Token.objects.select_related("user", "worker", "job")
        .filter(token_hash=hash_token(raw.strip()))
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .first()
    )
    if token is None:
        return None
    # An agent token lives only as long as its job runs.
    if token.kind == Token.Kind.AGENT and (token.job is None or token.job.status != Job.Status.RUNNING):
        return None
    # Writing lastUsedAt on every call would queue every request behind the write lock: a minute's
    # resolution is what token lists show ("used 3 minutes ago").
    if token.last_used_at is None or now - token.last_used_at > timedelta(minutes=1):
        Token.objects.filter(pk=token.pk).update(last_used_at=now)
        token.last_used_at = now
    return Caller(token=token, user=token.user, worker=token.worker, job=token.job)
