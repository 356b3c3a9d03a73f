"""The Nexical client against the live sandbox: every function once through the real HTTP path."""

import uuid
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from dashboard.services import http
from dashboard.services import nexical as nx
from dashboard.services.errors import APIError, AuthError, DeviceFlowError, DevicePending


def create_nexical_user(sandbox, *, role: str = "user", email: str | None = None) -> dict:
    """A fresh upstream user and an API token for it, made through the sandbox's admin API."""
    email = email or f"svc-{uuid.uuid4().hex[:10]}@example.com"
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        json={"email": email, "fullName": "Service Test", "role": role},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


@pytest.fixture(autouse=True)
async def _close_clients():
    yield
    await http.aclose()


@pytest.fixture
def user_api(sandbox) -> nx.NexicalAPI:
    return nx.NexicalAPI(create_nexical_user(sandbox)["token"])


@pytest.fixture
def system_api(sandbox) -> nx.NexicalAPI:
    return nx.NexicalAPI(create_nexical_user(sandbox, role="system")["token"])


def _slug() -> str:
    return f"svc-{uuid.uuid4().hex[:8]}"


async def test_it_reads_and_updates_the_current_user(user_api):
    me = await nx.users_me(user_api)
    assert isinstance(me.id, uuid.UUID)
    assert me.role == "user"
    assert me.created_at.tzinfo is not None

    updated = await nx.users_me_update(
        user_api, full_name="Ada Lovelace", avatar_url="https://example.com/a.png"
    )

    assert updated.id == me.id
    assert updated.full_name == "Ada Lovelace"
    assert updated.avatar_url == "https://example.com/a.png"
    assert (await nx.users_me(user_api)).full_name == "Ada Lovelace"


async def test_it_creates_users_as_a_system_admin_only(system_api, user_api):
    email = f"made-{uuid.uuid4().hex[:8]}@example.com"
    user = await nx.system_user_create(
        system_api, full_name="Made Here", email=email, password="s3cret-pass!"
    )
    assert user.email == email
    assert user.full_name == "Made Here"

    with pytest.raises(AuthError) as caught:
        await nx.system_user_create(user_api, full_name="No", email="no-" + email, password="s3cret-pass!")
    assert caught.value.status == 403


async def test_it_creates_lists_and_revokes_api_tokens(user_api):
    expires = datetime.now(UTC) + timedelta(days=7)
    created = await nx.token_create(user_api, name="ci", scopes=["read"], expires_at=expires)
    assert created.token.startswith("nx_")
    assert created.token_prefix == created.token[:8]
    assert created.scopes == ["read"]
    assert created.expires_at is not None

    listed = {token.id: token for token in await nx.token_list(user_api)}
    assert listed[created.id].name == "ci"
    assert not hasattr(listed[created.id], "token")

    await nx.token_revoke(user_api, token_id=created.id)
    assert created.id not in {token.id for token in await nx.token_list(user_api)}


async def test_it_runs_the_device_flow_to_a_working_session(user_api):
    code = await nx.device_code_request(client_id="nexus-dashboard-test", scope="read write")
    assert code.user_code[4] == "-"
    assert code.verification_uri.startswith("http")
    assert code.interval >= 1

    with pytest.raises(DevicePending) as pending:
        await nx.device_token_poll(device_code=code.device_code, client_id="nexus-dashboard-test")
    assert pending.value.slow_down is False
    with pytest.raises(DevicePending) as too_fast:
        await nx.device_token_poll(device_code=code.device_code)
    assert too_fast.value.slow_down is True

    assert await nx.device_approve(user_api, user_code=code.user_code) == "nexus-dashboard-test"
    granted = await nx.device_token_poll(device_code=code.device_code)
    assert granted.token_type == "Bearer"
    assert granted.access_token not in repr(granted)
    session = nx.NexicalAPI(granted.access_token)
    assert (await nx.users_me(session)).id == (await nx.users_me(user_api)).id

    with pytest.raises(DeviceFlowError) as used:
        await nx.device_token_poll(device_code=code.device_code)
    assert used.value.code == "expired_token"


async def test_it_reports_a_denied_device_flow(user_api):
    code = await nx.device_code_request(client_id="nexus-dashboard-test")

    await nx.device_deny(user_api, user_code=code.user_code)

    with pytest.raises(DeviceFlowError) as caught:
        await nx.device_token_poll(device_code=code.device_code)
    assert caught.value.code == "access_denied"
    assert caught.value.user_message == "The sign-in request was denied."


