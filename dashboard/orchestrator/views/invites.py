"""Accepting a team invitation: the page the link in an invitation email opens.

The email's link carries the token (`?token=nxi_…`). It is moved into the session at once, out of
the address bar, the history and any Referer, and stays there through signing in and connecting
Nexical, until the invitation is accepted. The orchestrator adds the invitee to the team only when
the Nexical account the dashboard uses has the invited email.
"""

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.login import login_required
from dashboard.core.pages import INVALID, Outcome, PageResponse, action_name, go, nexical_page, page, refusal
from dashboard.services import nexical
from dashboard.services.errors import APIError, AuthError, UpstreamError
from dashboard.services.nexical import NexicalAPI, Team

from ..forms import InviteTokenForm

SESSION_KEY = "nexical_invite_token"
TEMPLATE = "orchestrator/invite.html"

# What the orchestrator says about an invitation it will not accept (contract §5 codes), in the
# invitee's words, next to the token.
REFUSALS = {
    "not_found": "This invitation does not exist or was revoked. Ask the team's admin to invite you again.",
    "expired": "This invitation has expired. Ask the team's admin to invite you again.",
    "email_mismatch": "This invitation was sent to another email address than the one of the Nexical "
    "account the dashboard uses ({account}). Connect the invited account, then open the link again.",
}


@login_required
async def invite_accept(request: AuthenticatedRequest) -> PageResponse:
    if "token" in request.GET:
        await request.session.aset(SESSION_KEY, request.GET["token"].strip()[:200])
        return redirect(request.path)
    if Service.NEXICAL not in request.connections:
        # Nothing to accept with yet: say why, and keep the invitation for after connecting.
        context = {"connected": False, "has_token": await request.session.ahas_key(SESSION_KEY)}
        return page(request, TEMPLATE, context)
    return await _invite_page(request)


@nexical_page
async def _invite_page(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form = InviteTokenForm()
    outcome: Outcome[Team] = Outcome(ok=True)
    if request.method == "POST" and action_name(request, "accept"):
        form = InviteTokenForm(request.POST)
        outcome = await _accept(request, api, form) if form.is_valid() else INVALID
        if outcome.ok and isinstance(outcome.value, Team):
            await request.session.apop(SESSION_KEY, None)
            messages.success(request, f"You joined {outcome.value.name}.")
            return go(request, reverse("orchestrator:team_detail", args=[outcome.value.id]), same_page=False)
    context = {
        "connected": True,
        "has_token": await request.session.ahas_key(SESSION_KEY),
        "account": request.connections[Service.NEXICAL].account_label,
        "form": form,
        "error": outcome.message,
    }
    return page(request, TEMPLATE, context, status=outcome.status)


async def _accept(request: AuthenticatedRequest, api: NexicalAPI, form: InviteTokenForm) -> Outcome[Team]:
    token = form.cleaned_data["token"] or await request.session.aget(SESSION_KEY)
    if not token:
        form.add_error("token", "Paste the token from your invitation email, or open the email's link.")
        return INVALID
    audit = Audit("team.invite.accept", from_result=lambda team: {"team_id": team.id, "target": team.name})
    try:
        team = await nexical.invite_accept(api, token=token)
    except UpstreamError as error:
        await audit.not_done(request, error)
        code = _refusal_code(error)
        if code is None:  # not about the invitation: an outage, a dead credential, "already a member"
            return await refusal(request, error, form=form)
        account = request.connections[Service.NEXICAL].account_label or "unknown"
        form.add_error("token", REFUSALS[code].format(account=account))
        return INVALID
    await audit.done(request, team)
    return Outcome(ok=True, value=team)


def _refusal_code(error: UpstreamError) -> str | None:
    """Which of the invitation's own refusals this is, if any."""
    if isinstance(error, APIError) and error.is_not_found:
        return "not_found"
    if isinstance(error, APIError) or (isinstance(error, AuthError) and not error.is_unauthenticated):
        return error.code if error.code in REFUSALS else None
    return None
