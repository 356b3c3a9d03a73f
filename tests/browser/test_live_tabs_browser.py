"""Twenty live job pages in one Chromium, on the dashboard as `make run` serves it (uvicorn, HTTP/1.1,
with the poller and the sandbox as processes of their own).

A browser opens at most six HTTP/1.1 connections to a host: with a stream per tab the seventh page
never loaded, nor any other page of the dashboard. With one shared stream (static/js/livestreams.js)
every tab loads and stays live, another page still opens, and closing the tab that holds the stream
hands it to another tab."""

import pytest
from playwright.sync_api import expect

from tests.support.live_stack import start_stack
from tests.support.live_tabs import running_jobs, signed_in_page

pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.process]

TABS = 20
PATIENCE = 20_000  # ms: twenty pages and a poller share two busy cores; nothing waits on a timer


@pytest.fixture
def stack(sandbox):
    stack = start_stack(sandbox)
    yield stack
    stack.stop()


def test_twenty_live_tabs_load_stay_live_and_leave_the_dashboard_usable(browser, sandbox, stack):
    jobs = running_jobs(sandbox, stack, "tabs", TABS)

    context = browser.new_context()
    context.set_default_timeout(PATIENCE)
    streams: list[str] = []
    context.on("request", lambda request: streams.append(request.url) if "events" in request.url else None)
    first = signed_in_page(context, stack)

    opened = []
    for number in range(TABS):
        # All at once, as a browser restoring a session does: the server serves them side by side.
        page = first if number == 0 else context.new_page()
        url = jobs.url(stack, number)
        page.evaluate("url => { window.location.href = url; }", url)
        opened.append((page, url))
    for page, url in opened:  # every one loads, the seventh too, and goes live
        page.wait_for_url(url)
        expect(page.locator(".logviewer-live")).to_have_text("Live.", timeout=PATIENCE)
    pages = [page for page, _ in opened]

    # Every tab receives the lines written after it opened.
    for number in range(TABS):
        jobs.write(number, f"job {number} after its tab opened")
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
        jobs.write(number, f"job {number} after the leader left")
    for number, page in rest:
        expect(page.locator("#L2")).to_contain_text(f"job {number} after the leader left", timeout=PATIENCE)
        assert page.locator(".log-line").count() == 2  # each line once
    assert sum(bool(page.evaluate("document.documentElement.dataset.liveLeader")) for _, page in rest) == 1
    context.close()
