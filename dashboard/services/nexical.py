"""Typed async client for the Nexical Orchestrator (contract: shared/contracts/nexical.md).

One function per upstream endpoint, named `<entity>_<action>`, each taking a `NexicalAPI` (the
user's Bearer token) first and keyword-only arguments after it. Responses are parsed into frozen
pydantic models that mirror the seed's types; a body that does not match raises ContractError,
as the official SDK's Zod schemas would. Envelopes are unwrapped leniently: the documented key
when present, else the bare object or array.
"""

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import AliasChoices, AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, StrictInt
from pydantic.alias_generators import to_camel

from . import http
from .errors import APIError, AuthError, DeviceFlowError, DevicePending, RateLimitError

UPSTREAM = http.NEXICAL_UPSTREAM


@dataclass(frozen=True)
class NexicalAPI:
    """A user's Nexical credential: an API token, a device-flow session or a worker session."""

    token: str = field(repr=False)

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


# ---------------------------------------------------------------------------------------------
# Models (seed "Types"; extra keys are ignored, what the seed fixes is checked strictly)


def _timestamp_text(value: Any) -> Any:
    # Lax pydantic would read a number as a Unix time; the seed's timestamps are ISO strings.
    if isinstance(value, str | datetime):
        return value
    raise ValueError("expected an ISO-8601 timestamp")


# The seed's numeric ids: "5" is a contract error, as in the SDK. A negative id is one too: the
# dashboard's URLs take none, so linking to it would fail the page (a 500) instead of reporting it.
Id = Annotated[StrictInt, Field(ge=0)]
Timestamp = Annotated[AwareDatetime, BeforeValidator(_timestamp_text)]
UserRole = Literal["user", "system"]
TeamRole = Literal["owner", "admin", "member"]
ProjectMode = Literal["managed", "self_hosted"]
JobStatus = Literal["pending", "running", "completed", "failed"]
LogLevel = Literal["info", "warn", "error"]
InvitationStatus = Literal["pending", "accepted", "revoked", "expired"]

JOB_FINISHED: frozenset[str] = frozenset({"completed", "failed"})


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True,
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
    )


class User(_Model):
    id: UUID
    email: str | None = None
    full_name: str | None = None
    avatar_url: str | None = None
    role: UserRole
    created_at: Timestamp
    updated_at: Timestamp

    @property
    def is_system(self) -> bool:
        return self.role == "system"


class Team(_Model):
    id: Id
    name: str
    slug: str
    billing_plan: str = "free"
    role: TeamRole | None = None  # the caller's role; left out for a system user who is not a member
    created_at: Timestamp
    updated_at: Timestamp


class Project(_Model):
    id: Id
    team_id: Id
    name: str
    repo_url: str | None = None
    production_url: str | None = None
    mode: ProjectMode = "managed"
    context_hash: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


class Branch(_Model):
    id: Id
    project_id: Id
    name: str
    preview_url: str | None = None
    created_at: Timestamp
    updated_at: Timestamp


class Job(_Model):
    id: Id
    branch_id: Id
    type: str
    status: JobStatus
    queue: str
    inputs: dict[str, Any] | None = None
    outputs: dict[str, Any] | None = None
    started_at: Timestamp | None = None
    completed_at: Timestamp | None = None
    created_at: Timestamp
    # Not in the seed's type but sent by the orchestrator (workers need them to address the job).
    team_id: Id | None = None
    project_id: Id | None = None
    assigned_factory_id: str | None = None

    @property
    def is_finished(self) -> bool:
        return self.status in JOB_FINISHED


class JobLog(_Model):
    id: Id
    job_id: Id
    level: LogLevel
    message: str
    metadata: dict[str, Any] | None = None
    timestamp: Timestamp


class Worker(_Model):
    id: UUID
    name: str
    team_id: Id | None = None  # None: a managed worker serving the public queue
    last_seen_at: Timestamp | None = None


class ApiToken(_Model):
    id: Id
    name: str
    token_prefix: str
    scopes: list[str] | None = None  # None: full access
    last_used_at: Timestamp | None = None
    expires_at: Timestamp | None = None
    created_at: Timestamp | None = None


