"""Settings pages about the user's own Nexical account: API tokens and profile."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache

from dashboard.accounts import clients
from dashboard.accounts.models import Connection, Service
from dashboard.audit import Audit
from dashboard.core.compression import uncompressed
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    UNKNOWN_ACTION,
    ActionResult,
    Outcome,
    action_name,
    ask_first,
    attempt,
    go,
    nexical_page,
    page,
)
from dashboard.services import nexical
from dashboard.services.nexical import ApiToken, NexicalAPI

from ..forms import IdForm, NotificationEmailForm, ProfileForm, TokenForm, blank_to_none


def dashboard_token_ids(tokens: list[ApiToken], connection: Connection) -> set[int]:
    """The tokens that may be the one this dashboard signs in with. The orchestrator shows only a
    token's first characters, so they are compared with the stored secret's; a device-flow
    session is no API token and matches none."""
    mine = connection.secret_prefix
    return {token.id for token in tokens if token.token_prefix and mine.startswith(token.token_prefix)}


@uncompressed  # a new token beside its typed name: see dashboard/core/compression.py (BREACH)
@never_cache  # a new token is shown in this response only: no cache may keep it
@nexical_page
async def api_tokens(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form: TokenForm | None = None  # the posted form, when it comes back with its errors
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        action = action_name(request, "generate", "revoke")
        result: ActionResult
        if action == "generate":
            taken = {token.name for token in await nexical.token_list(api)}
            form = TokenForm(request.POST, taken=taken)
            result = await _generate(request, api, form)
            if result.ok:  # the new token is shown above a fresh form
                form = None
        elif action == "revoke":
            result = await _revoke(request, api)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result

    tokens = await nexical.token_list(api)
    context = {
        "tokens": tokens,
        "dashboard_token_ids": dashboard_token_ids(tokens, request.connections[Service.NEXICAL]),
        "form": form or TokenForm(),
        # The raw token lives only in this response: it is never stored nor shown again.
        "created": outcome.value,
        "error": outcome.message,
    }
    return page(request, "orchestrator/tokens.html", context, status=outcome.status)


async def _generate(request: AuthenticatedRequest, api: NexicalAPI, form: TokenForm) -> Outcome[Any]:
    if not form.is_valid():
        return INVALID
    call = nexical.token_create(
        api, name=form.cleaned_data["name"], scopes=form.cleaned_data["scopes"], expires_at=form.expires_at()
    )
    # The token's id from the answer, never the token itself.
    audit = Audit(
        "token.create",
        target=form.cleaned_data["name"],
        detail={"scopes": list(form.cleaned_data["scopes"])},
        from_result=lambda created: {"id": created.id},
    )
    # Not a redirect: the new token is shown in this response only (the outcome's value).
    return await attempt(request, call, form=form, conflict_field="name", audit=audit)


async def _revoke(request: AuthenticatedRequest, api: NexicalAPI) -> ActionResult:
    form = IdForm(request.POST)
    if not form.is_valid():
        return Outcome(ok=False, message="That token no longer exists. Reload the page.", status=400)
    token_id = form.cleaned_data["id"]
    if asking := ask_first(request, reverse("orchestrator:api_tokens"), "revoke", token_id):
        return asking
    connection = request.connections[Service.NEXICAL]
    own = token_id in dashboard_token_ids(await nexical.token_list(api), connection)
    audit = Audit("token.revoke", target=f"token {token_id}", detail={"dashboard_own": own})
    outcome = await attempt(request, nexical.token_revoke(api, token_id=token_id), audit=audit)
    if not outcome.ok:
        return outcome
    if own:
        # The dashboard's own credential is gone: say so once, where it can be replaced.
        await clients.mark_rejected(connection)
        messages.warning(request, "Token revoked. It was the one this dashboard used: connect Nexical again.")
        return go(request, f"{reverse('connections:connections')}#nexical", same_page=False)
    messages.success(request, "Token revoked. Anything using it stops working now.")
    return go(request, reverse("orchestrator:api_tokens"))


@nexical_page
async def profile(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    outcome: Outcome[nexical.User] = Outcome(ok=True)
    form = None
    mail_form = NotificationEmailForm(initial={"email": request.user.email})
    if request.method == "POST" and action_name(request, "save_email"):
        mail_form = NotificationEmailForm(request.POST)
        if mail_form.is_valid():
            request.user.email = mail_form.cleaned_data["email"]
            await request.user.asave(update_fields=["email"])
            messages.success(request, "Email for notifications saved.")
            return go(request, reverse("orchestrator:profile"))
        outcome = INVALID
    elif request.method == "POST" and action_name(request, "save"):
        form = ProfileForm(request.POST)
        if form.is_valid():
            # An emptied field clears it upstream (null); "" would be refused as a malformed URL.
            call = nexical.users_me_update(api, **blank_to_none(form.cleaned_data))
            outcome = await attempt(request, call, form=form, audit=Audit("profile.update"))
            if outcome.ok:
                messages.success(request, "Profile saved.")
                return go(request, reverse("orchestrator:profile"))
        else:
            outcome = INVALID

    me = await nexical.users_me(api)
    if form is None:
        form = ProfileForm(initial={"full_name": me.full_name or "", "avatar_url": me.avatar_url or ""})
    context = {"me": me, "form": form, "mail_form": mail_form, "error": outcome.message}
    return page(request, "orchestrator/profile.html", context, status=outcome.status)
