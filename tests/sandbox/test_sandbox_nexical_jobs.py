"""The Nexical emulator's jobs, logs, workers and job-scoped tokens, through the real HTTP API."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.support.nexical_types import (
    EnrollmentToken,
    EnrollResponse,
    GitTokenResponse,
    Job,
    JobLog,
    Project,
    User,
    Worker,
    World,
    admin,
    api_error,
    bare,
    client,
    many,
    new_world,
    one,
    success,
)
from tests.support.sandbox_process import start_sandbox

ADA = "nx_demo_ada_0000000000000001"


def _enrollment_token(sandbox, team_id: int | None) -> str:
    response = admin(sandbox).post("/admin/enrollment-tokens", json={"teamId": team_id, "name": "test"})
    created = bare(response, 201, EnrollmentToken)
    assert created.teamId == team_id
    return response.json()["token"]


def _worker(sandbox, enrollment_token: str, name: str) -> tuple[Worker, httpx.Client]:
    body = {"token": enrollment_token, "metadata": {"workerId": name}}
    enrolled = bare(client(sandbox).post("/auth/worker/enroll", json=body), 200, EnrollResponse)
    assert enrolled.token.startswith("nxw_")
    return enrolled.worker, client(sandbox, enrolled.token)


def _private_world(sandbox) -> tuple[World, httpx.Client]:
    """A self-hosted project (queue private-<team>) and a worker of that team: no other test's jobs."""
    world = new_world(sandbox, mode="self_hosted")
    _, worker = _worker(sandbox, _enrollment_token(sandbox, world.team.id), f"w-{world.team.id}")
    return world, worker


def _create_job(world: World, **body) -> Job:
    response = world.member.api.post(f"{world.branch_path}/jobs", json={"type": "build", **body})
    return one(response, 201, "job", Job)


def test_it_creates_jobs_in_the_projects_queue_and_lists_them_newest_first(sandbox):
    world = new_world(sandbox)
    first = _create_job(world, inputs={"commit": "abc", "nested": {"n": 1}})
    second = _create_job(world, type="deploy")
    assert (first.status, first.queue, first.inputs) == (
        "pending",
        "public",
        {"commit": "abc", "nested": {"n": 1}},
    )
    assert (first.teamId, first.projectId, first.branchId) == (
        world.team.id,
        world.project.id,
        world.branch.id,
    )
    assert first.startedAt is None and first.completedAt is None and first.outputs is None
    jobs = many(world.member.api.get(f"{world.branch_path}/jobs"), "jobs", Job)
    assert [j.id for j in jobs] == [second.id, first.id]
    pending = many(world.member.api.get(f"{world.branch_path}/jobs?status=pending"), "jobs", Job)
    assert len(pending) == 2
    assert many(world.member.api.get(f"{world.branch_path}/jobs?status=failed"), "jobs", Job) == []
    api_error(world.member.api.get(f"{world.branch_path}/jobs?status=cancelled"), 400, "validation_error")
    # The flat compat aliases apply the same rules.
    flat = many(world.member.api.get(f"/branches/{world.branch.id}/jobs"), "jobs", Job)
    assert [j.id for j in flat] == [second.id, first.id]
    assert one(world.member.api.get(f"/jobs/{first.id}"), 200, "job", Job).id == first.id
    assert one(
        world.member.api.post(f"/branches/{world.branch.id}/jobs", json={"type": "x"}), 201, "job", Job
    )
    private = new_world(sandbox, mode="self_hosted")
    assert _create_job(private).queue == f"private-{private.team.id}"


