"""The NexusToken card: paste, register, recover or rotate the API key; the webhook secret; remove.

The functions that hold a secret in a local are @sensitive_variables(): an unexpected error
shows none of their locals on DEBUG's error page or in an error report.
"""

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from asgiref.sync import sync_to_async
from django.db import transaction
from django.http import HttpResponse, QueryDict
from django.views.decorators.debug import sensitive_variables

from dashboard.accounts import clients
from dashboard.accounts.models import Connection, Service
from dashboard.audit import record
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.services import nexustoken
from dashboard.services.errors import APIError, AuthError, UpstreamError

from ..forms import EmailForm, NexusTokenKeyForm, RecoveryCodeForm, WebhookSecretForm
from .cards import audit, finish, forget, store

SERVICE = Service.NEXUSTOKEN
# The email of a key recovery waiting for its emailed code.
RECOVERY_SESSION_KEY = "nexustoken_recovery_email"
SHOWN_PREFIX = 8
NOT_CONNECTED = "Connect NexusToken first."


def key_form(data: QueryDict | None = None) -> NexusTokenKeyForm:
    return NexusTokenKeyForm(data, prefix="ntkey")


def register_form(data: QueryDict | None = None) -> EmailForm:
    return EmailForm(data, prefix="register")


def recover_form(data: QueryDict | None = None) -> EmailForm:
    return EmailForm(data, prefix="recover")


def code_form(data: QueryDict | None = None) -> RecoveryCodeForm:
    return RecoveryCodeForm(data, prefix="recovercode")


def webhook_form(data: QueryDict | None = None) -> WebhookSecretForm:
    return WebhookSecretForm(data, prefix="webhook")


@dataclass
class NexusTokenCard:
    """What the card shows: the stored connection, what NexusToken says about it now, how an action went."""

    connection: Connection | None = None
    error: str = ""  # a sentence about an upstream failure, shown in the card
    notice: str = ""
    status: int = 200
    balance: nexustoken.Balance | None = None  # according to NexusToken right now
    webhook_prefix: str = ""
    recovering_email: str = ""  # a key recovery waiting for the emailed code
    # Shown in this response only: the page never renders a stored key again. Out of the repr, which
    # Django's template debug logging prints with the whole context.
    new_key: str = field(default="", repr=False)
    confirm_rotate: bool = False  # a rotation posted without its confirmation asks for it first
    key_form: NexusTokenKeyForm = field(default_factory=key_form)
    register_form: EmailForm = field(default_factory=register_form)
    recover_form: EmailForm = field(default_factory=recover_form)
    code_form: RecoveryCodeForm = field(default_factory=code_form)
    webhook_form: WebhookSecretForm = field(default_factory=webhook_form)
    show_key_form: bool = False
    show_register_form: bool = False
    show_recover_form: bool = False
    show_webhook_form: bool = False


async def load(request: AuthenticatedRequest, card: NexusTokenCard) -> None:
    """The card as stored, plus the account's balance according to NexusToken right now."""
    card.connection = request.connections.get(SERVICE)
    card.recovering_email = await request.session.aget(RECOVERY_SESSION_KEY, "")
    # A key already known to be rejected is not sent again.
    if card.connection is None or card.connection.needs_attention:
        return
    try:
        card.webhook_prefix = (await clients.webhook_secret(card.connection))[:SHOWN_PREFIX]
        card.balance = await nexustoken.credits_balance(await clients.nexustoken_api(card.connection))
    except clients.UnreadableSecret:
        card.error = card.error or "The stored API key can no longer be read. Connect NexusToken again."
    except UpstreamError as error:
        await _show_failure(request, card, error)


async def _show_failure(request: AuthenticatedRequest, card: NexusTokenCard, error: UpstreamError) -> None:
    """A call made with the stored key failed: flag it if rejected, say what happened in the card
    (unless the action that ran first already said something: its sentence is the one that matters)."""
    await pages.record_failure(request, error)
    card.error = card.error or error.user_message


async def _with_email[T](
    form: EmailForm, card: NexusTokenCard, call: Callable[[str], Awaitable[T]]
) -> tuple[str, T] | None:
    """Validate an email form and send its address to NexusToken. None when either refused: a refusal
    of the address lands under the field, any other failure becomes the card's sentence."""
    if not form.is_valid():
        return None
    email = form.cleaned_data["email"]
    try:
        return email, await call(email)
    except UpstreamError as error:
        if isinstance(error, APIError) and error.status < 500:
            form.add_error("email", error.user_message)
        else:
            card.error = error.user_message
        return None


