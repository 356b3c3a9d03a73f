"""Helpers that make upstream accounts in the live sandbox and dashboard users connected to them."""

import uuid

import httpx
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Service

# Re-exported for the tests that register a secret that never travels as JSON (a password, a mail).
from tests.support.leak_check import watch_secret as watch_secret

PASSWORD = "correct-horse-battery-staple"


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def new_nexical_user(sandbox, *, email: str | None = None, role: str = "user", full_name: str = "") -> dict:
    """A fresh Nexical user with a full-scope API token: {"user": {...}, "token": "nx_..."}."""
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        json={
            "email": email or f"{unique('user')}@example.com",
            "fullName": full_name or "Test User",
            "password": PASSWORD,
            "role": role,
        },
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def new_nexustoken_account(sandbox) -> dict:
    """A fresh NexusToken account: {"account_id", "api_key", "webhook_secret", "email"}."""
    email = f"{unique('agent')}@example.com"
    response = httpx.post(
        f"{sandbox.nexustoken_url}/api/v1/auth/register", json={"email": email, "source": "tests"}, timeout=10
    )
    response.raise_for_status()
    return {**response.json(), "email": email}


def dashboard_user(username: str | None = None, password: str = PASSWORD):
    return get_user_model().objects.create_user(
        username=username or unique("person"), password=password, email=f"{unique('d')}@example.com"
    )


def connected_user(sandbox, *, role: str = "user", username: str | None = None, email: str | None = None):
    """A dashboard user connected to a fresh Nexical user; returns (dashboard user, nexical user dict)."""
    upstream = new_nexical_user(sandbox, role=role, email=email)
    user = dashboard_user(username)
    save_connection(
        user,
        Service.NEXICAL,
        secret=upstream["token"],
        account_id=upstream["user"]["id"],
        account_label=upstream["user"]["email"],
        account_role=upstream["user"]["role"],
    )
    return user, upstream


def sign_in(page, base_url: str, user) -> None:
    """Give a browser page a session for this dashboard user on the server at base_url, as the
    sign-in form would. The form itself is covered once in a browser, by
    test_connections_browser's test_it_connects_nexical_in_the_browser."""
    client = Client()
    client.force_login(user)
    cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": cookie, "url": base_url}])
