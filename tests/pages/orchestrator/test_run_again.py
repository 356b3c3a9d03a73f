"""Run again: the same type and inputs as a new job, after one confirmation; the ref in job lists."""

import pytest
from django.urls import reverse

from dashboard.audit import AuditEntry
from dashboard.tracking.models import JobInterest, Reason, TrackedJob
from tests.support.live_helpers import record_status
from tests.support.orchestrator_cast import as_user

pytestmark = pytest.mark.django_db

INPUTS = {"ref": "release/2.1", "commit": "0123456789abcdef0123", "flags": ["<b>x</b>"]}


@pytest.fixture
def failed(cast, client):
    """A failed deploy with a ref and a commit, opened (and so tracked) by the member."""
    project = cast.project()
    branch = cast.branch(project)
    job = cast.job(project, branch, inputs=INPUTS)
    ids = [cast.team["id"], project["id"], branch["id"], job["id"]]
    as_user(client, cast.member)
    assert client.get(reverse("orchestrator:job_detail", args=ids)).status_code == 200
    tracked = TrackedJob.objects.get(job_id=job["id"], branch_id=branch["id"])
    record_status(tracked, "failed", logs_complete=True, outputs={"error": "exit 1"})
    return {"ids": ids, "project": project, "branch": branch, "tracked": tracked}


def again_url(ids) -> str:
    return reverse("orchestrator:job_run_again", args=ids)


def test_the_job_page_and_the_lists_show_the_ref_and_offer_run_again(client, cast, failed):
    ids = failed["ids"]
    page = client.get(reverse("orchestrator:job_detail", args=ids)).content.decode()
    assert '<code id="job-ref">release/2.1 @ 0123456</code>' in page
    assert f'href="{again_url(ids)}"' in page
    branch_page = client.get(reverse("orchestrator:branch_detail", args=ids[:3])).content.decode()
    assert "<code>release/2.1 @ 0123456</code>" in branch_page and f'href="{again_url(ids)}"' in branch_page
    as_user(client, cast.owner)  # the owner triggered nothing: watching the project lists its jobs
    TrackedJob.objects.filter(pk=failed["tracked"].pk).update(status="failed")
    JobInterest.objects.get_or_create(
        user=cast.owner.user, job=failed["tracked"], defaults={"reason": "triggered"}
    )
    deployments = client.get(reverse("tracking:deployments")).content.decode()
    assert "<code>release/2.1 @ 0123456</code>" in deployments and f'href="{again_url(ids)}"' in deployments


def test_run_again_asks_once_then_starts_the_same_job_and_opens_it(client, cast, failed, sandbox):
    ids = failed["ids"]
    sandbox.reset_request_counts()
    confirm = client.get(again_url(ids))
    assert confirm.status_code == 200
    text = confirm.content.decode()
    assert "Run job #" in text and "again?" in text and 'name="run_again"' in text
    assert "&lt;b&gt;x&lt;/b&gt;" in text and "<b>x</b>" not in text  # inputs shown escaped
    assert sum(sandbox.request_counts().values()) == 0  # asking reads the cache only

    response = client.post(again_url(ids), {"run_again": "1"})
    assert response.status_code == 302
    new = TrackedJob.objects.exclude(pk=failed["tracked"].pk).get(branch_id=ids[2])
    assert response.url == reverse("orchestrator:job_detail", args=[*ids[:3], new.job_id])
    assert new.job_type == "deploy" and new.inputs == INPUTS and new.status == "pending"
    assert JobInterest.objects.get(job=new, user=cast.member.user).reason == Reason.TRIGGERED
    page = client.get(response.url).content.decode()
    assert f"Job #{new.job_id} (deploy) queued: #{ids[3]} again." in page
    assert 'data-live="true"' in page  # the new job's page opens live
    # One audit row, with the new job's id; asking first wrote none.
    entry = AuditEntry.objects.get(action__startswith="job.")
    assert (entry.action, entry.result, entry.user, entry.team_id, entry.project_id) == (
        "job.rerun",
        "done",
        cast.member.user,
        ids[0],
        ids[1],
    )
    assert entry.detail == {"type": "deploy", "branch_id": ids[2], "again_of": ids[3], "job_id": new.job_id}


def test_run_again_with_htmx_sends_the_browser_to_the_new_job(client, failed):
    response = client.post(again_url(failed["ids"]), {"run_again": "1"}, headers={"HX-Request": "true"})
    assert response.status_code == 200 and "/jobs/" in response["HX-Redirect"]


def test_run_again_on_a_deleted_branch_says_so(client, cast, failed):
    ids = failed["ids"]
    path = f"/teams/{ids[0]}/projects/{ids[1]}/branches/{ids[2]}"
    cast.api(cast.owner).http.delete(path).raise_for_status()
    response = client.post(again_url(ids), {"run_again": "1"})
    assert response.status_code == 404
    assert "no longer exists on Nexical" in response.content.decode()
    assert TrackedJob.objects.count() == 1
    assert AuditEntry.objects.get(action="job.rerun").result == "refused"


def test_a_refused_trigger_is_a_sentence(client, failed, sandbox):
    sandbox.set_knobs(scope="nexical", error_rate=1.0)
    response = client.post(again_url(failed["ids"]), {"run_again": "1"})
    assert 400 <= response.status_code < 600 and response.status_code != 500
    assert 'role="alert"' in response.content.decode()
    assert TrackedJob.objects.count() == 1
    assert AuditEntry.objects.get(action="job.rerun").result == "failed"


def test_an_outsider_may_not_run_it_again(client, cast, failed, sandbox):
    as_user(client, cast.outsider)
    assert client.get(again_url(failed["ids"])).status_code == 404
    assert client.post(again_url(failed["ids"]), {"run_again": "1"}).status_code == 404
    assert TrackedJob.objects.count() == 1
