"""The cast of the orchestrator page tests: a team with an owner, an admin and a member, plus an outsider.

Everything is made in the live sandbox over HTTP, the way a user would: the owner creates the team
and invites the others by email (an existing account joins at once, per the contract).
"""

from dataclasses import dataclass

import httpx

from dashboard.accounts.connections import save_connection
from dashboard.accounts.models import Service
from tests.support.helpers import dashboard_user, new_nexical_user, unique
from tests.support.sandbox_process import Sandbox


@dataclass
class Person:
    user: object  # the dashboard user, connected to Nexical
    upstream: dict  # {"user": {...}, "token": "nx_..."}

    @property
    def email(self) -> str:
        return self.upstream["user"]["email"]

    @property
    def id(self) -> str:
        return self.upstream["user"]["id"]


class Upstream:
    """A few direct calls to the sandbox's Nexical API, for setting the scene only."""

    def __init__(self, sandbox, person: Person):
        self.http = httpx.Client(
            base_url=sandbox.nexical_url,
            headers={"Authorization": f"Bearer {person.upstream['token']}"},
            timeout=10,
        )

    def post(self, path: str, body: dict) -> dict:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def get(self, path: str) -> dict:
        response = self.http.get(path)
        response.raise_for_status()
        return response.json()


@dataclass
class Cast:
    owner: Person
    admin: Person
    member: Person
    outsider: Person
    team: dict
    sandbox: Sandbox

    def api(self, person: Person) -> Upstream:
        return Upstream(self.sandbox, person)

    def project(self, name: str | None = None, **fields) -> dict:
        # Self-hosted by default: its jobs wait in the team's private queue, so the sandbox's
        # simulated public worker (switched on by the journeys) never has to get through them.
        body = {
            "name": name or unique("app"),
            "repoUrl": "https://git.example.com/app.git",
            "mode": "self_hosted",
        }
        body.update(fields)
        return self.api(self.owner).post(f"/teams/{self.team['id']}/projects", body)["project"]

    def branch(self, project: dict, name: str = "main") -> dict:
        path = f"/teams/{self.team['id']}/projects/{project['id']}/branches"
        return self.api(self.owner).post(path, {"name": name})["branch"]

    def job(self, project: dict, branch: dict, type: str = "deploy", inputs: dict | None = None) -> dict:
        path = f"/teams/{self.team['id']}/projects/{project['id']}/branches/{branch['id']}/jobs"
        return self.api(self.owner).post(path, {"type": type, "inputs": inputs or {}})["job"]


def upstream_user(sandbox, role: str = "user") -> dict:
    """A fresh Nexical user: {"user": {...}, "token": "nx_..."}.

    Like tests.support.helpers.new_nexical_user, but without a password (it signs in with its token only),
    which spares the sandbox a password hash for each of the many people made here.
    """
    response = httpx.post(
        f"{sandbox.url}/_sandbox/nexical/users",
        json={"email": f"{unique('person')}@example.com", "fullName": "Test Person", "role": role},
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        timeout=10,
    )
    response.raise_for_status()
    return response.json()


def connected(upstream: dict) -> Person:
    """A fresh dashboard user connected to this Nexical user."""
    user = dashboard_user()
    save_connection(
        user,
        Service.NEXICAL,
        secret=upstream["token"],
        account_id=upstream["user"]["id"],
        account_label=upstream["user"]["email"],
        account_role=upstream["user"]["role"],
    )
    return Person(user=user, upstream=upstream)


def person(sandbox, role: str = "user") -> Person:
    """A dashboard user connected to a fresh Nexical user."""
    return connected(upstream_user(sandbox, role))


def cast_users(sandbox) -> list[dict]:
    """The Nexical users of a cast (owner, admin, member, outsider): several casts may share them,
    each with a team of its own, since making them is most of what a cast costs the sandbox."""
    return [upstream_user(sandbox) for _ in range(4)]


def make_cast(sandbox, users: list[dict] | None = None) -> Cast:
    """A new team with its owner, admin and member, and an outsider; `users` (from cast_users)
    are the Nexical users to play them, fresh ones if not given."""
    owner, admin, member, outsider = (connected(upstream) for upstream in users or cast_users(sandbox))
    slug = unique("team")
    team = Upstream(sandbox, owner).post("/teams", {"name": f"Team {slug}", "slug": slug})["team"]
    for invited, role in ((admin, "admin"), (member, "member")):
        Upstream(sandbox, owner).post(f"/teams/{team['id']}/invites", {"email": invited.email, "role": role})
    return Cast(owner=owner, admin=admin, member=member, outsider=outsider, team=team, sandbox=sandbox)


def team_worker(cast: Cast) -> httpx.Client:
    """A worker enrolled for the cast's team: it takes only the team's self-hosted jobs, so jobs
    other tests leave pending in the shared sandbox never reach it."""
    system = new_nexical_user(cast.sandbox, role="system")
    admin = httpx.Client(
        base_url=cast.sandbox.nexical_url, headers={"Authorization": f"Bearer {system['token']}"}, timeout=10
    )
    enrollment = admin.post("/admin/enrollment-tokens", json={"teamId": cast.team["id"], "name": "tests"})
    enrollment.raise_for_status()
    session = httpx.post(
        f"{cast.sandbox.nexical_url}/auth/worker/enroll",
        json={"token": enrollment.json()["token"], "metadata": {"name": unique("worker")}},
        timeout=10,
    )
    session.raise_for_status()
    return httpx.Client(
        base_url=cast.sandbox.nexical_url,
        headers={"Authorization": f"Bearer {session.json()['token']}"},
        timeout=10,
    )


def as_user(client, someone: Person):
    """The Django test client, signed in as this person."""
    client.force_login(someone.user)
    return client
