"""Run again in Chromium: a failed deploy's page, one confirmation, the new job's page, live."""

import pytest
from playwright.sync_api import expect

from dashboard.services import nexical
from dashboard.tracking.interest import JobPath, track_job
from dashboard.tracking.models import TrackedJob
from tests.support.helpers import sign_in
from tests.support.live_helpers import job_scene, record_lines, record_status

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser]


def test_a_developer_runs_a_failed_deploy_again(live_server, page, cast):
    page.set_default_timeout(60_000)  # a busy machine; nothing here waits on a timer
    scene = job_scene(cast)
    tracked = track_job(cast.member.user, nexical.Job.model_validate(scene.job), JobPath(*scene.ids[:3]))
    TrackedJob.objects.filter(pk=tracked.pk).update(inputs={"ref": "main", "commit": "abcdef1234567"})
    record_status(tracked, "running")
    record_lines(tracked, ["::group::Deploy", "boom"], level="error")
    record_status(tracked, "failed", logs_complete=True, outputs={"error": "exit 1"})
    sign_in(page, live_server.url, cast.member.user)

    page.goto(live_server.url + scene.url())
    expect(page.locator("#job-status")).to_have_text("Failed")
    expect(page.locator("#job-ref")).to_have_text("main @ abcdef1")
    page.get_by_role("link", name="Run again…").click()
    expect(page.get_by_role("heading", name=f"Run job #{scene.ids[3]} again?")).to_be_visible()
    page.get_by_role("button", name="Run again").click()

    expect(page.locator(".messages .alert", has_text=f"#{scene.ids[3]} again.")).to_be_visible()
    new = TrackedJob.objects.exclude(pk=tracked.pk).get()
    assert page.url.endswith(f"/jobs/{new.job_id}/")
    expect(page.locator("#job-status")).to_have_text("Pending")
    expect(page.locator("#log-viewer")).to_have_attribute("data-live", "true")
    expect(page.locator("#job-ref")).to_have_text("main @ abcdef1")
