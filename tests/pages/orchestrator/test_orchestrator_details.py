"""Long logs, clearing optional fields, secrets never cached, confirmations, failed jobs, 404s."""

import httpx
import pytest
import respx
from django.urls import reverse

from tests.support.live_helpers import poll_once
from tests.support.orchestrator_cast import person, team_worker

pytestmark = pytest.mark.django_db


def job_scene(cast):
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    ids = [cast.team["id"], project["id"], branch["id"], job["id"]]
    api_path = f"/teams/{ids[0]}/projects/{ids[1]}/branches/{ids[2]}/jobs/{ids[3]}"
    return job, reverse("orchestrator:job_detail", args=ids), api_path


# --- a finished job ---------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)  # the poller reads the job from its own connection
def test_a_finished_job_no_longer_claims_a_reload_shows_more(client, cast):
    _job, url, api_path = job_scene(cast)
    worker = team_worker(cast)
    worker.post("/workers/acquire", json={}).raise_for_status()
    worker.post(f"{api_path}/complete", json={"outputs": {}}).raise_for_status()
    client.force_login(cast.member.user)
    client.get(url)  # the first sight registers the job with the poller
    poll_once()  # whose last fetch completes the log cache
    page = client.get(url).content.decode()
    assert "Reload the page" not in page
    assert "No more lines will be added." in page


# --- the job page shows its worker and why it failed --------------------------------------------------


def test_a_failed_job_shows_its_worker_and_its_error_first(client, cast):
    _job, url, api_path = job_scene(cast)
    worker = team_worker(cast)
    acquired = worker.post("/workers/acquire", json={}).json()["job"]
    worker.post(f"{api_path}/fail", json={"error": "npm ci exited with 1 <oops>"}).raise_for_status()
    client.force_login(cast.member.user)
    page = client.get(url).content.decode()
    assert acquired["assignedFactoryId"]
    assert f"<code>{acquired['assignedFactoryId']}</code>" in page
    error_at = page.index('id="job-error"')
    assert "npm ci exited with 1 &lt;oops&gt;" in page[error_at : error_at + 300]
    assert error_at < page.index("<dt>Status</dt>")


def test_a_pending_job_has_no_worker_yet(client, cast):
    _job, url, _ = job_scene(cast)
    client.force_login(cast.member.user)
    page = client.get(url).content.decode()
    assert "none yet" in page
    assert 'id="job-error"' not in page


# --- clearing optional fields ----------------------------------------------------------------------


def test_an_emptied_avatar_is_cleared_upstream(client, sandbox):
    someone = person(sandbox)
    client.force_login(someone.user)
    url = reverse("orchestrator:profile")
    client.post(url, {"full_name": "Ada", "avatar_url": "https://example.com/a.png", "save": "1"})
    response = client.post(url, {"full_name": "Ada", "avatar_url": "", "save": "1"})
    assert response.status_code == 302
    me = httpx.get(
        f"{sandbox.nexical_url}/users/me", headers={"Authorization": f"Bearer {someone.upstream['token']}"}
    ).json()["user"]
    assert me["avatarUrl"] is None
    assert me["fullName"] == "Ada"


def test_emptied_project_urls_are_cleared_upstream(client, cast):
    project = cast.project(productionUrl="https://site.example.com")
    client.force_login(cast.admin.user)
    url = reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])
    response = client.post(
        url,
        {
            "name": project["name"],
            "repo_url": "",
            "production_url": "",
            "mode": "self_hosted",
            "update_project": "1",
        },
    )
    assert response.status_code == 302
    fresh = cast.api(cast.owner).get(f"/teams/{cast.team['id']}/projects/{project['id']}")["project"]
    assert fresh["repoUrl"] is None
    assert fresh["productionUrl"] is None


# --- secrets shown once are never cached ---------------------------------------------------------------


def test_the_tokens_and_system_pages_are_never_cached(client, sandbox):
    admin = person(sandbox, role="system")
    client.force_login(admin.user)
    for name in ("orchestrator:api_tokens", "orchestrator:system_admin"):
        cache_control = client.get(reverse(name))["Cache-Control"]
        assert "no-store" in cache_control, name


# --- system page: "not listed" versus "not allowed" ---------------------------------------------------


def test_the_system_page_says_when_a_list_is_forbidden_rather_than_missing(client, sandbox):
    admin = person(sandbox, role="system")
    client.force_login(admin.user)
    with respx.mock:
        respx.get(f"{sandbox.nexical_url}/admin/workers").respond(
            403, json={"error": "forbidden", "code": "forbidden", "message": "Forbidden"}
        )
        respx.get(f"{sandbox.nexical_url}/admin/enrollment-tokens").respond(
            404, json={"error": "not_found", "code": "not_found", "message": "Not Found"}
        )
        respx.route().pass_through()
        page = client.get(reverse("orchestrator:system_admin")).content.decode()
    assert "refused to list workers" in page
    assert "does not list workers" not in page
    assert "This orchestrator does not list enrollment tokens." in page


# --- revoking an enrollment token asks first -------------------------------------------------------------


def test_revoking_an_enrollment_token_asks_for_confirmation(client, sandbox):
    admin = person(sandbox, role="system")
    client.force_login(admin.user)
    url = reverse("orchestrator:system_admin")
    client.post(url, {"name": "to-revoke", "team_id": "", "create_enrollment": "1"})
    listing = httpx.get(
        f"{sandbox.nexical_url}/admin/enrollment-tokens",
        headers={"Authorization": f"Bearer {admin.upstream['token']}"},
    ).json()
    token = next(
        t for t in listing.get("enrollmentTokens", listing.get("tokens", [])) if t["name"] == "to-revoke"
    )
    page = client.get(url).content.decode()
    assert "Revoke the enrollment token to-revoke?" in page

    asked = client.post(url, {"id": token["id"], "revoke_enrollment": "1"})
    assert asked.status_code == 302
    assert (
        f'<dialog id="revoke_enrollment-{token["id"]}-dialog" open' in client.get(asked.url).content.decode()
    )
    assert "to-revoke" in client.get(url).content.decode()

    done = client.post(url, {"id": token["id"], "revoke_enrollment": "1", "confirmed": "1"})
    assert done.status_code == 302


def test_it_opens_a_dialog_that_confirms_an_invite_revoke(client, cast):
    invite = cast.api(cast.owner).post(f"/teams/{cast.team['id']}/invites", {"email": "pending@example.com"})
    client.force_login(cast.admin.user)
    page = client.get(reverse("orchestrator:team_detail", args=[cast.team["id"]])).content.decode()
    dialog_id = f"revoke_invite-{invite['invitation']['id']}-dialog"
    assert f'data-dialog-open="{dialog_id}"' in page
    dialog = page.split(f'<dialog id="{dialog_id}"')[1].split("</dialog>")[0]
    assert "Revoke the invitation to pending@example.com?" in dialog
    assert '<input type="hidden" name="confirmed" value="1">' in dialog


# --- an outsider deleting a team or project ---------------------------------------------------------------


def test_an_outsider_deleting_the_team_gets_a_404(client, cast):
    client.force_login(cast.outsider.user)
    response = client.post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {"confirm": cast.team["slug"], "delete": "1"},
    )
    assert response.status_code == 404


def test_an_outsider_deleting_a_project_gets_a_404(client, cast):
    project = cast.project()
    client.force_login(cast.outsider.user)
    response = client.post(
        reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]]),
        {"confirm": project["name"], "delete_project": "1"},
    )
    assert response.status_code == 404
