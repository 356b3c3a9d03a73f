"""The log viewer on a 100,000-line log, in Chromium.

The job is completed upstream, then its 100,000 lines are written straight into the dashboard's
SQLite cache (as the poller's bulk insert would, search index triggers included: the poller takes
minutes to read a burst that size, and bench/live_long_log.py already times that). Measured:

- time to a usable page: from the navigation's start to the viewer having opened at the log's end
  (data-ready on [data-log-viewer]);
- search: from typing a word found only on one line in the unloaded middle to that line shown as
  the current match (the typing's 250 ms pause before asking the server included);
- frame times while wheel-scrolling through the log (windows loading and going as it moves), from
  requestAnimationFrame deltas, and the longest task the browser reported;
- the page's JS heap and DOM size after all that.
"""

import os
import sqlite3
import time
from datetime import datetime, timedelta

from playwright.sync_api import sync_playwright

from bench.live_scene import LiveScene, build, chromium, percentile, sign_in

LINES = int(os.environ.get("BENCH_LINES", "100000"))
RUNS = 3
NEEDLES = {
    LINES * 3 // 10 + 17: "kiwi-needle",
    LINES // 2 + 3: "mango-needle",
    LINES * 7 // 10 + 1: "papaya-needle",
}

FRAMES = """() => {
  window.benchFrames = []; window.benchLong = 0;
  new PerformanceObserver(list => list.getEntries().forEach(e => {
    window.benchLong = Math.max(window.benchLong, e.duration);
  })).observe({type: "longtask", buffered: false});
  let last = performance.now();
  const tick = now => {
    window.benchFrames.push(now - last); last = now;
    if (window.benchFrames.length < 100000) requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
}"""


def insert_log(scene: LiveScene) -> None:
    path = scene.stack.env["DATABASE_URL"].removeprefix("sqlite:///")
    start = datetime(2026, 1, 1)
    with sqlite3.connect(path, timeout=60) as db:
        (job_pk,) = db.execute(
            "SELECT id FROM tracking_trackedjob WHERE job_id = ?", (scene.job_id,)
        ).fetchone()
        db.executemany(
            "INSERT INTO tracking_logline (job_id, upstream_id, number, level, message, truncated, logged_at)"
            " VALUES (?, ?, ?, ?, ?, 0, ?)",
            (
                (
                    job_pk,
                    1_000_000 + n,
                    n,
                    "error" if n % 9973 == 0 else "info",
                    NEEDLES.get(n, f"\x1b[32mstep {n}\x1b[0m of the build: compiling module {n % 311}"),
                    (start + timedelta(milliseconds=n * 10)).isoformat(sep=" "),
                )
                for n in range(1, LINES + 1)
            ),
        )


def main() -> None:
    scene = build()
    try:
        client = scene.session()
        client.get(scene.page_path).raise_for_status()  # tracked from now on
        # Completed first, then filled: the poller is done with a finished job and never holds the
        # database while the lines go in.
        scene.complete()
        while "completed" not in client.get(scene.page_path).text:
            time.sleep(0.5)
        insert_log(scene)
        # The two requests a search makes, on their own: the search, then the window around the match.
        server = []
        for number, needle in NEEDLES.items():
            start = time.perf_counter()
            client.get(f"{scene.page_path}search", params={"q": needle}, timeout=600).raise_for_status()
            searched = time.perf_counter()
            client.get(f"{scene.page_path}lines", params={"from": number - 250, "to": number + 250})
            server.append((searched - start, time.perf_counter() - searched))
        client.close()
        url = f"{scene.stack.url}{scene.page_path}"
        with sync_playwright() as playwright:
            browser = chromium(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 800})
            sign_in(page, scene)
            usable = []
            for _ in range(RUNS):
                start = time.perf_counter()
                page.goto(url, wait_until="commit")
                page.wait_for_selector("[data-log-viewer][data-ready=true]", timeout=60_000)
                usable.append(time.perf_counter() - start)
            found = []
            for number, needle in NEEDLES.items():
                page.goto(url)
                page.wait_for_selector("[data-log-viewer][data-ready=true]")
                start = time.perf_counter()
                page.get_by_label("Search the log").fill(needle)  # typed at once, as a paste
                try:
                    # Looked for at every frame: wait_for_selector polls at growing intervals (the
                    # last 500 ms), which rounded every time here up to about 0.85 s.
                    page.wait_for_function(
                        f"() => {{ const row = document.querySelector('#L{number}.log-match-current');"
                        " return Boolean(row && row.checkVisibility()); }",
                        polling="raf",
                        timeout=600_000,
                    )
                except Exception:
                    said = page.locator(".logviewer-find-count").inner_text()
                    raise RuntimeError(
                        f"line {number} not shown as the match; the viewer says {said!r}"
                    ) from None
                found.append(time.perf_counter() - start)
            page.goto(url)
            page.wait_for_selector("[data-log-viewer][data-ready=true]")
            box = page.locator(".logviewer-scroll").bounding_box()
            assert box is not None  # the log is on the page
            page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            page.evaluate(FRAMES)
            for _ in range(150):  # upwards from the end, a long flick at a time
                page.mouse.wheel(0, -3000)
                page.wait_for_timeout(16)
            page.locator(".logviewer-scroll").evaluate("s => { s.scrollTop = s.scrollHeight / 2; }")
            for _ in range(150):
                page.mouse.wheel(0, 1500)
                page.wait_for_timeout(16)
            frames = page.evaluate("window.benchFrames.slice(1)")
            longest_task = page.evaluate("window.benchLong")
            heap = page.evaluate("performance.memory ? performance.memory.usedJSHeapSize : 0")
            nodes = page.evaluate("document.getElementsByTagName('*').length")
            rows = page.locator("#log-lines > .log-line").count()
            browser.close()
    finally:
        scene.stop()
    print(f"The log viewer on a {LINES:,}-line log in Chromium (1280x800):")
    runs = ", ".join(f"{t:.2f}" for t in usable)
    print(f"  usable after {min(usable):.2f} s (best of {RUNS}; runs: {runs} s)")
    print(
        f"  typing a search to the match in the unloaded middle shown: {max(found):.2f} s at worst "
        f"(runs: {', '.join(f'{t:.2f}' for t in found)} s; goal 1 s)"
    )
    print(
        "  of which the server: "
        + ", ".join(
            f"search {search * 1000:.0f} ms + window {window * 1000:.0f} ms" for search, window in server
        )
    )
    slow = sum(1 for frame in frames if frame > 50)
    print(
        f"  frames while scrolling: {len(frames)}, median {percentile(frames, 0.5):.1f} ms, "
        f"p95 {percentile(frames, 0.95):.1f} ms, worst {max(frames):.1f} ms, {slow} over 50 ms "
        f"(goal under 50 ms); longest task {longest_task:.0f} ms"
    )
    print(f"  then: JS heap {heap / 2**20:.1f} MiB, {nodes:,} elements, {rows:,} rows in the page")


if __name__ == "__main__":
    main()
