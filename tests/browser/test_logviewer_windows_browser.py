"""The log viewer at any size, for keyboards and screen readers, in Chromium: a 100,000-line log
searched on the server and shown by windows around the view; step groups folded into sections; a
failed job opened at its first error; one tab stop for the log, the new-lines notice and what is
announced; and axe-core (WCAG 2.2 AA) over the job page running with ANSI colours, finished and
failed, at 1280 and 390 px.

Big logs are inserted directly (as the poller's bulk_create does) for speed; the page, its access
check against the live sandbox and every endpoint are the real ones.
"""

from datetime import UTC, datetime

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.db import connection

from dashboard.services import nexical
from dashboard.tracking.interest import JobPath, track_job
from dashboard.tracking.models import LogLine
from tests.browser.test_logviewer_browser import PATIENCE, in_view
from tests.support.helpers import sign_in
from tests.support.live_helpers import job_scene, poller_passed, record_lines, record_status

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.browser,
]

WCAG = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]
START = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def insert_log(tracked, total: int, special: dict[int, tuple[str, str]]) -> None:
    """`total` lines one tenth of a second apart, ordinary except the `special` ones ({number: (level,
    message)}), in one INSERT ... SELECT over a recursive count (100,000 model rows took a minute);
    the search index keeps in step by itself (SQLite's FTS5 triggers, PostgreSQL's GIN index)."""
    if connection.vendor == "postgresql":
        logged_at = "%s::timestamptz + k * interval '100 milliseconds'"
    else:  # as Django stores a datetime on SQLite: UTC text
        logged_at = "strftime('%%Y-%%m-%%d %%H:%%M:%%f', %s, '+' || (k / 10.0) || ' seconds')"
    start = START.strftime("%Y-%m-%d %H:%M:%S")
    table = LogLine._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"WITH RECURSIVE counted(k) AS (SELECT 1 UNION ALL SELECT k + 1 FROM counted WHERE k < %s) "
            f"INSERT INTO {table} (job_id, upstream_id, number, level, message, truncated, logged_at) "
            f"SELECT %s, k, k, 'info', 'step ' || k || ' of the build', %s, {logged_at} FROM counted",
            [total, tracked.pk, False, start if connection.vendor == "sqlite" else START],
        )
    for number, (level, message) in special.items():
        LogLine.objects.filter(job=tracked, number=number).update(level=level, message=message)


def finished_job(cast, total: int, special: dict, status: str = "completed"):
    scene = job_scene(cast)
    tracked = track_job(cast.member.user, nexical.Job.model_validate(scene.job), JobPath(*scene.ids[:3]))
    insert_log(tracked, total, special)
    record_status(tracked, "running")
    outputs = {"error": "exit status 1"} if status == "failed" else {}
    record_status(tracked, status, logs_complete=True, outputs=outputs)
    return scene


@pytest.fixture
def page(page):
    page.set_default_timeout(PATIENCE)
    return page


def ready(page) -> None:
    page.locator("[data-log-viewer][data-ready=true]").wait_for()


def rows_in_page(page) -> int:
    return page.locator("#log-lines > .log-line").count()


# Marks the log's rows more than two views above or below the visible part of the log.
FAR_ROWS = """() => {
  const box = document.querySelector('.logviewer-scroll').getBoundingClientRect();
  for (const row of document.querySelectorAll('#log-lines > .log-line')) {
    const rect = row.getBoundingClientRect();
    const far = rect.bottom < box.top - 2 * box.height || rect.top > box.bottom + 2 * box.height;
    row.toggleAttribute('data-axe-far', far);
  }
}"""


def no_violations(page, width: int) -> None:
    page.set_viewport_size({"width": width, "height": 800})
    page.evaluate("window.scrollTo(0, 0)")  # the sticky top bar would cover what is under it
    # Rows far outside the log's view are left out: they are built as the ones checked are, and a
    # few thousand of them made each check take half a minute on a busy machine.
    page.evaluate(FAR_ROWS)
    options = {"runOnly": {"type": "tag", "values": WCAG}, "resultTypes": ["violations"]}
    results = Axe().run(page, context={"exclude": [["[data-axe-far]"]]}, options=options)
    assert results.violations_count == 0, f"at {width} px:\n{results.generate_report()}"


def errors_of(page) -> list[str]:
    failures: list[str] = []
    page.on("pageerror", lambda error: failures.append(str(error)))
    return failures


# --- a 100,000-line finished log ------------------------------------------------------------------


