"""Hostile or odd input to the Nexical emulator: always a 4xx in the contract's error shape, never a 500."""

import json
import uuid

import httpx
import pytest

from tests.support.nexical_types import Job, admin, api_error, client, new_person, new_world, one

ADA = "nx_demo_ada_0000000000000001"


def _post_raw(api: httpx.Client, path: str, raw: bytes) -> httpx.Response:
    return api.post(path, content=raw, headers={"Content-Type": "application/json"})


def _post(api: httpx.Client, path: str, body: object) -> httpx.Response:
    # ASCII-escaped (\ud800, \u0000), as most JSON clients send them; httpx's json= cannot encode
    # a lone surrogate at all.
    return _post_raw(api, path, json.dumps(body).encode())


@pytest.fixture(scope="module")
def world(sandbox):
    return new_world(sandbox)


@pytest.mark.parametrize("number", [b"NaN", b"Infinity", b"-Infinity", b"1e400", b"-1e400"])
def test_it_refuses_numbers_json_cannot_store(world, number):
    jobs = f"{world.branch_path}/jobs"
    raw = b'{"type": "build", "inputs": {"retries": ' + number + b"}}"
    error = api_error(_post_raw(world.member.api, jobs, raw), 400, "validation_error")
    assert "body" in error.details
    # Large but finite numbers are fine.
    raw = b'{"type": "build", "inputs": {"retries": 1e300, "big": 123456789012345678901234567890}}'
    assert one(_post_raw(world.member.api, jobs, raw), 201, "job", Job).inputs["retries"] == 1e300


def test_it_refuses_bodies_nested_too_deeply(world):
    jobs = f"{world.branch_path}/jobs"
    for depth in (3000, 100_000):
        raw = b'{"type": "build", "inputs": {"a": ' + b"[" * depth + b"]" * depth + b"}}"
        api_error(_post_raw(world.member.api, jobs, raw), 400, "validation_error")
    # Deep enough to parse, too deep to store and send back safely: refused, naming the field.
    nested: object = "leaf"
    for _ in range(200):
        nested = [nested]
    error = api_error(
        world.member.api.post(jobs, json={"type": "build", "inputs": {"a": nested}}), 400, "validation_error"
    )
    assert next(iter(error.details)).startswith("inputs.a")
    # Ordinary nesting still works.
    nested = "leaf"
    for _ in range(20):
        nested = {"n": nested}
    response = world.member.api.post(jobs, json={"type": "build", "inputs": nested})
    assert one(response, 201, "job", Job).inputs == nested


@pytest.mark.parametrize(
    "expires_at",
    [
        "2025-13-01T00:00:00Z",  # month 13
        "2030-02-30T00:00:00Z",  # no such day
        "2030-01-01T25:00:00Z",  # hour 25
        "2030-01-01T00:00:00+24:00",  # an offset of a whole day
        "9999-12-31T23:59:59-05:00",  # past year 9999 in UTC
    ],
)
def test_it_refuses_impossible_token_expiry_dates(sandbox, expires_at):
    person = new_person(sandbox)
    response = person.api.post("/auth/tokens", json={"name": "ci", "expiresAt": expires_at})
    error = api_error(response, 400, "validation_error")
    assert set(error.details) == {"expiresAt"}


