"""The sandbox's own admin endpoints: knobs and request counts."""

import httpx


def test_it_rejects_knob_changes_without_the_admin_token(sandbox):
    response = httpx.post(f"{sandbox.url}/_sandbox/knobs", json={"latency_ms": 5})
    assert response.status_code == 401


def test_it_rejects_unknown_knobs(sandbox):
    response = httpx.post(
        f"{sandbox.url}/_sandbox/knobs",
        json={"no_such_knob": 1},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
    )
    assert response.status_code == 400


def test_it_forces_429_with_retry_after(sandbox):
    sandbox.set_knobs(force_429=1, retry_after=7)
    first = httpx.get(f"{sandbox.nexustoken_url}/api/v1/heartbeat")
    second = httpx.get(f"{sandbox.nexustoken_url}/api/v1/heartbeat")
    assert first.status_code == 429
    assert first.headers["Retry-After"] == "7"
    assert second.status_code != 429


def test_it_serves_malformed_json_on_request(sandbox):
    sandbox.set_knobs(malformed=1)
    response = httpx.get(f"{sandbox.nexical_url}/users/me")
    assert response.status_code == 200
    try:
        response.json()
    except ValueError:
        pass
    else:
        raise AssertionError("the body should not be JSON")


def test_it_counts_api_requests(sandbox):
    sandbox.reset_request_counts()
    httpx.get(f"{sandbox.nexical_url}/users/me")
    httpx.get(f"{sandbox.nexical_url}/users/me")
    assert sandbox.request_counts()["GET /nexical/users/me"] == 2


def test_it_forces_429_in_nexicals_full_error_shape(sandbox):
    sandbox.set_knobs(force_429=1, retry_after=3)
    response = httpx.get(f"{sandbox.nexical_url}/users/me")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json() == {
        "error": "rate_limited",
        "code": "rate_limited",
        "message": "Too many requests.",
        "details": {},
        "retryAfter": 3,
    }


def test_it_refuses_knob_values_that_would_break_every_request(sandbox):
    admin = {"Authorization": f"Bearer {sandbox.admin_token}"}
    for raw in (b'{"latency_ms": -5}', b'{"latency_ms": 1e400}', b'{"error_rate": NaN}', b'{"hang": -1}'):
        response = httpx.post(f"{sandbox.url}/_sandbox/knobs", content=raw, headers=admin)
        assert response.status_code == 400, response.text
    # Nothing was changed, and the APIs still answer.
    assert httpx.get(f"{sandbox.url}/_sandbox/knobs", headers=admin).json()["latency_ms"] == 0
    assert httpx.get(f"{sandbox.nexical_url}/users/me").status_code == 401
