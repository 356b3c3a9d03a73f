"""The Nexical card: paste an API token, or sign in through the device flow; replace; remove.

The functions that hold a secret in a local are @sensitive_variables(): an unexpected error
shows none of their locals on DEBUG's error page or in an error report.
"""

import logging
import time

from asgiref.sync import sync_to_async
from django.http import HttpRequest, HttpResponse
from django.views.decorators.debug import sensitive_variables

from dashboard.orchestrator.templatetags.orchestrator import http_url
from dashboard.services import nexical
from dashboard.services.errors import AuthError, DeviceFlowError, DevicePending, UpstreamError
from dashboard.services.nexical import NexicalAPI

from ..connections import connection_for, save_connection
from ..crypto import UndecryptableSecret
from ..forms import NexicalTokenForm
from ..models import Connection, Service
from .cards import STOP_POLLING, Card, done, failure, refresh_alert

logger = logging.getLogger(__name__)

SERVICE = Service.NEXICAL
CLIENT_ID = "nexus-dashboard"
# The pending device sign-in lives in the session: the device_code never reaches the browser.
DEVICE_SESSION_KEY = "nexical_device_flow"
FORM_PREFIX = "nexical"
# RFC 8628: on slow_down the client adds 5 seconds to its polling interval.
SLOW_DOWN_STEP = 5


def token_form(data=None) -> NexicalTokenForm:
    return NexicalTokenForm(data, prefix=FORM_PREFIX)


async def load(request: HttpRequest) -> Card:
    """The card as stored, plus who the token belongs to according to Nexical right now."""
    connection = await connection_for(request.user, SERVICE)
    card = Card(
        connection=connection,
        me=None,
        token_form=token_form(),
        device=await _pending_device_flow(request),
    )
    if connection is not None and not connection.needs_attention:
        try:
            card.me = await nexical.users_me(NexicalAPI(token=connection.secret))
        except UndecryptableSecret:
            logger.error("The stored Nexical token of user %s cannot be decrypted", request.user.pk)
            card.error = "The stored token can no longer be read. Connect Nexical again."
            connection.needs_attention = True
        except UpstreamError as error:
            card.merge(await failure(request, SERVICE, error))
            if isinstance(error, AuthError) and error.is_unauthenticated:
                connection.needs_attention = True
    refresh_alert(request, SERVICE, connection)
    return card


@sensitive_variables()
async def save_token(request: HttpRequest) -> HttpResponse | Card:
    form = token_form(request.POST)
    if not form.is_valid():
        return Card(token_form=form, show_token_form=True)
    return await _store_verified(request, form.cleaned_data["token"], form=form)


async def device_start(request: HttpRequest) -> HttpResponse | Card:
    try:
        code = await nexical.device_code_request(client_id=CLIENT_ID)
    except UpstreamError as error:
        return Card(error=error.user_message)
    # Both addresses come from upstream and one becomes a link: only plain http(s) URLs are kept,
    # so a javascript: or data: "verification URI" can never run in the dashboard's origin.
    verification_uri = http_url(code.verification_uri)
    flow = {
        "device_code": code.device_code,
        "user_code": code.user_code,
        "verification_uri": verification_uri,
        "verification_uri_complete": http_url(code.verification_uri_complete) or verification_uri,
        "interval": max(1, code.interval),
        "expires_at": time.time() + code.expires_in,
    }
    await request.session.aset(DEVICE_SESSION_KEY, flow)
    return Card()


@sensitive_variables()
async def device_poll(request: HttpRequest) -> HttpResponse | Card:
    flow = await _pending_device_flow(request)
    if flow is None:
        return Card(device_error="That sign-in request expired. Start again.", status=STOP_POLLING)
    try:
        grant = await nexical.device_token_poll(device_code=flow["device_code"], client_id=CLIENT_ID)
    except DevicePending as pending:
        if pending.slow_down:
            flow["interval"] += SLOW_DOWN_STEP
            await request.session.aset(DEVICE_SESSION_KEY, flow)
        return Card()
    except DeviceFlowError as error:
        await request.session.apop(DEVICE_SESSION_KEY, None)
        return Card(device_error=error.user_message, status=STOP_POLLING)
    except UpstreamError as error:
        # A passing outage: say so and keep polling, the code is still valid upstream.
        return Card(error=error.user_message)
    await request.session.apop(DEVICE_SESSION_KEY, None)
    result = await _store_verified(request, grant.access_token, form=None)
    if isinstance(result, Card):
        result.status = STOP_POLLING
    elif request.htmx:
        result.status_code = STOP_POLLING
    return result


async def device_cancel(request: HttpRequest) -> HttpResponse | Card:
    await request.session.apop(DEVICE_SESSION_KEY, None)
    return done(request, SERVICE, "Sign-in with Nexical cancelled.")


async def remove(request: HttpRequest) -> HttpResponse | Card:
    await Connection.objects.filter(user=request.user, service=SERVICE).adelete()
    return done(request, SERVICE, "Nexical disconnected. The token was deleted from the dashboard.")


async def _pending_device_flow(request: HttpRequest) -> dict | None:
    flow = await request.session.aget(DEVICE_SESSION_KEY)
    if flow and flow["expires_at"] <= time.time():
        await request.session.apop(DEVICE_SESSION_KEY, None)
        return None
    return flow


@sensitive_variables()
async def _store_verified(
    request: HttpRequest, token: str, *, form: NexicalTokenForm | None
) -> HttpResponse | Card:
    """Ask Nexical who the token belongs to; store it only when Nexical accepts it."""
    try:
        me = await nexical.users_me(NexicalAPI(token=token))
    except AuthError as error:
        if not error.is_unauthenticated:
            return Card(error=error.user_message)
        message = "Nexical rejected this token. It may be revoked or expired: create a new one."
        if form is None:
            return Card(error=message)
        form.add_error("token", message)
        return Card(token_form=form, show_token_form=True)
    except UpstreamError as error:
        return Card(error=error.user_message, show_token_form=form is not None)
    await sync_to_async(save_connection)(
        request.user,
        SERVICE,
        secret=token,
        account_id=str(me.id),
        account_label=me.email or me.full_name or "",
        account_role=me.role,
    )
    who = me.full_name or me.email or "your account"
    return done(request, SERVICE, f"Nexical connected as {who}.")
