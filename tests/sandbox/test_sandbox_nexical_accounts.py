"""The Nexical emulator over real HTTP: auth, users, API tokens, scopes, errors and the rate limit."""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

import httpx

from tests.support.nexical_types import (
    ApiToken,
    CreatedApiToken,
    User,
    admin,
    api_error,
    bare,
    client,
    many,
    new_person,
    one,
    success,
)

ADA = "nx_demo_ada_0000000000000001"


def test_it_serves_the_demo_users_with_their_fixed_tokens(sandbox):
    ada = one(client(sandbox, ADA).get("/users/me"), 200, "user", User)
    assert ada.email == "ada@example.com"
    assert ada.role == "user"
    system = one(admin(sandbox).get("/users/me"), 200, "user", User)
    assert system.email == "admin@sandbox.local"
    assert system.role == "system"


def test_it_rejects_missing_unknown_and_malformed_tokens(sandbox):
    api_error(client(sandbox).get("/users/me"), 401, "unauthorized")
    api_error(client(sandbox, "nx_nope").get("/users/me"), 401, "unauthorized")
    api_error(client(sandbox).get("/users/me", headers={"Authorization": ADA}), 401, "unauthorized")


def test_it_answers_unknown_paths_and_methods_in_its_error_shape(sandbox):
    api = client(sandbox, ADA)
    api_error(api.get("/no/such/path"), 404, "not_found")
    api_error(api.get("/teams/abc"), 404, "not_found")
    response = api.delete("/users/me")
    api_error(response, 405, "method_not_allowed")
    assert "GET" in response.headers["Allow"]


def test_it_creates_users_and_tokens_through_the_admin_helper(sandbox):
    helper = f"{sandbox.url}/_sandbox/nexical/users"
    assert httpx.post(helper, json={"email": "x@example.com"}).status_code == 401
    person = new_person(sandbox, "helper", password="pw-123456", role="system")
    assert person.token.startswith("nx_")
    assert person.user.role == "system"
    assert one(person.api.get("/users/me"), 200, "user", User).id == person.user.id
    # The same email again: the same user, with a second working token.
    response = httpx.post(
        helper, json={"email": person.user.email}, headers={"Authorization": f"Bearer {sandbox.admin_token}"}
    )
    assert response.status_code == 201
    assert response.json()["user"]["id"] == person.user.id
    assert response.json()["token"] != person.token


def test_it_lets_only_system_users_create_users(sandbox):
    body = {"fullName": "Zoë Ünicode", "email": "zoe.system@example.com", "password": "s3cret-pass"}
    created = one(admin(sandbox).post("/auth/users", json=body), 201, "user", User)
    assert created.fullName == "Zoë Ünicode"
    assert created.role == "user"
    api_error(admin(sandbox).post("/auth/users", json=body), 409, "conflict")
    other = {**body, "email": "someone.else@example.com"}
    api_error(client(sandbox, ADA).post("/auth/users", json=other), 403, "forbidden")
    bad = {"email": "not-an-email", "fullName": 3}
    error = api_error(admin(sandbox).post("/auth/users", json=bad), 400, "validation_error")
    assert set(error.details) == {"email", "fullName", "password"}


def test_it_updates_the_profile_and_validates_it(sandbox):
    person = new_person(sandbox)
    body = {"fullName": "Ada Ünïcode 🚀", "avatarUrl": "https://example.com/a.png"}
    user = one(person.api.put("/users/me", json=body), 200, "user", User)
    assert (user.fullName, user.avatarUrl) == (body["fullName"], body["avatarUrl"])
    cleared = one(person.api.put("/users/me", json={"avatarUrl": None}), 200, "user", User)
    assert cleared.avatarUrl is None
    assert cleared.fullName == body["fullName"]
    bad = {"fullName": 7, "role": "system"}
    error = api_error(person.api.put("/users/me", json=bad), 400, "validation_error")
    assert error.details == {"fullName": ["Must be a string."], "role": ["Unknown field."]}
    api_error(person.api.put("/users/me", json={"avatarUrl": "javascript:alert(1)"}), 400, "validation_error")