def test_it_hides_jobs_from_outsiders_and_validates_new_ones(sandbox):
    world = new_world(sandbox)
    job = _create_job(world)
    api_error(world.outsider.api.get(f"{world.branch_path}/jobs"), 404, "not_found")
    api_error(world.outsider.api.post(f"{world.branch_path}/jobs", json={"type": "build"}), 404, "not_found")
    api_error(world.outsider.api.get(f"{world.branch_path}/jobs/{job.id}"), 404, "not_found")
    api_error(world.outsider.api.get(f"/jobs/{job.id}"), 404, "not_found")
    api_error(world.outsider.api.get(f"/jobs/{job.id}/logs"), 404, "not_found")
    api_error(world.outsider.api.get(f"/branches/{world.branch.id}/jobs"), 404, "not_found")
    api_error(world.member.api.get(f"{world.project_path}/branches/999999/jobs/{job.id}"), 404, "not_found")
    other = new_world(sandbox)
    api_error(world.owner.api.get(f"{world.branch_path}/jobs/{_create_job(other).id}"), 404, "not_found")
    bad = {"inputs": ["not", "an", "object"], "priority": 1}
    error = api_error(world.member.api.post(f"{world.branch_path}/jobs", json=bad), 400, "validation_error")
    assert set(error.details) == {"type", "inputs", "priority"}
    api_error(
        world.member.api.post(f"{world.branch_path}/jobs", json={"type": True}), 400, "validation_error"
    )


def test_it_runs_a_job_from_acquire_to_completion(sandbox):
    world, worker = _private_world(sandbox)
    job = _create_job(world, inputs={"commit": "c0ffee"})
    path = f"{world.branch_path}/jobs/{job.id}"

    acquired = one(worker.post("/workers/acquire", json={}), 200, "job", Job)
    assert (acquired.id, acquired.status) == (job.id, "running")
    assert acquired.startedAt is not None
    assert acquired.model_extra["assignedFactoryId"] is not None
    assert one(worker.get(world.project_path), 200, "project", Project).mode == "self_hosted"
    assert one(worker.get(path), 200, "job", Job).status == "running"

    log = one(
        worker.post(f"{path}/logs", json={"message": "\u001b[32mok\u001b[0m\nline 2"}), 201, "log", JobLog
    )
    assert (log.level, log.metadata, log.jobId) == ("info", None, job.id)
    body = {"message": "careful", "level": "warn", "metadata": {"step": 2}}
    second = one(worker.post(f"{path}/logs", json=body), 201, "log", JobLog)
    api_error(worker.post(f"{path}/logs", json={"message": "x", "level": "debug"}), 400, "validation_error")
    api_error(world.member.api.post(f"{path}/logs", json={"message": "x"}), 403, "forbidden")

    logs = many(world.member.api.get(f"{path}/logs"), "logs", JobLog)
    assert [entry.id for entry in logs] == [log.id, second.id]
    after = many(world.member.api.get(f"{path}/logs?after={log.id}"), "logs", JobLog)
    assert [entry.id for entry in after] == [second.id]
    assert len(many(world.member.api.get(f"{path}/logs?limit=1"), "logs", JobLog)) == 1
    api_error(world.member.api.get(f"{path}/logs?limit=0"), 400, "validation_error")
    api_error(world.member.api.get(f"{path}/logs?limit=1001"), 400, "validation_error")
    api_error(world.member.api.get(f"{path}/logs?after=x"), 400, "validation_error")

    api_error(world.owner.api.post(f"{path}/complete", json={}), 403, "forbidden")
    done = one(
        worker.post(f"{path}/complete", json={"outputs": {"url": "https://x.example.com"}}), 200, "job", Job
    )
    assert (done.status, done.outputs) == ("completed", {"url": "https://x.example.com"})
    assert done.completedAt is not None
    api_error(worker.post(f"{path}/complete", json={}), 409, "job_not_running")
    api_error(worker.post(f"{path}/logs", json={"message": "late"}), 409, "job_not_running")
    completed = many(world.member.api.get(f"{world.branch_path}/jobs?status=completed"), "jobs", Job)
    assert [j.id for j in completed] == [job.id]


