"""Strict models of the Nexical seed types, and a small kit for the emulator's tests.

Like the SDK's Zod schemas: required fields must be present (nullable ones as null), ints are ints
(not strings or bools), user and worker ids are UUIDs, times are UTC with a `Z`, enums are exact.
Extra keys are allowed, as Zod strips them.
"""

import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Any, Literal

import httpx
from pydantic import AfterValidator, BaseModel, ConfigDict

Z_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z")


def _uuid(value: str) -> str:
    uuid.UUID(value)
    return value


def _z_time(value: str) -> str:
    if not Z_TIME.fullmatch(value):
        raise ValueError(f"not a UTC ISO-8601 time with Z: {value!r}")
    return value


def _user_code(value: str) -> str:
    if not re.fullmatch(r"[A-Z2-9]{4}-[A-Z2-9]{4}", value):
        raise ValueError(f"not a XXXX-XXXX user code: {value!r}")
    return value


Uuid = Annotated[str, AfterValidator(_uuid)]
ZTime = Annotated[str, AfterValidator(_z_time)]


class Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="allow")


class User(Strict):
    id: Uuid
    email: str | None = None
    fullName: str | None
    avatarUrl: str | None
    role: Literal["user", "system"]
    createdAt: ZTime
    updatedAt: ZTime


class Team(Strict):
    id: int
    name: str
    slug: str
    billingPlan: str
    role: Literal["owner", "admin", "member"] | None = None
    createdAt: ZTime
    updatedAt: ZTime


class Project(Strict):
    id: int
    teamId: int
    name: str
    repoUrl: str | None
    productionUrl: str | None
    mode: Literal["managed", "self_hosted"]
    contextHash: str | None
    createdAt: ZTime
    updatedAt: ZTime


class Branch(Strict):
    id: int
    projectId: int
    name: str
    previewUrl: str | None
    createdAt: ZTime
    updatedAt: ZTime


class Job(Strict):
    id: int
    branchId: int
    type: str
    status: Literal["pending", "running", "completed", "failed"]
    queue: str
    inputs: dict[str, Any] | None
    outputs: dict[str, Any] | None
    startedAt: ZTime | None
    completedAt: ZTime | None
    createdAt: ZTime
    # Contract §7 additions the workers need.
    teamId: int
    projectId: int


class JobLog(Strict):
    id: int
    jobId: int
    level: Literal["info", "warn", "error"]
    message: str
    metadata: dict[str, Any] | None
    timestamp: ZTime


class Worker(Strict):
    id: Uuid
    name: str
    teamId: int | None
    lastSeenAt: ZTime | None


class ApiToken(Strict):
    id: int
    name: str
    tokenPrefix: str
    scopes: list[str] | None
    lastUsedAt: ZTime | None
    expiresAt: ZTime | None


class CreatedApiToken(ApiToken):
    token: str


class GitTokenResponse(Strict):
    token: str
    expires_at: ZTime


class EnrollResponse(Strict):
    token: str
    expiresAt: ZTime
    worker: Worker


class EnrollmentToken(Strict):
    id: int
    name: str
    tokenPrefix: str
    teamId: int | None
    createdAt: ZTime


class Invitation(Strict):
    id: int
    teamId: int
    email: str
    role: Literal["admin", "member"]
    status: Literal["pending", "accepted", "revoked", "expired"]
    invitedBy: Uuid
    expiresAt: ZTime
    acceptedAt: ZTime | None
    createdAt: ZTime


class Member(Strict):
    userId: Uuid
    email: str
    fullName: str | None
    avatarUrl: str | None
    role: Literal["owner", "admin", "member"]
    joinedAt: ZTime


class DeviceCode(Strict):
    device_code: str
    user_code: Annotated[str, AfterValidator(_user_code)]
    verification_uri: str
    verification_uri_complete: str
    expires_in: int
    interval: int


class DeviceToken(Strict):
    access_token: str
    token_type: Literal["Bearer"]
    expires_in: int | None


class ApiErrorBody(Strict):
    error: str
    code: str
    message: str
    details: dict[str, Any]


def one[M: BaseModel](response: httpx.Response, status: int, key: str, model: type[M]) -> M:
    """The response's `{key: {...}}` resource, checked against the model."""
    assert response.status_code == status, response.text
    return model.model_validate(response.json()[key])


def many[M: BaseModel](response: httpx.Response, key: str, model: type[M]) -> list[M]:
    assert response.status_code == 200, response.text
    return [model.model_validate(item) for item in response.json()[key]]


def bare[M: BaseModel](response: httpx.Response, status: int, model: type[M]) -> M:
    assert response.status_code == status, response.text
    return model.model_validate(response.json())


def api_error(response: httpx.Response, status: int, code: str) -> ApiErrorBody:
    assert response.status_code == status, response.text
    body = ApiErrorBody.model_validate(response.json())
    assert body.code == code and body.error == code, body
    return body


def success(response: httpx.Response) -> None:
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True}


# The kit: clients for fresh users made through the sandbox's admin helper.


def client(sandbox, token: str | None = None) -> httpx.Client:
    # Django's dev server stalls ~40 ms per keep-alive request (delayed ACK); fresh connections are fast.
    headers = {"Connection": "close"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return httpx.Client(base_url=sandbox.nexical_url, headers=headers, timeout=15)


def admin(sandbox) -> httpx.Client:
    """The sandbox's system user (its API token is the sandbox admin token)."""
    return client(sandbox, sandbox.admin_token)


@dataclass
class Person:
    user: User
    token: str
    api: httpx.Client


def new_person(sandbox, name: str = "user", **fields: Any) -> Person:
    email = f"{name}.{uuid.uuid4().hex[:10]}@example.com"
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        json={"email": email, "fullName": name.title(), **fields},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert response.status_code == 201, response.text
    token = response.json()["token"]
    return Person(User.model_validate(response.json()["user"]), token, client(sandbox, token))


@dataclass
class World:
    """A fresh team with an owner, an admin, a member, and an outsider, plus one project and branch."""

    owner: Person
    admin: Person
    member: Person
    outsider: Person
    team: Team
    project: Project
    branch: Branch

    @property
    def project_path(self) -> str:
        return f"/teams/{self.team.id}/projects/{self.project.id}"

    @property
    def branch_path(self) -> str:
        return f"{self.project_path}/branches/{self.branch.id}"


def new_world(sandbox, mode: str = "managed", repo_url: str | None = "https://github.com/acme/app") -> World:
    names = ("owner", "admin", "member", "outsider")
    owner, admin_, member, outsider = (new_person(sandbox, name) for name in names)
    slug = f"team-{uuid.uuid4().hex[:12]}"
    team = one(owner.api.post("/teams", json={"name": "Team", "slug": slug}), 201, "team", Team)
    for person, role in ((admin_, "admin"), (member, "member")):
        body = {"email": person.user.email, "role": role}
        response = owner.api.post(f"/teams/{team.id}/invites", json=body)
        invitation = one(response, 201, "invitation", Invitation)
        assert invitation.status == "accepted"
    body = {"name": "App", "repoUrl": repo_url, "mode": mode}
    project = one(owner.api.post(f"/teams/{team.id}/projects", json=body), 201, "project", Project)
    branch = one(
        owner.api.post(f"/teams/{team.id}/projects/{project.id}/branches", json={"name": "main"}),
        201,
        "branch",
        Branch,
    )
    return World(owner, admin_, member, outsider, team, project, branch)
