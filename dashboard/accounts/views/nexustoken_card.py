"""The NexusToken card: paste, register, recover or rotate the API key; the webhook secret; remove.

The functions that hold a secret in a local are @sensitive_variables(): an unexpected error
shows none of their locals on DEBUG's error page or in an error report.
"""

import asyncio
import logging

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from dashboard.services import nexustoken
from dashboard.services.errors import APIError, AuthError, UpstreamError
from dashboard.services.nexustoken import NexusTokenAPI

from ..connections import connection_for, save_connection
from ..crypto import UndecryptableSecret
from ..forms import EmailForm, NexusTokenKeyForm, RecoveryCodeForm, WebhookSecretForm
from ..models import Connection, Service
from .cards import Card, done, failure, refresh_alert

logger = logging.getLogger(__name__)

SERVICE = Service.NEXUSTOKEN
# The email of a key recovery waiting for its emailed code.
RECOVERY_SESSION_KEY = "nexustoken_recovery_email"
SHOWN_PREFIX = 8


def key_form(data=None) -> NexusTokenKeyForm:
    return NexusTokenKeyForm(data, prefix="ntkey")


def register_form(data=None) -> EmailForm:
    return EmailForm(data, prefix="register")


def recover_form(data=None) -> EmailForm:
    return EmailForm(data, prefix="recover")


def code_form(data=None) -> RecoveryCodeForm:
    return RecoveryCodeForm(data, prefix="recovercode")


def webhook_form(data=None) -> WebhookSecretForm:
    return WebhookSecretForm(data, prefix="webhook")


async def load(request: HttpRequest) -> Card:
    """The card as stored, plus the account's balance according to NexusToken right now."""
    connection = await connection_for(request.user, SERVICE)
    card = Card(
        connection=connection,
        balance=None,
        webhook_prefix="",
        key_form=key_form(),
        register_form=register_form(),
        recover_form=recover_form(),
        code_form=code_form(),
        webhook_form=webhook_form(),
        recovering_email=await request.session.aget(RECOVERY_SESSION_KEY, ""),
    )
    if connection is not None:
        try:
            card.webhook_prefix = connection.webhook_secret[:SHOWN_PREFIX]
            api = NexusTokenAPI(api_key=connection.secret)
        except UndecryptableSecret:
            logger.error("The stored NexusToken secrets of user %s cannot be decrypted", request.user.pk)
            card.error = "The stored API key can no longer be read. Connect NexusToken again."
            connection.needs_attention = True
        else:
            if not connection.needs_attention:
                try:
                    card.balance = await nexustoken.credits_balance(api)
                except UpstreamError as error:
                    card.merge(await failure(request, SERVICE, error))
                    if isinstance(error, AuthError) and error.is_unauthenticated:
                        connection.needs_attention = True
    refresh_alert(request, SERVICE, connection)
    return card


@sensitive_variables()
async def save_key(request: HttpRequest) -> HttpResponse | Card:
    form = key_form(request.POST)
    if not form.is_valid():
        return Card(key_form=form, show_key_form=True)
    api_key = form.cleaned_data["api_key"]
    api = NexusTokenAPI(api_key=api_key)
    try:
        # The balance call is the check; the reputation call says whose key it is.
        _, account = await asyncio.gather(nexustoken.credits_balance(api), nexustoken.reputation(api))
    except AuthError as error:
        if not error.is_unauthenticated:
            return Card(error=error.user_message)
        form.add_error("api_key", "NexusToken rejected this API key. If it was rotated, recover it below.")
        return Card(key_form=form, show_key_form=True)
    except UpstreamError as error:
        return Card(error=error.user_message, show_key_form=True)
    existing = await connection_for(request.user, SERVICE)
    same_account = existing is not None and existing.account_id == (account.account_id or "")
    await sync_to_async(save_connection)(
        request.user,
        SERVICE,
        secret=api_key,
        # Another account's webhook secret would fail every signature check: drop it.
        webhook_secret=None if same_account else "",
        account_id=account.account_id or "",
        account_label=account.email or "",
    )
    return done(request, SERVICE, "NexusToken connected. The API key was checked and stored.")


@sensitive_variables()
async def register(request: HttpRequest) -> HttpResponse | Card:
    form = register_form(request.POST)
    if not form.is_valid():
        return Card(register_form=form, show_register_form=True)
    email = form.cleaned_data["email"]
    try:
        registration = await nexustoken.account_register(email=email)
    except APIError as error:
        if error.status >= 500:
            return Card(error=error.user_message, show_register_form=True)
        form.add_error("email", error.user_message)
        return Card(register_form=form, show_register_form=True)
    except UpstreamError as error:
        return Card(error=error.user_message, show_register_form=True)
    await sync_to_async(save_connection)(
        request.user,
        SERVICE,
        secret=registration.api_key,
        webhook_secret=registration.webhook_secret or "",
        account_id=registration.account_id,
        account_label=email,
    )
    # Shown in this response only: the page never renders a stored key again.
    return Card(new_key=registration.api_key, notice="Your NexusToken account is ready.")