@sensitive_variables()
async def save_key(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    form = key_form(request.POST)
    if not form.is_valid():
        card.key_form, card.show_key_form = form, True
        return None
    api_key = form.cleaned_data["api_key"]
    api = clients.nexustoken_api_for_key(api_key)
    try:
        # The balance call is the check; the reputation call says whose key it is.
        _, account = await asyncio.gather(nexustoken.credits_balance(api), nexustoken.reputation(api))
    except AuthError as error:
        await audit("connection.connect", SERVICE, "api key").not_done(request, error)
        if not error.is_unauthenticated:
            card.error = error.user_message
            return None
        form.add_error("api_key", "NexusToken rejected this API key. If it was rotated, recover it below.")
        card.key_form, card.show_key_form = form, True
        return None
    except UpstreamError as error:
        card.error, card.show_key_form = error.user_message, True
        return None
    existing = request.connections.get(SERVICE)
    same_account = existing is not None and existing.account_id == (account.account_id or "")
    await store(
        request,
        SERVICE,
        how="api key",
        secret=api_key,
        # Another account's webhook secret would fail every signature check: drop it.
        webhook_secret=None if same_account else "",
        account_id=account.account_id or "",
        account_label=account.email or "",
    )
    card.notice = "NexusToken connected. The API key was checked and stored."
    return finish(request, SERVICE, card.notice)


@sensitive_variables()
async def register(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    form = register_form(request.POST)
    registered = await _with_email(form, card, lambda email: nexustoken.account_register(email=email))
    if registered is None:
        card.register_form, card.show_register_form = form, True
        return None
    email, registration = registered
    await store(
        request,
        SERVICE,
        how="register",
        secret=registration.api_key,
        webhook_secret=registration.webhook_secret or "",
        account_id=registration.account_id,
        account_label=email,
    )
    card.new_key, card.notice = registration.api_key, "Your NexusToken account is ready."
    return None


async def recover_start(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    form = recover_form(request.POST)
    asked = await _with_email(form, card, lambda email: nexustoken.key_recover(email=email))
    if asked is None:
        card.recover_form, card.show_recover_form = form, True
        return None
    email, _ = asked
    await request.session.aset(RECOVERY_SESSION_KEY, email)
    card.notice = f"If {email} has a NexusToken account, a recovery code is on its way. Enter it below."
    return None


@sensitive_variables()
async def recover_verify(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    email = await request.session.aget(RECOVERY_SESSION_KEY)
    if not email:
        card.error, card.show_recover_form = "Start the recovery again: enter your email first.", True
        return None
    form = code_form(request.POST)
    if not form.is_valid():
        card.code_form = form
        return None
    try:
        recovered = await nexustoken.key_verify_recover(email=email, code=form.cleaned_data["code"])
    except (APIError, AuthError) as error:
        if isinstance(error, APIError) and error.status >= 500:
            card.error = error.user_message
            return None
        form.add_error("code", "NexusToken did not accept this code. Check the email, or ask for a new code.")
        card.code_form = form
        return None
    except UpstreamError as error:
        card.error = error.user_message
        return None
    await request.session.apop(RECOVERY_SESSION_KEY, None)
    await store(
        request,
        SERVICE,
        action="connection.recover",
        how="email",
        secret=recovered.api_key,
        webhook_secret=recovered.webhook_secret or None,
        account_id=recovered.account_id,
        account_label=email,
    )
    card.new_key, card.notice = recovered.api_key, "Key recovered. Your old key no longer works."
    return None


async def recover_cancel(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    await request.session.apop(RECOVERY_SESSION_KEY, None)
    card.notice = "Key recovery cancelled."
    return finish(request, SERVICE, card.notice)


@sensitive_variables()
async def rotate_key(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    connection = request.connections.get(SERVICE)
    if connection is None:
        card.error = NOT_CONNECTED
        return None
    # The old key stops working everywhere at once: only the confirmation dialog's button rotates
    # (a stale page or a crafted form without it gets the question instead).
    if "confirmed" not in request.POST:
        card.confirm_rotate = True
        return None
    try:
        rotated = await nexustoken.key_rotate(await clients.nexustoken_api(connection))
    except UpstreamError as error:
        await audit("connection.rotate", SERVICE, "api key").not_done(request, error)
        await _show_failure(request, card, error)
        return None
    await store(
        request,
        SERVICE,
        action="connection.rotate",
        how="api key",
        secret=rotated.api_key,
        webhook_secret=rotated.webhook_secret or None,
        account_id=connection.account_id,
        account_label=connection.account_label,
    )
    card.new_key, card.notice = rotated.api_key, "API key rotated. The previous key no longer works."
    return None


@sensitive_variables()
async def webhook_save(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    form = webhook_form(request.POST)
    if not form.is_valid():
        card.webhook_form, card.show_webhook_form = form, True
        return None
    connection = request.connections.get(SERVICE)
    if connection is None:
        card.error = NOT_CONNECTED
        return None
    connection.webhook_secret = form.cleaned_data["webhook_secret"]
    await _save_webhook_secret(request, connection, "connection.webhook.save")
    card.notice = "Webhook secret stored."
    return finish(request, SERVICE, card.notice)


@sensitive_variables()
async def webhook_rotate(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    connection = request.connections.get(SERVICE)
    if connection is None:
        card.error = NOT_CONNECTED
        return None
    try:
        rotated = await nexustoken.webhook_secret_rotate(await clients.nexustoken_api(connection))
    except UpstreamError as error:
        await audit("connection.webhook.rotate", SERVICE, "webhook secret").not_done(request, error)
        await _show_failure(request, card, error)
        return None
    connection.webhook_secret = rotated.webhook_secret
    await _save_webhook_secret(request, connection, "connection.webhook.rotate")
    card.notice = "Webhook secret rotated at NexusToken and stored."
    return finish(request, SERVICE, card.notice)


@sync_to_async
def _save_webhook_secret(request: AuthenticatedRequest, connection: Connection, action: str) -> None:
    with transaction.atomic():
        connection.save(update_fields=["webhook_secret_encrypted", "updated_at"])
        detail = {"service": SERVICE.value, "how": "webhook secret"}
        record(request, action, target=SERVICE.label, detail=detail)


async def remove(request: AuthenticatedRequest, card: NexusTokenCard) -> HttpResponse | None:
    await forget(request, SERVICE)
    card.notice = "NexusToken disconnected. The API key was deleted from the dashboard."
    return finish(request, SERVICE, card.notice)
