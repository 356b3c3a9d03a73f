"""A hidden job page stops following its job and, shown again, catches up on what it missed.

static/js/livestreams.js: a tab hidden for PAUSE_MS (10 s) unsubscribes from the browser's shared
stream; when it is shown again it reads what came meanwhile from the job's polling endpoint, then
follows the stream again. Headless Chromium reports every page as visible and has no way to hide one
(Playwright issue 2286), so the page's `document.visibilityState` is set by an init script, which
fires the `visibilitychange` event the page listens to; Playwright's clock jumps over the 10 s. The
rest is the real path: the dashboard as `make run` serves it, its poller, the sandbox's worker.
"""

import pytest
from django.urls import reverse
from playwright.sync_api import Response, expect

from tests.support.helpers import PASSWORD
from tests.support.live_stack import start_stack
from tests.support.orchestrator_cast import make_cast, team_worker

pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.process]

PATIENCE = 20_000  # ms: the poller's passes and a busy machine; nothing waits on a timer
PAUSE_MS = 10_000  # livestreams.js: a tab hidden this long stops following

# Visibility the test can set, and every message the tabs exchange, recorded by a channel of the
# page's own (a BroadcastChannel hears the others of its name in the same page).
VISIBILITY = """
(() => {
  let state = "visible";
  Object.defineProperty(Document.prototype, "visibilityState", { configurable: true, get: () => state });
  Object.defineProperty(Document.prototype, "hidden", { configurable: true, get: () => state === "hidden" });
  window.setVisibility = (next) => {
    state = next;
    document.dispatchEvent(new Event("visibilitychange"));
  };
  window.liveMessages = [];
  new BroadcastChannel("nexus-live").onmessage = (event) => window.liveMessages.push(event.data);
})();
"""


@pytest.fixture
def stack(sandbox):
    stack = start_stack(sandbox)
    yield stack
    stack.stop()


def test_a_hidden_tab_pauses_and_catches_up_when_shown_again(browser, sandbox, stack):
    cast = make_cast(sandbox)
    stack.user("dev", PASSWORD, cast.owner.upstream["token"])
    project = cast.project(name="storefront")
    branch = cast.branch(project, "hidden")
    job = cast.job(project, branch)
    worker = team_worker(cast)
    worker.post("/workers/acquire", json={}).raise_for_status()  # running: the poller reads its log
    job_api = f"/teams/{cast.team['id']}/projects/{project['id']}/branches/{branch['id']}/jobs/{job['id']}"

    def write(message: str) -> None:
        worker.post(f"{job_api}/logs", json={"message": message, "level": "info"}).raise_for_status()

    context = browser.new_context()
    context.set_default_timeout(PATIENCE)
    context.add_init_script(VISIBILITY)
    page = context.new_page()
    page.clock.install()  # time runs as usual until the test jumps it forward
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("input[name=username]", "dev")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    job_url = stack.url + reverse(
        "orchestrator:job_detail", args=[cast.team["id"], project["id"], branch["id"], job["id"]]
    )
    page.goto(job_url)
    expect(page.locator(".logviewer-live")).to_have_text("Live.")
    write("seen while visible")
    expect(page.locator("#L1")).to_contain_text("seen while visible")

    # Hidden long enough: the tab stops following the job.
    page.evaluate("setVisibility('hidden')")
    page.clock.fast_forward(PAUSE_MS)
    page.wait_for_function("() => liveMessages.some(m => m.type === 'unsub')")

    # Meanwhile the job writes two lines and completes; another tab shows the dashboard has them.
    write("missed line one")
    write("missed line two")
    worker.post(f"{job_api}/complete", json={"outputs": {}}).raise_for_status()
    other = context.new_page()
    other.goto(job_url)
    expect(other.locator("#job-status")).to_have_text("Completed")
    expect(other.locator("#L3")).to_contain_text("missed line two")
    other.close()
    assert page.locator("#L2").count() == 0  # the hidden tab was not following
    expect(page.locator("#job-status")).not_to_have_text("Completed")

    # Shown again: it reads what it missed from the job's polling endpoint, and shows it.
    def catch_up(response: Response) -> bool:  # the polling endpoint, not a range of older lines
        return "after=" in response.url and "before=" not in response.url

    with page.expect_response(catch_up) as caught:
        page.evaluate("setVisibility('visible')")
    missed = caught.value.json()
    assert [event["event"] for event in missed["events"]][:1] == ["line"]
    assert "missed line one" in missed["events"][0]["data"]["html"]
    assert "missed line two" in missed["events"][0]["data"]["html"]
    expect(page.locator("#L2")).to_contain_text("missed line one")
    expect(page.locator("#L3")).to_contain_text("missed line two")
    expect(page.locator("#job-status")).to_have_text("Completed")
    assert page.locator(".log-line").count() == 3  # each line once
    context.close()