def test_it_fails_jobs_with_the_error_in_the_outputs(sandbox):
    world, worker = _private_world(sandbox)
    job = _create_job(world)
    assert one(worker.post("/workers/acquire"), 200, "job", Job).id == job.id
    api_error(worker.post(f"/jobs/{job.id}/fail", json={"error": 3}), 400, "validation_error")
    failed = one(worker.post(f"/jobs/{job.id}/fail", json={"error": "exit 1"}), 200, "job", Job)
    assert (failed.status, failed.outputs) == ("failed", {"error": "exit 1"})
    api_error(worker.post(f"/jobs/{job.id}/fail", json={}), 409, "job_not_running")


def test_it_hands_out_git_and_agent_tokens_to_the_running_worker_only(sandbox):
    world, worker = _private_world(sandbox)
    job = _create_job(world)
    path = f"{world.branch_path}/jobs/{job.id}"
    api_error(worker.get(f"{path}/git-token"), 404, "not_found")  # not acquired yet
    assert one(worker.post("/workers/acquire"), 200, "job", Job).id == job.id

    api_error(worker.get(f"{path}/git-token"), 409, "self_hosted_project")
    world.owner.api.put(world.project_path, json={"mode": "managed", "repoUrl": None})
    api_error(worker.get(f"{path}/git-token"), 409, "no_repository")
    world.owner.api.put(world.project_path, json={"repoUrl": "https://github.com/acme/app"})
    git = bare(worker.get(f"{path}/git-token"), 200, GitTokenResponse)
    assert git.token.startswith("nxg_")
    api_error(world.owner.api.get(f"{path}/git-token"), 403, "forbidden")

    api_error(world.owner.api.post(f"{path}/agent-token"), 403, "forbidden")
    minted = bare(worker.post(f"{path}/agent-token"), 201, GitTokenResponse)
    assert minted.token.startswith("nxa_")
    agent = client(sandbox, minted.token)
    assert one(agent.get(f"/jobs/{job.id}"), 200, "job", Job).id == job.id
    one(agent.post(f"/jobs/{job.id}/logs", json={"message": "from the agent"}), 201, "log", JobLog)
    assert bare(agent.get(f"/jobs/{job.id}/git-token"), 200, GitTokenResponse).token.startswith("nxg_")
    api_error(agent.post(f"/jobs/{job.id}/complete"), 403, "forbidden")
    api_error(agent.get("/teams"), 403, "not_a_member")
    other = _create_job(world)
    api_error(agent.get(f"/jobs/{other.id}"), 404, "not_found")

    one(worker.post(f"/jobs/{job.id}/complete"), 200, "job", Job)
    # Both tokens die with the run.
    api_error(agent.get(f"/jobs/{job.id}"), 401, "unauthorized")
    api_error(worker.get(f"{path}/git-token"), 409, "job_not_running")


def test_it_keeps_workers_to_their_queue_and_their_jobs(sandbox):
    world, worker = _private_world(sandbox)
    other_world, other_worker = _private_world(sandbox)
    job = _create_job(world)
    assert other_worker.post("/workers/acquire").json() == {"job": None}
    assert one(worker.post("/workers/acquire"), 200, "job", Job).id == job.id
    api_error(other_worker.get(f"/jobs/{job.id}"), 404, "not_found")
    api_error(other_worker.get(world.project_path), 404, "not_found")
    api_error(other_worker.post(f"/jobs/{job.id}/logs", json={"message": "x"}), 404, "not_found")
    api_error(world.member.api.post("/workers/acquire"), 403, "forbidden")
    api_error(client(sandbox).post("/workers/acquire"), 401, "unauthorized")
    api_error(worker.post("/workers/acquire", json={"queue": "public"}), 400, "validation_error")
    api_error(other_worker.get(other_world.project_path), 404, "not_found")


