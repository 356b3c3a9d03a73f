"""Upstream GETs for one running job watched by 50 people, against 1 person.

Each viewer is a team member signed in to the dashboard, connected as connecting leaves them (their
Nexical account id stored): they open the job page (the first look at the job asks upstream with one
viewer's token; the others are found on the team's member list, read once) and then poll its live
updates every second (the fallback of the event stream: it reads only the local database). The
poller runs as its own process, as `make run` starts it. The job writes a line every 200 ms for
--seconds, then completes; every GET the sandbox serves in that time is counted.

    make bench        (or: .venv/bin/python -m bench.poller_viewers [--seconds 30] [--latency-ms 50])
"""

import argparse
import asyncio
import contextlib
import threading
from typing import TYPE_CHECKING

from bench.tracking_scene import Scene, build_scene, dashboard_user, every, new_person

if TYPE_CHECKING:  # for their types only: Django is set up when the benchmark runs
    from django.contrib.auth.models import User

VIEWERS = 50


def team_members(scene: Scene, count: int) -> list["User"]:
    """Dashboard users, each connected with the token of a fresh member of the scene's team."""
    users = []
    with scene.api() as owner:
        for number in range(count):
            person = new_person(scene.sandbox)
            invite = {"email": person["user"]["email"], "role": "member"}
            owner.post(f"/teams/{scene.team_id}/invites", json=invite).raise_for_status()
            users.append(dashboard_user(person["token"], f"viewer{number}", person["user"]["id"]))
    return users


async def watch(user: "User", url: str, updates_url: str, stop: asyncio.Event) -> int:
    """Open the job page, then poll its updates every second until `stop`; returns requests made."""
    from django.test import AsyncClient

    client = AsyncClient()
    await client.aforce_login(user)
    page = await client.get(url)
    assert page.status_code == 200, f"the job page answered {page.status_code}"
    after, requests = 0, 1
    while not stop.is_set():
        response = await client.get(updates_url, {"after": after})
        assert response.status_code == 200, f"updates answered {response.status_code}"
        after = response.json()["after"]
        requests += 1
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=1)
    return requests


def run_job(scene: Scene, users: list["User"], seconds: float) -> tuple[int, int, int]:
    """(the poller's upstream GETs, the viewers' upstream GETs, dashboard requests) while `users`
    watch one job from start to end."""
    from django.urls import reverse

    from dashboard.tracking.models import TrackedJob

    job = scene.new_job()
    ids = [scene.team_id, scene.project_id, scene.branch_id, job["id"]]
    url, updates_url = reverse("orchestrator:job_detail", args=ids), reverse("tracking:job_updates", args=ids)
    scene.sandbox.reset_request_counts()

    async def everyone() -> int:
        stop = asyncio.Event()
        watchers = [asyncio.create_task(watch(user, url, updates_url, stop)) for user in users]
        await asyncio.sleep(1)  # everyone has the page open
        running = scene.acquire()
        assert running["id"] == job["id"]
        writing = threading.Event()
        writer = every(0.2, lambda: scene.log(running, "building…"), writing)
        await asyncio.sleep(seconds)
        writing.set()
        await asyncio.to_thread(writer.join)  # its last line is written before the job completes
        await asyncio.to_thread(scene.complete, running)
        while not await TrackedJob.objects.filter(job_id=job["id"], logs_complete=True).aexists():
            await asyncio.sleep(0.2)
        stop.set()
        return sum(await asyncio.gather(*watchers))

    requests = asyncio.run(everyone())
    counts = scene.get_counts()
    # The poller lists the branch and tails the log; everything else is a viewer's access check.
    poller = sum(n for path, n in counts.items() if path.endswith(("/jobs", "/logs")))
    return poller, sum(counts.values()) - poller, requests


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()

    scene = build_scene(args.latency_ms)
    try:
        viewers = team_members(scene, VIEWERS)
        scene.start_poller()
        one = run_job(scene, viewers[:1], args.seconds)
        many = run_job(scene, viewers, args.seconds)
        print(f"Upstream GETs for one job running {args.seconds:.0f} s, {args.latency_ms} ms latency")
        for label, (poller, checks, requests) in ((" 1 viewer ", one), (f"{VIEWERS} viewers", many)):
            print(
                f"  {label}: {poller + checks:4d} upstream GETs = {poller:4d} by the poller + {checks:3d} "
                f"access checks and names ({requests} dashboard requests)"
            )
        print(f"  ratio, all GETs:        {sum(many[:2]) / sum(one[:2]):.2f}  (goal <= 1.1)")
        print(f"  ratio, the poller's:    {many[0] / one[0]:.2f}")
        print("  (the first view looks the job up; the team's member list, read once, admits the others)")
    finally:
        scene.stop_poller()
        scene.sandbox.stop()


if __name__ == "__main__":
    main()
