"""A team admin adds a signed webhook channel in Chromium, sends a test message and watches its
deliveries update by themselves (the sender posts them, not the page)."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from playwright.sync_api import expect

from dashboard.channels import sender
from dashboard.channels.enqueue import enqueue_job_event
from tests.support.helpers import sign_in
from tests.support.orchestrator_cast import make_cast
from tests.support.receiver import Receiver

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def send_due(name: str) -> int:
    """The sender's round, in a thread of its own (Playwright keeps an event loop in this one)."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(asyncio.run, sender.run_once(name)).result()


def test_an_admin_adds_a_webhook_and_sees_its_deliveries(page, live_server, sandbox, shoot, settings):
    settings.CHANNELS_RETRY_DELAYS = [0, 0]
    receiver = Receiver(statuses=[500, 500, 500]).start()
    try:
        cast = make_cast(sandbox)
        team_id = cast.team["id"]
        sign_in(page, live_server.url, cast.admin.user)
        page.goto(f"{live_server.url}/teams/{team_id}/")
        page.click("#channels-link")
        page.fill("#channel_name", "Release tooling")
        page.check("input[name=kind][value=webhook]")
        page.fill("#channel_url", receiver.url)
        page.click("button[name=create]")
        secret = page.locator("#new-secret-value")
        expect(secret).to_contain_text("ndwh_")
        page.click("text=Open the channel")
        expect(page.locator("h1")).to_contain_text("Release tooling")

        # Deploy events as the poller records them: one whose receiver keeps failing, two that arrive.
        facts = {"team_id": team_id, "project_id": 1, "project_name": "shop", "branch_name": "main"}
        for event_id, event in ((9001, "failed"), (9002, "started"), (9003, "completed")):
            job = f"{live_server.url}/teams/{team_id}/projects/1/branches/1/jobs/{event_id}/"
            enqueue_job_event(event_id, event, facts | {"job_id": event_id, "job_type": "deploy", "url": job})
            # The first meets 500, 500, 500 and fails for good; the others arrive at once.
            for _ in range(3 if event == "failed" else 1):
                send_due("browser-sender")

        page.click("button[name=test]")
        expect(page.locator(".alert-success", has_text="Test message queued")).to_be_visible()
        row = page.locator("#deliveries tbody tr").first
        expect(row).to_contain_text("waiting")
        send_due("browser-sender")
        expect(row).to_contain_text("sent")  # the page's own polling brought it in
        expect(row).to_contain_text("200")
        expect(page.locator("#deliveries")).to_contain_text("The receiver answered 500.")
        shoot(page, "channels")
        assert len(receiver.requests) == 6
    finally:
        receiver.stop()
