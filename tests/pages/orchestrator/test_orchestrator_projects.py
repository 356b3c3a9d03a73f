"""Projects, branches, jobs and job logs against the live sandbox."""

import re

import pytest
from django.urls import reverse

from dashboard.tracking.templatetags.tracking import ansi
from tests.support.helpers import unique
from tests.support.live_helpers import poll_once
from tests.support.orchestrator_cast import as_user, team_worker

pytestmark = pytest.mark.django_db


def project_url(cast, project) -> str:
    return reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])


def branch_url(cast, project, branch) -> str:
    return reverse("orchestrator:branch_detail", args=[cast.team["id"], project["id"], branch["id"]])


def job_ids(cast, project, branch, job) -> list[int]:
    return [cast.team["id"], project["id"], branch["id"], job["id"]]


def job_url(cast, project, branch, job) -> str:
    return reverse("orchestrator:job_detail", args=job_ids(cast, project, branch, job))


def upstream_total(sandbox) -> int:
    return sum(sandbox.request_counts().values())


# --- projects ------------------------------------------------------------------------------------


def test_it_shows_a_project_to_members_and_hides_it_from_outsiders(client, cast):
    project = cast.project()
    for someone in (cast.owner, cast.admin, cast.member):
        response = as_user(client, someone).get(project_url(cast, project))
        assert response.status_code == 200
        assert project["name"] in response.content.decode()
    assert 'name="update_project"' not in response.content.decode()  # the member's view
    assert as_user(client, cast.outsider).get(project_url(cast, project)).status_code == 404


