"""What each role of a team is offered on each page (upstream still enforces every action)."""

import pytest
from django.urls import reverse

from tests.support.orchestrator_cast import make_cast, person

pytestmark = pytest.mark.django_db


@pytest.fixture
def scene(sandbox):
    cast = make_cast(sandbox)
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    return cast, project, branch, job


@pytest.fixture
def cast(scene):
    return scene[0]


def get(client, someone, url: str):
    client.force_login(someone.user)
    return client.get(url)


def urls(scene) -> dict[str, str]:
    cast, project, branch, job = scene
    tid = cast.team["id"]
    return {
        "team": reverse("orchestrator:team_detail", args=[tid]),
        "project": reverse("orchestrator:project_detail", args=[tid, project["id"]]),
        "branch": reverse("orchestrator:branch_detail", args=[tid, project["id"], branch["id"]]),
        "job": reverse("orchestrator:job_detail", args=[tid, project["id"], branch["id"], job["id"]]),
    }


# --- teams list ------------------------------------------------------------------------------------


def test_the_teams_list_shows_the_team_to_an_admin_and_not_to_an_outsider(client, scene, cast):
    row = f'href="{urls(scene)["team"]}"'
    admin_page = get(client, cast.admin, reverse("orchestrator:team_list")).content.decode()
    assert row in admin_page
    assert "badge-admin" in admin_page
    assert row not in get(client, cast.outsider, reverse("orchestrator:team_list")).content.decode()


# --- team page -------------------------------------------------------------------------------------


def test_the_owner_sees_role_selectors_and_delete_team(client, scene, cast):
    page = get(client, cast.owner, urls(scene)["team"]).content.decode()
    assert f'aria-label="Role of {cast.admin.email}"' in page
    assert f'aria-label="Role of {cast.member.email}"' in page
    assert "Delete team…" in page
    assert "Leave team" not in page  # the owner cannot leave their own team


def test_an_admin_sees_no_role_selector_and_no_delete_team(client, scene, cast):
    page = get(client, cast.admin, urls(scene)["team"]).content.decode()
    assert 'name="change_role"' not in page
    assert "Delete team…" not in page
    assert "Team settings" in page
    assert "Leave team" in page


# --- project page ----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_get_the_project_controls(client, scene, cast, role):
    page = get(client, getattr(cast, role), urls(scene)["project"]).content.decode()
    assert 'name="update_project"' in page
    assert "Delete project…" in page
    assert 'name="delete_branch"' in page


def test_a_member_gets_no_project_controls(client, scene, cast):
    page = get(client, cast.member, urls(scene)["project"]).content.decode()
    assert 'name="update_project"' not in page
    assert "Delete project…" not in page
    assert 'name="delete_branch"' not in page


# --- branch page -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin"])
def test_owners_and_admins_may_delete_the_branch_and_run_jobs(client, scene, cast, role):
    response = get(client, getattr(cast, role), urls(scene)["branch"])
    assert response.status_code == 200
    page = response.content.decode()
    assert "Delete branch…" in page
    assert 'name="create_job"' in page


def test_a_member_runs_jobs_but_is_not_offered_delete_branch(client, scene, cast):
    page = get(client, cast.member, urls(scene)["branch"]).content.decode()
    assert 'name="create_job"' in page
    assert "Delete branch…" not in page


# --- job page --------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["owner", "admin", "member"])
def test_every_role_sees_the_job(client, scene, cast, role):
    response = get(client, getattr(cast, role), urls(scene)["job"])
    assert response.status_code == 200
    assert f"Job #{scene[3]['id']}" in response.content.decode()


def test_an_outsider_gets_404_on_every_page_of_the_team(client, scene, cast):
    for name, url in urls(scene).items():
        assert get(client, cast.outsider, url).status_code == 404, name


# --- personal pages: each user sees their own ---------------------------------------------------------


def test_tokens_and_profile_are_each_users_own(client, sandbox):
    ada, bob = person(sandbox), person(sandbox)
    client.force_login(ada.user)
    client.post(
        reverse("orchestrator:api_tokens"), {"name": "ada-laptop", "scopes": ["read"], "generate": "1"}
    )
    client.post(reverse("orchestrator:profile"), {"full_name": "Ada Only", "avatar_url": "", "save": "1"})

    client.force_login(bob.user)
    tokens = client.get(reverse("orchestrator:api_tokens")).content.decode()
    profile = client.get(reverse("orchestrator:profile")).content.decode()
    assert 'data-token="ada-laptop"' not in tokens
    assert "Ada Only" not in profile
    assert bob.email in profile

    client.force_login(ada.user)
    assert 'data-token="ada-laptop"' in client.get(reverse("orchestrator:api_tokens")).content.decode()
    assert "Ada Only" in client.get(reverse("orchestrator:profile")).content.decode()
