"""Who may see what. Strangers to a team get 404 (its existence is not leaked); members whose
role is too low get 403."""

from .auth import Caller
from .http import forbidden, not_found
from .models import ROLE_RANK, Branch, Job, Membership, Project, Team, TeamRole, User


def require_user(caller: Caller) -> User:
    if caller.user is None:
        raise forbidden("This needs a user token; workers and agents are not team members.", "not_a_member")
    return caller.user


def require_system(caller: Caller) -> User:
    user = require_user(caller)
    if not caller.is_system:
        raise forbidden("Only system users may do this.")
    return user


def team_for(caller: Caller, team_id: int, min_role: str = TeamRole.MEMBER) -> tuple[Team, str | None]:
    """The team and the caller's own role in it (None for a system user who is not a member)."""
    user = require_user(caller)
    team = Team.objects.filter(pk=team_id).first()
    if team is None:
        raise not_found("Team")
    membership = Membership.objects.filter(team=team, user=user).first()
    role = membership.role if membership else None
    if role is None and not caller.is_system:
        raise not_found("Team")
    # System users administer every team as if they owned it.
    rank = ROLE_RANK[TeamRole.OWNER] if caller.is_system or role is None else ROLE_RANK[role]
    if rank < ROLE_RANK[min_role]:
        raise forbidden(f"This needs the {min_role} role in the team.")
    return team, role


def project_for(caller: Caller, team_id: int, project_id: int, min_role: str = TeamRole.MEMBER) -> Project:
    team, _ = team_for(caller, team_id, min_role)
    project = Project.objects.filter(pk=project_id, team=team).first()
    if project is None:
        raise not_found("Project")
    return project


def branch_for(
    caller: Caller, team_id: int, project_id: int, branch_id: int, min_role: str = TeamRole.MEMBER
) -> Branch:
    project = project_for(caller, team_id, project_id, min_role)
    branch = Branch.objects.filter(pk=branch_id, project=project).first()
    if branch is None:
        raise not_found("Branch")
    return branch


def branch_by_id(caller: Caller, branch_id: int) -> Branch:
    """For the flat /branches/:bid/jobs alias: the same rules, parents taken from the branch."""
    branch = Branch.objects.select_related("project").filter(pk=branch_id).first()
    if branch is None or caller.user is None:
        require_user(caller)
        raise not_found("Branch")
    return branch_for(caller, branch.project.team_id, branch.project_id, branch.pk)


def job_for(caller: Caller, job_id: int, path: dict[str, int]) -> Job:
    """The job if the caller may read it: a member of its team, the worker holding it, or its agent.

    `path` holds the team/project/branch ids of the nested URL (empty for the flat aliases); a job
    not under them is a 404.
    """
    job = Job.objects.select_related("branch__project").filter(pk=job_id).first()
    if job is None or not _under(job, path):
        raise not_found("Job")
    if caller.user is not None:
        team_for(caller, job.branch.project.team_id)
    elif caller.worker is not None:
        if job.worker_id != caller.worker.pk:
            raise not_found("Job")
    elif caller.job is None or caller.job.pk != job.pk:
        raise not_found("Job")
    return job


def _under(job: Job, path: dict[str, int]) -> bool:
    project = job.branch.project
    return (
        path.get("tid", project.team_id) == project.team_id
        and path.get("pid", project.pk) == project.pk
        and path.get("bid", job.branch_id) == job.branch_id
    )


def is_holder(caller: Caller, job: Job) -> bool:
    """The worker the job was handed to, or the job's own agent token."""
    if caller.worker is not None:
        return job.worker_id == caller.worker.pk
    return caller.job is not None and caller.job.pk == job.pk
