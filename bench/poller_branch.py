"""The poller's upstream calls per tracked job per minute, 20 jobs on one branch.

The seed's own pattern polls each job with one GET every 2 s: 30 calls per job per minute. The
poller updates every job of a branch with one job-list call, so its status calls should cost at
most a tenth of that. Two cases are measured, each over --seconds with 50 ms of upstream latency:
20 jobs waiting in the queue (pending), and 20 jobs running and writing a line every 2 s each
(their logs are fetched too, with the `after` cursor, every few seconds: counted apart, since the
seed's pattern fetches no logs at all).

    make bench        (or: .venv/bin/python -m bench.poller_branch [--seconds 60] [--latency-ms 50])
"""

import argparse
import functools
import threading
import time
from typing import Any

from bench.tracking_scene import Scene, build_scene, dashboard_user, every, track

JOBS = 20
SEED_CALLS_PER_JOB_MINUTE = 60 / 2  # one GET per job every 2 s


def measure(scene: Scene, jobs: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    """Poller GETs per job per minute over `seconds`, split into status calls and log calls."""
    scene.start_poller()
    time.sleep(3)  # the first pass and its catch-up are not the steady state
    scene.sandbox.reset_request_counts()
    time.sleep(seconds)
    counts = scene.get_counts()
    scene.stop_poller()
    per_job_minute = 60 / seconds / len(jobs)
    logs = sum(n for path, n in counts.items() if path.endswith("/logs"))
    status = sum(counts.values()) - logs
    return {"status": status * per_job_minute, "logs": logs * per_job_minute}


def report(name: str, figures: dict[str, float]) -> None:
    status, logs = figures["status"], figures["logs"]
    print(f"  {name}")
    print(
        f"    status calls  {status:6.2f} per job per minute   "
        f"ratio to the seed's pattern {status / SEED_CALLS_PER_JOB_MINUTE:.3f}  (goal <= 0.1)"
    )
    print(
        f"    log calls     {logs:6.2f} per job per minute   "
        f"all calls: ratio {(status + logs) / SEED_CALLS_PER_JOB_MINUTE:.3f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    scene = build_scene(args.latency_ms)
    try:
        owner = dashboard_user(scene.owner_token, "owner")
        jobs = [scene.new_job() for _ in range(JOBS)]
        for job in jobs:
            track(scene, owner, job, "triggered")
        print(f"Poller upstream calls, {JOBS} tracked jobs on one branch, {args.latency_ms} ms latency")
        seed = f"{SEED_CALLS_PER_JOB_MINUTE:.0f} per job per minute"
        print(f"  the seed's pattern: one GET per job every 2 s = {seed}")
        report("20 pending jobs (waiting in the queue)", measure(scene, jobs, args.seconds))

        running = [scene.acquire() for _ in jobs]
        stop = threading.Event()
        writers = []
        for index, job in enumerate(running):
            # Each job writes a line every 2 s, the writers spread across the interval.
            time.sleep(2 / JOBS)
            writers.append(every(2, functools.partial(scene.log, job, f"job {index}: working"), stop))
        report("20 running jobs, each writing a line every 2 s", measure(scene, running, args.seconds))
        stop.set()
        for writer in writers:  # before the sandbox stops under them
            writer.join()
    finally:
        scene.stop_poller()
        scene.sandbox.stop()


if __name__ == "__main__":
    main()