async def test_it_manages_a_team(user_api):
    slug = _slug()
    team = await nx.team_create(user_api, name="Research", slug=slug)
    assert team.role == "owner"
    assert team.slug == slug

    assert (await nx.team_get(user_api, team_id=team.id)).name == "Research"
    renamed = await nx.team_update(user_api, team_id=team.id, name="Research Division")
    assert renamed.name == "Research Division"
    assert renamed.slug == slug
    assert team.id in {t.id for t in await nx.team_list(user_api)}

    await nx.team_delete(user_api, team_id=team.id)

    with pytest.raises(APIError) as caught:
        await nx.team_get(user_api, team_id=team.id)
    assert caught.value.status == 404
    assert caught.value.is_not_found


async def test_it_explains_a_duplicate_slug_and_invalid_fields(user_api):
    slug = _slug()
    await nx.team_create(user_api, name="First", slug=slug)

    with pytest.raises(APIError) as duplicate:
        await nx.team_create(user_api, name="Second", slug=slug)
    assert duplicate.value.status == 409
    assert duplicate.value.user_message == duplicate.value.message

    with pytest.raises(APIError) as invalid:
        await nx.team_create(user_api, name="Bad slug", slug="Not A Slug!")
    assert invalid.value.status == 400
    assert invalid.value.code == "validation_error"
    assert "slug" in invalid.value.field_errors


async def test_it_manages_members_and_invitations(sandbox, user_api):
    colleague = create_nexical_user(sandbox)
    colleague_api = nx.NexicalAPI(colleague["token"])
    colleague_id = colleague["user"]["id"]
    team = await nx.team_create(user_api, name="Members", slug=_slug())

    joined = await nx.team_invite(user_api, team_id=team.id, email=colleague["user"]["email"], role="admin")
    assert joined.status == "accepted"
    members = {str(m.user_id): m for m in await nx.team_member_list(user_api, team_id=team.id)}
    assert members[colleague_id].role == "admin"

    demoted = await nx.team_member_update(user_api, team_id=team.id, user_id=colleague_id, role="member")
    assert demoted.role == "member"
    await nx.team_member_remove(user_api, team_id=team.id, user_id=colleague_id)
    assert colleague_id not in {str(m.user_id) for m in await nx.team_member_list(user_api, team_id=team.id)}
    with pytest.raises(APIError):
        await nx.team_get(colleague_api, team_id=team.id)

    pending = await nx.team_invite(user_api, team_id=team.id, email="Someone.New@example.com")
    assert pending.status == "pending"
    assert pending.email == "someone.new@example.com"
    assert pending.role == "member"
    newest_first = await nx.team_invite_list(user_api, team_id=team.id)
    assert newest_first[0].id == pending.id

    await nx.team_invite_revoke(user_api, team_id=team.id, invite_id=pending.id)
    statuses = {i.id: i.status for i in await nx.team_invite_list(user_api, team_id=team.id)}
    assert statuses[pending.id] == "revoked"


async def test_it_accepts_an_invitation_by_token(sandbox, user_api):
    email = f"invitee-{uuid.uuid4().hex[:8]}@example.com"
    team = await nx.team_create(user_api, name="Inviting", slug=_slug())
    await nx.team_invite(user_api, team_id=team.id, email=email)
    invitee = create_nexical_user(sandbox, email=email)

    joined = await nx.invite_accept(nx.NexicalAPI(invitee["token"]), token=_invite_token(sandbox, email))

    assert joined.id == team.id
    assert joined.role == "member"


