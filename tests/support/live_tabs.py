"""What the browser tests of live tabs share: running jobs of one branch, followed by a dashboard
user "dev" on a stack that `make run` would start, and a page signed in as that user."""

from dataclasses import dataclass

from django.urls import reverse

from tests.support.helpers import PASSWORD
from tests.support.orchestrator_cast import make_cast, team_worker


@dataclass
class RunningJobs:
    ids: list[list[int]]  # team, project, branch and job id of each
    worker: object  # the team's worker client, which took the jobs

    def write(self, number: int, message: str) -> None:
        """A log line of job `number`, as its worker writes it."""
        path = "/teams/{}/projects/{}/branches/{}/jobs/{}/logs".format(*self.ids[number])
        self.worker.post(path, json={"message": message, "level": "info"}).raise_for_status()

    def url(self, stack, number: int) -> str:
        return stack.url + reverse("orchestrator:job_detail", args=self.ids[number])


def running_jobs(sandbox, stack, branch_name: str, count: int) -> RunningJobs:
    """`count` jobs of a new branch, all running (the poller reads the logs of running jobs), and the
    stack's user "dev" connected as the team's owner."""
    cast = make_cast(sandbox)
    stack.user("dev", PASSWORD, cast.owner.upstream["token"])
    project = cast.project(name="storefront")
    branch = cast.branch(project, branch_name)
    jobs = [cast.job(project, branch) for _ in range(count)]
    worker = team_worker(cast)
    for _ in jobs:
        worker.post("/workers/acquire", json={}).raise_for_status()
    return RunningJobs([[cast.team["id"], project["id"], branch["id"], job["id"]] for job in jobs], worker)


def signed_in_page(context, stack):
    """A new page of `context`, signed in as "dev" through the sign-in form."""
    page = context.new_page()
    page.goto(f"{stack.url}/accounts/login/")
    page.fill("input[name=username]", "dev")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    return page
