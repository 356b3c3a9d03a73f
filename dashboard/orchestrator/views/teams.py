"""Teams: the list, and a team's page with its members, invitations and projects."""

from django.contrib import messages
from django.http import HttpResponse
from django.urls import reverse

from dashboard.accounts.models import Service
from dashboard.core.http import AuthenticatedRequest
from dashboard.core.pages import (
    Outcome,
    attempt,
    go,
    load,
    nexical_page,
    optional_panel,
    page,
)
from dashboard.core.sections import menu_section
from dashboard.services import nexical
from dashboard.services.nexical import Invitation, NexicalAPI
from dashboard.tracking.views.watch import watched_projects

from .. import access
from ..actions import STALE, Handler, Result, Shown, ask_first, dispatch, refused, row_action, submit
from ..forms import (
    ROLE_CHOICES,
    DeleteConfirmForm,
    IdForm,
    InviteForm,
    MemberForm,
    MemberRoleForm,
    ProjectForm,
    TeamForm,
    blank_to_none,
)
from .invites import SESSION_KEY as INVITE_SESSION_KEY


def _my_upstream_id(request: AuthenticatedRequest) -> str:
    return request.connections[Service.NEXICAL].account_id


def _here(team_id: int) -> str:
    return reverse("orchestrator:team_detail", args=[team_id])


# --- teams list ----------------------------------------------------------------------------------


@menu_section("teams")
@nexical_page
async def team_list(request: AuthenticatedRequest, api: NexicalAPI) -> HttpResponse:
    result = await dispatch(request, {"create": _create_team}, api)
    if isinstance(result, HttpResponse):
        return result
    teams = await nexical.team_list(api)
    context = {
        "teams": teams,
        "form": result.forms.get("team") or TeamForm(),
        # An invitation opened before Nexical was connected waits in the session: point back to it.
        "invitation_waiting": await request.session.ahas_key(INVITE_SESSION_KEY),
        "error": result.outcome.message,
    }
    return page(request, "orchestrator/teams.html", context, status=result.outcome.status)


async def _create_team(request: AuthenticatedRequest, api: NexicalAPI) -> Result:
    return await submit(
        request,
        TeamForm(request.POST),
        "team",
        lambda data: nexical.team_create(api, name=data["name"], slug=data["slug"]),
        lambda team: (f"Team “{team.name}” created.", reverse("orchestrator:team_detail", args=[team.id])),
        conflict_field="slug",
        same_page=False,
    )


# --- a team's page -------------------------------------------------------------------------------


@menu_section("teams")
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
        "role_choices": ROLE_CHOICES,
        "invites": [invite for invite in invites or [] if invite.status == "pending"],
        "invites_missing": invites_missing,
        "projects": projects,
        "watched": await watched_projects(request.user, team_id),
        "rename_form": forms.get("rename") or TeamForm(initial={"name": team.name, "slug": team.slug}),
        "invite_form": forms.get("invite") or InviteForm(),
        "project_form": forms.get("project") or ProjectForm(),
        "delete_form": forms.get("delete") or DeleteConfirmForm(expected=team.slug),
        "confirm_delete": "delete" in forms,
        "error": shown.outcome.message,
    }
    return page(request, "orchestrator/team.html", context, status=shown.outcome.status)


# --- its actions, one handler each ----------------------------------------------------------------


async def _rename(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    return await submit(
        request,
        TeamForm(request.POST),
        "rename",
        lambda data: nexical.team_update(api, team_id=team_id, **data),
        lambda _: ("Team renamed.", _here(team_id)),
        conflict_field="slug",
        same_page=False,  # a whole new page: the name also sits in the title and the breadcrumbs
    )


async def _delete(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    # Through load(): an outsider's 403 is a 404 here too, as on every other page of the team.
    (team,) = await load(nexical.team_get(api, team_id=team_id))
    if not access.is_owner(team):
        return refused(Outcome(ok=False, message="Only the team's owner can delete it.", status=403))
    return await submit(
        request,
        DeleteConfirmForm(request.POST, expected=team.slug),
        "delete",
        lambda _: nexical.team_delete(api, team_id=team_id),
        lambda _: (f"Team “{team.name}” deleted.", reverse("orchestrator:team_list")),
        same_page=False,
    )


def _invited(invitation: Invitation) -> str:
    if invitation.status == "accepted":
        return f"{invitation.email} already had an account and joined as {invitation.role}."
    return f"Invitation sent to {invitation.email} as {invitation.role}."


async def _invite(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    return await submit(
        request,
        InviteForm(request.POST),
        "invite",
        lambda data: nexical.team_invite(api, team_id=team_id, **data),
        lambda invitation: (_invited(invitation), _here(team_id)),
        conflict_field="email",
    )


async def _create_project(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    return await submit(
        request,
        ProjectForm(request.POST),
        "project",
        lambda data: nexical.project_create(api, team_id=team_id, **blank_to_none(data)),
        lambda project: (
            f"Project “{project.name}” created.",
            reverse("orchestrator:project_detail", args=[team_id, project.id]),
        ),
        conflict_field="name",
        same_page=False,
    )


async def _leave(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    if asking := ask_first(request, _here(team_id), "leave"):
        return asking
    me = _my_upstream_id(request)
    outcome = await attempt(request, nexical.team_member_remove(api, team_id=team_id, user_id=me))
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, "You left the team.")
    return go(request, reverse("orchestrator:team_list"), same_page=False)


async def _revoke_invite(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    return await row_action(
        request,
        IdForm(request.POST),
        _here(team_id),
        "revoke_invite",
        "Invitation revoked.",
        lambda invite_id: nexical.team_invite_revoke(api, team_id=team_id, invite_id=invite_id),
    )


async def _remove_member(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    return await row_action(
        request,
        MemberForm(request.POST),
        _here(team_id),
        "remove_member",
        "Member removed.",
        lambda user_id: nexical.team_member_remove(api, team_id=team_id, user_id=user_id),
    )


async def _change_role(request: AuthenticatedRequest, api: NexicalAPI, team_id: int) -> Result:
    form = MemberRoleForm(request.POST)
    if not form.is_valid():
        return STALE
    outcome = await attempt(request, nexical.team_member_update(api, team_id=team_id, **form.cleaned_data))
    if not outcome.ok:
        return refused(outcome)
    messages.success(request, "Role changed.")
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