def test_it_rejects_malformed_non_object_and_oversized_bodies(sandbox):
    api = new_person(sandbox).api
    error = api_error(api.post("/teams", content=b'{"name": '), 400, "validation_error")
    assert "body" in error.details
    api_error(api.post("/teams", json=["a", "list"]), 400, "validation_error")
    api_error(api.post("/teams", content=b"x" * (1024 * 1024 + 1)), 413, "payload_too_large")


def test_it_mints_lists_and_revokes_api_tokens(sandbox):
    person = new_person(sandbox)
    expires = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    body = {"name": "CI ✓", "scopes": ["read", "write"], "expiresAt": expires}
    created = bare(person.api.post("/auth/tokens", json=body), 201, CreatedApiToken)
    assert created.token.startswith("nx_")
    assert created.tokenPrefix == created.token[:8]
    assert created.scopes == ["read", "write"]
    assert created.expiresAt is not None and created.lastUsedAt is None

    one(client(sandbox, created.token).get("/users/me"), 200, "user", User)
    tokens = many(person.api.get("/auth/tokens"), "tokens", ApiToken)
    listed = next(t for t in tokens if t.id == created.id)
    assert listed.lastUsedAt is not None
    assert created.token not in person.api.get("/auth/tokens").text

    api_error(new_person(sandbox).api.delete(f"/auth/tokens/{created.id}"), 404, "not_found")
    success(person.api.delete(f"/auth/tokens/{created.id}"))
    api_error(client(sandbox, created.token).get("/users/me"), 401, "unauthorized")
    api_error(person.api.delete(f"/auth/tokens/{created.id}"), 404, "not_found")


def test_it_validates_new_tokens(sandbox):
    api = new_person(sandbox).api
    error = api_error(api.post("/auth/tokens", json={"scopes": ["admin"]}), 400, "validation_error")
    assert set(error.details) == {"name", "scopes"}
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    api_error(api.post("/auth/tokens", json={"name": "old", "expiresAt": past}), 400, "validation_error")
    api_error(api.post("/auth/tokens", json={"name": "x", "expiresAt": "soon"}), 400, "validation_error")
    api_error(api.post("/auth/tokens", json={"name": "x", "scopes": "read"}), 400, "validation_error")


def test_it_limits_read_scoped_tokens_to_gets(sandbox):
    person = new_person(sandbox)
    response = person.api.post("/auth/tokens", json={"name": "ro", "scopes": ["read"]})
    token = bare(response, 201, CreatedApiToken)
    reader = client(sandbox, token.token)
    one(reader.get("/users/me"), 200, "user", User)
    api_error(reader.put("/users/me", json={"fullName": "No"}), 403, "insufficient_scope")
    api_error(reader.post("/teams", json={"name": "T", "slug": "read-only-team"}), 403, "insufficient_scope")
    api_error(reader.delete(f"/auth/tokens/{token.id}"), 403, "insufficient_scope")


def test_it_rate_limits_each_token_at_600_a_minute(sandbox):
    assert sandbox.set_knobs()["nexical_requests_per_minute"] == 600  # the vendor's number
    # A lower limit makes the same window in a fraction of the 600 requests.
    sandbox.set_knobs(rate_limits=True, nexical_requests_per_minute=60)
    busy = new_person(sandbox).api
    with ThreadPoolExecutor(4) as pool:
        statuses = list(pool.map(lambda _: busy.get("/users/me").status_code, range(60)))
    assert statuses == [200] * 60
    limited = busy.get("/users/me")
    assert limited.headers["X-RateLimit-Limit"] == "60"
    body = api_error(limited, 429, "rate_limited")
    retry_after = int(limited.headers["Retry-After"])
    assert 1 <= retry_after <= 60
    assert body.model_extra["retryAfter"] == retry_after
    # Other tokens have their own window.
    assert client(sandbox, ADA).get("/users/me").status_code == 200
    sandbox.set_knobs(rate_limits=False)
    assert busy.get("/users/me").status_code == 200
