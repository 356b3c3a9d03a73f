"""Teams: the list, and a team's page with its members, invitations and projects."""

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.forms import Form
from django.http import HttpResponse
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.audit import Audit
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    STALE_ROW,
    UNKNOWN_ACTION,
    ActionResult,
    Outcome,
    action_name,
    ask_first,
    attempt,
    go,
    load,
    nexical_page,
    optional_panel,
    page,
)
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.errors import UpstreamError
from dashboard.services.nexical import Invitation, NexicalAPI
from dashboard.tracking.views.watch import watched_projects

from .. import access
from ..forms import (
    ROLE_CHOICES,
    BulkInviteForm,
    DeleteConfirmForm,
    IdForm,
    InviteForm,
    MemberForm,
    MemberRoleForm,
    ProjectForm,
    TeamForm,
    blank_to_none,
)
from . import team_invites
from .invites import SESSION_KEY as INVITE_SESSION_KEY


def _my_upstream_id(request: AuthenticatedRequest) -> str:
    return request.connections[Service.NEXICAL].account_id


async def _member_label(api: NexicalAPI, team_id: int, user_id: UUID) -> str:
    """Who a member action is about, for the audit log: their email as Nexical lists it (the form
    carries only the id, and a posted email could say anything), else their id."""
    try:
        members, _ = await optional_panel(nexical.team_member_list(api, team_id=team_id))
    except UpstreamError:
        members = None  # the action itself will say what is wrong upstream
    found = next((member for member in members or [] if str(member.user_id) == str(user_id)), None)
    return (found.email if found is not None and found.email else None) or f"user {user_id}"


def _here(team_id: int) -> str:
    return reverse("orchestrator:team_detail", args=[team_id])


# --- teams list ----------------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def team_list(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form, outcome = TeamForm(), Outcome[Any](ok=True)
    if request.method == "POST":
        if action_name(request, "create"):
            form = TeamForm(request.POST)
            outcome = await _create_team(request, api, form)
            if outcome.ok:
                return go(
                    request, reverse("orchestrator:team_detail", args=[outcome.result.id]), same_page=False
                )
        else:
            outcome = UNKNOWN_ACTION
    teams = await nexical.team_list(api)
    context = {
        "teams": teams,
        "form": form,
        # An invitation opened before Nexical was connected waits in the session: point back to it.
        "invitation_waiting": await request.session.ahas_key(INVITE_SESSION_KEY),
        "error": outcome.message,
    }
    return page(request, "orchestrator/teams.html", context, status=outcome.status)