def _invite_token(sandbox, email: str) -> str:
    """The invitation token only ever leaves the emulator through its outbox."""
    response = httpx.get(
        f"{sandbox.url}/_sandbox/nexical/outbox",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    body = response.json()
    messages = body.get("messages", body) if isinstance(body, dict) else body
    return next(m["inviteToken"] for m in reversed(messages) if m["to"] == email)


async def test_it_manages_projects_and_branches(user_api):
    team = await nx.team_create(user_api, name="Projects", slug=_slug())
    project = await nx.project_create(
        user_api, team_id=team.id, name="Site", repo_url="https://git.example.com/site.git"
    )
    assert project.team_id == team.id
    assert project.mode == "managed"
    assert project.production_url is None

    updated = await nx.project_update(
        user_api, team_id=team.id, project_id=project.id, production_url="https://site.example.com"
    )
    assert updated.production_url == "https://site.example.com"
    assert updated.repo_url == "https://git.example.com/site.git"
    fetched = await nx.project_get(user_api, team_id=team.id, project_id=project.id)
    assert fetched.production_url == "https://site.example.com"
    assert [p.id for p in await nx.project_list(user_api, team_id=team.id)] == [project.id]

    branch = await nx.branch_create(
        user_api, team_id=team.id, project_id=project.id, name="main", preview_url="https://main.example.com"
    )
    assert branch.project_id == project.id
    got = await nx.branch_get(user_api, team_id=team.id, project_id=project.id, branch_id=branch.id)
    assert got.preview_url == "https://main.example.com"
    assert [b.name for b in await nx.branch_list(user_api, team_id=team.id, project_id=project.id)] == [
        "main"
    ]

    await nx.branch_delete(user_api, team_id=team.id, project_id=project.id, branch_id=branch.id)
    assert await nx.branch_list(user_api, team_id=team.id, project_id=project.id) == []
    await nx.project_delete(user_api, team_id=team.id, project_id=project.id)
    assert await nx.project_list(user_api, team_id=team.id) == []


async def test_it_runs_jobs_through_a_worker(user_api, system_api):
    team = await nx.team_create(user_api, name="Jobs", slug=_slug())
    # Self-hosted, so the jobs go to this team's private queue and no other test's worker takes them.
    project = await nx.project_create(
        user_api, team_id=team.id, name="App", repo_url="https://git.example.com/app.git", mode="self_hosted"
    )
    branch = await nx.branch_create(user_api, team_id=team.id, project_id=project.id, name="main")
    where = {"team_id": team.id, "project_id": project.id, "branch_id": branch.id}

    job = await nx.job_create(user_api, **where, type="deploy", inputs={"commit": "abc123"})
    assert job.status == "pending"
    assert job.queue == f"private-{team.id}"
    assert (job.team_id, job.project_id, job.branch_id) == (team.id, project.id, branch.id)
    assert (await nx.job_get(user_api, **where, job_id=job.id)).inputs == {"commit": "abc123"}
    assert [j.id for j in await nx.job_list(user_api, **where, status="pending")] == [job.id]
    assert await nx.job_list(user_api, **where, status="running") == []

    # A team worker enrolls with a system admin's enrollment token and claims the job.
    enrollment = await nx.enrollment_token_create(system_api, team_id=team.id, name="svc-test")
    assert enrollment.token.startswith("nk_worker_")
    assert enrollment.token not in repr(enrollment)
    assert enrollment.id in {t.id for t in await nx.enrollment_token_list(system_api)}
    session = await nx.worker_enroll(token=enrollment.token, metadata={"workerId": f"svc-{job.id}"})
    assert session.worker.team_id == team.id
    worker = nx.NexicalAPI(session.token)

    claimed = await nx.worker_acquire(worker)
    assert claimed is not None
    assert (claimed.id, claimed.status) == (job.id, "running")
    assert session.worker.id in {w.id for w in await nx.worker_list(system_api)}

    with pytest.raises(APIError) as self_hosted:
        await nx.job_git_token(worker, **where, job_id=job.id)
    assert (self_hosted.value.status, self_hosted.value.code) == (409, "self_hosted_project")
    await nx.project_update(user_api, team_id=team.id, project_id=project.id, mode="managed")
    git = await nx.job_git_token(worker, **where, job_id=job.id)
    assert git.token
    assert git.token not in repr(git)
    agent = await nx.job_agent_token(worker, **where, job_id=job.id)
    assert agent.expires_at is not None

    first = await nx.job_log_add(worker, **where, job_id=job.id, message="Cloning")
    await nx.job_log_add(
        nx.NexicalAPI(agent.token), **where, job_id=job.id, message="Careful", level="warn", metadata={"n": 1}
    )
    logs = await nx.job_logs(user_api, **where, job_id=job.id)
    assert [(log.level, log.message) for log in logs] == [("info", "Cloning"), ("warn", "Careful")]
    newer = await nx.job_logs(user_api, **where, job_id=job.id, after=first.id, limit=10)
    assert [log.message for log in newer] == ["Careful"]

    done = await nx.job_complete(worker, **where, job_id=job.id, outputs={"url": "https://app.example.com"})
    assert done.status == "completed"
    assert done.is_finished

    await nx.project_update(user_api, team_id=team.id, project_id=project.id, mode="self_hosted")
    second = await nx.job_create(user_api, **where, type="build")
    assert (await nx.worker_acquire(worker)).id == second.id
    failed = await nx.job_fail(worker, **where, job_id=second.id, error="compiler exploded")
    assert failed.status == "failed"
    assert failed.outputs["error"] == "compiler exploded"

    await nx.enrollment_token_revoke(system_api, token_id=enrollment.id)
    assert enrollment.id not in {t.id for t in await nx.enrollment_token_list(system_api)}
    with pytest.raises(AuthError):
        await nx.worker_enroll(token=enrollment.token)


async def test_it_answers_none_when_no_job_waits(system_api):
    team = await nx.team_create(system_api, name="Private", slug=_slug())
    enrollment = await nx.enrollment_token_create(system_api, team_id=team.id)
    assert enrollment.team_id == team.id
    session = await nx.worker_enroll(token=enrollment.token, metadata={"name": "idle"})

    assert await nx.worker_acquire(nx.NexicalAPI(session.token)) is None
