"""People for the credits tests: dashboard users connected to fresh NexusToken accounts, and the
sandbox's admin levers (debt, reputation, balance) to reach the states a page must explain."""

import re
from dataclasses import dataclass

import httpx
from django.contrib.auth.models import User

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Service
from tests.support.helpers import dashboard_user, new_nexustoken_account

SUCCESS_CARD = "4242 4242 4242 4242"
DECLINED_CARD = "4000 0000 0000 0002"
SIGNUP_CREDITS = 500  # the sandbox's default grant


@dataclass
class Person:
    user: User
    account: dict  # account_id, api_key, webhook_secret, email


def connected_person(sandbox) -> Person:
    account = new_nexustoken_account(sandbox)
    user = dashboard_user()
    save_connection(
        user,
        Service.NEXUSTOKEN,
        secret=account["api_key"],
        webhook_secret=account.get("webhook_secret") or "",
        account_id=account["account_id"],
        account_label=account["email"],
    )
    return Person(user, account)


def upstream(sandbox, person: Person, method: str, path: str, **kwargs) -> httpx.Response:
    """Call the NexusToken API as this person (to check what the upstream itself now says)."""
    headers = {"X-API-Key": person.account["api_key"]}
    return httpx.request(
        method, f"{sandbox.nexustoken_url}/api/v1{path}", headers=headers, timeout=10, **kwargs
    )


def balance(sandbox, person: Person) -> int:
    return upstream(sandbox, person, "GET", "/credits/balance").json()["credits_balance"]


def set_account(sandbox, person: Person, **fields) -> dict:
    """The sandbox admin lever: set debt, debt_days, reputation, task_count… directly."""
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{person.account['account_id']}",
        json=fields,
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def pay(checkout_url: str, card: str) -> httpx.Response:
    """Fill in the sandbox's checkout page as a browser would (CSRF cookie and token included)."""
    with httpx.Client(timeout=10) as browser:
        page = browser.get(checkout_url)
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text)[1]
        form = {"csrfmiddlewaretoken": token, "card_number": card, "expiry": "12/39", "cvc": "123"}
        return browser.post(checkout_url, data=form)


def grant(sandbox, person: Person, amount: int) -> None:
    """Add (or, negative, remove) credits through the sandbox admin lever."""
    httpx.post(
        f"{sandbox.url}/_sandbox/nexustoken/accounts/{person.account['account_id']}/credits",
        json={"amount": amount},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    ).raise_for_status()
