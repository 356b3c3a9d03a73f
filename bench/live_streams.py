"""One web process serving 200 open streams of one running job.

Its memory (RSS), and the database queries it makes per second with 1 open stream and with 200:
quiet (no new line), and with the worker writing 2 lines a second (the process's watcher reads them
once; every stream takes them from its buffer). With lines arriving it also prints how many of the
window's lines the slowest stream had received when the window closed: whether the streams keep up.
"""

import asyncio
import json
import sys
import tempfile
import threading
import time
from pathlib import Path

import httpx

from bench.live_scene import LiveScene, build

STREAMS = 200
WINDOW = 10.0  # seconds per measurement
LINES_PER_SECOND = 2


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def measure(
    scene: LiveScene, cookies: dict[str, str], streams: int, count_file: Path, writing: bool
) -> tuple[float, float, int, int]:
    """(queries per second, RSS in MB, lines written in the window, lines the slowest stream got in
    it) with `streams` open streams, quiet or with lines arriving."""
    url = f"{scene.stack.url}{scene.page_path}events"
    limits = httpx.Limits(max_connections=streams + 5)
    async with httpx.AsyncClient(cookies=cookies, timeout=120, limits=limits) as client:
        opened = [client.stream("GET", url) for _ in range(streams)]
        responses = await asyncio.gather(*(stream.__aenter__() for stream in opened))
        codes = {response.status_code for response in responses}
        assert codes == {200}, codes
        received = [0] * streams
        lines = [0] * streams

        async def read(index: int, response: httpx.Response) -> None:
            event = None
            async for line in response.aiter_lines():
                if line.startswith("event: "):
                    received[index] += 1
                    event = line.removeprefix("event: ")
                elif line.startswith("data: ") and event == "line":
                    lines[index] += json.loads(line.removeprefix("data: "))["count"]

        readers = [asyncio.create_task(read(i, r)) for i, r in enumerate(responses)]
        while min(received) == 0:  # every stream has its first event
            await asyncio.sleep(0.1)
        await asyncio.sleep(2)
        stop = threading.Event()
        written = [0]
        if writing:
            threading.Thread(target=write_lines, args=(scene, stop, written), daemon=True).start()
        start, began, before = int(count_file.read_text()), time.monotonic(), list(lines)
        await asyncio.sleep(WINDOW)
        queries = (int(count_file.read_text()) - start) / (time.monotonic() - began)
        memory = rss_mb(scene.stack.pid("web"))
        stop.set()
        slowest = min(now - then for now, then in zip(lines, before, strict=True))
        for reader in readers:
            reader.cancel()
        await asyncio.gather(*(stream.__aexit__(None, None, None) for stream in opened))
    return queries, memory, written[0], slowest


def write_lines(scene: LiveScene, stop: threading.Event, written: list[int]) -> None:
    while not stop.wait(1 / LINES_PER_SECOND):
        written[0] += 1
        scene.log(f"bench line {written[0]}")


def main() -> None:
    count_file = Path(tempfile.mkdtemp(prefix="nexus-bench-count-")) / "queries"
    count_file.write_text("0")
    scene = build(web_command=[sys.executable, "-m", "bench.counting_web", "--count-file", str(count_file)])
    try:
        client = scene.session()
        client.get(scene.page_path).raise_for_status()  # the job is now tracked and viewed
        cookies = dict(client.cookies)
        client.close()
        idle = rss_mb(scene.stack.pid("web"))
        rows = {}
        for streams in (1, STREAMS):
            for writing in (False, True):
                rows[(streams, writing)] = asyncio.run(measure(scene, cookies, streams, count_file, writing))
    finally:
        scene.stop()
    print(f"One web process (uvicorn, SQLite), {STREAMS} open streams of one running job:")
    one_mb, many_mb = rows[(1, False)][1], rows[(STREAMS, False)][1]
    print(f"  memory: {idle:.0f} MB with no stream, {one_mb:.0f} MB with 1, {many_mb:.0f} MB with {STREAMS}")
    for writing, label in ((False, "quiet"), (True, f"{LINES_PER_SECOND} new lines/s")):
        one, many = rows[(1, writing)][0], rows[(STREAMS, writing)][0]
        print(f"  DB queries/s, {label}: {one:.1f} with 1 stream, {many:.1f} with {STREAMS}")
    for streams in (1, STREAMS):
        _, _, written, slowest = rows[(streams, True)]
        print(f"  lines received in the window by the slowest of {streams}: {slowest} of {written} written")


if __name__ == "__main__":
    main()
