"""A deploy followed live in Chromium, on the dashboard as `make run` starts it (uvicorn, the poller and
the sandbox as processes of their own): trigger a deploy, watch its lines arrive without a reload,
follow / pause / jump, find a line, open a line link, see it complete and a notification appear."""

import pytest
from playwright.sync_api import expect

from tests.support.helpers import PASSWORD
from tests.support.live_stack import start_stack
from tests.support.orchestrator_cast import make_cast, team_worker

pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.process]


@pytest.fixture
def stack(sandbox):
    stack = start_stack(sandbox)
    yield stack
    stack.stop()


def at_the_end(page) -> bool:
    return page.evaluate(
        "() => { const s = document.querySelector('.logviewer-scroll');"
        " return s.scrollHeight - s.scrollTop - s.clientHeight < 24; }"
    )


def test_a_developer_watches_a_deploy_live_from_trigger_to_notification(page, sandbox, stack, shoot):
    cast = make_cast(sandbox)
    stack.user("dev", PASSWORD, cast.owner.upstream["token"])
    project = cast.project(name="storefront")
    branch = cast.branch(project, "demo")
    worker = team_worker(cast)

    page.goto(f"{stack.url}/accounts/login/")
    page.fill("input[name=username]", "dev")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.goto(f"{stack.url}/teams/{cast.team['id']}/projects/{project['id']}/branches/{branch['id']}/")
    page.fill("#job_type", "deploy")
    page.fill("#job_inputs", '{"ref": "demo"}')
    page.click("button[name=create_job]")
    expect(page.locator("#job-status")).to_have_text("Pending")
    queued = page.locator(".messages .alert", has_text="queued.")
    expect(queued).to_be_visible()
    page.evaluate("window.sameDocument = true")  # gone if anything below reloads the page

    job = worker.post("/workers/acquire", json={}).raise_for_status().json()["job"]
    logs = f"/teams/{cast.team['id']}/projects/{project['id']}/branches/{branch['id']}/jobs/{job['id']}/logs"

    def write(*messages: str, level: str = "info") -> None:
        for message in messages:
            worker.post(logs, json={"message": message, "level": level}).raise_for_status()

    write("cloning storefront", "\x1b[32minstalling dependencies\x1b[0m", "a needle in the log")
    # The first lines wait on the poller noticing a viewer (its next pass), then on the stream.
    expect(page.locator("#L3")).to_contain_text("a needle in the log", timeout=20_000)
    expect(page.locator("#job-status")).to_have_text("Running")
    expect(page.locator("#job-timeline [data-status=running]")).to_be_visible()
    expect(queued).to_have_count(0)  # "queued" no longer true: the banner went with it

    # Follow: the view sticks to the newest line while the reader is at the bottom.
    write(*(f"compiling module {n}" for n in range(1, 81)))
    expect(page.locator("#L83")).to_be_attached()
    follow = page.get_by_role("button", name="Follow")
    expect(follow).to_have_attribute("aria-pressed", "true")
    page.wait_for_function(
        "() => { const s = document.querySelector('.logviewer-scroll');"
        " return s.scrollHeight - s.scrollTop - s.clientHeight < 24; }"
    )
    # Pause: scrolling up stops following; new lines are counted, not scrolled to.
    page.locator(".logviewer-scroll").evaluate("s => { s.scrollTop = 0; }")
    expect(follow).to_have_attribute("aria-pressed", "false")
    write("\x1b[33mwarming caches\x1b[0m", "linking", level="warn")
    jump = page.get_by_role("button", name="2 new lines, jump to the end")
    expect(jump).to_be_visible()
    assert not at_the_end(page)
    # Jump: to the end, following again.
    jump.click()
    expect(follow).to_have_attribute("aria-pressed", "true")
    assert at_the_end(page)
    shoot(page, "live-log")

    # Find a line.
    page.fill(".logviewer-find input", "needle")
    page.keyboard.press("Enter")
    expect(page.locator("#L3.log-match-current")).to_be_visible()

    # A line link: the address names the line, and opening it again highlights it.
    page.locator("#L2 a.log-number").click()
    assert page.url.endswith("#L2")
    assert page.evaluate("window.sameDocument") is True  # every line above arrived without a reload
    page.reload()
    expect(page.locator("#L2.log-selected")).to_be_visible()

    # The deploy completes: the badge, the history and the log's end update by themselves.
    write("shipped to https://shop.example.com")
    worker.post(
        logs.removesuffix("/logs") + "/complete", json={"outputs": {"url": "https://shop.example.com"}}
    )
    expect(page.locator("#job-status")).to_have_text("Completed", timeout=20_000)
    expect(page.locator("#L86")).to_contain_text("shipped to")
    expect(page.locator("#job-finished")).to_be_visible(timeout=20_000)
    expect(page.locator("#job-timeline [data-status=completed]")).to_be_visible()
    expect(page.locator("#job-outputs")).to_contain_text("https://shop.example.com")

    # And the bell says so.
    page.goto(f"{stack.url}/deployments/")
    expect(page.locator(f'#deployments-recent tr[data-tracked-job="{job["id"]}"] .badge')).to_have_text(
        "Completed"
    )
    shoot(page, "deployments")
    expect(page.locator("#bell-count")).to_have_text("2")  # started, then completed
    page.click("#bell")
    expect(page.locator(".notification-unread", has_text=f"Deploy #{job['id']} completed")).to_be_visible()
    shoot(page, "notifications")
    page.click("button[name=read_all]")
    expect(page.locator(".notification-unread")).to_have_count(0)
    expect(page.locator("#bell-count")).to_have_count(0)
