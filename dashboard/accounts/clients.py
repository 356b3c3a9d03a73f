"""The one place where a user's stored credential becomes an upstream client, and where the
upstream's verdict on that credential is written back.

Pages, the poller and the webhook receiver all go through here, in a request or outside one:
- `nexical_api(connection)` / `nexustoken_api(connection)` build the client from the decrypted secret;
  a secret the configured keys can no longer decrypt raises `UnreadableSecret` (after flagging the
  connection, since only its owner can supply the secret again);
- `note_failure(connection, error)` flags the connection when the upstream answered 401.
"""

import logging

from django.utils import timezone

from dashboard.services import errors
from dashboard.services.errors import AuthError, UpstreamError
from dashboard.services.nexical import NexicalAPI
from dashboard.services.nexustoken import NexusTokenAPI

from .crypto import UndecryptableSecret
from .models import Connection, Service

logger = logging.getLogger(__name__)

# The name each upstream error carries (`error.service`), mapped to the connection it concerns.
SERVICE_OF_ERROR = {errors.NEXICAL: Service.NEXICAL, errors.NEXUSTOKEN: Service.NEXUSTOKEN}
ERROR_NAME = {service: name for name, service in SERVICE_OF_ERROR.items()}


class UnreadableSecret(AuthError):
    """The stored secret cannot be decrypted with the configured keys: the user must reconnect.

    An AuthError with status 401, so every page treats it as it treats a rejected token.
    """

    def __init__(self, service: str) -> None:
        super().__init__(service, status=401)

    @property
    def user_message(self) -> str:
        credential = "token" if self.service == errors.NEXICAL else "API key"
        return (
            f"Your stored {self.service} {credential} can no longer be read by the dashboard. "
            f"Connect {self.service} again in Settings > Connections."
        )


async def mark_rejected(connection: Connection) -> None:
    """Flag the connection everywhere it shows (the layout's reconnect banner, its card)."""
    connection.needs_attention = True
    await Connection.objects.filter(pk=connection.pk).aupdate(needs_attention=True, updated_at=timezone.now())


async def note_failure(connection: Connection | None, error: UpstreamError) -> None:
    """Record what an upstream failure says about the stored credential: a 401 means it is dead."""
    if connection is not None and isinstance(error, AuthError) and error.is_unauthenticated:
        await mark_rejected(connection)


async def _secret(connection: Connection) -> str:
    try:
        return connection.secret
    except UndecryptableSecret:
        logger.error(
            "The stored %s secret of user %s cannot be decrypted", connection.service, connection.user_id
        )
        await mark_rejected(connection)
        raise UnreadableSecret(ERROR_NAME[Service(connection.service)]) from None


async def nexical_api(connection: Connection) -> NexicalAPI:
    """The Nexical client acting as the owner of this connection."""
    return NexicalAPI(token=await _secret(connection))


async def nexustoken_api(connection: Connection) -> NexusTokenAPI:
    """The NexusToken client acting as the owner of this connection."""
    return NexusTokenAPI(api_key=await _secret(connection))
