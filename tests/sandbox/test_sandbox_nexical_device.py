"""The Nexical emulator's device flow: the JSON API and the sandbox's own verification page."""

import re

import httpx

from tests.support.nexical_types import (
    DeviceCode,
    DeviceToken,
    User,
    admin,
    api_error,
    bare,
    client,
    new_person,
    one,
)

ADA = "nx_demo_ada_0000000000000001"


def _start(sandbox, **body) -> DeviceCode:
    response = client(sandbox).post("/device/code", json=body or {"client_id": "nexical-cli"})
    return bare(response, 200, DeviceCode)


def _poll(sandbox, device_code: str) -> httpx.Response:
    return client(sandbox).post(
        "/device/token", json={"device_code": device_code, "client_id": "nexical-cli"}
    )


def _grant_error(response: httpx.Response, error: str) -> None:
    assert response.status_code == 400, response.text
    assert response.json()["error"] == error
    assert response.json()["error_description"]


def test_it_runs_the_device_flow_from_code_to_a_working_token(sandbox):
    flow = _start(sandbox)
    assert flow.verification_uri == f"{sandbox.url}/nexical/device"
    assert flow.verification_uri_complete == f"{flow.verification_uri}?user_code={flow.user_code}"
    assert (flow.expires_in, flow.interval) == (900, 5)
    _grant_error(_poll(sandbox, flow.device_code), "authorization_pending")

    # Matching ignores case and the dash.
    typed = flow.user_code.replace("-", "").lower()
    response = client(sandbox, ADA).post("/device/approve", json={"user_code": typed})
    assert response.status_code == 200, response.text
    assert response.json() == {"success": True, "client_id": "nexical-cli"}
    api_error(
        client(sandbox, ADA).post("/device/approve", json={"user_code": flow.user_code}), 409, "conflict"
    )

    token = bare(_poll(sandbox, flow.device_code), 200, DeviceToken)
    assert token.access_token.startswith("nxs_")
    assert (
        one(client(sandbox, token.access_token).get("/users/me"), 200, "user", User).email
        == "ada@example.com"
    )
    # A device code is good for one token only.
    _grant_error(_poll(sandbox, flow.device_code), "expired_token")


def test_it_tells_the_device_when_the_user_denies(sandbox):
    flow = _start(sandbox, clientId="my-extension")
    denier = new_person(sandbox)
    response = denier.api.post("/device/deny", json={"userCode": flow.user_code})
    assert response.status_code == 200 and response.json() == {"success": True}
    # client_id differs: the contract has no invalid_grant, so the device must start again.
    _grant_error(_poll(sandbox, flow.device_code), "expired_token")
    response = client(sandbox).post("/device/token", json={"deviceCode": flow.device_code})
    _grant_error(response, "access_denied")
    api_error(denier.api.post("/device/approve", json={"user_code": flow.user_code}), 409, "conflict")


def test_it_asks_fast_pollers_to_slow_down(sandbox):
    flow = _start(sandbox)
    _grant_error(_poll(sandbox, flow.device_code), "authorization_pending")
    slow = _poll(sandbox, flow.device_code)
    _grant_error(slow, "slow_down")
    assert "10 seconds" in slow.json()["error_description"]
    _grant_error(_poll(sandbox, flow.device_code), "slow_down")


def test_it_validates_device_requests(sandbox):
    anonymous = client(sandbox)
    api_error(anonymous.post("/device/code", json={}), 400, "validation_error")
    api_error(anonymous.post("/device/code", json={"client_id": 5}), 400, "validation_error")
    api_error(anonymous.post("/device/code", json={"client_id": "x", "extra": 1}), 400, "validation_error")
    api_error(anonymous.post("/device/code", content=b"{nope"), 400, "validation_error")
    api_error(anonymous.post("/device/token", json={}), 400, "validation_error")
    _grant_error(anonymous.post("/device/token", json={"device_code": "unknown"}), "expired_token")
    api_error(anonymous.post("/device/approve", json={"user_code": "ABCD-EFGH"}), 401, "unauthorized")
    api_error(client(sandbox, ADA).post("/device/approve", json={"user_code": "ZZZZ-ZZZZ"}), 404, "not_found")
    api_error(client(sandbox, ADA).post("/device/deny", json={}), 400, "validation_error")


def _lookup(sandbox, token: str, **body) -> httpx.Response:
    return client(sandbox, token).post("/device/lookup", json=body)


