"""The team page's invitation actions beyond one invite: several addresses at once, and resending.

Nexical has no resend endpoint (contract §5): resending revokes the pending invitation and creates
the same one again, which mails a new link valid for another 7 days.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.urls import reverse

from dashboard.audit import Result as AuditResult
from dashboard.audit import arecord
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    STALE_ROW,
    ActionResult,
    Outcome,
    error_message,
    error_status,
    go,
    optional_panel,
    record_failure,
    refusal,
)
from dashboard.services import nexical
from dashboard.services.errors import APIError, UpstreamError
from dashboard.services.nexical import Invitation, NexicalAPI

from ..forms import BulkInviteForm, IdForm


class Result(StrEnum):
    SENT = "sent"
    JOINED = "joined"
    MEMBER = "member"
    PENDING = "pending"
    INVALID = "invalid"
    REFUSED = "refused"


@dataclass(frozen=True)
class InviteResult:
    email: str
    result: Result
    sentence: str


def _here(team_id: int) -> str:
    return reverse("orchestrator:team_detail", args=[team_id])


def _already(error: UpstreamError) -> Result | None:
    """Nexical's 409 for an address that is a member already, or has an open invitation."""
    if not isinstance(error, APIError) or error.status != 409:
        return None
    return Result.MEMBER if "member" in (error.message or "").lower() else Result.PENDING


async def invite_one(api: NexicalAPI, team_id: int, email: str, role: str) -> InviteResult:
    try:
        validate_email(email)
    except ValidationError:
        return InviteResult(email, Result.INVALID, f"{email}: not an email address, nothing sent.")
    try:
        invitation = await nexical.team_invite(api, team_id=team_id, email=email, role=role)
    except UpstreamError as error:
        already = _already(error)
        if already == Result.MEMBER:
            return InviteResult(email, already, f"{email}: already a member of the team.")
        if already == Result.PENDING:
            return InviteResult(email, already, f"{email}: already invited; resend that invitation instead.")
        return InviteResult(email, Result.REFUSED, f"{email}: refused by Nexical: {error_message(error)}")
    if invitation.status == "accepted":
        return InviteResult(email, Result.JOINED, f"{email}: had an account and joined as {invitation.role}.")
    return InviteResult(email, Result.SENT, f"{email}: invitation sent as {invitation.role}.")


LEVEL = {
    Result.SENT: messages.SUCCESS,
    Result.JOINED: messages.SUCCESS,
    Result.MEMBER: messages.INFO,
    Result.PENDING: messages.INFO,
    Result.INVALID: messages.WARNING,
    Result.REFUSED: messages.ERROR,
}


async def invite_many(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, form: BulkInviteForm
) -> ActionResult:
    if not form.is_valid():
        return INVALID
    role = form.cleaned_data["role"]
    # One after another: the same token's rate limit, and the upstream's own order of duplicates.
    results = [await invite_one(api, team_id, email, role) for email in form.cleaned_data["emails"]]
    for result in results:
        if result.result != Result.INVALID:  # nothing was asked of Nexical for an invalid address
            done = result.result in (Result.SENT, Result.JOINED)
            await arecord(
                request,
                "team.invite.create",
                result=AuditResult.DONE if done else AuditResult.REFUSED,
                team_id=team_id,
                target=result.email,
                detail={"role": role, "outcome": result.result.value, "bulk": True},
            )
        tag = f"invite-{result.result}"
        messages.add_message(request, LEVEL[result.result], result.sentence, extra_tags=tag)
    return go(request, _here(team_id))


async def resend_invite(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> ActionResult:
    form = IdForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    invites, _ = await optional_panel(nexical.team_invite_list(api, team_id=team_id))
    wanted = form.cleaned_data["id"]
    invite = next((item for item in invites or [] if item.id == wanted and item.status == "pending"), None)
    if invite is None:
        return Outcome(ok=False, message="That invitation is no longer pending. Reload the page.", status=400)

    async def resent(result: AuditResult) -> None:
        detail = {"role": invite.role}
        await arecord(
            request, "team.invite.resend", result=result, team_id=team_id, target=invite.email, detail=detail
        )

    try:
        await nexical.team_invite_revoke(api, team_id=team_id, invite_id=invite.id)
    except UpstreamError as error:
        await resent(AuditResult.REFUSED)
        return await refusal(request, error)
    try:
        again: Invitation = await nexical.team_invite(
            api, team_id=team_id, email=invite.email, role=invite.role
        )
    except UpstreamError as error:
        await resent(AuditResult.REFUSED)
        await record_failure(request, error)
        message = (
            f"The old invitation to {invite.email} was revoked, but Nexical refused a new one: "
            f"{error_message(error)} Invite the address again."
        )
        return Outcome(ok=False, message=message, status=error_status(error))
    await resent(AuditResult.DONE)
    if again.status == "accepted":
        messages.success(request, f"{again.email} had an account meanwhile and joined as {again.role}.")
    else:
        messages.success(request, f"Invitation to {again.email} sent again, with a new 7-day link.")
    return go(request, _here(team_id))