class CreatedApiToken(ApiToken):
    token: str = Field(repr=False)  # the raw value, shown to the user exactly once


class Invitation(_Model):
    id: Id
    team_id: Id
    email: str
    role: TeamRole
    status: InvitationStatus
    invited_by: UUID | None = None
    expires_at: Timestamp | None = None
    accepted_at: Timestamp | None = None
    created_at: Timestamp


class Member(_Model):
    user_id: UUID
    email: str | None = None
    full_name: str | None = None
    avatar_url: str | None = None
    role: TeamRole
    joined_at: Timestamp | None = None


class DeviceCode(_Model):
    # The device flow speaks snake_case; camelCase spellings are accepted too.
    device_code: str = Field(validation_alias=AliasChoices("device_code", "deviceCode"))
    user_code: str = Field(validation_alias=AliasChoices("user_code", "userCode"))
    verification_uri: str = Field(
        validation_alias=AliasChoices("verification_uri", "verificationUri", "verificationUrl")
    )
    verification_uri_complete: str | None = Field(
        default=None,
        validation_alias=AliasChoices(
            "verification_uri_complete", "verificationUriComplete", "verificationUrlComplete"
        ),
    )
    expires_in: StrictInt = Field(default=900, validation_alias=AliasChoices("expires_in", "expiresIn"))
    interval: StrictInt = 5


class DeviceToken(_Model):
    access_token: str = Field(repr=False, validation_alias=AliasChoices("access_token", "accessToken"))
    token_type: str = Field(default="Bearer", validation_alias=AliasChoices("token_type", "tokenType"))
    expires_in: StrictInt | None = Field(
        default=None, validation_alias=AliasChoices("expires_in", "expiresIn")
    )


class EnrollmentToken(_Model):
    id: Id
    team_id: Id | None = None  # None: enrolls managed (public) workers
    name: str | None = None
    token_prefix: str | None = None
    created_at: Timestamp | None = None


class CreatedEnrollmentToken(EnrollmentToken):
    token: str = Field(repr=False)  # the raw `nk_worker_…` value, shown once


class ScopedToken(_Model):
    """A job's git token or agent token; the seed spells `expires_at` in snake_case here."""

    token: str = Field(repr=False)
    expires_at: Timestamp | None = Field(
        default=None, validation_alias=AliasChoices("expires_at", "expiresAt")
    )


class WorkerSession(_Model):
    token: str = Field(repr=False)
    expires_at: Timestamp | None = None
    worker: Worker


class DeviceLookup(_Model):
    """What a pending device sign-in asks for (extension endpoint; the device flow speaks snake_case)."""

    user_code: str = Field(validation_alias=AliasChoices("user_code", "userCode"))
    client_id: str = Field(validation_alias=AliasChoices("client_id", "clientId"))
    scope: str | None = None
    status: Literal["pending", "approved", "denied"]
    expires_at: Timestamp | None = Field(
        default=None, validation_alias=AliasChoices("expires_at", "expiresAt")
    )


class _DeviceApproval(_Model):
    client_id: str | None = Field(default=None, validation_alias=AliasChoices("client_id", "clientId"))


# ---------------------------------------------------------------------------------------------
# Plumbing


def _headers(api: NexicalAPI | None) -> dict[str, str] | None:
    return api.headers if api else None


def _unwrap_object(body: Any, *keys: str) -> Any:
    if isinstance(body, dict):
        for key in keys:
            if isinstance(body.get(key), dict):
                return body[key]
    return body


def _unwrap_list(body: Any, *keys: str) -> Any:
    if isinstance(body, dict):
        for key in keys:
            if key in body:
                return body[key]
    return body


async def _one[M: BaseModel](
    api: NexicalAPI | None, method: str, path: str, model: type[M], *keys: str, json: Any = None
) -> M:
    response = await http.request(UPSTREAM, method, path, headers=_headers(api), json=json)
    return http.validate(UPSTREAM, model, _unwrap_object(response.body, *keys), where=f"{method} {path}")


