"""The Nexical card: paste an API token, or sign in through the device flow; replace; remove.

The functions that hold a secret in a local are @sensitive_variables(): an unexpected error
shows none of their locals on DEBUG's error page or in an error report.
"""

import time
from dataclasses import dataclass, field
from typing import TypedDict

from django.http import HttpResponse, QueryDict
from django.views.decorators.debug import sensitive_variables
from django_htmx.http import HTMX_STOP_POLLING

from dashboard.accounts import clients
from dashboard.accounts.models import Connection, Service
from dashboard.core import pages
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.links import web_url
from dashboard.services import nexical
from dashboard.services.errors import AuthError, DeviceFlowError, DevicePending, UpstreamError

from ..forms import NexicalTokenForm
from .cards import audit, finish, forget, store

SERVICE = Service.NEXICAL
CLIENT_ID = "nexus-dashboard"
# The pending device sign-in lives in the session: the device_code never reaches the browser.
DEVICE_SESSION_KEY = "nexical_device_flow"
FORM_PREFIX = "nexical"
# RFC 8628: on slow_down the client adds 5 seconds to its polling interval.
SLOW_DOWN_STEP = 5


class DeviceFlow(TypedDict):
    device_code: str
    user_code: str
    verification_uri: str
    verification_uri_complete: str
    interval: int
    expires_at: float


def token_form(data: QueryDict | None = None) -> NexicalTokenForm:
    return NexicalTokenForm(data, prefix=FORM_PREFIX)


@dataclass
class NexicalCard:
    """What the card shows: the stored connection, what Nexical says about it now, how an action went."""

    connection: Connection | None = None
    error: str = ""  # a sentence about an upstream failure, shown in the card
    notice: str = ""
    status: int = 200  # htmx only: HTMX_STOP_POLLING ends the device flow's polling
    me: nexical.User | None = None  # who the stored token belongs to, according to Nexical now
    # A device sign-in waiting for approval; its device_code stays out of the repr (and of logs).
    device: DeviceFlow | None = field(default=None, repr=False)
    device_error: str = ""
    token_form: NexicalTokenForm = field(default_factory=token_form)
    show_token_form: bool = False


async def load(request: AuthenticatedRequest, card: NexicalCard) -> None:
    """The card as stored, plus who the token belongs to according to Nexical right now."""
    card.connection = request.connections.get(SERVICE)
    card.device = await _pending_device_flow(request)
    # A token already known to be rejected is not sent again.
    if card.connection is None or card.connection.needs_attention:
        return
    try:
        card.me = await nexical.users_me(await clients.nexical_api(card.connection))
    except clients.UnreadableSecret:
        card.error = card.error or "The stored token can no longer be read. Connect Nexical again."
    except UpstreamError as error:
        # A 401 flags the connection; the sentence of an action that ran first is the one that matters.
        await pages.record_failure(request, error)
        card.error = card.error or error.user_message


@sensitive_variables()
async def save_token(request: AuthenticatedRequest, card: NexicalCard) -> HttpResponse | None:
    form = token_form(request.POST)
    if not form.is_valid():
        card.token_form, card.show_token_form = form, True
        return None
    return await _store_verified(request, card, form.cleaned_data["token"], form=form)


async def device_start(request: AuthenticatedRequest, card: NexicalCard) -> HttpResponse | None:
    try:
        code = await nexical.device_code_request(client_id=CLIENT_ID)
    except UpstreamError as error:
        card.error = error.user_message
        return None
    # Both addresses come from upstream and one becomes a link: only plain http(s) URLs are kept,
    # so a javascript: or data: "verification URI" can never run in the dashboard's origin.
    verification_uri = web_url(code.verification_uri)
    flow: DeviceFlow = {
        "device_code": code.device_code,
        "user_code": code.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": web_url(code.verification_uri_complete) or verification_uri,
        "interval": max(1, code.interval),
        "expires_at": time.time() + code.expires_in,
    }
    await request.session.aset(DEVICE_SESSION_KEY, flow)
    return None


@sensitive_variables()
async def device_poll(request: AuthenticatedRequest, card: NexicalCard) -> HttpResponse | None:
    flow = await _pending_device_flow(request)
    if flow is None:
        card.device_error, card.status = "That sign-in request expired. Start again.", HTMX_STOP_POLLING
        return None
    try:
        grant = await nexical.device_token_poll(device_code=flow["device_code"], client_id=CLIENT_ID)
    except DevicePending as pending:
        if pending.slow_down:
            flow["interval"] += SLOW_DOWN_STEP
            await request.session.aset(DEVICE_SESSION_KEY, flow)
        return None
    except DeviceFlowError as error:
        await request.session.apop(DEVICE_SESSION_KEY, None)
        card.device_error, card.status = error.user_message, HTMX_STOP_POLLING
        return None
    except UpstreamError as error:
        # A passing outage: say so and keep polling, the code is still valid upstream.
        card.error = error.user_message
        return None
    await request.session.apop(DEVICE_SESSION_KEY, None)
    card.status = HTMX_STOP_POLLING
    return await _store_verified(request, card, grant.access_token, form=None)


async def device_cancel(request: AuthenticatedRequest, card: NexicalCard) -> HttpResponse | None:
    await request.session.apop(DEVICE_SESSION_KEY, None)
    card.notice = "Sign-in with Nexical cancelled."
    return finish(request, SERVICE, card.notice)


async def remove(request: AuthenticatedRequest, card: NexicalCard) -> HttpResponse | None:
    await forget(request, SERVICE)
    card.notice = "Nexical disconnected. The token was deleted from the dashboard."
    return finish(request, SERVICE, card.notice)


async def _pending_device_flow(request: AuthenticatedRequest) -> DeviceFlow | None:
    flow: DeviceFlow | None = await request.session.aget(DEVICE_SESSION_KEY)
    if flow and flow["expires_at"] <= time.time():
        await request.session.apop(DEVICE_SESSION_KEY, None)
        return None
    return flow


@sensitive_variables()
async def _store_verified(
    request: AuthenticatedRequest, card: NexicalCard, token: str, *, form: NexicalTokenForm | None
) -> HttpResponse | None:
    """Ask Nexical who the token belongs to; store it only when Nexical accepts it.

    The token is not stored yet, so a refusal says nothing about the stored connection: it is shown,
    never recorded against it.
    """
    how = "token" if form is not None else "device"
    try:
        me = await nexical.users_me(clients.nexical_api_for_token(token))
    except AuthError as error:
        await audit("connection.connect", SERVICE, how).not_done(request, error)
        if not error.is_unauthenticated:
            card.error = error.user_message
            return None
        message = "Nexical rejected this token. It may be revoked or expired: create a new one."
        if form is None:
            card.error = message
        else:
            form.add_error("token", message)
            card.token_form, card.show_token_form = form, True
        return None
    except UpstreamError as error:
        card.error, card.show_token_form = error.user_message, form is not None
        return None
    await store(
        request,
        SERVICE,
        how=how,
        secret=token,
        account_id=str(me.id),
        account_label=me.email or me.full_name or "",
        account_role=me.role,
    )
    who = me.full_name or me.email or "your account"
    card.notice = f"Nexical connected as {who}."
    return finish(request, SERVICE, card.notice)
