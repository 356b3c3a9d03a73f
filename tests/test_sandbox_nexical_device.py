"""The Nexical emulator's device flow: the JSON API and the sandbox's own verification page."""

import re

import httpx

from tests.nexical_types import DeviceCode, DeviceToken, User, api_error, bare, client, new_person, one

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
    _grant_error(_poll(sandbox, flow.device_code), "invalid_grant")  # client_id differs
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
    _grant_error(anonymous.post("/device/token", json={"device_code": "unknown"}), "invalid_grant")
    api_error(anonymous.post("/device/approve", json={"user_code": "ABCD-EFGH"}), 401, "unauthorized")
    api_error(client(sandbox, ADA).post("/device/approve", json={"user_code": "ZZZZ-ZZZZ"}), 404, "not_found")
    api_error(client(sandbox, ADA).post("/device/deny", json={}), 400, "validation_error")


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