def test_it_manages_enrollment_tokens_for_system_users_only(sandbox):
    api_error(client(sandbox, ADA).post("/admin/enrollment-tokens", json={}), 403, "forbidden")
    api_error(client(sandbox, ADA).get("/admin/enrollment-tokens"), 403, "forbidden")
    api_error(client(sandbox, ADA).get("/admin/workers"), 403, "forbidden")
    api_error(
        admin(sandbox).post("/admin/enrollment-tokens", json={"teamId": 999999}), 400, "validation_error"
    )
    api_error(admin(sandbox).post("/admin/enrollment-tokens", json={"teamId": "1"}), 400, "validation_error")

    response = admin(sandbox).post("/admin/enrollment-tokens", json={"name": "rack 7"})
    created = bare(response, 201, EnrollmentToken)
    raw = response.json()["token"]
    assert raw.startswith("nk_worker_") and created.teamId is None
    listed = many(admin(sandbox).get("/admin/enrollment-tokens"), "enrollmentTokens", EnrollmentToken)
    assert created.id in [t.id for t in listed]
    assert raw not in admin(sandbox).get("/admin/enrollment-tokens").text

    first, _ = _worker(sandbox, raw, "rack-7-node")
    again, _ = _worker(sandbox, raw, "rack-7-node")
    assert again.id == first.id and first.teamId is None and first.lastSeenAt is not None
    workers = many(admin(sandbox).get("/admin/workers"), "workers", Worker)
    assert first.id in [w.id for w in workers]

    success(admin(sandbox).delete(f"/admin/enrollment-tokens/{created.id}"))
    api_error(admin(sandbox).delete(f"/admin/enrollment-tokens/{created.id}"), 404, "not_found")
    body = {"token": raw, "metadata": {"workerId": "rack-7-node"}}
    api_error(client(sandbox).post("/auth/worker/enroll", json=body), 401, "unauthorized")
    api_error(
        client(sandbox).post("/auth/worker/enroll", json={"token": "nk_worker_nope"}), 401, "unauthorized"
    )
    api_error(client(sandbox).post("/auth/worker/enroll", json={}), 400, "validation_error")


