"""The teams list and a team's page (members, invitations, settings) against the live sandbox."""

import httpx
import pytest
import respx
from django.urls import reverse

from dashboard.accounts.models import Connection
from tests.support.helpers import dashboard_user, unique
from tests.support.orchestrator_cast import as_user, person

pytestmark = pytest.mark.django_db


def team_url(cast) -> str:
    return reverse("orchestrator:team_detail", args=[cast.team["id"]])


def upstream_total(sandbox) -> int:
    return sum(sandbox.request_counts().values())


# --- access --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "path",
    [
        "/teams/",
        "/teams/1/",
        "/teams/1/projects/1/",
        "/teams/1/projects/1/branches/1/",
        "/teams/1/projects/1/branches/1/jobs/1/",
        "/settings/tokens/",
        "/settings/profile/",
        "/device/",
        "/system/",
    ],
)
def test_it_sends_anonymous_visitors_to_the_login_page(client, path):
    response = client.get(path)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login"))


def test_it_asks_to_connect_nexical_first(client, sandbox):
    client.force_login(dashboard_user())
    response = client.get(reverse("orchestrator:team_list"))
    assert response.status_code == 200
    assert b"Connect your Nexical account" in response.content
    assert reverse("connections:connections").encode() in response.content


def test_it_shows_the_team_page_to_each_role_and_hides_it_from_outsiders(client, cast):
    for someone in (cast.owner, cast.admin, cast.member):
        response = as_user(client, someone).get(team_url(cast))
        assert response.status_code == 200
        assert cast.team["name"] in response.content.decode()
    response = as_user(client, cast.outsider).get(team_url(cast))
    assert response.status_code == 404


# --- teams list ----------------------------------------------------------------------------------


def test_it_lists_teams_with_the_users_role(client, cast):
    response = as_user(client, cast.member).get(reverse("orchestrator:team_list"))
    page = response.content.decode()
    assert cast.team["name"] in page
    assert "badge-member" in page
    response = as_user(client, cast.owner).get(reverse("orchestrator:team_list"))
    assert "badge-owner" in response.content.decode()


def test_it_says_what_to_do_when_the_user_has_no_team(client, sandbox):
    someone = person(sandbox)
    response = as_user(client, someone).get(reverse("orchestrator:team_list"))
    assert b"You are not in any team yet" in response.content