def test_a_100000_line_log_is_searched_on_the_server_and_shown_by_windows(live_server, page, cast, shoot):
    special = {
        61_234: ("info", "a needle in the unloaded middle"),
        99_990: ("warn", "\x1b[33mwarming\x1b[0m"),
    }
    scene = finished_job(cast, 100_000, special)
    failures = errors_of(page)
    sign_in(page, live_server.url, cast.member.user)
    page.goto(f"{live_server.url}{scene.url()}")
    ready(page)

    # A finished job opens at its end, and the page holds a bounded number of rows.
    assert in_view(page, "#L100000")
    assert page.locator(".logviewer-count").inner_text() == "100,000 lines"
    assert rows_in_page(page) <= 1000

    # Search covers the whole log: the match in the middle is found, and only its window is loaded.
    find = page.get_by_label("Search the log")
    find.fill("needle")
    page.locator("#L61234.log-match-current").wait_for()
    assert in_view(page, "#L61234")
    assert page.locator(".logviewer-find-count").inner_text() == "1 of 1"
    assert page.locator("#L30000").count() == 0 and page.locator("#L61150").count() == 1
    assert rows_in_page(page) <= 1000
    shoot(page, "log-search")

    # A query the server refuses gets its sentence.
    page.get_by_label("Regex").check()
    find.fill("(unclosed")
    find.press("Enter")
    page.wait_for_function(
        "() => { const t = document.querySelector('.logviewer-find-count').textContent;"
        " return t && !t.startsWith('Searching') && !/match|of/.test(t); }"
    )
    assert "regex" in page.locator(".logviewer-find-count").inner_text().lower()
    page.get_by_label("Regex").uncheck()

    # A line link into an unloaded part loads that window only.
    page.goto(f"{live_server.url}{scene.url()}#L12345-L12347")
    ready(page)
    page.locator("#L12345.log-selected").wait_for()
    assert page.locator(".log-selected").count() == 3 and in_view(page, "#L12345")
    assert page.locator("#L50000").count() == 0
    # Scrolling through the log loads what comes into view and lets go of what is far away.
    for tenth in range(2, 20):
        page.locator(".logviewer-scroll").evaluate(f"s => {{ s.scrollTop = s.scrollHeight * {tenth / 20}; }}")
        page.wait_for_function(
            "() => { const s = document.querySelector('.logviewer-scroll').getBoundingClientRect();"
            " const e = document.elementFromPoint(s.left + s.width / 2, s.top + s.height / 2);"
            " return e && e.closest('.log-line'); }"
        )
    assert rows_in_page(page) <= 1000 and page.locator("#L12345").count() == 0

    no_violations(page, 1280)
    no_violations(page, 390)
    assert failures == []


# --- a failed job with step groups ------------------------------------------------------------------

COLOURS = " ".join(f"\x1b[{code}mc{code}\x1b[0m" for code in [*range(30, 38), *range(90, 98)])
BACKGROUNDS = " ".join(f"\x1b[{code}mb{code}\x1b[0m" for code in [*range(40, 48), *range(100, 108)])
EXACT = (
    "\x1b[38;2;20;20;20mnear black\x1b[0m \x1b[38;5;17mdeep blue\x1b[0m"
    " \x1b[2mdim\x1b[0m \x1b[31;41mred on red\x1b[0m"
)


def grouped_failure() -> dict[int, tuple[str, str]]:
    """3,000 lines in four steps; the error sits in the third, in the middle a page leaves out."""
    return {
        2: ("info", "::group::Checkout"),
        51: ("info", "::endgroup::"),
        52: ("info", "::group::Install <b>deps</b> \x1b[1mnow\x1b[0m"),
        1001: ("info", "##[endgroup]"),
        1002: ("info", "::group::Build"),
        1500: ("error", "\x1b[31merror\x1b[0m Step failed: exit code 1"),
        2001: ("info", "::endgroup::"),
        2002: ("info", "::group::Deploy"),
        2990: ("info", "::endgroup::"),
        2995: ("info", COLOURS),
        2996: ("info", BACKGROUNDS),
        2997: ("warn", EXACT),
    }


