"""The one place where a dashboard user's stored credentials become an upstream API handle."""

from django.utils import timezone

from .models import Connection, Service


async def connection_for(user, service: Service) -> Connection | None:
    return await Connection.objects.filter(user=user, service=service).afirst()


async def mark_rejected(user, service: Service) -> None:
    """The upstream answered 401 to this user's secret: flag the connection everywhere it shows."""
    await Connection.objects.filter(user=user, service=service).aupdate(
        needs_attention=True, updated_at=timezone.now()
    )


def save_connection(
    user,
    service: Service,
    *,
    secret: str,
    webhook_secret: str | None = None,
    account_id: str = "",
    account_label: str = "",
    account_role: str = "",
) -> Connection:
    """Store (or replace) the user's verified credentials for a service."""
    connection = Connection.objects.filter(user=user, service=service).first() or Connection(
        user=user, service=service
    )
    connection.secret = secret
    if webhook_secret is not None:
        connection.webhook_secret = webhook_secret
    connection.account_id = account_id
    connection.account_label = account_label
    connection.account_role = account_role
    connection.needs_attention = False
    connection.verified_at = timezone.now()
    connection.save()
    return connection
