"""Who may do what on a Nexical team: the one place the orchestrator pages read roles.

Views and templates ask these rules (templates through `TeamAccess`), never compare role strings.
They decide which controls a page offers and what a view refuses before asking upstream; the
orchestrator still enforces every action itself.
"""

from dataclasses import dataclass
from typing import Final
from uuid import UUID

from dashboard.services.nexical import Member, Team, TeamRole

OWNER: Final[TeamRole] = "owner"
ADMIN: Final[TeamRole] = "admin"
MEMBER: Final[TeamRole] = "member"


def is_owner(team: Team) -> bool:
    """The owner, or a system user who is not a member (no role): both may do anything to the team."""
    return team.role in (OWNER, None)


def can_manage(team: Team) -> bool:
    """Owners and admins manage a team (projects, invitations, settings); so may a system user."""
    return team.role in (OWNER, ADMIN, None)


def can_remove(team: Team, member_role: TeamRole) -> bool:
    """Only the owner removes an admin; nobody removes the owner."""
    if member_role == OWNER:
        return False
    if member_role == ADMIN:
        return is_owner(team)
    return can_manage(team)


def can_change_role(team: Team, member_role: TeamRole) -> bool:
    """The owner promotes and demotes; the owner's own role is not for changing here."""
    return is_owner(team) and member_role != OWNER


def can_leave(team: Team) -> bool:
    """Members and admins may leave; the owner cannot (the team would have none), nor a non-member."""
    return team.role is not None and team.role != OWNER


@dataclass(frozen=True)
class MemberRow:
    member: Member
    is_me: bool
    can_remove: bool
    can_change_role: bool


@dataclass(frozen=True)
class TeamAccess:
    """The rules for one team as the viewer holds it, for templates (`access.can_manage`)."""

    team: Team
    me: str = ""  # the viewer's upstream user id (only the team page needs it)

    @property
    def is_owner(self) -> bool:
        return is_owner(self.team)

    @property
    def can_manage(self) -> bool:
        return can_manage(self.team)

    @property
    def can_leave(self) -> bool:
        return can_leave(self.team)

    def is_me(self, user_id: UUID | str) -> bool:
        return str(user_id) == self.me

    def row(self, member: Member) -> MemberRow:
        mine = self.is_me(member.user_id)
        return MemberRow(
            member=member,
            is_me=mine,
            can_remove=not mine and can_remove(self.team, member.role),
            can_change_role=can_change_role(self.team, member.role),
        )
