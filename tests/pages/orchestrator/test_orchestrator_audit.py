"""The audit log of the Nexical pages: one row per action with its result, and the team's log page."""

import csv
import io
from datetime import timedelta

import pytest
from asgiref.sync import async_to_sync
from django.http import StreamingHttpResponse
from django.test import AsyncClient
from django.urls import reverse
from django.utils import timezone

from dashboard.audit import AuditEntry, record
from tests.support.helpers import unique
from tests.support.orchestrator_cast import as_user

pytestmark = pytest.mark.django_db


def team_url(cast) -> str:
    return reverse("orchestrator:team_detail", args=[cast.team["id"]])


def audit_url(cast) -> str:
    return reverse("orchestrator:team_audit", args=[cast.team["id"]])


def project_url(cast, project) -> str:
    return reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])


def branch_url(cast, project, branch) -> str:
    return reverse("orchestrator:branch_detail", args=[cast.team["id"], project["id"], branch["id"]])


# Each action: (url, form) to post as the team's owner, given the cast; the scene is set upstream first.
def _rename(cast):
    return team_url(cast), {"name": "Renamed team", "slug": cast.team["slug"], "rename": "1"}


def _invite(cast):
    return team_url(cast), {"email": f"{unique('new')}@example.com", "role": "member", "invite": "1"}


def _revoke_invite(cast):
    email = f"{unique('gone')}@example.com"
    invite = cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": email})["invitation"]
    return team_url(cast), {"id": invite["id"], "revoke_invite": "1", "confirmed": "1"}


def _change_role(cast):
    return team_url(cast), {"user_id": cast.member.id, "role": "admin", "change_role": "1"}


def _remove_member(cast):
    return team_url(cast), {"user_id": cast.member.id, "remove_member": "1", "confirmed": "1"}


def _remove_the_owner(cast):
    # Nexical never removes a team's owner: a real upstream refusal (403).
    return team_url(cast), {"user_id": cast.owner.id, "remove_member": "1", "confirmed": "1"}


def _create_project(cast):
    form = {"name": unique("app"), "repo_url": "https://git.example.com/a.git", "mode": "managed"}
    return team_url(cast), {**form, "create_project": "1"}


def _update_project(cast):
    project = cast.project()
    form = {"name": project["name"], "repo_url": "https://git.example.com/b.git", "mode": "self_hosted"}
    return project_url(cast, project), {**form, "update_project": "1"}


def _delete_project(cast):
    project = cast.project()
    return project_url(cast, project), {"confirm": project["name"], "delete_project": "1"}


def _create_branch(cast):
    return project_url(cast, cast.project()), {"name": "feature", "create_branch": "1"}


def _delete_branch(cast):
    project = cast.project()
    branch = cast.branch(project, "old")
    return project_url(cast, project), {"id": branch["id"], "delete_branch": "1", "confirmed": "1"}


def _trigger_job(cast):
    project = cast.project()
    return branch_url(cast, project, cast.branch(project)), {
        "type": "deploy",
        "inputs": "{}",
        "create_job": "1",
    }


def _delete_team(cast):
    return team_url(cast), {"confirm": cast.team["slug"], "delete": "1"}


def _create_team(cast):
    slug = unique("team")
    return reverse("orchestrator:team_list"), {"name": f"Team {slug}", "slug": slug, "create": "1"}


def _create_token(cast):
    return reverse("orchestrator:api_tokens"), {"name": unique("ci"), "scopes": ["read"], "generate": "1"}


def _revoke_token(cast):
    token = cast.api(cast.owner).post("/auth/tokens", {"name": unique("old"), "scopes": ["read"]})
    return reverse("orchestrator:api_tokens"), {"id": token["id"], "revoke": "1", "confirmed": "1"}


ACTIONS = [
    # (scene, action, result, on the team)
    (_rename, "team.rename", "done", True),
    (_invite, "team.invite.create", "done", True),
    (_revoke_invite, "team.invite.revoke", "done", True),
    (_change_role, "team.member.role", "done", True),
    (_remove_member, "team.member.remove", "done", True),
    (_remove_the_owner, "team.member.remove", "refused", True),
    (_create_project, "project.create", "done", True),
    (_update_project, "project.update", "done", True),
    (_delete_project, "project.delete", "done", True),
    (_create_branch, "branch.create", "done", True),
    (_delete_branch, "branch.delete", "done", True),
    (_trigger_job, "job.trigger", "done", True),
    (_delete_team, "team.delete", "done", True),
    (_create_team, "team.create", "done", False),
    (_create_token, "token.create", "done", False),
    (_revoke_token, "token.revoke", "done", False),
]


@pytest.mark.parametrize(
    ("scene", "action", "result", "on_team"), ACTIONS, ids=[f"{a[1]}-{a[2]}" for a in ACTIONS]
)
def test_each_action_writes_exactly_one_row_with_its_result(client, cast, scene, action, result, on_team):
    url, form = scene(cast)
    as_user(client, cast.owner)
    AuditEntry.objects.all().delete()  # signing in is a row of its own
    response = client.post(url, form)
    assert response.status_code in (200, 302, 403), response.content.decode()[:500]
    rows = list(AuditEntry.objects.all())
    assert [(row.action, row.result) for row in rows] == [(action, result)]
    row = rows[0]
    assert row.user == cast.owner.user and row.nexical_user_id == cast.owner.id
    assert row.nexical_email == cast.owner.email and row.ip == "127.0.0.1"
    if on_team:
        assert row.team_id == cast.team["id"]


