"""Teams: the list, and a team's page with its members, invitations and projects."""

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.core.pages import Outcome, action_name, attempt, go, load, nexical_page, optional_panel, page
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI, Team
from dashboard.tracking.views.watch import watched_projects

from ..forms import (
    DeleteConfirmForm,
    IdForm,
    InviteForm,
    MemberForm,
    MemberRoleForm,
    ProjectForm,
    TeamForm,
    blank_to_none,
)

# --- access helpers ------------------------------------------------------------------------------


def can_manage(team: Team) -> bool:
    """Owners and admins manage a team; a system user who is not a member (no role) may too.

    This only decides which controls are offered: the upstream still enforces every action.
    """
    return team.role in ("owner", "admin", None)


def can_remove(team: Team, member_role: str) -> bool:
    """Only the owner removes an admin; nobody removes the owner."""
    if member_role == "owner":
        return False
    if member_role == "admin":
        return team.role in ("owner", None)
    return can_manage(team)


def _my_upstream_id(request: HttpRequest) -> str:
    return request.connections[Service.NEXICAL].account_id


# --- teams list ----------------------------------------------------------------------------------


@nexical_page
async def team_list(request: HttpRequest, api: NexicalAPI) -> HttpResponse:
    form = TeamForm()
    outcome = Outcome(ok=True)
    if request.method == "POST" and action_name(request, "create"):
        form = TeamForm(request.POST)
        if form.is_valid():
            call = nexical.team_create(api, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"])
            outcome = await attempt(request, call, form=form, conflict_field="slug")
            if outcome.ok:
                messages.success(request, f"Team “{outcome.value.name}” created.")
                return go(request, reverse("team_detail", args=[outcome.value.id]), same_page=False)
        else:
            outcome = Outcome(ok=False, status=400)
    teams = await nexical.team_list(api)
    context = {"teams": teams, "form": form, "error": outcome.message}
    return page(request, "orchestrator/teams.html", context, status=outcome.status)


# --- a team's page -------------------------------------------------------------------------------


@nexical_page
async def team_detail(request: HttpRequest, api: NexicalAPI, team_id: int) -> HttpResponse:
    forms: dict = {}
    outcome = Outcome(ok=True)
    if request.method == "POST":
        response, forms, outcome = await _team_action(request, api, team_id)
        if response is not None:
            return response
    return await _team_page(request, api, team_id, forms=forms, outcome=outcome)


async def _team_page(
    request: HttpRequest, api: NexicalAPI, team_id: int, *, forms: dict, outcome: Outcome
) -> HttpResponse:
    team, (members, members_missing), (invites, invites_missing), projects = await load(
        nexical.team_get(api, team_id=team_id),
        optional_panel(nexical.team_member_list(api, team_id=team_id)),
        optional_panel(nexical.team_invite_list(api, team_id=team_id)),
        nexical.project_list(api, team_id=team_id),
    )
    me = _my_upstream_id(request)
    member_rows = [
        {
            "member": member,
            "is_me": str(member.user_id) == me,
            "can_remove": str(member.user_id) != me and can_remove(team, member.role),
            "can_change_role": team.role in ("owner", None) and member.role != "owner",
        }
        for member in members or []
    ]
    context = {
        "team": team,
        "manage": can_manage(team),
        "is_owner": team.role in ("owner", None),
        "members": member_rows,
        "members_missing": members_missing,
        "invites": [invite for invite in invites or [] if invite.status == "pending"],
        "invites_missing": invites_missing,
        "projects": projects,
        "watched": await watched_projects(request.user, team_id),
        "rename_form": forms.get("rename") or TeamForm(initial={"name": team.name, "slug": team.slug}),
        "invite_form": forms.get("invite") or InviteForm(),
        "project_form": forms.get("project") or ProjectForm(),
        "delete_form": forms.get("delete") or DeleteConfirmForm(expected=team.slug),
        "confirm_delete": "delete" in forms or request.GET.get("confirm") == "delete",
        "confirm_revoke": forms.get("confirm_revoke"),
        "error": outcome.message,
    }
    return page(request, "orchestrator/team.html", context, status=outcome.status)


async def _team_action(
    request: HttpRequest, api: NexicalAPI, team_id: int
) -> tuple[HttpResponse | None, dict, Outcome]:
    """Run the action whose button was pressed: (redirect on success, or the forms to re-show)."""
    here = reverse("team_detail", args=[team_id])
    action = action_name(
        request,
        "rename",
        "delete",
        "invite",
        "revoke_invite",
        "change_role",
        "remove_member",
        "leave",
        "create_project",
    )
    invalid = Outcome(ok=False, status=400)

    if action == "rename":
        form = TeamForm(request.POST)
        if not form.is_valid():
            return None, {"rename": form}, invalid
        call = nexical.team_update(api, team_id=team_id, **form.cleaned_data)
        outcome = await attempt(request, call, form=form, conflict_field="slug")
        if outcome.ok:
            messages.success(request, "Team renamed.")
            # A whole new page: the name also sits in the title and the breadcrumbs.
            return go(request, here, same_page=False), {}, outcome
        return None, {"rename": form}, outcome

    if action == "delete":
        # Through load(): an outsider's 403 is a 404 here too, as on every other page of the team.
        (team,) = await load(nexical.team_get(api, team_id=team_id))
        form = DeleteConfirmForm(request.POST, expected=team.slug)
        if not form.is_valid():
            return None, {"delete": form}, invalid
        outcome = await attempt(request, nexical.team_delete(api, team_id=team_id), form=form)
        if outcome.ok:
            messages.success(request, f"Team “{team.name}” deleted.")
            return go(request, reverse("team_list"), same_page=False), {}, outcome
        return None, {"delete": form}, outcome

    if action == "invite":
        form = InviteForm(request.POST)
        if not form.is_valid():
            return None, {"invite": form}, invalid
        call = nexical.team_invite(api, team_id=team_id, **form.cleaned_data)
        outcome = await attempt(request, call, form=form, conflict_field="email")
        if outcome.ok:
            invitation = outcome.value
            if invitation.status == "accepted":
                messages.success(
                    request, f"{invitation.email} already had an account and joined as {invitation.role}."
                )
            else:
                messages.success(request, f"Invitation sent to {invitation.email} as {invitation.role}.")
            return go(request, here), {}, outcome
        return None, {"invite": form}, outcome

    if action == "create_project":
        form = ProjectForm(request.POST)
        if not form.is_valid():
            return None, {"project": form}, invalid
        call = nexical.project_create(api, team_id=team_id, **blank_to_none(form.cleaned_data))
        outcome = await attempt(request, call, form=form, conflict_field="name")
        if outcome.ok:
            messages.success(request, f"Project “{outcome.value.name}” created.")
            url = reverse("project_detail", args=[team_id, outcome.value.id])
            return go(request, url, same_page=False), {}, outcome
        return None, {"project": form}, outcome

    if action == "leave":
        me = _my_upstream_id(request)
        outcome = await attempt(request, nexical.team_member_remove(api, team_id=team_id, user_id=me))
        if outcome.ok:
            messages.success(request, "You left the team.")
            return go(request, reverse("team_list"), same_page=False), {}, outcome
        return None, {}, outcome

    # The row actions carry only hidden ids: a bad one is a stale or tampered form, not a typo.
    stale = Outcome(ok=False, message="That row no longer exists. Reload the page.", status=400)
    if action == "revoke_invite":
        form = IdForm(request.POST)
        if not form.is_valid():
            return None, {}, stale
        if "confirmed" not in request.POST:
            # Without JS there was no hx-confirm prompt: ask on the page before revoking.
            return None, {"confirm_revoke": form.cleaned_data["id"]}, Outcome(ok=True)
        call = nexical.team_invite_revoke(api, team_id=team_id, invite_id=form.cleaned_data["id"])
        success = "Invitation revoked."
    elif action == "change_role":
        form = MemberRoleForm(request.POST)
        if not form.is_valid():
            return None, {}, stale
        call = nexical.team_member_update(api, team_id=team_id, **form.cleaned_data)
        success = "Role changed."
    elif action == "remove_member":
        form = MemberForm(request.POST)
        if not form.is_valid():
            return None, {}, stale
        call = nexical.team_member_remove(api, team_id=team_id, **form.cleaned_data)
        success = "Member removed."
    else:
        return None, {}, Outcome(ok=False, message="Unknown action.", status=400)

    outcome = await attempt(request, call)
    if outcome.ok:
        messages.success(request, success)
        return go(request, here), {}, outcome
    return None, {}, outcome
