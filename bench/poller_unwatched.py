"""The poller's upstream calls for 20 running jobs nobody has open, against the seed's pattern.

The seed's own pattern polls each job with one GET every 2 s: 30 calls per job per minute (as
bench/poller_branch.py counts it). A running job whose page nobody views has its status read with
its branch's list, and its log only every settings.POLLER_UNWATCHED_LOG_SECONDS (a minute) and once
when it ends; all its calls together should cost at most a tenth of the seed's pattern. Measured over
--seconds (default 120: two of the log reads' minute) with 50 ms of upstream latency, 20 jobs on one branch
each writing a line every 2 s. Then the jobs end, and the bench checks that the cache holds every
line they wrote (the fetch after the end brings what the rare reads left upstream).

    make bench        (or: .venv/bin/python -m bench.poller_unwatched [--seconds 120] [--latency-ms 50])
"""

import argparse
import functools
import threading
import time
from collections import Counter
from typing import Any

from bench.poller_branch import JOBS, SEED_CALLS_PER_JOB_MINUTE, measure
from bench.tracking_scene import Scene, build_scene, dashboard_user, every, track

GOAL = 0.1


def all_cached(scene: Scene, written: Counter[int], timeout: float = 60) -> bool:
    """Whether, within `timeout` of the jobs ending, every job's log is complete and whole."""
    from dashboard.tracking.models import TrackedJob

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        jobs = list(TrackedJob.objects.filter(job_id__in=written))
        if len(jobs) == len(written) and all(
            job.logs_complete and job.log_lines.count() == written[job.job_id] for job in jobs
        ):
            return True
        time.sleep(0.5)
    return False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    scene = build_scene(args.latency_ms)
    try:
        owner = dashboard_user(scene.owner_token, "owner")
        jobs = [scene.new_job() for _ in range(JOBS)]
        for job in jobs:
            track(scene, owner, job, "triggered")  # followed, never opened: nobody views them
        running = [scene.acquire() for _ in jobs]
        written: Counter[int] = Counter()
        lock = threading.Lock()

        def write(job: dict[str, Any], index: int) -> None:
            scene.log(job, f"job {index}: working")
            with lock:
                written[job["id"]] += 1

        stop = threading.Event()
        writers = []
        for index, job in enumerate(running):
            time.sleep(2 / JOBS)  # the writers spread across the interval
            writers.append(every(2, functools.partial(write, job, index), stop))
        print(f"Poller upstream calls, {JOBS} running jobs nobody views, {args.latency_ms} ms latency")
        seed = f"{SEED_CALLS_PER_JOB_MINUTE:.0f} per job per minute"
        print(f"  the seed's pattern: one GET per job every 2 s = {seed}")
        figures = measure(scene, running, args.seconds)
        stop.set()
        for writer in writers:
            writer.join()
        total = figures["status"] + figures["logs"]
        print(f"    status calls  {figures['status']:6.2f} per job per minute")
        print(f"    log calls     {figures['logs']:6.2f} per job per minute")
        print(
            f"    all calls     {total:6.2f} per job per minute   "
            f"ratio to the seed's pattern {total / SEED_CALLS_PER_JOB_MINUTE:.3f}  (goal <= {GOAL})"
        )
        scene.start_poller()
        for job in running:
            scene.complete(job)
        whole = all_cached(scene, written)
        print(f"  after the jobs ended, every written line is cached: {'yes' if whole else 'NO'}")
    finally:
        scene.stop_poller()
        scene.sandbox.stop()


if __name__ == "__main__":
    main()
