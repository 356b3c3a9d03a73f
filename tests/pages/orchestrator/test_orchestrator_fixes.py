"""Fixes from a new user's walk through the orchestrator pages: confirmations without JavaScript,
the dashboard's own API token, hostile job inputs, huge cursors, bare hosts, phones, one device name."""

import re

import httpx
import pytest
from django.urls import reverse

from dashboard.accounts.models import Connection
from dashboard.orchestrator.forms import JobForm, TokenForm
from tests.support.orchestrator_cast import as_user, person

pytestmark = pytest.mark.django_db


def team_url(cast) -> str:
    return reverse("orchestrator:team_detail", args=[cast.team["id"]])


def member_emails(cast) -> set[str]:
    members = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/members")["members"]
    return {member["email"] for member in members}


def dialog(page: str, dialog_id: str) -> str:
    """The markup of one <dialog>, with its opening tag."""
    match = re.search(rf'<dialog id="{re.escape(dialog_id)}"[^>]*>.*?</dialog>', page, re.S)
    assert match, f"no dialog {dialog_id}"
    return match[0]


# --- nothing destructive on one click, without JavaScript -------------------------------------------


@pytest.mark.parametrize(
    ("who", "status"),
    [("owner", 302), ("admin", 302), ("member", 403), ("outsider", 404)],
)
def test_it_asks_before_removing_a_member(client, cast, who, status):
    as_user(client, getattr(cast, who))
    target = cast.member if who != "member" else cast.admin
    asked = client.post(team_url(cast), {"user_id": target.id, "remove_member": "1"})
    if who == "outsider":
        assert asked.status_code == 302  # asked first; the page it leads to is a 404 for them
        assert client.get(asked.url).status_code == 404
        return
    assert asked.url == f"{team_url(cast)}?confirm=remove_member&id={target.id}"
    assert target.email in member_emails(cast)  # nothing happened yet
    page = client.get(asked.url).content.decode()
    if who == "member":  # a member is offered no remove control at all
        assert 'name="remove_member"' not in page
    else:
        shown = dialog(page, f"remove_member-{target.id}-dialog")
        assert " open " in shown.split(">")[0] + " "
        assert f"Remove {target.email}?" in shown
        assert '<input type="hidden" name="confirmed" value="1">' in shown
    done = client.post(team_url(cast), {"user_id": target.id, "remove_member": "1", "confirmed": "1"})
    assert done.status_code == status
    assert (target.email in member_emails(cast)) == (status != 302)


def test_it_asks_before_a_member_leaves(client, cast):
    as_user(client, cast.member)
    page = client.get(team_url(cast)).content.decode()
    assert 'href="?confirm=leave"' in page
    assert " open" not in dialog(page, "leave-dialog").split(">")[0]
    assert (
        " open"
        in dialog(client.get(team_url(cast) + "?confirm=leave").content.decode(), "leave-dialog").split(">")[
            0
        ]
    )
    asked = client.post(team_url(cast), {"leave": "1"})
    assert asked.url == f"{team_url(cast)}?confirm=leave"
    assert cast.member.email in member_emails(cast)
    assert client.post(team_url(cast), {"leave": "1", "confirmed": "1"}).status_code == 302
    assert cast.member.email not in member_emails(cast)


def test_it_offers_no_leave_to_the_owner_nor_an_outsider(client, cast):
    assert "leave-dialog" not in as_user(client, cast.owner).get(team_url(cast)).content.decode()
    assert (
        as_user(client, cast.outsider).post(team_url(cast), {"leave": "1", "confirmed": "1"}).status_code
        == 404
    )


def test_it_asks_before_deleting_a_branch_from_the_project_page(client, cast):
    project = cast.project()
    branch = cast.branch(project, "doomed")
    url = reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])
    asked = as_user(client, cast.admin).post(url, {"id": branch["id"], "delete_branch": "1"})
    assert asked.url == f"{url}?confirm=delete_branch&id={branch['id']}"
    page = client.get(asked.url).content.decode()
    assert "Delete branch doomed?" in dialog(page, f"delete_branch-{branch['id']}-dialog")
    assert 'data-branch="doomed"' in page
    assert as_user(client, cast.member).get(url).content.decode().count("delete_branch") == 0


def test_it_asks_before_revoking_an_api_token_and_names_it(client, sandbox):
    someone = person(sandbox)
    as_user(client, someone)
    client.post(
        reverse("orchestrator:api_tokens"), {"name": "build-bot", "scopes": ["read"], "generate": "1"}
    )
    tokens = httpx.get(
        f"{sandbox.nexical_url}/auth/tokens", headers={"Authorization": f"Bearer {someone.upstream['token']}"}
    ).json()["tokens"]
    token = next(t for t in tokens if t["name"] == "build-bot")
    asked = client.post(reverse("orchestrator:api_tokens"), {"id": token["id"], "revoke": "1"})
    assert asked.status_code == 302
    shown = dialog(client.get(asked.url).content.decode(), f"revoke-{token['id']}-dialog")
    assert "Revoke build-bot?" in shown
    assert 'data-token="build-bot"' in client.get(reverse("orchestrator:api_tokens")).content.decode()


# --- the dashboard's own token ----------------------------------------------------------------------


