"""Teams: the list, and a team's page with its members, invitations and projects."""

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    INVALID,
    Outcome,
    action_name,
    attempt,
    go,
    load,
    nexical_page,
    optional_panel,
    page,
)
from dashboard.services import nexical
from dashboard.services.nexical import NexicalAPI

from .. import access
from ..actions import STALE, Handler, Shown, ask_first, dispatch, invalid, refused
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


def _my_upstream_id(request: AuthenticatedRequest) -> str:
    return request.connections[Service.NEXICAL].account_id


def _here(team_id: int) -> str:
    return reverse("team_detail", args=[team_id])


# --- teams list ----------------------------------------------------------------------------------


@nexical_page
async def team_list(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    form = TeamForm()
    outcome: Outcome = Outcome(ok=True)
    if request.method == "POST" and action_name(request, "create"):
        form = TeamForm(request.POST)
        if form.is_valid():
            call = nexical.team_create(api, name=form.cleaned_data["name"], slug=form.cleaned_data["slug"])
            outcome = await attempt(request, call, form=form, conflict_field="slug")
            if outcome.ok and outcome.value is not None:
                messages.success(request, f"Team “{outcome.value.name}” created.")
                return go(request, reverse("team_detail", args=[outcome.value.id]), same_page=False)
        else:
            outcome = INVALID
    teams = await nexical.team_list(api)
    context = {"teams": teams, "form": form, "error": outcome.message}
    return page(request, "orchestrator/teams.html", context, status=outcome.status)


# --- a team's page -------------------------------------------------------------------------------


@nexical_page
async def team_detail(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse:
    result = await dispatch(request, TEAM_ACTIONS, api, team_id)
    if isinstance(result, HttpResponse):
        return result
    return await _team_page(request, api, team_id, result)


async def _team_page(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int, shown: Shown
) -> HttpResponse:
    team, (members, members_missing), (invites, invites_missing), projects = await load(
        nexical.team_get(api, team_id=team_id),
        optional_panel(nexical.team_member_list(api, team_id=team_id)),
        optional_panel(nexical.team_invite_list(api, team_id=team_id)),
        nexical.project_list(api, team_id=team_id),
    )
    team_access = access.TeamAccess(team=team, me=_my_upstream_id(request))
    forms = shown.forms
    context = {
        "team": team,
        "access": team_access,
        "members": [team_access.row(member) for member in members or []],
        "members_missing": members_missing,
        "invites": [invite for invite in invites or [] if invite.status == "pending"],
        "invites_missing": invites_missing,
        "projects": projects,
        "rename_form": forms.get("rename") or TeamForm(initial={"name": team.name, "slug": team.slug}),
        "invite_form": forms.get("invite") or InviteForm(),
        "project_form": forms.get("project") or ProjectForm(),
        "delete_form": forms.get("delete") or DeleteConfirmForm(expected=team.slug),
        "confirm_delete": "delete" in forms,
        "error": shown.outcome.message,
    }
    return page(request, "orchestrator/team.html", context, status=shown.outcome.status)


# --- its actions, one handler each ----------------------------------------------------------------


async def _rename(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse | Shown:
    form = TeamForm(request.POST)
    if not form.is_valid():
        return invalid(form, "rename")
    outcome = await attempt(
        request,
        nexical.team_update(api, team_id=team_id, **form.cleaned_data),
        form=form,
        conflict_field="slug",
    )
    if not outcome.ok:
        return refused(outcome, form, "rename")
    messages.success(request, "Team renamed.")
    # A whole new page: the name also sits in the title and the breadcrumbs.
    return go(request, _here(team_id), same_page=False)


async def _delete(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse | Shown:
    # Through load(): an outsider's 403 is a 404 here too, as on every other page of the team.
    (team,) = await load(nexical.team_get(api, team_id=team_id))
    form = DeleteConfirmForm(request.POST, expected=team.slug)
    if not access.is_owner(team):
        return refused(Outcome(ok=False, message="Only the team's owner can delete it.", status=403))
    if not form.is_valid():
        return invalid(form, "delete")
    outcome = await attempt(request, nexical.team_delete(api, team_id=team_id), form=form)
    if not outcome.ok:
        return refused(outcome, form, "delete")
    messages.success(request, f"Team “{team.name}” deleted.")
    return go(request, reverse("team_list"), same_page=False)


async def _invite(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse | Shown:
    form = InviteForm(request.POST)
    if not form.is_valid():
        return invalid(form, "invite")
    call = nexical.team_invite(api, team_id=team_id, **form.cleaned_data)
    outcome = await attempt(request, call, form=form, conflict_field="email")
    if not outcome.ok or outcome.value is None:
        return refused(outcome, form, "invite")
    invitation = outcome.value
    if invitation.status == "accepted":
        messages.success(
            request, f"{invitation.email} already had an account and joined as {invitation.role}."
        )
    else:
        messages.success(request, f"Invitation sent to {invitation.email} as {invitation.role}.")
    return go(request, _here(team_id))


async def _create_project(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int
) -> HttpResponse | Shown:
    form = ProjectForm(request.POST)
    if not form.is_valid():
        return invalid(form, "project")
    call = nexical.project_create(api, team_id=team_id, **blank_to_none(form.cleaned_data))
    outcome = await attempt(request, call, form=form, conflict_field="name")
    if not outcome.ok or outcome.value is None:
        return refused(outcome, form, "project")
    messages.success(request, f"Project “{outcome.value.name}” created.")
    return go(request, reverse("project_detail", args=[team_id, outcome.value.id]), same_page=False)


async def _leave(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse | Shown:
    if asking := ask_first(request, _here(team_id), "leave"):
        return asking
    me = _my_upstream_id(request)
    outcome = await attempt(request, nexical.team_member_remove(api, team_id=team_id, user_id=me))
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, "You left the team.")
    return go(request, reverse("team_list"), same_page=False)


async def _revoke_invite(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int
) -> HttpResponse | Shown:
    form = IdForm(request.POST)
    if not form.is_valid():
        return STALE
    invite_id = form.cleaned_data["id"]
    if asking := ask_first(request, _here(team_id), "revoke_invite", invite_id):
        return asking
    outcome = await attempt(request, nexical.team_invite_revoke(api, team_id=team_id, invite_id=invite_id))
    return _done(request, outcome, team_id, "Invitation revoked.")


async def _change_role(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> HttpResponse | Shown:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return STALE
    outcome = await attempt(request, nexical.team_member_update(api, team_id=team_id, **form.cleaned_data))
    return _done(request, outcome, team_id, "Role changed.")


async def _remove_member(
    request: AuthenticatedRequest, api: NexicalAPI, team_id: int
) -> HttpResponse | Shown:
    form = MemberForm(request.POST)
    if not form.is_valid():
        return STALE
    user_id = form.cleaned_data["user_id"]
    if asking := ask_first(request, _here(team_id), "remove_member", user_id):
        return asking
    outcome = await attempt(request, nexical.team_member_remove(api, team_id=team_id, user_id=user_id))
    return _done(request, outcome, team_id, "Member removed.")


def _done(
    request: AuthenticatedRequest, outcome: Outcome, team_id: int, success: str
) -> HttpResponse | Shown:
    """A row action's end: back to the page with a message, or the page again with why not."""
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, success)
    return go(request, _here(team_id))


TEAM_ACTIONS: dict[str, Handler] = {
    "rename": _rename,
    "delete": _delete,
    "invite": _invite,
    "create_project": _create_project,
    "leave": _leave,
    "revoke_invite": _revoke_invite,
    "change_role": _change_role,
    "remove_member": _remove_member,
}
