"""A frozen leader tab: the browser froze the tab that holds the shared live stream (a memory or
energy saver), so it passes nothing on, yet it keeps the lock and no other tab can take over. The
other tabs hear no beat from it and poll on their own, and stay live.

The stream beats every second here (LIVE_KEEPALIVE_SECONDS), so three missed beats take three seconds
instead of forty-five. Chromium freezes only hidden pages, and a headless page is never hidden, so the
test stops the leader's JavaScript with the DevTools protocol's debugger instead (Debugger.pause): its
page runs nothing more, as a frozen one, and its tab keeps the lock."""

import pytest
from playwright.sync_api import expect

from tests.support.live_stack import start_stack
from tests.support.live_tabs import running_jobs, signed_in_page

pytestmark = [pytest.mark.django_db, pytest.mark.browser, pytest.mark.process]

PATIENCE = 20_000  # ms


@pytest.fixture
def stack(sandbox):
    stack = start_stack(sandbox, settings={"LIVE_KEEPALIVE_SECONDS": "1"})
    yield stack
    stack.stop()


def test_the_other_tabs_poll_on_their_own_when_the_leader_tab_is_frozen(browser, sandbox, stack):
    jobs = running_jobs(sandbox, stack, "frozen", 2)
    context = browser.new_context()
    context.set_default_timeout(PATIENCE)
    # Each page counts the beats the leader passes on.
    context.add_init_script(
        "window.liveBeats = 0; new BroadcastChannel('nexus-live').onmessage ="
        " (event) => { if (event.data && event.data.type === 'beat') window.liveBeats++; };"
    )
    polls: list[str] = []
    context.on("request", lambda request: polls.append(request.url) if "/updates" in request.url else None)
    first = signed_in_page(context, stack)
    first.goto(jobs.url(stack, 0))
    expect(first.locator(".logviewer-live")).to_have_text("Live.", timeout=PATIENCE)
    expect(first.locator("html")).to_have_attribute("data-live-leader", "true")
    other = context.new_page()
    other.goto(jobs.url(stack, 1))
    expect(other.locator(".logviewer-live")).to_have_text("Live.", timeout=PATIENCE)

    # With the leader running, beats keep the other tab on the shared stream: over four beats more
    # than a tab waits for one (three), it does not poll.
    other.wait_for_function("() => window.liveBeats >= 1")
    settled = len(polls)
    other.wait_for_function("() => window.liveBeats >= 5")
    assert len(polls) == settled, polls[settled:]
    jobs.write(1, "through the shared stream")
    expect(other.locator("#L1")).to_contain_text("through the shared stream", timeout=PATIENCE)
    assert len(polls) == settled

    # The leader's page stops running: it still holds the lock, and passes nothing on.
    devtools = context.new_cdp_session(first)
    devtools.send("Debugger.enable")
    devtools.send("Debugger.pause")
    jobs.write(1, "while the leader is frozen")
    expect(other.locator("#L2")).to_contain_text("while the leader is frozen", timeout=PATIENCE)
    assert len(polls) > settled  # it came by the tab's own polling
    assert other.locator(".log-line").count() == 2  # each line once
    devtools.send("Debugger.resume")
    context.close()