def test_it_marks_the_token_the_dashboard_uses_and_warns_before_revoking_it(client, sandbox):
    someone = person(sandbox)
    page = as_user(client, someone).get(reverse("orchestrator:api_tokens")).content.decode()
    own = httpx.get(
        f"{sandbox.nexical_url}/auth/tokens", headers={"Authorization": f"Bearer {someone.upstream['token']}"}
    ).json()["tokens"]
    assert len(own) == 1
    assert page.count("used by this dashboard") == 1
    shown = dialog(page, f"revoke-{own[0]['id']}-dialog")
    assert "the token this dashboard uses" in shown
    assert "Revoke and disconnect" in shown

    response = client.post(
        reverse("orchestrator:api_tokens"), {"id": own[0]["id"], "revoke": "1", "confirmed": "1"}
    )
    assert response.status_code == 302
    assert response.url == reverse("connections:connections") + "#nexical"
    assert Connection.objects.get(user=someone.user).needs_attention


def test_it_marks_no_other_token_as_the_dashboards(client, sandbox):
    someone = person(sandbox)
    as_user(client, someone)
    client.post(
        reverse("orchestrator:api_tokens"), {"name": "laptop", "scopes": ["read", "write"], "generate": "1"}
    )
    page = client.get(reverse("orchestrator:api_tokens")).content.decode()
    assert page.count("used by this dashboard") == 1
    row = page.split('data-token="laptop"')[1].split("</tr>")[0]
    assert "used by this dashboard" not in row


def test_it_refuses_a_second_token_of_the_same_name(client, sandbox):
    as_user(client, person(sandbox))
    client.post(reverse("orchestrator:api_tokens"), {"name": "ci", "scopes": ["read"], "generate": "1"})
    again = client.post(
        reverse("orchestrator:api_tokens"), {"name": "CI", "scopes": ["read"], "generate": "1"}
    )
    assert again.status_code == 400
    assert "You already have a token named “CI”. Pick another name." in again.content.decode()
    assert TokenForm({"name": "ci", "scopes": ["read"]}, taken=["deploy"]).is_valid()


# --- job inputs that used to be 500s ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("inputs", "sentence"),
    [
        ("[" * 30_000 + "]" * 30_000, "nested too deeply"),
        ('{"a": ' * 40 + "1" + "}" * 40, "nested too deeply"),
        ('{"a": NaN}', "NaN is not a JSON value"),
        ('{"a": -Infinity}', "-Infinity is not a JSON value"),
        ('{"a": ' + "9" * 5_000 + "}", "A number in it is too long"),
        ('{"a": 1e400}', "A number in it is too large"),
    ],
)
def test_it_turns_unsendable_job_inputs_into_a_field_error(inputs, sentence):
    form = JobForm({"type": "deploy", "inputs": inputs})
    assert not form.is_valid()
    assert sentence in form.errors["inputs"][0]


def test_it_shows_a_hostile_job_input_error_on_the_branch_page(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    url = reverse("orchestrator:branch_detail", args=[cast.team["id"], project["id"], branch["id"]])
    response = as_user(client, cast.member).post(
        url, {"type": "deploy", "inputs": '{"a": NaN}', "create_job": "1"}
    )
    assert response.status_code == 400
    assert "NaN is not a JSON value" in response.content.decode()


@pytest.mark.parametrize("after", ["9" * 30, "9" * 5_000, "1e9", "-4"])
def test_it_does_not_turn_a_huge_log_cursor_into_a_400(client, cast, after):
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    url = reverse("orchestrator:job_detail", args=[cast.team["id"], project["id"], branch["id"], job["id"]])
    response = as_user(client, cast.member).get(url, {"after": after})
    assert response.status_code == 200
    fragment = client.get(url, {"after": after}, headers={"HX-Request": "true"})
    assert fragment.status_code == 200


# --- forms a browser would refuse, phones, names ---------------------------------------------------------


def test_it_lets_the_browser_send_a_bare_host(client, cast):
    project = cast.project()
    branch_url = reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])
    page = as_user(client, cast.admin).get(branch_url).content.decode()
    assert 'type="url"' not in page
    assert re.search(r'<input type="text" name="preview_url"[^>]*inputmode="url"', page)
    response = client.post(
        branch_url, {"name": "preview", "preview_url": "preview.example.com", "create_branch": "1"}
    )
    assert response.status_code == 302
    branches = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/projects/{project['id']}/branches")[
        "branches"
    ]
    assert {b["name"]: b["previewUrl"] for b in branches}["preview"] == "https://preview.example.com"


def test_it_wraps_every_table_for_narrow_screens(client, cast):
    cast.project()
    page = as_user(client, cast.owner).get(team_url(cast)).content.decode()
    assert page.count("<table") == page.count('<div class="table-wrap">\n') >= 2


def test_it_calls_the_device_page_one_name_and_shows_the_code_format(client, sandbox):
    page = as_user(client, person(sandbox)).get(reverse("orchestrator:device_verify")).content.decode()
    assert "<title>Approve a device" in page
    assert "<h1>Approve a device</h1>" in page
    assert 'aria-current="page" href="/device/">Approve a device</a>' in page
    assert "Sign in a device" not in page and "Device sign-in" not in page
    assert "like ABCD-1234" in page