def test_an_admin_creates_a_project_from_the_team_page(client, cast):
    name = unique("web")
    response = as_user(client, cast.admin).post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {
            "name": name,
            "repo_url": "https://git.example.com/web.git",
            "production_url": "",
            "mode": "managed",
            "create_project": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert name in page
    assert "https://git.example.com/web.git" in page
    assert "No branches yet" in page


def test_it_validates_a_project_before_calling_upstream(client, cast, sandbox):
    sandbox.reset_request_counts()
    response = as_user(client, cast.admin).post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {"name": "", "repo_url": "not a url", "mode": "everywhere", "create_project": "1"},
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "This field is required." in page
    assert "Enter an https:// or ssh:// URL, or the git@host:org/repo.git form." in page
    assert not any(key.startswith("POST") for key in sandbox.request_counts())


def test_a_member_may_not_create_a_project(client, cast):
    response = as_user(client, cast.member).post(
        reverse("orchestrator:team_detail", args=[cast.team["id"]]),
        {"name": "Nope", "mode": "managed", "create_project": "1"},
    )
    assert response.status_code == 403
    assert "admin role" in response.content.decode()


def test_an_admin_edits_a_project(client, cast):
    project = cast.project()
    response = as_user(client, cast.admin).post(
        project_url(cast, project),
        {
            "name": "Renamed app",
            "repo_url": "https://git.example.com/new.git",
            "production_url": "https://app.example.com",
            "mode": "managed",
            "update_project": "1",
        },
    )
    assert response.status_code == 302
    page = client.get(project_url(cast, project)).content.decode()
    assert "Renamed app" in page
    assert "https://app.example.com" in page
    assert '<span class="badge">Managed</span>' in page


def test_deleting_a_project_asks_for_its_name(client, cast):
    project = cast.project()
    as_user(client, cast.owner)
    response = client.post(project_url(cast, project), {"confirm": "nope", "delete_project": "1"})
    assert response.status_code == 400
    assert "exactly to confirm" in response.content.decode()
    response = client.post(project_url(cast, project), {"confirm": project["name"], "delete_project": "1"})
    assert response.status_code == 302
    assert response.url == reverse("orchestrator:team_detail", args=[cast.team["id"]])
    assert client.get(project_url(cast, project)).status_code == 404


# --- branches ------------------------------------------------------------------------------------


def test_it_creates_a_branch_and_refuses_a_duplicate_name_on_the_name_field(client, cast):
    project = cast.project()
    as_user(client, cast.member)
    data = {"name": "feature/login", "preview_url": "https://login.preview.example.com", "create_branch": "1"}
    response = client.post(project_url(cast, project), data)
    assert response.status_code == 302
    assert 'data-branch="feature/login"' in client.get(project_url(cast, project)).content.decode()

    response = client.post(project_url(cast, project), data)
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="field field-invalid"' in page
    assert page.index('id="branch_name"') < page.index("already") < page.index('name="create_branch"')


def test_an_admin_deletes_a_branch_and_a_member_may_not(client, cast):
    project = cast.project()
    branch = cast.branch(project, "doomed")
    response = as_user(client, cast.member).post(
        project_url(cast, project), {"id": branch["id"], "delete_branch": "1", "confirmed": "1"}
    )
    assert response.status_code == 403
    response = as_user(client, cast.admin).post(
        project_url(cast, project), {"id": branch["id"], "delete_branch": "1", "confirmed": "1"}
    )
    assert response.status_code == 302
    assert 'data-branch="doomed"' not in client.get(project_url(cast, project)).content.decode()


# --- jobs ----------------------------------------------------------------------------------------


def test_the_branch_page_lists_jobs_newest_first_with_badges(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    first = cast.job(project, branch, "build")
    second = cast.job(project, branch, "deploy")
    page = as_user(client, cast.member).get(branch_url(cast, project, branch)).content.decode()
    assert page.index(f'data-job="{second["id"]}"') < page.index(f'data-job="{first["id"]}"')
    assert "badge-pending" in page
    assert "queued" in page
    for crumb in (cast.team["name"], project["name"], branch["name"]):
        assert crumb in page


def test_the_branch_page_hides_from_outsiders(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    assert as_user(client, cast.outsider).get(branch_url(cast, project, branch)).status_code == 404


def test_it_triggers_a_job_with_json_inputs(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    response = as_user(client, cast.member).post(
        branch_url(cast, project, branch), {"type": "deploy", "inputs": '{"ref": "main"}', "create_job": "1"}
    )
    assert response.status_code == 302
    page = client.get(response.url).content.decode()
    assert "badge-pending" in page
    assert "&quot;ref&quot;: &quot;main&quot;" in page
    # The banner names the state it describes: the job page drops it once the status moves on.
    assert 'data-describes="job-status-pending">Job #' in page and ") queued.</div>" in page


@pytest.mark.parametrize(
    ("inputs", "message"),
    [('{"ref": ', "This is not valid JSON"), ('["a", "list"]', "Inputs must be a JSON object")],
)
def test_it_validates_job_inputs_before_calling_upstream(client, cast, sandbox, inputs, message):
    project = cast.project()
    branch = cast.branch(project)
    sandbox.reset_request_counts()
    response = as_user(client, cast.member).post(
        branch_url(cast, project, branch), {"type": "deploy", "inputs": inputs, "create_job": "1"}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not any(key.startswith("POST") for key in sandbox.request_counts())


def test_the_branch_page_costs_the_same_upstream_calls_for_one_or_five_jobs(client, cast, sandbox):
    project = cast.project()
    branch = cast.branch(project)
    cast.job(project, branch)
    as_user(client, cast.member)
    sandbox.reset_request_counts()
    client.get(branch_url(cast, project, branch))
    one = upstream_total(sandbox)
    for _ in range(4):
        cast.job(project, branch)
    sandbox.reset_request_counts()
    client.get(branch_url(cast, project, branch))
    assert upstream_total(sandbox) == one == 4


@pytest.mark.django_db(transaction=True)  # the poller reads the job from its own connection
def test_the_job_page_shows_logs_with_safe_colours_and_polls_new_lines(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch, inputs={"ref": "main"})
    worker = team_worker(cast)
    assert worker.post("/workers/acquire", json={}).json()["job"]["id"] == job["id"]
    logs_path = (
        f"/teams/{cast.team['id']}/projects/{project['id']}/branches/{branch['id']}/jobs/{job['id']}/logs"
    )
    worker.post(
        logs_path, json={"message": "\x1b[32mbuild ok\x1b[0m <script>alert(1)</script>"}
    ).raise_for_status()
    worker.post(logs_path, json={"message": "disk almost full", "level": "warn"}).raise_for_status()

    as_user(client, cast.member)
    url = job_url(cast, project, branch, job)
    client.get(url)  # the first sight registers the job; the poller then caches its log
    poll_once()
    page = client.get(url).content.decode()
    assert "badge-running" in page
    assert '<span class="ansi-fg-green">build ok</span>' in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "<script>alert(1)" not in page
    assert "log-warn" in page
    assert 'id="refresh-logs"' in page

    last_id = re.findall(r'data-log-id="(\d+)"', page)[-1]
    worker.post(logs_path, json={"message": "shipped"}).raise_for_status()
    worker.post(f"{logs_path.removesuffix('/logs')}/complete", json={"outputs": {"url": "https://x"}})
    poll_once(passes=2)
    updates = client.get(
        reverse("tracking:job_updates", args=job_ids(cast, project, branch, job)), {"after": last_id}
    )
    events = {event["event"]: event["data"] for event in updates.json()["events"]}
    assert "shipped" in events["line"]["html"]
    assert "build ok" not in events["line"]["html"]
    assert events["line"]["first"] == 3
    assert "badge-completed" in events["status"]["html"]["job-facts"]
    assert events["done"] == {"status": "completed"}


def test_the_job_page_hides_from_outsiders(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch)
    assert as_user(client, cast.outsider).get(job_url(cast, project, branch, job)).status_code == 404


def test_ansi_rendering_escapes_everything_but_its_own_spans():
    assert (
        str(ansi("\x1b[1;31mfail\x1b[0m & <b>"))
        == '<span class="ansi-fg-red ansi-bold">fail</span> &amp; &lt;b&gt;'
    )
    assert str(ansi("\x1b[2Kclean\x07")) == "clean"
    assert str(ansi('\x1b[94m"quoted"')) == '<span class="ansi-fg-bright-blue">&quot;quoted&quot;</span>'
    assert str(ansi(None)) == ""


def test_an_admin_deletes_a_branch_from_its_own_page(client, cast):
    project = cast.project()
    branch = cast.branch(project, "short-lived")
    as_user(client, cast.admin)
    page = client.get(branch_url(cast, project, branch) + "?confirm=delete").content.decode()
    assert '<dialog id="delete-dialog" open' in page
    response = client.post(branch_url(cast, project, branch), {"delete_branch": "1", "confirmed": "1"})
    assert response.status_code == 302
    assert response.url == project_url(cast, project)
    assert client.get(branch_url(cast, project, branch)).status_code == 404