@pytest.mark.parametrize("bad", ["\ud800", "\udfff", "a\u0000b"])
def test_it_refuses_nul_and_lone_surrogates_naming_the_field(sandbox, world, bad):
    person = new_person(sandbox)
    body = {"name": bad, "slug": f"s-{uuid.uuid4().hex[:8]}"}
    error = api_error(_post(person.api, "/teams", body), 400, "validation_error")
    assert set(error.details) == {"name"}

    jobs = f"{world.branch_path}/jobs"
    body = {"type": "build", "inputs": {"env": {"tags": ["ok", bad]}}}
    error = api_error(_post(world.member.api, jobs, body), 400, "validation_error")
    assert set(error.details) == {"inputs.env.tags[1]"}

    body = {"type": "build", "inputs": {"env": {bad: 1}}}
    error = api_error(_post(world.member.api, jobs, body), 400, "validation_error")
    assert set(error.details) == {"inputs.env"}

    # The unauthenticated device flow reads its body the same way.
    error = api_error(_post(client(sandbox), "/device/code", {"client_id": bad}), 400, "validation_error")
    assert set(error.details) == {"client_id"}
    response = _post(client(sandbox), "/auth/worker/enroll", {"token": "x", "metadata": {"name": bad}})
    assert set(api_error(response, 400, "validation_error").details) == {"metadata.name"}


def test_it_refuses_a_surrogate_sent_as_raw_utf8_bytes(world):
    # CESU-style bytes for U+D800: Python's JSON reader lets them through as a lone surrogate.
    raw = b'{"type": "build", "inputs": {"note": "\xed\xa0\x80"}}'
    error = api_error(_post_raw(world.member.api, f"{world.branch_path}/jobs", raw), 400, "validation_error")
    assert set(error.details) == {"inputs.note"}


def test_it_refuses_nul_in_log_metadata(sandbox):
    world = new_world(sandbox, mode="self_hosted")
    enrollment = admin(sandbox).post("/admin/enrollment-tokens", json={"teamId": world.team.id})
    enrolled = client(sandbox).post("/auth/worker/enroll", json={"token": enrollment.json()["token"]})
    worker = client(sandbox, enrolled.json()["token"])
    job = one(world.member.api.post(f"{world.branch_path}/jobs", json={"type": "build"}), 201, "job", Job)
    assert worker.post("/workers/acquire", json={}).json()["job"]["id"] == job.id
    logs = f"/jobs/{job.id}/logs"
    body = {"message": "step", "metadata": {"detail": "x\u0000y"}}
    assert set(api_error(worker.post(logs, json=body), 400, "validation_error").details) == {
        "metadata.detail"
    }
    error = api_error(worker.post(logs, json={"message": "a\u0000"}), 400, "validation_error")
    assert set(error.details) == {"message"}
    assert worker.post(logs, json={"message": "fine", "metadata": {"n": 1}}).status_code == 201


def test_it_answers_ids_beyond_64_bits_with_404(world):
    huge = 10**30
    api_error(world.member.api.get(f"/teams/{huge}"), 404, "not_found")
    api_error(world.member.api.get(f"/jobs/{huge}"), 404, "not_found")
    api_error(world.member.api.get(f"/teams/{world.team.id}/projects/{huge}/branches"), 404, "not_found")
    api_error(world.member.api.delete(f"/auth/tokens/{huge}"), 404, "not_found")
    # The largest id the database can hold is simply not found.
    api_error(world.member.api.get(f"/teams/{2**63 - 1}"), 404, "not_found")


def test_it_refuses_out_of_range_team_ids_for_enrollment_tokens(sandbox):
    for team_id in (10**30, -(10**30), 0):
        response = admin(sandbox).post("/admin/enrollment-tokens", json={"teamId": team_id})
        assert set(api_error(response, 400, "validation_error").details) == {"teamId"}


def test_it_refuses_wrong_types_in_nested_and_top_level_fields(world):
    jobs = f"{world.branch_path}/jobs"
    for inputs in ([1, 2], "text", 5, True):
        response = world.member.api.post(jobs, json={"type": "build", "inputs": inputs})
        assert set(api_error(response, 400, "validation_error").details) == {"inputs"}
    for body in ([], "x", 5, None):
        api_error(world.member.api.post(jobs, content=json.dumps(body).encode()), 400, "validation_error")
    response = world.owner.api.post(f"/teams/{world.team.id}/invites", json={"email": ["a@b.co"]})
    assert set(api_error(response, 400, "validation_error").details) == {"email"}