async def _create_team(request: AuthenticatedRequest, api: NexicalAPI, form: TeamForm) -> Outcome[Any]:
    if not form.is_valid():
        return INVALID
    call = nexical.team_create(api, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"])
    audit = Audit(
        "team.create", target=form.cleaned_data["name"], from_result=lambda team: {"team_id": team.id}
    )
    outcome = await attempt(request, call, form=form, conflict_field="slug", audit=audit)
    if outcome.ok:
        messages.success(request, f"Team “{outcome.result.name}” created.")
    return outcome


# --- a team's page -------------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def team_detail(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse:
    bound: dict[str, Form] = {}  # the form that was posted comes back with its errors
    outcome: Outcome[Any] = Outcome(ok=True)
    if request.method == "POST":
        action = action_name(
            request,
            "rename",
            "delete",
            "invite",
            "create_project",
            "leave",
            "revoke_invite",
            "change_role",
            "remove_member",
            "invite_many",
            "resend_invite",
        )
        result: ActionResult
        if action == "rename":
            result = await _rename(request, api, team_id, bound)
        elif action == "delete":
            result = await _delete(request, api, team_id, bound)
        elif action == "invite":
            result = await _invite(request, api, team_id, bound)
        elif action == "create_project":
            result = await _create_project(request, api, team_id, bound)
        elif action == "leave":
            result = await _leave(request, api, team_id)
        elif action == "revoke_invite":
            result = await _revoke_invite(request, api, team_id)
        elif action == "change_role":
            result = await _change_role(request, api, team_id)
        elif action == "remove_member":
            result = await _remove_member(request, api, team_id)
        elif action == "invite_many":
            bound["invite_many"] = form = BulkInviteForm(request.POST)
            result = await team_invites.invite_many(request, api, team_id, form)
        elif action == "resend_invite":
            result = await team_invites.resend_invite(request, api, team_id)
        else:
            result = UNKNOWN_ACTION
        if isinstance(result, HttpResponse):
            return result
        outcome = result

    team, (members, members_missing), (invites, invites_missing), projects = await load(
        nexical.team_get(api, team_id=team_id),
        optional_panel(nexical.team_member_list(api, team_id=team_id)),
        optional_panel(nexical.team_invite_list(api, team_id=team_id)),
        nexical.project_list(api, team_id=team_id),
    )
    team_access = access.TeamAccess(team=team, me=_my_upstream_id(request))
    context = {
        "team": team,
        "access": team_access,
        "members": [team_access.row(member) for member in members or []],
        "members_missing": members_missing,
        "role_choices": ROLE_CHOICES,
        "invites": [invite for invite in invites or [] if invite.status == "pending"],
        "invites_missing": invites_missing,
        "projects": projects,
        "watched": await watched_projects(request.user, team_id),
        "rename_form": bound.get("rename") or TeamForm(initial={"name": team.name, "slug": team.slug}),
        "invite_form": bound.get("invite") or InviteForm(),
        "invite_many_form": bound.get("invite_many") or BulkInviteForm(),
        "project_form": bound.get("project") or ProjectForm(),
        "delete_form": bound.get("delete") or DeleteConfirmForm(expected=team.slug),
        "confirm_delete": "delete" in bound,
        "error": outcome.message,
    }
    return page(request, "orchestrator/team.html", context, status=outcome.status)


# --- its actions: each says how it went, and goes on when it is done -----------------------------


async def _rename(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, bound: dict[str, Form]
) -> ActionResult:
    bound["rename"] = form = TeamForm(request.POST)
    if not form.is_valid():
        return INVALID
    call = nexical.team_update(api, team_id=team_id, **form.cleaned_data)
    audit = Audit("team.rename", team_id=team_id, target=form.cleaned_data["name"], detail=form.cleaned_data)
    outcome = await attempt(request, call, form=form, conflict_field="slug", audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Team renamed.")
    # A whole new page: the name also sits in the title and the breadcrumbs.
    return go(request, _here(team_id), same_page=False)


async def _delete(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, bound: dict[str, Form]
) -> ActionResult:
    # Through load(): an outsider's 403 is a 404 here too, as on every other page of the team.
    (team,) = await load(nexical.team_get(api, team_id=team_id))
    if not access.is_owner(team):
        return Outcome(ok=False, message="Only the team's owner can delete it.", status=403)
    bound["delete"] = form = DeleteConfirmForm(request.POST, expected=team.slug)
    if not form.is_valid():
        return INVALID
    audit = Audit("team.delete", team_id=team_id, target=team.slug, detail={"name": team.name})
    outcome = await attempt(request, nexical.team_delete(api, team_id=team_id), form=form, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, f"Team “{team.name}” deleted.")
    return go(request, reverse("orchestrator:team_list"), same_page=False)


def _invited(invitation: Invitation) -> str:
    if invitation.status == "accepted":
        return f"{invitation.email} already had an account and joined as {invitation.role}."
    return f"Invitation sent to {invitation.email} as {invitation.role}."


async def _invite(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, bound: dict[str, Form]
) -> ActionResult:
    bound["invite"] = form = InviteForm(request.POST)
    if not form.is_valid():
        return INVALID
    call = nexical.team_invite(api, team_id=team_id, **form.cleaned_data)
    audit = Audit(
        "team.invite.create",
        team_id=team_id,
        target=form.cleaned_data["email"],
        detail={"role": form.cleaned_data["role"]},
    )
    outcome = await attempt(request, call, form=form, conflict_field="email", audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, _invited(outcome.result))
    return go(request, _here(team_id))


async def _create_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, bound: dict[str, Form]
) -> ActionResult:
    bound["project"] = form = ProjectForm(request.POST)
    if not form.is_valid():
        return INVALID
    call = nexical.project_create(api, team_id=team_id, **blank_to_none(form.cleaned_data))
    audit = Audit(
        "project.create",
        team_id=team_id,
        target=form.cleaned_data["name"],
        from_result=lambda project: {"project_id": project.id},
    )
    outcome = await attempt(request, call, form=form, conflict_field="name", audit=audit)
    if not outcome.ok:
        return outcome
    project = outcome.result
    messages.success(request, f"Project “{project.name}” created.")
    return go(request, reverse("orchestrator:project_detail", args=[team_id, project.id]), same_page=False)


async def _leave(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> ActionResult:
    if asking := ask_first(request, _here(team_id), "leave"):
        return asking
    me = _my_upstream_id(request)
    call = nexical.team_member_remove(api, team_id=team_id, user_id=me)
    outcome = await attempt(request, call, audit=Audit("team.leave", team_id=team_id, target=f"user {me}"))
    if not outcome.ok:
        return outcome
    messages.success(request, "You left the team.")
    return go(request, reverse("orchestrator:team_list"), same_page=False)


async def _revoke_invite(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> ActionResult:
    form = IdForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    invite_id = form.cleaned_data["id"]
    if asking := ask_first(request, _here(team_id), "revoke_invite", invite_id):
        return asking
    call = nexical.team_invite_revoke(api, team_id=team_id, invite_id=invite_id)
    audit = Audit("team.invite.revoke", team_id=team_id, target=f"invitation {invite_id}")
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Invitation revoked.")
    return go(request, _here(team_id))


async def _remove_member(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> ActionResult:
    form = MemberForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    user_id = form.cleaned_data["user_id"]
    if asking := ask_first(request, _here(team_id), "remove_member", user_id):
        return asking
    call = nexical.team_member_remove(api, team_id=team_id, user_id=user_id)
    target = await _member_label(api, team_id, user_id)
    audit = Audit("team.member.remove", team_id=team_id, target=target, detail={"user_id": str(user_id)})
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Member removed.")
    return go(request, _here(team_id))


async def _change_role(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> ActionResult:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return STALE_ROW
    call = nexical.team_member_update(api, team_id=team_id, **form.cleaned_data)
    user_id = form.cleaned_data["user_id"]
    audit = Audit(
        "team.member.role",
        team_id=team_id,
        target=await _member_label(api, team_id, user_id),
        detail={"role": form.cleaned_data["role"], "user_id": str(user_id)},
    )
    outcome = await attempt(request, call, audit=audit)
    if not outcome.ok:
        return outcome
    messages.success(request, "Role changed.")
    return go(request, _here(team_id))
