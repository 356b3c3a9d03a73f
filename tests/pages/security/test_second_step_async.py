"""The same guard on Django's async stack (uvicorn runs the dashboard there): the middleware's async
branch sends a half-signed-in session to the second step, lets a verified one through, and records
the session."""

import pytest
from asgiref.sync import sync_to_async
from django.test import AsyncClient

from dashboard.security.models import UserSession
from tests.support.helpers import PASSWORD, dashboard_user
from tests.support.two_factor import code_for, enable

pytestmark = pytest.mark.django_db(transaction=True)


async def test_the_async_stack_guards_and_records_sessions():
    plain = await sync_to_async(dashboard_user)()
    secured = await sync_to_async(dashboard_user)()
    device, _ = await sync_to_async(enable)(secured)

    plain_client = AsyncClient()
    await plain_client.aforce_login(plain)
    assert (await plain_client.get("/notifications/")).status_code == 200
    assert await UserSession.objects.filter(user=plain).acount() == 1

    client = AsyncClient()
    signed = await client.post("/accounts/login/", {"username": secured.username, "password": PASSWORD})
    assert signed.status_code == 302
    blocked = await client.get("/notifications/")
    assert blocked.status_code == 302 and blocked["Location"].startswith("/accounts/two-factor/")
    stream = await client.get("/live/events", headers={"Accept": "text/event-stream"})
    assert stream.status_code == 302 and stream["Location"].startswith("/accounts/two-factor/")

    passed = await client.post("/accounts/two-factor/", {"otp_token": code_for(device)})
    assert passed.status_code == 302
    assert (await client.get("/notifications/")).status_code == 200