def test_an_upstream_failure_is_recorded_as_failed(client, cast, sandbox):
    url, form = _trigger_job(cast)
    as_user(client, cast.owner)
    AuditEntry.objects.all().delete()
    sandbox.set_knobs(scope="nexical", error_rate=1.0)
    response = client.post(url, form)
    assert response.status_code == 502
    row = AuditEntry.objects.get()
    assert (row.action, row.result, row.detail["error"]) == ("job.trigger", "failed", "APIError")


def test_a_member_action_names_the_member_by_the_email_nexical_lists(client, cast):
    as_user(client, cast.owner).post(team_url(cast), _change_role(cast)[1])
    client.post(team_url(cast), _remove_member(cast)[1])
    for action in ("team.member.role", "team.member.remove"):
        row = AuditEntry.objects.get(action=action)
        assert (row.target, row.detail["user_id"]) == (cast.member.email, cast.member.id)


def test_a_created_project_is_recorded_with_its_id(client, cast):
    url, form = _create_project(cast)
    response = as_user(client, cast.owner).post(url, form)
    project_id = int(response.url.rstrip("/").rsplit("/", 1)[1])
    assert AuditEntry.objects.get(action="project.create").project_id == project_id


# --- the team's log page ---------------------------------------------------------------------------


def test_the_owner_and_admins_read_the_log_members_and_outsiders_do_not(client, cast):
    record(None, "team.rename", user=cast.owner.user, team_id=cast.team["id"], target="Visible row")
    for someone in (cast.owner, cast.admin):
        page = as_user(client, someone).get(audit_url(cast))
        assert page.status_code == 200 and "Visible row" in page.content.decode()
    refused = as_user(client, cast.member).get(audit_url(cast))
    assert refused.status_code == 403
    assert "Only the team&#x27;s owner and admins can read its audit log." in refused.content.decode()
    assert "Visible row" not in refused.content.decode()
    assert as_user(client, cast.outsider).get(audit_url(cast)).status_code == 404
    assert as_user(client, cast.member).get(audit_url(cast) + "?format=csv").status_code == 403


def test_the_team_page_links_the_log_for_admins_only(client, cast):
    assert audit_url(cast) in as_user(client, cast.admin).get(team_url(cast)).content.decode()
    assert audit_url(cast) not in as_user(client, cast.member).get(team_url(cast)).content.decode()


def test_the_log_shows_only_this_team_newest_first_and_filters(client, cast):
    team = cast.team["id"]
    old = record(None, "team.rename", user=cast.owner.user, team_id=team, target="first")
    AuditEntry.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    record(None, "team.member.remove", user=cast.admin.user, team_id=team, target="second")
    record(None, "team.rename", user=cast.admin.user, team_id=team + 1000, target="another team")
    page = as_user(client, cast.owner).get(audit_url(cast)).content.decode()
    assert page.index("<td>second") < page.index("<td>first") and "another team" not in page

    def shown(query: str) -> list[str]:
        response = client.get(audit_url(cast) + query)
        assert response.status_code == 200
        return [t for t in ("first", "second") if f"<td>{t}" in response.content.decode()]

    assert shown(f"?person={cast.admin.user.username}") == ["second"]
    assert shown("?action=team.rename") == ["first"]
    today = timezone.now().date()
    assert shown(f"?since={today}") == ["second"]
    assert shown(f"?until={today - timedelta(days=1)}") == ["first"]
    assert shown("?result=refused") == []


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ("?since=2026-05-02&until=2026-05-01", "The end date is before the start date."),
        ("?since=yesterday", "Enter a valid date."),
        ("?action=team.explode", "Select a valid choice."),
        ("?person=nobody-here", "Select a valid choice."),
    ],
)
def test_bad_filters_are_refused_with_a_sentence(client, cast, query, error):
    record(None, "team.rename", user=cast.owner.user, team_id=cast.team["id"])
    response = as_user(client, cast.owner).get(audit_url(cast) + query)
    assert response.status_code == 400
    assert error in response.content.decode()


def test_the_log_is_paginated(client, cast):
    AuditEntry.objects.bulk_create(
        AuditEntry(action="team.rename", team_id=cast.team["id"], target=f"row {n}") for n in range(55)
    )
    first = as_user(client, cast.owner).get(audit_url(cast)).content.decode()
    assert "Page 1 of 2" in first and 'rel="next"' in first
    second = client.get(audit_url(cast) + "?page=2").content.decode()
    assert second.count('data-action="team.rename"') == 5


def test_the_csv_export_streams_the_filtered_rows(client, cast):
    team = cast.team["id"]
    record(None, "team.rename", user=cast.owner.user, team_id=team, target="=HYPERLINK(1)")
    record(None, "team.member.remove", user=cast.owner.user, team_id=team, target="grace@example.com")
    as_user(client, cast.owner)

    async def download(query: str) -> tuple[StreamingHttpResponse, list[str]]:
        browser = AsyncClient()
        await browser.aforce_login(cast.owner.user)
        response = await browser.get(audit_url(cast) + query)
        chunks = [chunk.decode() async for chunk in response.streaming_content]
        return response, chunks

    response, chunks = async_to_sync(download)("?format=csv&action=team.rename")
    assert isinstance(response, StreamingHttpResponse) and response.is_async
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert "attachment" in response["Content-Disposition"]
    rows = list(csv.reader(io.StringIO("".join(chunks))))
    assert rows[0][:3] == ["time (UTC)", "user", "nexical email"]
    assert len(rows) == 2  # the header and the one team.rename row
    assert rows[1][1] == cast.owner.user.username and rows[1][5] == "team.rename"
    assert rows[1][9] == "'=HYPERLINK(1)"  # a spreadsheet shows it as text, never runs it
