"""Time until a 100,000-line log's page is usable in Chromium.

The job's 100,000 lines are written upstream in one burst and cached by the poller; then Chromium
opens the job's page. "Usable" is when the log viewer's script has set itself up with the log's
last line on screen (the tools work from then on); the time runs from the navigation's start.
"""

import time

from playwright.sync_api import sync_playwright

from bench.live_scene import build, chromium, sign_in

LINES = 100_000
RUNS = 3


def main() -> None:
    scene = build()
    try:
        client = scene.session()
        client.get(scene.page_path).raise_for_status()  # tracked from now on
        client.close()
        scene.burst(LINES)
        scene.complete()
        deadline = time.monotonic() + 600
        while scene.cached_lines() < LINES:
            if time.monotonic() > deadline:
                raise RuntimeError(f"the poller cached only {scene.cached_lines()} lines in 10 minutes")
            time.sleep(1)
        with sync_playwright() as playwright:
            browser = chromium(playwright)
            page = browser.new_page()
            sign_in(page, scene)
            timings, size = [], 0
            for _ in range(RUNS):
                start = time.perf_counter()
                response = page.goto(f"{scene.stack.url}{scene.page_path}", wait_until="commit")
                page.wait_for_selector(f".logviewer-js #L{LINES}", state="visible", timeout=60_000)
                timings.append(time.perf_counter() - start)
                assert response is not None, "the job page did not answer"
                size = len(response.body())
            found = time.perf_counter()
            page.fill(".logviewer-find input", f"burst line {LINES - 5}")
            page.keyboard.press("Enter")
            page.wait_for_selector(".log-match-current")
            find = time.perf_counter() - found
            browser.close()
    finally:
        scene.stop()
    runs = ", ".join(f"{t:.2f}" for t in timings)
    print(f"A {LINES:,}-line log's page in Chromium ({size / 1024:.0f} KiB of HTML, the middle on demand):")
    print(f"  usable after {min(timings):.2f} s (best of {RUNS}; runs: {runs} s)")
    print(f"  then finding a line near the end takes {find:.2f} s")


if __name__ == "__main__":
    main()