async def _many[M: BaseModel](
    api: NexicalAPI, path: str, model: type[M], *keys: str, params: dict[str, Any] | None = None
) -> list[M]:
    response = await http.request(UPSTREAM, "GET", path, headers=api.headers, params=params)
    return http.validate_list(UPSTREAM, model, _unwrap_list(response.body, *keys), where=f"GET {path}")


async def _send(api: NexicalAPI, method: str, path: str, *, json: Any = None) -> None:
    """A write whose answer carries nothing we need (`{"success": true}`)."""
    await http.request(UPSTREAM, method, path, headers=api.headers, json=json)


class _Unset:
    """The default of an update's optional fields: left out of the body, unlike None (sent as null)."""

    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


def _changes(**fields: Any) -> dict[str, Any]:
    """The camelCase body of an update that can clear fields: None is sent as null, UNSET is left out."""
    return {to_camel(name): value for name, value in fields.items() if value is not UNSET}


def _given(**fields: Any) -> dict[str, Any]:
    """The camelCase body of an update: only the fields the caller gave."""
    return {to_camel(name): value for name, value in fields.items() if value is not None}


def _iso(value: datetime | str | None) -> str | None:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    return value


def _branch_path(team_id: int, project_id: int, branch_id: int) -> str:
    return f"/teams/{team_id}/projects/{project_id}/branches/{branch_id}"


def _job_path(team_id: int, project_id: int, branch_id: int, job_id: int) -> str:
    return f"{_branch_path(team_id, project_id, branch_id)}/jobs/{job_id}"


# ---------------------------------------------------------------------------------------------
# Users and auth


# GET /users/me
async def users_me(api: NexicalAPI) -> User:
    return await _one(api, "GET", "/users/me", User, "user")


# PUT /users/me (a field given as None is cleared; one not given is left as it is)
async def users_me_update(
    api: NexicalAPI, *, full_name: str | None = UNSET, avatar_url: str | None = UNSET
) -> User:
    body = _changes(full_name=full_name, avatar_url=avatar_url)
    return await _one(api, "PUT", "/users/me", User, "user", json=body)


# POST /auth/users (system role only)
async def system_user_create(api: NexicalAPI, *, full_name: str, email: str, password: str) -> User:
    body = {"fullName": full_name, "email": email, "password": password}
    return await _one(api, "POST", "/auth/users", User, "user", json=body)


# GET /auth/tokens
async def token_list(api: NexicalAPI) -> list[ApiToken]:
    return await _many(api, "/auth/tokens", ApiToken, "tokens")


# POST /auth/tokens
async def token_create(
    api: NexicalAPI,
    *,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | str | None = None,
) -> CreatedApiToken:
    body: dict[str, Any] = {"name": name}
    if scopes is not None:
        body["scopes"] = scopes
    if expires_at is not None:
        body["expiresAt"] = _iso(expires_at)
    return await _one(api, "POST", "/auth/tokens", CreatedApiToken, "apiToken", json=body)


# DELETE /auth/tokens/:id
async def token_revoke(api: NexicalAPI, *, token_id: int) -> None:
    await _send(api, "DELETE", f"/auth/tokens/{token_id}")


# POST /auth/worker/enroll (no auth: the enrollment token travels in the body)
async def worker_enroll(*, token: str, metadata: dict[str, Any] | None = None) -> WorkerSession:
    body: dict[str, Any] = {"token": token}
    if metadata is not None:
        body["metadata"] = metadata
    return await _one(None, "POST", "/auth/worker/enroll", WorkerSession, json=body)


# POST /device/code (no auth)
async def device_code_request(*, client_id: str, scope: str | None = None) -> DeviceCode:
    body = {"client_id": client_id}
    if scope is not None:
        body["scope"] = scope
    return await _one(None, "POST", "/device/code", DeviceCode, json=body)


