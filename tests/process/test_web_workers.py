"""Several web processes and several pollers on one database, as the image runs them (uvicorn
--workers, pollers scaled out): a viewer on each web process sees the same new log lines live.

Each process has its own live-update watcher: on PostgreSQL it LISTENs for the pollers' NOTIFY, on
SQLite it watches the newest row ids of the shared file. The suite's PostgreSQL pass runs this on
PostgreSQL; the SQLite pass on one file shared by all four processes."""

import json
import os
import subprocess
import sys
import threading
import uuid

import httpx
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import PBKDF2PasswordHasher

from dashboard.accounts.models import Connection, Service
from dashboard.tracking.models import Reason
from tests.process.test_tracking_pollers import (  # noqa: F401 (fixtures used here)
    SHARED,
    Pollers,
    pollers,
    shared_database,
    track_in_shared,
    wait_until,
)
from tests.support.sandbox_process import ROOT, free_port
from tests.support.tracking_helpers import Worker, new_branch

pytestmark = [pytest.mark.django_db, pytest.mark.process]

PASSWORD = "web-workers-password-1"


class Web:
    """One web process (uvicorn) on the shared database."""

    def __init__(self, name: str, database_url: str, sandbox, group: Pollers):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {
            **os.environ,
            "DATABASE_URL": database_url,
            "NEXICAL_API_URL": sandbox.nexical_url,
            "NEXUSTOKEN_API_URL": sandbox.nexustoken_url,
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("DJANGO_SETTINGS_MODULE", None)
        log = (group.logs / f"web-{name}.log").open("w")
        command = [sys.executable, "-m", "uvicorn", "dashboard.asgi:application", "--port", str(self.port)]
        command += ["--timeout-graceful-shutdown", "5"]  # as make run: the open streams do not hold a stop
        self.process = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
        group.processes[f"web-{name}"] = self.process  # stopped, and its log shown, with the pollers

    def answers(self) -> bool:
        try:
            return httpx.get(f"{self.url}/accounts/login/", timeout=2).status_code == 200
        except httpx.TransportError:
            return False

    def session(self, username: str) -> httpx.Client:
        client = httpx.Client(base_url=self.url, timeout=30)
        client.get("/accounts/login/")
        client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": PASSWORD,
                "csrfmiddlewaretoken": client.cookies["csrftoken"],
            },
            headers={"Referer": f"{self.url}/accounts/login/"},
        )
        assert "sessionid" in client.cookies, f"could not sign in on {self.url}"
        return client


class Viewer:
    """An EventSource of the job's live log, read in a thread; keeps the text of every line event."""

    def __init__(self, client: httpx.Client, path: str):
        self.client, self.path = client, path
        self.lines: list[str] = []
        self.error = ""
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        try:
            headers = {"Accept": "text/event-stream"}
            with self.client.stream(
                "GET", self.path, headers=headers, timeout=httpx.Timeout(30, read=None)
            ) as sse:
                event = ""
                for line in sse.iter_lines():
                    if line.startswith("event: "):
                        event = line.removeprefix("event: ")
                    elif line.startswith("data: ") and event == "line":
                        self.lines.append(json.loads(line.removeprefix("data: "))["html"])
        except httpx.HTTPError as error:  # closed by the test at the end, or a real failure
            self.error = repr(error)

    def saw(self, text: str) -> bool:
        return any(text in html for html in self.lines)


def test_a_viewer_on_each_web_process_sees_the_same_lines_live(cast, pollers, shared_database):  # noqa: F811
    # Hashed as the web processes' settings expect (the suite's own settings use a fast hasher).
    hasher = PBKDF2PasswordHasher()
    user = get_user_model()(username=uuid.uuid4().hex[:12], password=hasher.encode(PASSWORD, hasher.salt()))
    user.save(using=SHARED)
    connection = Connection(user=user, service=Service.NEXICAL)
    connection.secret = cast.owner.upstream["token"]
    connection.save(using=SHARED)
    place = new_branch(cast)
    job = place.new_job()
    track_in_shared(cast, place, job, [(user, Reason.TRIGGERED)])
    worker = Worker(cast)
    webs = [Web(name, shared_database, cast.sandbox, pollers) for name in ("1", "2")]
    pollers.start("A")
    pollers.start("B")
    wait_until(
        lambda: all(web.answers() for web in webs), pollers, "both web processes answering", timeout=60
    )
    worker.acquire()
    worker.log(job, "before anyone watched")
    events = f"{place.api_path}/jobs/{job['id']}/events"
    sessions = [web.session(user.username) for web in webs]
    viewers = [Viewer(session, events) for session in sessions]
    try:
        wait_until(
            lambda: all(v.saw("before anyone watched") for v in viewers), pollers, "the first line on both"
        )
        for number in range(3):
            message = f"live line {number} {uuid.uuid4().hex[:6]}"
            worker.log(job, message)
            wait_until(
                lambda: all(v.saw(message) for v in viewers), pollers, f"{message!r} on both processes"
            )
        assert all(viewer.error == "" for viewer in viewers), [viewer.error for viewer in viewers]
    finally:
        for session in sessions:
            session.close()
    worker.complete(job)