def test_a_failed_job_opens_at_its_first_error_with_its_steps_folded(live_server, page, cast, shoot):
    scene = finished_job(cast, 3000, grouped_failure(), status="failed")
    failures = errors_of(page)
    sign_in(page, live_server.url, cast.member.user)
    page.goto(f"{live_server.url}{scene.url()}")
    ready(page)

    # Opened at the first error, which was in the part the page leaves out, and said so.
    assert in_view(page, "#L1500.log-selected")
    assert page.url.endswith("#L1500")
    assert (
        page.locator(".logviewer-live").inner_text() == "Error at line 1,500: error Step failed: exit code 1"
    )
    # The log starts above the fold of a laptop's screen.
    assert page.locator(".logviewer-scroll").bounding_box()["y"] < 800 - 200
    shoot(page, "job-failed")

    # Steps: the one with the error is open and marked, the others folded with their size and time.
    page.evaluate("location.hash = '#L1002'")  # a line link: the window around it is loaded
    build = page.locator("#L1002 .log-fold")
    assert build.get_attribute("aria-expanded") == "true"
    assert page.locator("#L1002.log-group-failed").count() == 1
    assert "has an error" in page.locator("#L1002 .log-group-summary").inner_text()
    install = page.locator("#L52 .log-fold")
    assert install.get_attribute("aria-expanded") == "false"
    assert install.inner_text() == "Install <b>deps</b> now"  # the marker's name as text
    assert page.locator("#L52 .log-group-summary").inner_text() == "948 lines · 1 min 35 s"
    assert page.locator("#L60").is_hidden()

    # Mouse: unfold; keyboard: the header is the log's tab stop, left folds, Enter unfolds.
    page.locator(".logviewer-scroll").evaluate("s => { s.scrollTop = 0; }")
    install.click()
    assert install.get_attribute("aria-expanded") == "true" and page.locator("#L60").is_visible()
    assert page.evaluate("document.activeElement.closest('.log-line').id") == "L52"
    page.keyboard.press("ArrowLeft")
    assert install.get_attribute("aria-expanded") == "false" and page.locator("#L60").is_hidden()
    page.keyboard.press("ArrowDown")  # past the folded lines (loading them), to the next step
    page.wait_for_function("() => document.activeElement.closest('.log-line').id === 'L1002'")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("Enter")
    assert install.get_attribute("aria-expanded") == "true"
    page.keyboard.press("ArrowLeft")
    shoot(page, "log-groups")

    # Colours: the 16 foregrounds and backgrounds and the exact ones all read at 4.5:1 (axe checks).
    page.evaluate("location.hash = '#L2997'")  # far from here: the link loads its window
    page.locator("#L2997.log-selected").wait_for()
    no_violations(page, 1280)
    no_violations(page, 390)
    assert failures == []


# --- a running job, by keyboard ---------------------------------------------------------------------


def tab_stops_in_log(page) -> int:
    """How many Tab presses stay in the log, from the last tool before it (the Wrap toggle)."""
    page.get_by_role("button", name="Wrap").focus()
    stops = 0
    for _ in range(60):
        page.keyboard.press("Tab")
        if not page.evaluate("Boolean(document.activeElement.closest('.logviewer-scroll'))"):
            break
        stops += 1
    return stops


def test_a_running_log_is_one_tab_stop_and_announces_what_changes(asgi_url, page, cast):
    scene = job_scene(cast)
    poller_passed()
    failures = errors_of(page)
    sign_in(page, asgi_url, cast.member.user)
    page.goto(f"{asgi_url}{scene.url()}")
    tracked = scene.tracked()
    record_status(tracked, "running")
    lines = [f"compiling https://example.com/m/{n} module {n}" for n in range(1, 39)]
    record_lines(tracked, ["::group::Build", COLOURS, BACKGROUNDS, EXACT, *lines])
    record_lines(tracked, ["\x1b[31mfatal\x1b[0m cannot link"], level="error")
    page.locator("#L43").wait_for()
    page.locator(".logviewer-live", has_text="Live.").wait_for()

    # One tab stop for the log, whatever its lines hold (links, numbers, a step header).
    assert tab_stops_in_log(page) == 1
    page.keyboard.press("Shift+Tab")  # back into the log
    assert page.evaluate("document.activeElement.closest('.log-line') !== null")
    page.keyboard.press("End")
    page.wait_for_function("() => document.activeElement.closest('.log-line').id === 'L43'")
    page.keyboard.press("ArrowUp")
    assert page.evaluate("document.activeElement.id") == "L42"
    page.keyboard.press("Home")
    page.wait_for_function("() => document.activeElement.closest('.log-line').id === 'L1'")
    assert tab_stops_in_log(page) == 1

    # The reader stays up there: new lines are announced, and their button is next in the tools.
    record_lines(tracked, ["one", "two", "three"])
    notice = page.get_by_role("button", name="3 new lines, jump to the end")
    notice.wait_for()
    assert "New lines below" in page.locator(".logviewer-live").inner_text()
    page.get_by_role("button", name="Wrap").focus()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('logviewer-new')")
    page.keyboard.press("Enter")
    assert notice.is_hidden() and in_view(page, "#L46")

    page.get_by_role("button", name="First error").click()
    page.locator(".logviewer-live", has_text="Error at line 43: fatal cannot link").wait_for()

    no_violations(page, 1280)
    no_violations(page, 390)
    record_status(tracked, "completed", logs_complete=True)
    page.locator(".logviewer-live", has_text="The job completed.").wait_for()
    assert failures == []