# POST /device/token (no auth); raises DevicePending until the user decides
async def device_token_poll(*, device_code: str, client_id: str | None = None) -> DeviceToken:
    body: dict[str, Any] = {
        "device_code": device_code,
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
    }
    if client_id is not None:
        body["client_id"] = client_id
    try:
        return await _one(None, "POST", "/device/token", DeviceToken, json=body)
    except RateLimitError:
        raise DevicePending(UPSTREAM.name, slow_down=True) from None
    except APIError as exc:
        if exc.code in ("authorization_pending", "slow_down"):
            raise DevicePending(UPSTREAM.name, slow_down=exc.code == "slow_down") from None
        if exc.code in ("expired_token", "access_denied", "invalid_grant"):
            raise DeviceFlowError(UPSTREAM.name, code=exc.code) from None
        raise
    except AuthError as exc:
        # An RFC 8628 server may answer access_denied with 401/403 instead of 400.
        if exc.code in ("expired_token", "access_denied"):
            raise DeviceFlowError(UPSTREAM.name, code=exc.code) from None
        raise


# POST /device/approve; returns the client_id of the device that asked
async def device_approve(api: NexicalAPI, *, user_code: str) -> str:
    approval = await _one(api, "POST", "/device/approve", _DeviceApproval, json={"user_code": user_code})
    return approval.client_id or ""


# POST /device/lookup (extension): which client a user code belongs to, before deciding.
# An orchestrator without it answers 404/405; an unknown or expired code is a 404 `not_found` too.
async def device_lookup(api: NexicalAPI, *, user_code: str) -> DeviceLookup:
    return await _one(api, "POST", "/device/lookup", DeviceLookup, json={"user_code": user_code})


# The same endpoint asked with no code: an orchestrator that has it refuses the body (400), one that
# lacks it answers 404/405 as for any unknown path. Tells the two meanings of a lookup's 404 apart.
async def device_lookup_supported(api: NexicalAPI) -> bool:
    try:
        await _send(api, "POST", "/device/lookup", json={})
    except APIError as error:
        return not error.is_missing_endpoint
    return True


# POST /device/deny
async def device_deny(api: NexicalAPI, *, user_code: str) -> None:
    await _send(api, "POST", "/device/deny", json={"user_code": user_code})


# ---------------------------------------------------------------------------------------------
# Teams, members, invitations


# GET /teams
async def team_list(api: NexicalAPI) -> list[Team]:
    return await _many(api, "/teams", Team, "teams")


# POST /teams
async def team_create(api: NexicalAPI, *, name: str, slug: str) -> Team:
    return await _one(api, "POST", "/teams", Team, "team", json={"name": name, "slug": slug})


# GET /teams/:id
async def team_get(api: NexicalAPI, *, team_id: int) -> Team:
    return await _one(api, "GET", f"/teams/{team_id}", Team, "team")


# PUT /teams/:id
async def team_update(
    api: NexicalAPI, *, team_id: int, name: str | None = None, slug: str | None = None
) -> Team:
    return await _one(api, "PUT", f"/teams/{team_id}", Team, "team", json=_given(name=name, slug=slug))


# DELETE /teams/:id
async def team_delete(api: NexicalAPI, *, team_id: int) -> None:
    await _send(api, "DELETE", f"/teams/{team_id}")


# POST /teams/:id/invites
async def team_invite(api: NexicalAPI, *, team_id: int, email: str, role: str = "member") -> Invitation:
    body = {"email": email, "role": role}
    return await _one(api, "POST", f"/teams/{team_id}/invites", Invitation, "invitation", "invite", json=body)


# DELETE /teams/:id/members/:uid
async def team_member_remove(api: NexicalAPI, *, team_id: int, user_id: UUID | str) -> None:
    await _send(api, "DELETE", f"/teams/{team_id}/members/{user_id}")


# GET /teams/:id/members (extension)
async def team_member_list(api: NexicalAPI, *, team_id: int) -> list[Member]:
    return await _many(api, f"/teams/{team_id}/members", Member, "members")


# PUT /teams/:id/members/:uid (extension)
async def team_member_update(api: NexicalAPI, *, team_id: int, user_id: UUID | str, role: str) -> Member:
    path = f"/teams/{team_id}/members/{user_id}"
    return await _one(api, "PUT", path, Member, "member", json={"role": role})


