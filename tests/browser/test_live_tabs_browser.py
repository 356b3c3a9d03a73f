"""Twenty live job pages in one Chromium, on the dashboard as `make run` serves it (uvicorn, HTTP/1.1,
with the poller and the sandbox as processes of their own).

A browser opens at most six HTTP/1.1 connections to a host: with a stream per tab the seventh page
never loaded, nor any other page of the dashboard. With one shared stream (static/js/livestreams.js)
every tab loads and stays live, another page still opens, and closing the tab that holds the stream
hands it to another tab."""

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from tests.support.helpers import PASSWORD
from tests.support.live_stack import start_stack
from tests.support.orchestrator_cast import make_cast, team_worker

pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.process]

TABS = 20
PATIENCE = 20_000  # ms: twenty pages and a poller share two busy cores; nothing waits on a timer


@pytest.fixture
def stack(sandbox):
    stack = start_stack(sandbox)
    yield stack
    stack.stop()


def test_twenty_live_tabs_load_stay_live_and_leave_the_dashboard_usable(browser, sandbox, stack):
    cast = make_cast(sandbox)
    stack.user("dev", PASSWORD, cast.owner.upstream["token"])
    project = cast.project(name="storefront")
    branch = cast.branch(project, "tabs")
    jobs = [cast.job(project, branch) for _ in range(TABS)]
    worker = team_worker(cast)
    for _ in jobs:  # running: the poller fetches the logs of running jobs
        worker.post("/workers/acquire", json={}).raise_for_status()
    ids = [[cast.team["id"], project["id"], branch["id"], job["id"]] for job in jobs]

    def write(job_ids: list[int], message: str) -> None:
        path = "/teams/{}/projects/{}/branches/{}/jobs/{}/logs".format(*job_ids)
        worker.post(path, json={"message": message, "level": "info"}).raise_for_status()

    context = browser.new_context()
    context.set_default_timeout(PATIENCE)
    streams: list[str] = []
    context.on("request", lambda request: streams.append(request.url) if "events" in request.url else None)
    first = context.new_page()
    first.goto(f"{stack.url}/accounts/login/")
    first.fill("input[name=username]", "dev")
    first.fill("input[name=password]", PASSWORD)
    first.click("button[type=submit]")
    first.wait_for_url(lambda url: "/accounts/login/" not in url)

    opened = []
    for number, job_ids in enumerate(ids):
        # All at once, as a browser restoring a session does: the server serves them side by side.
        page = first if number == 0 else context.new_page()
        url = stack.url + reverse("orchestrator:job_detail", args=job_ids)
        page.evaluate("url => { window.location.href = url; }", url)
        opened.append((page, url))
    for page, url in opened:  # every one loads, the seventh too, and goes live
        page.wait_for_url(url)
        expect(page.locator(".logviewer-live")).to_have_text("Live.", timeout=PATIENCE)
    pages = [page for page, _ in opened]

    # Every tab receives the lines written after it opened.
    for number, job_ids in enumerate(ids):
        write(job_ids, f"job {number} after its tab opened")
    for number, page in enumerate(pages):
        expect(page.locator("#L1")).to_contain_text(f"job {number} after its tab opened", timeout=PATIENCE)

    # The browser holds one live connection, not one per tab: another page of the dashboard opens.
    other = context.new_page()
    other.goto(f"{stack.url}/deployments/")
    expect(other.locator("h1")).to_be_visible(timeout=PATIENCE)
    other.close()
    assert streams and all("/live/events?" in url for url in streams), streams[:3]

    # Closing the tab that holds the stream: another tab takes it over, and every tab stays live.
    leaders = [page for page in pages if page.evaluate("document.documentElement.dataset.liveLeader")]
    assert len(leaders) == 1
    leaders[0].close()
    rest = [(number, page) for number, page in enumerate(pages) if page is not leaders[0]]
    for number, _ in rest:
        write(ids[number], f"job {number} after the leader left")
    for number, page in rest:
        expect(page.locator("#L2")).to_contain_text(f"job {number} after the leader left", timeout=PATIENCE)
        assert page.locator(".log-line").count() == 2  # each line once
    assert sum(bool(page.evaluate("document.documentElement.dataset.liveLeader")) for _, page in rest) == 1
    context.close()