async def recover_start(request: HttpRequest) -> HttpResponse | Card:
    form = recover_form(request.POST)
    if not form.is_valid():
        return Card(recover_form=form, show_recover_form=True)
    email = form.cleaned_data["email"]
    try:
        await nexustoken.key_recover(email=email)
    except APIError as error:
        if error.status >= 500:
            return Card(error=error.user_message, show_recover_form=True)
        form.add_error("email", error.user_message)
        return Card(recover_form=form, show_recover_form=True)
    except UpstreamError as error:
        return Card(error=error.user_message, show_recover_form=True)
    await request.session.aset(RECOVERY_SESSION_KEY, email)
    return Card(notice=f"If {email} has a NexusToken account, a recovery code is on its way. Enter it below.")


@sensitive_variables()
async def recover_verify(request: HttpRequest) -> HttpResponse | Card:
    email = await request.session.aget(RECOVERY_SESSION_KEY)
    if not email:
        return Card(error="Start the recovery again: enter your email first.", show_recover_form=True)
    form = code_form(request.POST)
    if not form.is_valid():
        return Card(code_form=form)
    try:
        recovered = await nexustoken.key_verify_recover(email=email, code=form.cleaned_data["code"])
    except (APIError, AuthError) as error:
        if isinstance(error, APIError) and error.status >= 500:
            return Card(error=error.user_message)
        form.add_error("code", "NexusToken did not accept this code. Check the email, or ask for a new code.")
        return Card(code_form=form)
    except UpstreamError as error:
        return Card(error=error.user_message)
    await request.session.apop(RECOVERY_SESSION_KEY, None)
    await sync_to_async(save_connection)(
        request.user,
        SERVICE,
        secret=recovered.api_key,
        webhook_secret=recovered.webhook_secret or None,
        account_id=recovered.account_id,
        account_label=email,
    )
    return Card(new_key=recovered.api_key, notice="Key recovered. Your old key no longer works.")


async def recover_cancel(request: HttpRequest) -> HttpResponse | Card:
    await request.session.apop(RECOVERY_SESSION_KEY, None)
    return done(request, SERVICE, "Key recovery cancelled.")


@sensitive_variables()
async def rotate_key(request: HttpRequest) -> HttpResponse | Card:
    connection, api = await _connected(request)
    if api is None:
        return Card(error="Connect NexusToken first.")
    try:
        rotated = await nexustoken.key_rotate(api)
    except UpstreamError as error:
        return await failure(request, SERVICE, error)
    await sync_to_async(save_connection)(
        request.user,
        SERVICE,
        secret=rotated.api_key,
        webhook_secret=rotated.webhook_secret or None,
        account_id=connection.account_id,
        account_label=connection.account_label,
    )
    return Card(new_key=rotated.api_key, notice="API key rotated. The previous key no longer works.")


@sensitive_variables()
async def webhook_save(request: HttpRequest) -> HttpResponse | Card:
    form = webhook_form(request.POST)
    if not form.is_valid():
        return Card(webhook_form=form, show_webhook_form=True)
    connection = await connection_for(request.user, SERVICE)
    if connection is None:
        return Card(error="Connect NexusToken first.")
    connection.webhook_secret = form.cleaned_data["webhook_secret"]
    await connection.asave(update_fields=["webhook_secret_encrypted", "updated_at"])
    return done(request, SERVICE, "Webhook secret stored.")


@sensitive_variables()
async def webhook_rotate(request: HttpRequest) -> HttpResponse | Card:
    connection, api = await _connected(request)
    if api is None:
        return Card(error="Connect NexusToken first.")
    try:
        rotated = await nexustoken.webhook_secret_rotate(api)
    except UpstreamError as error:
        return await failure(request, SERVICE, error)
    connection.webhook_secret = rotated.webhook_secret
    await connection.asave(update_fields=["webhook_secret_encrypted", "updated_at"])
    return done(request, SERVICE, "Webhook secret rotated at NexusToken and stored.")


async def remove(request: HttpRequest) -> HttpResponse | Card:
    await Connection.objects.filter(user=request.user, service=SERVICE).adelete()
    return done(request, SERVICE, "NexusToken disconnected. The API key was deleted from the dashboard.")


@sensitive_variables()
async def _connected(request: HttpRequest) -> tuple[Connection | None, NexusTokenAPI | None]:
    connection = await connection_for(request.user, SERVICE)
    if connection is None:
        return None, None
    try:
        return connection, NexusTokenAPI(api_key=connection.secret)
    except UndecryptableSecret:
        return connection, None