# GET /teams/:id/invites (extension)
async def team_invite_list(api: NexicalAPI, *, team_id: int) -> list[Invitation]:
    return await _many(api, f"/teams/{team_id}/invites", Invitation, "invites", "invitations")


# DELETE /teams/:id/invites/:inviteId (extension)
async def team_invite_revoke(api: NexicalAPI, *, team_id: int, invite_id: int) -> None:
    await _send(api, "DELETE", f"/teams/{team_id}/invites/{invite_id}")


# POST /invites/accept (extension); returns the team joined
async def invite_accept(api: NexicalAPI, *, token: str) -> Team:
    return await _one(api, "POST", "/invites/accept", Team, "team", json={"token": token})


# ---------------------------------------------------------------------------------------------
# Projects and branches


# GET /teams/:tid/projects
async def project_list(api: NexicalAPI, *, team_id: int) -> list[Project]:
    return await _many(api, f"/teams/{team_id}/projects", Project, "projects")


# POST /teams/:tid/projects
async def project_create(
    api: NexicalAPI,
    *,
    team_id: int,
    name: str,
    repo_url: str | None = None,
    production_url: str | None = None,
    mode: str = "managed",
) -> Project:
    body = {"name": name, "mode": mode, **_given(repo_url=repo_url, production_url=production_url)}
    return await _one(api, "POST", f"/teams/{team_id}/projects", Project, "project", json=body)


# GET /teams/:tid/projects/:pid
async def project_get(api: NexicalAPI, *, team_id: int, project_id: int) -> Project:
    return await _one(api, "GET", f"/teams/{team_id}/projects/{project_id}", Project, "project")


# PUT /teams/:tid/projects/:pid (sends only the fields given; repo_url/production_url=None clear them)
async def project_update(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    name: str | None = None,
    repo_url: str | None = UNSET,
    production_url: str | None = UNSET,
    mode: str | None = None,
) -> Project:
    body = {**_given(name=name, mode=mode), **_changes(repo_url=repo_url, production_url=production_url)}
    return await _one(api, "PUT", f"/teams/{team_id}/projects/{project_id}", Project, "project", json=body)


# DELETE /teams/:tid/projects/:pid
async def project_delete(api: NexicalAPI, *, team_id: int, project_id: int) -> None:
    await _send(api, "DELETE", f"/teams/{team_id}/projects/{project_id}")


# GET /teams/:tid/projects/:pid/branches
async def branch_list(api: NexicalAPI, *, team_id: int, project_id: int) -> list[Branch]:
    return await _many(api, f"/teams/{team_id}/projects/{project_id}/branches", Branch, "branches")


# POST /teams/:tid/projects/:pid/branches
async def branch_create(
    api: NexicalAPI, *, team_id: int, project_id: int, name: str, preview_url: str | None = None
) -> Branch:
    path = f"/teams/{team_id}/projects/{project_id}/branches"
    body = {"name": name, **_given(preview_url=preview_url)}
    return await _one(api, "POST", path, Branch, "branch", json=body)


# GET /teams/:tid/projects/:pid/branches/:bid
async def branch_get(api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int) -> Branch:
    return await _one(api, "GET", _branch_path(team_id, project_id, branch_id), Branch, "branch")


# DELETE /teams/:tid/projects/:pid/branches/:bid
async def branch_delete(api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int) -> None:
    await _send(api, "DELETE", _branch_path(team_id, project_id, branch_id))


# ---------------------------------------------------------------------------------------------
# Jobs and logs (nested under the branch, as the seed's SDK addresses them)


# GET …/branches/:bid/jobs (optional ?status= is an extension)
async def job_list(
    api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int, status: str | None = None
) -> list[Job]:
    path = f"{_branch_path(team_id, project_id, branch_id)}/jobs"
    return await _many(api, path, Job, "jobs", params={"status": status})


# POST …/branches/:bid/jobs
async def job_create(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    branch_id: int,
    type: str,  # the seed names the field `type`
    inputs: dict[str, Any] | None = None,
) -> Job:
    body: dict[str, Any] = {"type": type}
    if inputs is not None:
        body["inputs"] = inputs
    path = f"{_branch_path(team_id, project_id, branch_id)}/jobs"
    return await _one(api, "POST", path, Job, "job", json=body)