def test_it_hands_every_job_to_exactly_one_of_many_concurrent_workers(sandbox):
    world = new_world(sandbox, mode="self_hosted")
    enrollment = _enrollment_token(sandbox, world.team.id)
    with ThreadPoolExecutor(4) as pool:
        created = set(pool.map(lambda n: _create_job(world, inputs={"n": n}).id, range(200)))
    workers = [_worker(sandbox, enrollment, f"racer-{world.team.id}-{n}")[1] for n in range(8)]
    claims: list[list[int]] = [[] for _ in workers]
    errors: list[str] = []
    start = threading.Barrier(len(workers))

    def race(index: int) -> None:
        start.wait()
        while True:
            response = workers[index].post("/workers/acquire", json={})
            if response.status_code != 200:
                errors.append(response.text)
                return
            job = response.json()["job"]
            if job is None:
                return
            claims[index].append(Job.model_validate(job).id)

    threads = [threading.Thread(target=race, args=(n,)) for n in range(len(workers))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
    every_claim = [job_id for claimed in claims for job_id in claimed]
    assert len(every_claim) == len(set(every_claim)) == 200
    assert set(every_claim) == created
    assert sum(1 for claimed in claims if claimed) > 1  # the work really was shared
    running = many(world.member.api.get(f"{world.branch_path}/jobs?status=running"), "jobs", Job)
    assert len(running) == 200


@pytest.fixture(scope="module")
def unseeded():
    """A sandbox of its own, without the demo data, its simulated worker off until a test starts it."""
    server = start_sandbox(extra_env={"SANDBOX_SIMULATE_WORKER": "off", "SANDBOX_WORKER_SPEED": "50"})
    yield server
    server.stop()


def test_the_admin_token_works_without_the_demo_data(unseeded):
    # `serve` makes the system user at every start, not only with --seed.
    assert one(admin(unseeded).get("/users/me"), 200, "user", User).role == "system"
    raw = _enrollment_token(unseeded, None)
    assert raw.startswith("nk_worker_")


def _wait_until_finished(world: World, jobs: list[Job]) -> dict[int, Job]:
    finished: dict[int, Job] = {}
    deadline = time.monotonic() + 90
    while len(finished) < len(jobs) and time.monotonic() < deadline:
        for job in jobs:
            current = one(world.member.api.get(f"/jobs/{job.id}"), 200, "job", Job)
            if current.status in ("completed", "failed"):
                finished[job.id] = current
        time.sleep(0.2)
    return finished


def test_the_simulated_worker_runs_public_team_and_held_jobs_to_the_end(unseeded):
    # Unseeded, so the simulated worker has only this test's jobs to run.
    world = new_world(unseeded)
    self_hosted = new_world(unseeded, mode="self_hosted")
    # A job the demo's public worker held when the sandbox stopped: the simulator, enrolling under
    # the same name, finishes it.
    _, demo_worker = _worker(unseeded, _enrollment_token(unseeded, None), "demo-worker-01")
    held = _create_job(world, inputs={"fail": False})
    assert one(demo_worker.post("/workers/acquire", json={}), 200, "job", Job).id == held.id
    demo_worker.post(f"/jobs/{held.id}/logs", json={"message": "step one"}).raise_for_status()

    ok = _create_job(world, inputs={"fail": False})
    bad = _create_job(world, inputs={"fail": True})
    private = _create_job(self_hosted, inputs={"fail": False})
    assert private.queue == f"private-{self_hosted.team.id}"
    unseeded.set_knobs(simulate_worker=True)

    finished = _wait_until_finished(world, [held, ok, bad])
    finished.update(_wait_until_finished(self_hosted, [private]))
    assert finished[ok.id].status == "completed"
    assert finished[bad.id].status == "failed"
    assert finished[bad.id].outputs["error"]
    logs = many(world.member.api.get(f"/jobs/{ok.id}/logs"), "logs", JobLog)
    assert len(logs) >= 4
    assert any("\u001b[" in entry.message for entry in logs)
    assert any("\n" in entry.message for entry in logs)
    # Steps come in groups (GitHub's ::group:: form); a failure's error sits inside its last group.
    messages = [entry.message for entry in logs]
    assert "::group::Build" in messages
    assert messages.count("::endgroup::") == sum(m.startswith("::group::") for m in messages) >= 3
    failed_logs = many(world.member.api.get(f"/jobs/{bad.id}/logs"), "logs", JobLog)
    assert failed_logs[-2].level == "error" and failed_logs[-1].message == "::endgroup::"
    opened = max(n for n, entry in enumerate(failed_logs) if entry.message.startswith("::group::"))
    assert opened < len(failed_logs) - 2

    # The team's queue got a worker of that team, and the held job went on after its first step.
    assert finished[private.id].status == "completed"
    team_workers = [
        w
        for w in many(admin(unseeded).get("/admin/workers"), "workers", Worker)
        if w.teamId == self_hosted.team.id
    ]
    assert [w.name for w in team_workers] == [f"sandbox-sim-worker-team-{self_hosted.team.id}"]
    assert finished[held.id].status == "completed"
    held_logs = many(world.member.api.get(f"/jobs/{held.id}/logs"), "logs", JobLog)
    assert held_logs[0].message == "step one" and len(held_logs) >= 4

    # The knob still switches it off: new jobs then stay pending.
    unseeded.set_knobs(simulate_worker=False)
    time.sleep(1.5)  # a job it was already running may finish; nothing new starts
    waiting = [_create_job(world), _create_job(self_hosted)]
    time.sleep(2.5)
    for job, owner in zip(waiting, (world, self_hosted), strict=True):
        assert one(owner.member.api.get(f"/jobs/{job.id}"), 200, "job", Job).status == "pending"