def test_it_looks_up_a_code_so_the_dashboard_can_show_who_asks(sandbox):
    flow = _start(sandbox, client_id="vscode-extension", scope="read write")
    response = _lookup(sandbox, ADA, user_code=flow.user_code)
    assert response.status_code == 200, response.text
    found = response.json()
    assert found["expires_at"].endswith("Z")
    assert {k: v for k, v in found.items() if k != "expires_at"} == {
        "user_code": flow.user_code,
        "client_id": "vscode-extension",
        "scope": "read write",
        "status": "pending",
    }
    # Matching ignores case and the dash; camelCase is accepted as elsewhere in the device flow.
    typed = flow.user_code.replace("-", "").lower()
    assert _lookup(sandbox, ADA, userCode=typed).json()["user_code"] == flow.user_code

    # Looking up decides nothing: the device is still pending.
    poll = client(sandbox).post("/device/token", json={"device_code": flow.device_code})
    _grant_error(poll, "authorization_pending")
    success_ = client(sandbox, ADA).post("/device/approve", json={"user_code": flow.user_code})
    assert success_.status_code == 200
    assert _lookup(sandbox, ADA, user_code=flow.user_code).json()["status"] == "approved"
    poll = client(sandbox).post("/device/token", json={"device_code": flow.device_code})
    bare(poll, 200, DeviceToken)
    assert _lookup(sandbox, ADA, user_code=flow.user_code).json()["status"] == "approved"

    denied = _start(sandbox)
    client(sandbox, ADA).post("/device/deny", json={"user_code": denied.user_code})
    looked = _lookup(sandbox, ADA, user_code=denied.user_code).json()
    assert (looked["status"], looked["scope"]) == ("denied", None)


def test_it_validates_device_lookups(sandbox):
    api_error(client(sandbox).post("/device/lookup", json={"user_code": "ABCD-EFGH"}), 401, "unauthorized")
    api_error(_lookup(sandbox, ADA, user_code="ZZZZ-ZZZZ"), 404, "not_found")
    for code in (None, "", 12345678, "ABC", "AB!D-EFGH", "ABCD-EFGH-JK"):
        body = {} if code is None else {"user_code": code}
        error = api_error(_lookup(sandbox, ADA, **body), 400, "validation_error")
        assert set(error.details) == {"user_code"}
    error = api_error(_lookup(sandbox, ADA, user_code="ABCD-EFGH", extra=1), 400, "validation_error")
    assert set(error.details) == {"extra"}
    api_error(client(sandbox, ADA).get("/device/lookup"), 405, "method_not_allowed")
    # Workers are not users and cannot look codes up.
    enrollment = admin(sandbox).post("/admin/enrollment-tokens", json={})
    enrolled = client(sandbox).post("/auth/worker/enroll", json={"token": enrollment.json()["token"]})
    api_error(_lookup(sandbox, enrolled.json()["token"], user_code="ABCD-EFGH"), 403, "not_a_member")


def _form_token(html: str) -> str:
    match = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
    assert match, html
    return match.group(1)


def test_its_verification_page_signs_in_and_approves(sandbox):
    flow = _start(sandbox, client_id="browser-extension")
    page = httpx.Client(base_url=sandbox.url, follow_redirects=True, timeout=15)
    url = f"/nexical/device?user_code={flow.user_code}"
    form = page.get(url)
    assert form.status_code == 200 and "Sign in" in form.text

    login = {"email": "ada@example.com", "user_code": flow.user_code, "sign_in": ""}
    wrong = page.post(
        "/nexical/device", data={**login, "password": "nope", "csrfmiddlewaretoken": _form_token(form.text)}
    )
    assert "Wrong email or password." in wrong.text
    signed_in = page.post(
        "/nexical/device",
        data={**login, "password": "ada-password", "csrfmiddlewaretoken": _form_token(wrong.text)},
    )
    assert "ada@example.com" in signed_in.text
    assert "browser-extension" in signed_in.text and flow.user_code in signed_in.text

    decision = {
        "user_code": flow.user_code,
        "approve": "",
        "csrfmiddlewaretoken": _form_token(signed_in.text),
    }
    done = page.post("/nexical/device", data=decision)
    assert "You approved the sign-in of browser-extension." in done.text
    token = bare(
        client(sandbox).post("/device/token", json={"device_code": flow.device_code}), 200, DeviceToken
    )
    assert (
        one(client(sandbox, token.access_token).get("/users/me"), 200, "user", User).email
        == "ada@example.com"
    )

    again = page.get(url)
    assert "This code was already used." in again.text
