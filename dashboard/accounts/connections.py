"""Storing a user's verified upstream credentials (reading them back is `clients.py`'s job)."""

import logging
from typing import Required, TypedDict, Unpack

from django.contrib.auth.models import User
from django.db import models
from django.utils import timezone

from .models import Connection, Service

logger = logging.getLogger(__name__)


def _fit(field: str, value: str, *, ellipsis: bool = False) -> str:
    """`value` cut to the column's length: the upstream decides how long an email or id is, and an
    over-long one must not fail the connect (PostgreSQL refuses it; SQLite would store it whole)."""
    column = Connection._meta.get_field(field)
    assert isinstance(column, models.CharField) and column.max_length is not None
    limit = column.max_length
    if len(value) <= limit:
        return value
    logger.warning("Upstream %s is %d characters long; stored cut to %d", field, len(value), limit)
    return value[: limit - 1] + "…" if ellipsis else value[:limit]


class Credentials(TypedDict, total=False):
    """What a verified connection stores: the secret, and who it belongs to upstream."""

    secret: Required[str]
    webhook_secret: str | None  # None (or absent) keeps the stored one
    account_id: str
    account_label: str
    account_role: str


def save_connection(user: User, service: Service, **credentials: Unpack[Credentials]) -> Connection:
    """Store (or replace) the user's verified credentials for a service."""
    connection = Connection.objects.filter(user=user, service=service).first() or Connection(
        user=user, service=service
    )
    connection.secret = credentials["secret"]
    webhook_secret = credentials.get("webhook_secret")
    if webhook_secret is not None:
        connection.webhook_secret = webhook_secret
    connection.account_id = _fit("account_id", credentials.get("account_id", ""))
    connection.account_label = _fit("account_label", credentials.get("account_label", ""), ellipsis=True)
    connection.account_role = _fit("account_role", credentials.get("account_role", ""))
    connection.needs_attention = False
    connection.verified_at = timezone.now()
    connection.save()
    return connection
