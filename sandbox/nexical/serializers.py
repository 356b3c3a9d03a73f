"""The wire shapes of the seed types: camelCase, int ids (UUID for users and workers), `Z` times."""

from datetime import UTC, datetime
from typing import Any

from .models import (
    Branch,
    EnrollmentToken,
    Invitation,
    Job,
    JobLog,
    Membership,
    Project,
    Team,
    Token,
    User,
    Worker,
)


def iso(value: datetime | None) -> str | None:
    """ISO-8601 UTC with milliseconds and a `Z`, as the SDK's Zod datetime() requires."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def user_json(user: User) -> dict[str, Any]:
    return {
        "id": str(user.id),
        "email": user.email,
        "fullName": user.full_name,
        "avatarUrl": user.avatar_url,
        "role": user.role,
        "createdAt": iso(user.created_at),
        "updatedAt": iso(user.updated_at),
    }


def team_json(team: Team, role: str | None = None) -> dict[str, Any]:
    body = {
        "id": team.pk,
        "name": team.name,
        "slug": team.slug,
        "billingPlan": team.billing_plan,
        "createdAt": iso(team.created_at),
        "updatedAt": iso(team.updated_at),
    }
    if role is not None:
        body["role"] = role
    return body


def member_json(membership: Membership) -> dict[str, Any]:
    user = membership.user
    return {
        "userId": str(user.id),
        "email": user.email,
        "fullName": user.full_name,
        "avatarUrl": user.avatar_url,
        "role": membership.role,
        "joinedAt": iso(membership.joined_at),
    }


def invitation_json(invitation: Invitation) -> dict[str, Any]:
    return {
        "id": invitation.pk,
        "teamId": invitation.team_id,
        "email": invitation.email,
        "role": invitation.role,
        "status": invitation.status,
        "invitedBy": str(invitation.invited_by_id),
        "expiresAt": iso(invitation.expires_at),
        "acceptedAt": iso(invitation.accepted_at),
        "createdAt": iso(invitation.created_at),
    }


def project_json(project: Project) -> dict[str, Any]:
    return {
        "id": project.pk,
        "teamId": project.team_id,
        "name": project.name,
        "repoUrl": project.repo_url,
        "productionUrl": project.production_url,
        "mode": project.mode,
        "contextHash": None,
        "createdAt": iso(project.created_at),
        "updatedAt": iso(project.updated_at),
    }


def branch_json(branch: Branch) -> dict[str, Any]:
    return {
        "id": branch.pk,
        "projectId": branch.project_id,
        "name": branch.name,
        "previewUrl": branch.preview_url,
        "createdAt": iso(branch.created_at),
        "updatedAt": iso(branch.updated_at),
    }


def job_json(job: Job) -> dict[str, Any]:
    """Needs job.branch.project loaded (select_related) for teamId and projectId."""
    return {
        "id": job.pk,
        "teamId": job.branch.project.team_id,
        "projectId": job.branch.project_id,
        "branchId": job.branch_id,
        "type": job.type,
        "status": job.status,
        "queue": job.queue,
        "inputs": job.inputs,
        "outputs": job.outputs,
        "assignedFactoryId": str(job.worker_id) if job.worker_id else None,
        "startedAt": iso(job.started_at),
        "completedAt": iso(job.completed_at),
        "createdAt": iso(job.created_at),
    }


def log_json(log: JobLog) -> dict[str, Any]:
    return {
        "id": log.pk,
        "jobId": log.job_id,
        "level": log.level,
        "message": log.message,
        "metadata": log.metadata,
        "timestamp": iso(log.timestamp),
    }


def worker_json(worker: Worker) -> dict[str, Any]:
    return {
        "id": str(worker.id),
        "name": worker.name,
        "teamId": worker.team_id,
        "lastSeenAt": iso(worker.last_seen_at),
    }


def token_json(token: Token) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "tokenPrefix": token.token_prefix,
        "scopes": token.scopes,
        "lastUsedAt": iso(token.last_used_at),
        "expiresAt": iso(token.expires_at),
        "createdAt": iso(token.created_at),
    }


def enrollment_token_json(token: EnrollmentToken) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "tokenPrefix": token.token_prefix,
        "teamId": token.team_id,
        "createdAt": iso(token.created_at),
    }
