"""What each simulated person does: the dashboard's pages, live streams, deploys and task posts.

Run by `python -m loadtest` (run.py), which makes the people and hands their signed-in sessions over
in the JSON file named by LOADTEST_PLAN. Every request is named after its page kind; the report
gives each kind's percentiles. A person waits 1-3 s between actions, as someone reading would.

Locust runs this file under gevent: it imports nothing of the dashboard.
"""

import itertools
import json
import os
import random
import re
import time
from collections import deque
from typing import Any

from locust import HttpUser, between, task

PLAN: dict[str, Any] = json.loads(open(os.environ["LOADTEST_PLAN"]).read())  # noqa: SIM115 (read once)
_next_person = itertools.count()
# Job pages any member of the team may open: the latest deploys of everyone (one shared team).
RECENT_JOBS: deque[str] = deque(maxlen=30)
CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
STREAM_SECONDS = (5.0, 15.0)  # how long a person keeps a live job page open
TASK = {
    "task_type": "json_extraction",
    "input_data": "Globex reported Q2 revenue of $12.4 million, up 8% year over year.",
    "schema": json.dumps(
        {
            "type": "object",
            "properties": {"company": {"type": "string"}, "revenue": {"type": "string"}},
            "required": ["company", "revenue"],
            "additionalProperties": False,
        }
    ),
    "example_output": json.dumps({"company": "Apple Inc", "revenue": "$81.8 billion"}),
    "rules": "",
    "budget": "20",
    "max_seconds": "120",
    "quality_preference": "balanced",
    "min_skill_rating": "0",
    "pending_pool_hours": "24",
    "auto_retry": "3",
    "post": "1",
}


class Person(HttpUser):
    wait_time = between(1, 3)

    def on_start(self) -> None:
        person = PLAN["people"][next(_next_person) % len(PLAN["people"])]
        self.client.cookies.set(PLAN["session_cookie"], person["session"])
        self.tasks_posted: list[str] = []
        team, project, branch = PLAN["team_id"], PLAN["project_id"], PLAN["branch_id"]
        self.team_path = f"/teams/{team}/"
        self.project_path = f"{self.team_path}projects/{project}/"
        self.branch_path = f"{self.project_path}branches/{branch}/"

    def page(self, path: str, name: str) -> str | None:
        """GET a page; anything but a 200 (an error, a redirect to sign in) is a failure."""
        with self.client.get(path, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 200:
                response.failure(f"{name}: HTTP {response.status_code}")
                return None
            return response.text

    def post(self, path: str, name: str, form_page: str, fields: dict[str, str]) -> str | None:
        """POST a form as a browser does (its CSRF token from the page); returns where it redirected."""
        token = CSRF.search(form_page)
        if token is None:
            return None
        data = {"csrfmiddlewaretoken": token[1], **fields}
        with self.client.post(path, data, name=name, allow_redirects=False, catch_response=True) as response:
            if response.status_code != 302:
                response.failure(f"{name}: HTTP {response.status_code} instead of a redirect")
                return None
            location: str = response.headers["Location"]
            return location

    @task(6)
    def home(self) -> None:
        self.page("/", "home")

    @task(2)
    def teams(self) -> None:
        self.page("/teams/", "teams")

    @task(3)
    def team(self) -> None:
        self.page(self.team_path, "team")

    @task(3)
    def project(self) -> None:
        self.page(self.project_path, "project")

    @task(4)
    def branch(self) -> None:
        self.page(self.branch_path, "branch")

    @task(6)
    def job(self) -> None:
        if not RECENT_JOBS:
            self.deploy()
            return
        self.page(random.choice(RECENT_JOBS), "job")

    @task(3)
    def deployments(self) -> None:
        self.page("/deployments/", "deployments")

    @task(3)
    def task_list(self) -> None:
        self.page("/tasks/", "tasks")

    @task(3)
    def task_page(self) -> None:
        if not self.tasks_posted:
            self.post_task()
            return
        self.page(random.choice(self.tasks_posted), "task")

    @task(2)
    def credits(self) -> None:
        self.page("/credits/", "credits")

    @task(2)
    def usage(self) -> None:
        self.page("/credits/usage/", "usage")

    @task(2)
    def notifications(self) -> None:
        self.page("/notifications/", "notifications")

    @task(1)
    def connections(self) -> None:
        self.page("/settings/connections/", "connections")

    @task(3)
    def stream(self) -> None:
        """A live job page's stream: open it, read its events for a while, leave."""
        if not RECENT_JOBS:
            self.deploy()
            return
        path = random.choice(RECENT_JOBS) + "events"
        until = time.monotonic() + random.uniform(*STREAM_SECONDS)
        # A browser's EventSource waits as long as it takes; the timeouts only bound the run.
        with self.client.get(
            path, name="stream", stream=True, allow_redirects=False, catch_response=True, timeout=(10, 60)
        ) as response:
            if response.status_code != 200:
                response.failure(f"stream: HTTP {response.status_code}")
                return
            try:
                # Chunks as they arrive; a keepalive comes every 15 s, and a finished job's stream ends.
                for _ in response.iter_content(chunk_size=None):
                    if time.monotonic() > until:
                        break
            except Exception as error:  # a dropped stream is what the report must count
                response.failure(f"stream broke: {type(error).__name__}")

    @task(1)
    def deploy(self) -> None:
        """Trigger a deploy through the branch page's form, then open the job's page."""
        form_page = self.page(self.branch_path, "branch")
        if form_page is None:
            return
        fields = {"type": "deploy", "inputs": "", "create_job": ""}
        job_path = self.post(self.branch_path, "deploy", form_page, fields)
        if job_path:
            RECENT_JOBS.append(job_path)
            self.page(job_path, "job")

    @task(1)
    def post_task(self) -> None:
        """Post a NexusToken task through the task form, then open its page."""
        form_page = self.page("/tasks/new/", "task form")
        if form_page is None:
            return
        task_path = self.post("/tasks/new/", "task post", form_page, TASK)
        if task_path:
            self.tasks_posted.append(task_path)
            self.page(task_path, "task")