# GET …/jobs/:jid
async def job_get(api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int, job_id: int) -> Job:
    return await _one(api, "GET", _job_path(team_id, project_id, branch_id, job_id), Job, "job")


# GET …/jobs/:jid/logs (?after=&limit= are the tailing extension)
async def job_logs(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    branch_id: int,
    job_id: int,
    after: int | None = None,
    limit: int | None = None,
) -> list[JobLog]:
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/logs"
    logs = await _many(api, path, JobLog, "logs", params={"after": after, "limit": limit})
    if after is not None:
        # A server that ignores the cursor must not make the caller see lines twice.
        logs = [log for log in logs if log.id > after]
    return logs


# POST …/jobs/:jid/logs
async def job_log_add(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    branch_id: int,
    job_id: int,
    message: str,
    level: str = "info",
    metadata: dict[str, Any] | None = None,
) -> JobLog:
    body: dict[str, Any] = {"message": message, "level": level}
    if metadata is not None:
        body["metadata"] = metadata
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/logs"
    return await _one(api, "POST", path, JobLog, "log", json=body)


# POST …/jobs/:jid/complete (extension)
async def job_complete(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    branch_id: int,
    job_id: int,
    outputs: dict[str, Any] | None = None,
) -> Job:
    body = {} if outputs is None else {"outputs": outputs}
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/complete"
    return await _one(api, "POST", path, Job, "job", json=body)


# POST …/jobs/:jid/fail (extension)
async def job_fail(
    api: NexicalAPI,
    *,
    team_id: int,
    project_id: int,
    branch_id: int,
    job_id: int,
    error: str | None = None,
    outputs: dict[str, Any] | None = None,
) -> Job:
    body = _given(error=error, outputs=outputs)
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/fail"
    return await _one(api, "POST", path, Job, "job", json=body)


# GET …/jobs/:jid/git-token
async def job_git_token(
    api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int, job_id: int
) -> ScopedToken:
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/git-token"
    return await _one(api, "GET", path, ScopedToken)


# POST …/jobs/:jid/agent-token
async def job_agent_token(
    api: NexicalAPI, *, team_id: int, project_id: int, branch_id: int, job_id: int
) -> ScopedToken:
    path = f"{_job_path(team_id, project_id, branch_id, job_id)}/agent-token"
    return await _one(api, "POST", path, ScopedToken)


# ---------------------------------------------------------------------------------------------
# Workers and enrollment


# POST /workers/acquire (worker session); None when no job is waiting
async def worker_acquire(api: NexicalAPI) -> Job | None:
    response = await http.request(UPSTREAM, "POST", "/workers/acquire", headers=api.headers, json={})
    body = response.body
    if isinstance(body, dict) and "job" in body:
        body = body["job"]
    if body is None:
        return None
    return http.validate(UPSTREAM, Job, body, where="POST /workers/acquire")


# GET /admin/enrollment-tokens (extension, system role)
async def enrollment_token_list(api: NexicalAPI) -> list[EnrollmentToken]:
    return await _many(api, "/admin/enrollment-tokens", EnrollmentToken, "enrollmentTokens", "tokens")


# POST /admin/enrollment-tokens (extension, system role)
async def enrollment_token_create(
    api: NexicalAPI, *, team_id: int | None = None, name: str | None = None
) -> CreatedEnrollmentToken:
    body = {"teamId": team_id, **_given(name=name)}
    path = "/admin/enrollment-tokens"
    return await _one(api, "POST", path, CreatedEnrollmentToken, "enrollmentToken", json=body)


# DELETE /admin/enrollment-tokens/:id (extension, system role)
async def enrollment_token_revoke(api: NexicalAPI, *, token_id: int) -> None:
    await _send(api, "DELETE", f"/admin/enrollment-tokens/{token_id}")


# GET /admin/workers (extension, system role)
async def worker_list(api: NexicalAPI) -> list[Worker]:
    return await _many(api, "/admin/workers", Worker, "workers")
