"""Helpers of the poller tests: jobs in the live sandbox, tracked as the views register them, and a
worker that moves them through their statuses one step at a time."""

from dataclasses import dataclass

import httpx
from asgiref.sync import async_to_sync
from django.utils import timezone

from dashboard.services import nexical
from dashboard.tracking.interest import JobPath, Names, track_job
from dashboard.tracking.models import Reason, TrackedJob
from dashboard.tracking.poller import PassSummary, Poller
from tests.support.orchestrator_cast import Cast, Person, person


@dataclass
class Branch:
    cast: Cast
    project: dict
    branch: dict

    @property
    def path(self) -> JobPath:
        return JobPath(self.cast.team["id"], self.project["id"], self.branch["id"])

    @property
    def api_path(self) -> str:
        return "/teams/{}/projects/{}/branches/{}".format(*self.path)

    def new_job(self, inputs: dict | None = None) -> dict:
        return self.cast.job(self.project, self.branch, inputs=inputs)

    def track(self, person: Person, job: dict, reason: Reason = Reason.TRIGGERED) -> TrackedJob:
        names = Names(self.cast.team["name"], self.project["name"], self.branch["name"])
        return track_job(person.user, nexical.Job.model_validate(job), self.path, reason, names)


def new_branch(cast: Cast) -> Branch:
    project = cast.project()
    return Branch(cast=cast, project=project, branch=cast.branch(project))


class Worker:
    """The team's own worker, driven by the test: acquire, log, complete or fail."""

    def __init__(self, cast: Cast):
        # Enrolled by a system user made without a password: hashing one is slow on a busy machine.
        system = httpx.Client(
            base_url=cast.sandbox.nexical_url,
            headers={"Authorization": f"Bearer {person(cast.sandbox, role='system').upstream['token']}"},
            timeout=30,
        )
        enrollment = system.post(
            "/admin/enrollment-tokens", json={"teamId": cast.team["id"], "name": "tests"}
        )
        session = system.post(
            "/auth/worker/enroll",
            json={"token": enrollment.raise_for_status().json()["token"], "metadata": {}},
        )
        self.http = httpx.Client(
            base_url=cast.sandbox.nexical_url,
            headers={"Authorization": f"Bearer {session.raise_for_status().json()['token']}"},
            timeout=30,
        )

    def acquire(self) -> dict:
        response = self.http.post("/workers/acquire", json={})
        response.raise_for_status()
        job = response.json()["job"]
        assert job is not None, "no pending job in the team's queue"
        return job

    def _prefix(self, job: dict) -> str:
        return (
            f"/teams/{job['teamId']}/projects/{job['projectId']}/branches/{job['branchId']}/jobs/{job['id']}"
        )

    def log(self, job: dict, *messages: str, level: str = "info") -> None:
        for message in messages:
            self.http.post(
                f"{self._prefix(job)}/logs", json={"message": message, "level": level}
            ).raise_for_status()

    def complete(self, job: dict) -> None:
        self.http.post(
            f"{self._prefix(job)}/complete", json={"outputs": {"url": "https://x.example"}}
        ).raise_for_status()

    def fail(self, job: dict, error: str = "Step failed: exit code 1") -> None:
        self.http.post(f"{self._prefix(job)}/fail", json={"error": error}).raise_for_status()


def one_pass(poller: Poller) -> PassSummary:
    """One poller pass, its database work in this (the test's) thread."""
    return async_to_sync(poller.run_pass)()


def make_due() -> None:
    """Time passes: every tracked job is due now and its status is stale."""
    TrackedJob.objects.update(next_poll_at=timezone.now(), status_checked_at=None)


def revoke_tokens(cast: Cast, person: Person) -> None:
    """The person revokes their API tokens upstream (as they would after a leak)."""
    api = cast.api(person)
    for token in api.get("/auth/tokens")["tokens"]:
        api.http.delete(f"/auth/tokens/{token['id']}").raise_for_status()


def upstream_gets(counts: dict[str, int]) -> dict[str, int]:
    return {path: count for path, count in counts.items() if path.startswith("GET ")}
