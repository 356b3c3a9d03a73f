"""The sandbox's parts for live tracking: a simulated worker that runs several jobs at once (so a
demo deploy starts within about two seconds), and the burst knob that writes N log lines to a job."""

import time
from datetime import datetime

import httpx
import pytest

from tests.support.helpers import new_nexical_user, unique
from tests.support.sandbox_process import start_sandbox


@pytest.fixture(scope="module")
def busy_sandbox():
    """A sandbox of its own whose simulated worker is on (the shared one keeps it off)."""
    server = start_sandbox(extra_env={"SANDBOX_SIMULATE_WORKER": "on"})
    yield server
    server.stop()


def owner_api(sandbox) -> httpx.Client:
    token = new_nexical_user(sandbox)["token"]
    return httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {token}"}, timeout=10
    )


def new_branch_path(api: httpx.Client, mode: str) -> str:
    slug = unique("team")
    team = api.post("/teams", json={"name": slug, "slug": slug}).json()["team"]
    body = {"name": unique("app"), "repoUrl": "https://git.example.com/a.git", "mode": mode}
    project = api.post(f"/teams/{team['id']}/projects", json=body).json()["project"]
    path = f"/teams/{team['id']}/projects/{project['id']}/branches"
    return f"{path}/{api.post(path, json={'name': 'main'}).json()['branch']['id']}"


def test_it_starts_several_deploys_at_once_within_two_seconds(busy_sandbox):
    api = owner_api(busy_sandbox)
    branch = new_branch_path(api, "managed")
    # A real run takes 10-30 s, so all four run at the same time if they run at all.
    created = [
        api.post(f"{branch}/jobs", json={"type": "deploy", "inputs": {"fail": False}}).json()["job"]
        for _ in range(4)
    ]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        jobs = api.get(f"{branch}/jobs").json()["jobs"]
        if all(job["status"] == "running" for job in jobs):
            break
        time.sleep(0.2)
    assert [job["status"] for job in jobs] == ["running"] * 4
    for job in jobs:
        waited = datetime.fromisoformat(job["startedAt"]) - datetime.fromisoformat(job["createdAt"])
        assert waited.total_seconds() < 2.5, waited
    assert {job["id"] for job in jobs} == {job["id"] for job in created}


def test_it_writes_a_burst_of_log_lines_to_a_job(sandbox):
    api = owner_api(sandbox)
    branch = new_branch_path(api, "self_hosted")
    job = api.post(f"{branch}/jobs", json={"type": "deploy"}).json()["job"]
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    burst = f"{sandbox.url}/_sandbox/nexical/jobs/{job['id']}/burst"

    response = httpx.post(burst, json={"count": 1500, "level": "mixed"}, headers=admin)
    assert response.status_code == 201 and response.json()["count"] == 1500
    first = api.get(f"{branch}/jobs/{job['id']}/logs", params={"limit": 1000}).json()["logs"]
    rest = api.get(f"{branch}/jobs/{job['id']}/logs", params={"after": first[-1]["id"]}).json()["logs"]
    lines = first + rest
    assert [line["message"] for line in lines[:2]] == ["burst line 1", "burst line 2"]
    assert len(lines) == 1500 and lines[-1]["id"] == response.json()["lastId"]
    assert {line["level"] for line in lines} == {"info", "warn", "error"}

    sized = httpx.post(burst, json={"count": 2, "lineBytes": 1_000_000}, headers=admin)
    assert sized.status_code == 201
    big = api.get(f"{branch}/jobs/{job['id']}/logs", params={"after": sized.json()["lastId"] - 2}).json()[
        "logs"
    ]
    assert [len(line["message"]) for line in big] == [1_000_000, 1_000_000]


@pytest.mark.parametrize(
    ("body", "status"),
    [({"count": 0}, 400), ({"count": 200_001}, 400), ({}, 400), ({"count": 1, "level": "loud"}, 400)],
)
def test_it_refuses_bad_bursts(sandbox, body, status):
    api = owner_api(sandbox)
    job = api.post(f"{new_branch_path(api, 'self_hosted')}/jobs", json={"type": "deploy"}).json()["job"]
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    response = httpx.post(f"{sandbox.url}/_sandbox/nexical/jobs/{job['id']}/burst", json=body, headers=admin)
    assert response.status_code == status and response.json()["code"] == "validation_error"


def test_it_keeps_bursts_to_the_sandbox_admin_and_to_real_jobs(sandbox):
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    unknown = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/jobs/999999999/burst", json={"count": 1}, headers=admin
    )
    assert unknown.status_code == 404
    anyone = httpx.post(f"{sandbox.url}/_sandbox/nexical/jobs/1/burst", json={"count": 1})
    assert anyone.status_code == 401