def test_it_creates_a_team_deriving_the_slug_from_the_name(client, sandbox):
    someone = person(sandbox)
    name = f"Rocket Crew {unique('x')}"
    response = as_user(client, someone).post(
        reverse("orchestrator:team_list"), {"name": name, "slug": "", "create": "1"}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert name in page
    assert "rocket-crew-x-" in page
    assert "created" in page


def test_it_validates_the_slug_before_calling_upstream(client, sandbox):
    someone = person(sandbox)
    sandbox.reset_request_counts()
    response = as_user(client, someone).post(
        reverse("orchestrator:team_list"), {"name": "Fine", "slug": "Not A Slug!", "create": "1"}
    )
    assert response.status_code == 400
    assert "Use lowercase letters and digits, with single dashes between words" in response.content.decode()
    assert not any(key.startswith("POST") for key in sandbox.request_counts())


def test_it_puts_a_duplicate_slug_next_to_the_slug_field(client, cast):
    response = as_user(client, cast.outsider).post(
        reverse("orchestrator:team_list"), {"name": "Copycat", "slug": cast.team["slug"], "create": "1"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="field field-invalid"' in page
    assert "already exists" in page
    # The error sits in the slug field's block, right after its input.
    assert page.index('name="slug"') < page.index("already exists")


def test_the_teams_list_costs_the_same_upstream_calls_for_one_or_five_teams(client, sandbox):
    few, many = person(sandbox), person(sandbox)
    many_api = httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {many.upstream['token']}"}
    )
    few_api = httpx.Client(
        base_url=sandbox.nexical_url, headers={"Authorization": f"Bearer {few.upstream['token']}"}
    )
    few_api.post("/teams", json={"name": "One", "slug": unique("one")}).raise_for_status()
    for _ in range(5):
        many_api.post("/teams", json={"name": "Many", "slug": unique("many")}).raise_for_status()

    sandbox.reset_request_counts()
    assert as_user(client, few).get(reverse("orchestrator:team_list")).status_code == 200
    one = upstream_total(sandbox)
    sandbox.reset_request_counts()
    assert as_user(client, many).get(reverse("orchestrator:team_list")).status_code == 200
    assert upstream_total(sandbox) == one


# --- a team's page -------------------------------------------------------------------------------


def test_it_shows_members_with_roles_and_pending_invites(client, cast):
    invitee = f"{unique('new')}@example.com"
    cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": invitee, "role": "member"})
    page = as_user(client, cast.admin).get(team_url(cast)).content.decode()
    for someone in (cast.owner, cast.admin, cast.member):
        assert f'data-member="{someone.email}"' in page
    assert f'data-invite="{invitee}"' in page
    assert "Expires" in page


def test_a_member_sees_the_team_read_only_with_a_leave_button(client, cast):
    page = as_user(client, cast.member).get(team_url(cast)).content.decode()
    assert "Team settings" not in page
    assert 'name="invite"' not in page
    assert 'name="remove_member"' not in page
    assert "Leave team" in page


def test_an_admin_renames_the_team(client, cast):
    slug = unique("renamed")
    response = as_user(client, cast.admin).post(
        team_url(cast), {"name": "Renamed Team", "slug": slug, "rename": "1"}
    )
    assert response.status_code == 302
    page = client.get(team_url(cast)).content.decode()
    assert "Renamed Team" in page
    assert slug in page


def test_a_member_trying_to_rename_gets_a_403_sentence(client, cast):
    response = as_user(client, cast.member).post(
        team_url(cast), {"name": "Hijacked", "slug": unique("hijack"), "rename": "1"}
    )
    assert response.status_code == 403
    # The upstream's own reason, or our generic one when it gives none.
    assert "admin role" in response.content.decode()


def test_it_invites_by_email_and_refuses_a_second_invite_on_the_email_field(client, cast):
    email = f"{unique('guest')}@example.com"
    as_user(client, cast.admin)
    response = client.post(team_url(cast), {"email": email, "role": "admin", "invite": "1"})
    assert response.status_code == 302
    assert f'data-invite="{email}"' in client.get(team_url(cast)).content.decode()

    response = client.post(team_url(cast), {"email": email, "role": "member", "invite": "1"})
    assert response.status_code == 400
    page = response.content.decode()
    assert page.index('name="email"') < page.index("already") < page.index('name="invite"')


def test_it_validates_the_invite_before_calling_upstream(client, cast):
    response = as_user(client, cast.admin).post(
        team_url(cast), {"email": "nope", "role": "owner", "invite": "1"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Enter a valid email address." in page
    assert "Select a valid choice." in page


def test_an_admin_revokes_an_invite(client, cast):
    email = f"{unique('gone')}@example.com"
    invite = cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": email})["invitation"]
    as_user(client, cast.admin)
    # Posted without the dialog's "confirmed" (no JS, a stale page): the page asks first, nothing is revoked.
    asked = client.post(team_url(cast), {"id": invite["id"], "revoke_invite": "1"})
    assert asked.status_code == 302
    assert asked.url == f"{team_url(cast)}?confirm=revoke_invite&id={invite['id']}"
    assert f'<dialog id="revoke_invite-{invite["id"]}-dialog" open' in client.get(asked.url).content.decode()
    assert f'data-invite="{email}"' in client.get(team_url(cast)).content.decode()
    response = client.post(team_url(cast), {"id": invite["id"], "revoke_invite": "1", "confirmed": "1"})
    assert response.status_code == 302
    assert f'data-invite="{email}"' not in client.get(team_url(cast)).content.decode()


def test_the_owner_changes_a_role_and_removes_a_member(client, cast):
    as_user(client, cast.owner)
    response = client.post(team_url(cast), {"user_id": cast.member.id, "role": "admin", "change_role": "1"})
    assert response.status_code == 302
    members = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/members")["members"]
    assert {m["email"]: m["role"] for m in members}[cast.member.email] == "admin"

    response = client.post(team_url(cast), {"user_id": cast.admin.id, "remove_member": "1", "confirmed": "1"})
    assert response.status_code == 302
    assert f'data-member="{cast.admin.email}"' not in client.get(team_url(cast)).content.decode()


def test_an_admin_may_not_remove_another_admin(client, cast):
    other = person(cast.sandbox)
    cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": other.email, "role": "admin"})
    response = as_user(client, cast.admin).post(
        team_url(cast), {"user_id": other.id, "remove_member": "1", "confirmed": "1"}
    )
    assert response.status_code == 403
    assert f'data-member="{other.email}"' in response.content.decode()


def test_a_member_leaves_the_team(client, cast):
    response = as_user(client, cast.member).post(team_url(cast), {"leave": "1", "confirmed": "1"})
    assert response.status_code == 302
    assert response.url == reverse("orchestrator:team_list")
    assert client.get(team_url(cast)).status_code == 404


def test_deleting_a_team_asks_for_its_slug(client, cast):
    as_user(client, cast.owner)
    page = client.get(team_url(cast) + "?confirm=delete").content.decode()
    assert '<dialog id="delete-dialog" open' in page

    response = client.post(team_url(cast), {"confirm": "wrong", "delete": "1"})
    assert response.status_code == 400
    assert f"Type “{cast.team['slug']}” exactly to confirm." in response.content.decode()

    response = client.post(team_url(cast), {"confirm": cast.team["slug"], "delete": "1"})
    assert response.status_code == 302
    assert client.get(team_url(cast)).status_code == 404


def test_an_admin_may_not_delete_the_team(client, cast):
    response = as_user(client, cast.admin).post(team_url(cast), {"confirm": cast.team["slug"], "delete": "1"})
    assert response.status_code == 403
    assert cast.team["name"] in client.get(team_url(cast)).content.decode()


def test_the_team_page_costs_the_same_upstream_calls_for_one_or_five_rows(client, cast, sandbox):
    cast.project()
    as_user(client, cast.owner)
    sandbox.reset_request_counts()
    client.get(team_url(cast))
    one = upstream_total(sandbox)
    for _ in range(4):
        cast.project()
        cast.api(cast.owner).post(
            f"/teams/{cast.team['id']}/invites", {"email": f"{unique('p')}@example.com"}
        )
    sandbox.reset_request_counts()
    client.get(team_url(cast))
    assert upstream_total(sandbox) == one == 4


def test_the_members_panel_says_so_when_the_orchestrator_does_not_list_members(client, cast, sandbox):
    as_user(client, cast.owner)
    with respx.mock:
        respx.get(f"{sandbox.nexical_url}/teams/{cast.team['id']}/members").respond(
            404, json={"error": "not_found", "code": "not_found", "message": "Not Found"}
        )
        respx.route().pass_through()
        response = client.get(team_url(cast))
    assert response.status_code == 200
    page = response.content.decode()
    assert "This orchestrator does not list members." in page
    assert cast.team["name"] in page


# --- each upstream failure has its own sentence --------------------------------------------------


@pytest.fixture
def quick_upstream(settings):
    settings.UPSTREAM_TIMEOUT = 1.5  # under the hang knob's 3 s, well over a loaded machine's answer time
    settings.UPSTREAM_GET_RETRIES = 0
    return settings


@pytest.mark.parametrize(
    ("knobs", "status", "sentence"),
    [
        ({"error_rate": 1.0}, 502, "Nexical is having problems (HTTP 500). Try again shortly."),
        (
            {"force_429": 3, "retry_after": 30},
            429,
            "Nexical is rate limiting requests. Try again in 30 seconds.",
        ),
        ({"malformed": 3}, 502, "Nexical answered something unexpected."),
        ({"hang": 3, "hang_seconds": 3}, 503, "The Nexical orchestrator is unreachable right now."),
    ],
)
def test_each_upstream_failure_has_its_own_sentence(
    client, cast, sandbox, quick_upstream, knobs, status, sentence
):
    as_user(client, cast.owner)
    sandbox.set_knobs(scope="nexical", **knobs)
    response = client.get(team_url(cast))
    assert response.status_code == status
    assert sentence in response.content.decode()


def test_a_rejected_token_asks_to_reconnect_and_flags_the_connection(client, sandbox):
    someone = person(sandbox)
    connection = Connection.objects.get(user=someone.user)
    connection.secret = "nx_revoked_or_never_valid_0000"
    connection.save()
    response = as_user(client, someone).get(reverse("orchestrator:team_list"))
    assert response.status_code == 403
    assert (
        "Nexical rejected your token. Reconnect it in Settings &gt; Connections." in response.content.decode()
    )
    connection.refresh_from_db()
    assert connection.needs_attention


# --- htmx ----------------------------------------------------------------------------------------


def test_htmx_gets_only_the_page_body_and_form_errors_in_it(client, cast):
    as_user(client, cast.admin)
    response = client.get(team_url(cast), headers={"HX-Request": "true"})
    page = response.content.decode()
    assert response.status_code == 200
    assert page.lstrip().startswith('<div id="page-body"')
    assert "<html" not in page

    # htmx swaps 2xx answers only, so a refused form comes back as 200 with its errors.
    response = client.post(
        team_url(cast),
        {"email": cast.member.email, "role": "member", "invite": "1"},
        headers={"HX-Request": "true"},
    )
    assert response.status_code == 200
    assert "field-invalid" in response.content.decode()


def test_htmx_actions_that_leave_the_page_redirect_the_browser(client, cast):
    response = as_user(client, cast.owner).post(
        team_url(cast), {"confirm": cast.team["slug"], "delete": "1"}, headers={"HX-Request": "true"}
    )
    assert response.headers["HX-Redirect"] == reverse("orchestrator:team_list")
