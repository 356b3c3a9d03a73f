"""The NexusToken emulator's HTML pages: fake Stripe Checkout and device-code approval."""

import re
from datetime import datetime, timedelta

import httpx

from tests.sandbox.test_sandbox_nexustoken_api import Api, account_api, register

SUCCESS_CARD = "4242 4242 4242 4242"


def csrf_token(page: httpx.Response) -> str:
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]


def checkout_session(sandbox, api: Api, amount: int = 1500) -> dict:
    return api.post(
        "/credits/stripe/create-session",
        json={
            "amount_credits": amount,
            "success_url": "http://127.0.0.1:1/paid?from=test",
            "cancel_url": "http://127.0.0.1:1/cancelled",
        },
    ).json()


def pay(
    browser: httpx.Client, url: str, card: str, expiry: str = "12/39", cvc: str = "123"
) -> httpx.Response:
    page = browser.get(url)
    form = {"csrfmiddlewaretoken": csrf_token(page), "card_number": card, "expiry": expiry, "cvc": cvc}
    return browser.post(url, data=form)


def test_checkout_pays_once_and_redirects_to_success_url(sandbox):
    _, api = account_api(sandbox)
    session = checkout_session(sandbox, api)
    with httpx.Client() as browser:
        page = browser.get(session["checkout_url"])
        assert page.status_code == 200
        assert "$15.00" in page.text

        paid = pay(browser, session["checkout_url"], SUCCESS_CARD)
        again = browser.post(session["checkout_url"], data={"csrfmiddlewaretoken": csrf_token(page)})

    assert paid.status_code == 302
    assert paid.headers["Location"] == f"http://127.0.0.1:1/paid?from=test&session_id={session['session_id']}"
    assert again.status_code == 302
    assert api.get("/credits/balance").json()["credits_balance"] == 500 + 1500
    assert api.get(f"/credits/stripe/session/{session['session_id']}").json()["status"] == "paid"


def test_checkout_declines_and_validates_cards(sandbox):
    _, api = account_api(sandbox)
    session = checkout_session(sandbox, api)
    with httpx.Client() as browser:
        declined = pay(browser, session["checkout_url"], "4000 0000 0000 0002")
        bad_number = pay(browser, session["checkout_url"], "4242 4242 4242 4241")
        expired = pay(browser, session["checkout_url"], SUCCESS_CARD, expiry="01/20")
        bad_cvc = pay(browser, session["checkout_url"], SUCCESS_CARD, cvc="1")

    assert declined.status_code == 402
    assert "Your card was declined." in declined.text
    assert "card number is invalid" in bad_number.text
    assert "expired" in expired.text
    assert "security code" in bad_cvc.text
    assert api.get("/credits/balance").json()["credits_balance"] == 500
    assert api.get(f"/credits/stripe/session/{session['session_id']}").json()["status"] == "open"


def test_checkout_expires_unpaid_and_can_no_longer_be_paid(sandbox):
    _, api = account_api(sandbox)
    session = checkout_session(sandbox, api)
    life = datetime.fromisoformat(session["expires_at"]) - datetime.fromisoformat(session["created_at"])
    assert abs(life - timedelta(hours=24)) < timedelta(seconds=1)  # as Stripe's: a day
    with httpx.Client() as browser:
        declined = pay(browser, session["checkout_url"], "4000 0000 0000 0002")
        assert declined.status_code == 402

        assert sandbox.expire_checkout(session["session_id"])["status"] == "expired"
        page = browser.get(session["checkout_url"])
        paid = browser.post(
            session["checkout_url"],
            data={
                "csrfmiddlewaretoken": csrf_token(declined),
                "card_number": SUCCESS_CARD,
                "expiry": "12/39",
            },
        )

    assert "This checkout has expired." in page.text
    assert "This checkout has expired." in paid.text
    assert api.get(f"/credits/stripe/session/{session['session_id']}").json()["status"] == "expired"
    assert api.get("/credits/balance").json()["credits_balance"] == 500


def test_checkout_cancel_link(sandbox):
    _, api = account_api(sandbox)
    session = checkout_session(sandbox, api)
    cancelled = httpx.get(f"{session['checkout_url']}/cancel")
    assert cancelled.status_code == 302
    assert cancelled.headers["Location"].startswith("http://127.0.0.1:1/cancelled?session_id=")
    assert api.get(f"/credits/stripe/session/{session['session_id']}").json()["status"] == "cancelled"
    assert httpx.get(f"{sandbox.nexustoken_url}/checkout/cs_test_unknown").status_code == 404


def test_device_page_approves_and_denies_codes(sandbox):
    account = register(sandbox)
    anon = Api(sandbox, None)
    approved = anon.post("/oauth/device/authorize", json={"client_name": "my-agent"}).json()
    denied = anon.post("/oauth/device/authorize", json={"client_name": "other-agent"}).json()

    with httpx.Client() as browser:
        page = browser.get(approved["verification_url_complete"])
        assert approved["user_code"] in page.text  # prefilled from the link
        form = {"csrfmiddlewaretoken": csrf_token(page), "api_key": account["api_key"]}
        wrong_key = browser.post(
            page.url, data={**form, "api_key": "0" * 64, "user_code": approved["user_code"]}
        )
        ok = browser.post(page.url, data={**form, "user_code": approved["user_code"], "decision": "approve"})
        no = browser.post(page.url, data={**form, "user_code": denied["user_code"], "decision": "deny"})

    assert wrong_key.status_code == 401
    assert "not valid" in wrong_key.text
    assert "my-agent is now connected" in ok.text
    assert "Denied" in no.text
    issued = anon.post("/oauth/device/token", json={"device_code": approved["device_code"]})
    assert issued.json()["account_id"] == account["account_id"]
    assert anon.post("/oauth/device/token", json={"device_code": denied["device_code"]}).status_code == 410
    assert account["api_key"] not in ok.text
