"""Teams, their members and invitations (seed §Teams plus the contract's §5 extensions)."""

import logging
import secrets
import uuid
from datetime import timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.http import HttpRequest, JsonResponse
from django.utils import timezone

from ..access import require_user, team_for
from ..auth import Caller, hash_token
from ..http import Field, conflict, created, forbidden, invalid, not_found, ok, parse_body
from ..models import ROLE_RANK, Invitation, Membership, OutboxMessage, Team, TeamRole, User
from ..serializers import invitation_json, member_json, team_json

logger = logging.getLogger("sandbox.nexical")

SLUG = r"[a-z0-9]+(?:-[a-z0-9]+)*"
INVITE_DAYS = 7
INVITE_ROLES = (TeamRole.ADMIN.value, TeamRole.MEMBER.value)


def list_teams(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: GET /teams (list)
    user = require_user(caller)
    roles = dict(Membership.objects.filter(user=user).values_list("team_id", "role"))
    teams = (
        Team.objects.order_by("id") if caller.is_system else Team.objects.filter(pk__in=roles).order_by("id")
    )
    return JsonResponse({"teams": [team_json(team, roles.get(team.pk)) for team in teams]})


def create_team(request: HttpRequest, caller: Caller) -> JsonResponse:
    # seed: POST /teams (create)
    user = require_user(caller)
    data = parse_body(
        request,
        {
            "name": Field(str, required=True, max_length=100),
            "slug": Field(str, required=True, max_length=50, pattern=SLUG),
        },
    )
    try:
        with transaction.atomic():
            team = Team.objects.create(name=data["name"].strip(), slug=data["slug"])
            Membership.objects.create(team=team, user=user, role=TeamRole.OWNER)
    except IntegrityError:
        raise conflict("A team with this slug already exists.") from None
    return created({"team": team_json(team, TeamRole.OWNER)})


def get_team(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: GET /teams/:id (get)
    team, role = team_for(caller, tid)
    return JsonResponse({"team": team_json(team, role)})


def update_team(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: PUT /teams/:id (update)
    team, role = team_for(caller, tid, TeamRole.ADMIN)
    data = parse_body(
        request,
        {"name": Field(str, max_length=100), "slug": Field(str, max_length=50, pattern=SLUG)},
    )
    if "name" in data:
        if not data["name"].strip():
            raise invalid({"name": ["May not be blank."]})
        team.name = data["name"].strip()
    if "slug" in data:
        team.slug = data["slug"]
    try:
        with transaction.atomic():
            team.save()
    except IntegrityError:
        raise conflict("A team with this slug already exists.") from None
    return JsonResponse({"team": team_json(team, role)})


def delete_team(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: DELETE /teams/:id (delete); cascades to projects, branches, jobs, invites
    team, _ = team_for(caller, tid, TeamRole.OWNER)
    with transaction.atomic():
        team.delete()
    return ok()


def list_members(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # extension: GET /teams/:id/members
    team, _ = team_for(caller, tid)
    memberships = Membership.objects.filter(team=team).select_related("user").order_by("joined_at", "id")
    return JsonResponse({"members": [member_json(m) for m in memberships]})


def update_member(request: HttpRequest, caller: Caller, tid: int, uid: str) -> JsonResponse:
    # extension: PUT /teams/:id/members/:uid {role}; the owner's own role never changes here
    team, _ = team_for(caller, tid, TeamRole.OWNER)
    data = parse_body(request, {"role": Field(str, required=True, choices=INVITE_ROLES)})
    membership = _membership(team, uid)
    if membership.role == TeamRole.OWNER:
        raise forbidden("The owner's role cannot be changed.")
    membership.role = data["role"]
    membership.save(update_fields=["role"])
    return JsonResponse({"member": member_json(membership)})


def remove_member(request: HttpRequest, caller: Caller, tid: int, uid: str) -> JsonResponse:
    # seed: DELETE /teams/:id/members/:uid (removeMember)
    team, role = team_for(caller, tid)
    target = _membership(team, uid)
    if target.role == TeamRole.OWNER:
        raise forbidden("The team's owner can never be removed.")
    leaving = target.user_id == require_user(caller).pk
    if not leaving:
        rank = ROLE_RANK[TeamRole.OWNER] if caller.is_system or role is None else ROLE_RANK[role]
        if rank < ROLE_RANK[TeamRole.ADMIN]:
            raise forbidden("Only admins may remove members.")
        if target.role == TeamRole.ADMIN and rank < ROLE_RANK[TeamRole.OWNER]:
            raise forbidden("Only the owner may remove an admin.")
    target.delete()
    return ok()


def _membership(team: Team, uid: str) -> Membership:
    try:
        uid = str(uuid.UUID(uid))
    except ValueError:
        raise not_found("Member") from None
    membership = Membership.objects.select_related("user").filter(team=team, user_id=uid).first()
    if membership is None:
        raise not_found("Member")
    return membership


def invite(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # seed: POST /teams/:id/invites (inviteMember)
    team, _ = team_for(caller, tid, TeamRole.ADMIN)
    data = parse_body(
        request,
        {
            "email": Field(str, required=True, max_length=254, pattern=r"[^@\s]+@[^@\s]+\.[^@\s]+"),
            "role": Field(str, choices=INVITE_ROLES),
        },
    )
    email = data["email"].strip().lower()
    role = data.get("role", TeamRole.MEMBER)
    now = timezone.now()
    try:
        with transaction.atomic():
            _expire_invitations(team)
            existing = User.objects.filter(email=email).first()
            if existing and Membership.objects.filter(team=team, user=existing).exists():
                raise conflict("User is already a member.")
            if Invitation.objects.filter(team=team, email=email, status=Invitation.Status.PENDING).exists():
                raise conflict("Invitation already exists.")
            invitation = Invitation(
                team=team,
                email=email,
                role=role,
                invited_by=caller.user,
                expires_at=now + timedelta(days=INVITE_DAYS),
            )
            if existing:
                # Like the vendor's team module: a known user joins at once.
                Membership.objects.create(team=team, user=existing, role=role)
                invitation.status = Invitation.Status.ACCEPTED
                invitation.accepted_at = now
                invitation.save()
            else:
                raw = "nxi_" + secrets.token_urlsafe(24)
                invitation.token_hash = hash_token(raw)
                invitation.save()
                _send_invite_mail(team, invitation, raw)
    except IntegrityError:
        # Two invites sent at once both pass the checks above; the database's unique constraints
        # (one membership, one open invitation per team and email) let only one of them in.
        raise conflict("Invitation already exists.") from None
    return created({"invitation": invitation_json(invitation)})


def _send_invite_mail(team: Team, invitation: Invitation, raw_token: str) -> None:
    """The emulator's "mail": a row in the outbox and one log line, the only places the token goes."""
    OutboxMessage.objects.create(
        to=invitation.email,
        subject=f"You are invited to {team.name} on Nexical",
        body=(
            f"Join {team.name} as {invitation.role}. Accept within {INVITE_DAYS} days: "
            f"{settings.NEXICAL_INVITE_URL}?{urlencode({'token': raw_token})}"
        ),
        invite_token=raw_token,
    )
    logger.info("outbox invite to=%s team=%s token=%s", invitation.email, team.pk, raw_token)


def _expire_invitations(team: Team) -> None:
    stale = Invitation.objects.filter(
        team=team, status=Invitation.Status.PENDING, expires_at__lte=timezone.now()
    )
    # Look before writing: an UPDATE takes SQLite's write lock even when it matches nothing.
    if stale.exists():
        stale.update(status=Invitation.Status.EXPIRED)


def list_invites(request: HttpRequest, caller: Caller, tid: int) -> JsonResponse:
    # extension: GET /teams/:id/invites (newest first)
    team, _ = team_for(caller, tid, TeamRole.ADMIN)
    _expire_invitations(team)
    invitations = Invitation.objects.filter(team=team).order_by("-created_at", "-id")
    return JsonResponse({"invites": [invitation_json(i) for i in invitations]})


def revoke_invite(request: HttpRequest, caller: Caller, tid: int, invite_id: int) -> JsonResponse:
    # extension: DELETE /teams/:id/invites/:inviteId (status becomes revoked)
    team, _ = team_for(caller, tid, TeamRole.ADMIN)
    invitation = Invitation.objects.filter(team=team, pk=invite_id).first()
    if invitation is None:
        raise not_found("Invitation")
    if invitation.status != Invitation.Status.PENDING:
        raise conflict(f"The invitation is already {invitation.status}.")
    invitation.status = Invitation.Status.REVOKED
    invitation.save(update_fields=["status"])
    return ok()


def accept_invite(request: HttpRequest, caller: Caller) -> JsonResponse:
    # extension: POST /invites/accept {token}; only the invited email may accept
    user = require_user(caller)
    data = parse_body(request, {"token": Field(str, required=True, max_length=200)})
    token_hash = hash_token(data["token"])
    # Outside the transaction below, so that refusing the late invitation does not roll this back.
    Invitation.objects.filter(
        token_hash=token_hash, status=Invitation.Status.PENDING, expires_at__lte=timezone.now()
    ).update(status=Invitation.Status.EXPIRED)
    try:
        with transaction.atomic():
            invitation = Invitation.objects.select_related("team").filter(token_hash=token_hash).first()
            if invitation is None or invitation.status == Invitation.Status.REVOKED:
                raise not_found("Invitation")
            # The vendor's team module answers `expired` and `email_mismatch` here (contract §5).
            if invitation.status == Invitation.Status.EXPIRED:
                raise conflict("The invitation has expired.", "expired")
            if invitation.status != Invitation.Status.PENDING:
                raise conflict(f"The invitation is {invitation.status}.")
            if invitation.email != user.email.lower():
                raise forbidden("This invitation was sent to another email address.", "email_mismatch")
            if Membership.objects.filter(team=invitation.team, user=user).exists():
                raise conflict("User is already a member.")
            membership = Membership.objects.create(team=invitation.team, user=user, role=invitation.role)
            invitation.status = Invitation.Status.ACCEPTED
            invitation.accepted_at = timezone.now()
            invitation.save(update_fields=["status", "accepted_at"])
    except IntegrityError:
        # The same invitation accepted twice at once: the unique membership lets one through.
        raise conflict("User is already a member.") from None
    return JsonResponse(
        {"team": team_json(invitation.team, membership.role), "member": member_json(membership)}
    )
