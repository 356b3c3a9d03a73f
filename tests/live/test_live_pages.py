"""The job page's live parts, the deployments overview and the watch buttons."""

import re

import pytest
from django.urls import reverse

from dashboard.tracking import logs
from dashboard.tracking.models import JobInterest, ProjectWatch, Reason, TrackedJob
from tests.support.live_helpers import job_scene, record_lines, record_status
from tests.support.orchestrator_cast import as_user

pytestmark = pytest.mark.django_db


# --- the job page ------------------------------------------------------------------------------------


def test_it_registers_a_shown_job_and_reads_it_from_the_cache_afterwards(client, cast, sandbox):
    scene = job_scene(cast)
    as_user(client, cast.member)
    page = client.get(scene.url()).content.decode()
    tracked = scene.tracked()
    assert JobInterest.objects.get(user=cast.member.user, job=tracked).reason == Reason.VIEWED
    assert tracked.last_viewed_at is not None
    assert tracked.team_name == cast.team["name"] and tracked.branch_name == "main"
    assert f">{cast.team['name']}</a>" in page  # breadcrumbs from the cached names
    record_status(tracked, "running")
    record_lines(tracked, ["from the cache only"])
    sandbox.reset_request_counts()
    page = client.get(scene.url()).content.decode()
    assert sum(sandbox.request_counts().values()) == 0
    assert "from the cache only" in page and "badge-running" in page


def test_it_shows_the_status_history_with_durations(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    tracked = scene.tracked()
    record_status(tracked, "running")
    page = client.get(scene.url()).content.decode()
    history = page[page.index('id="job-timeline"') :]
    assert history.index('data-status="pending"') < history.index('data-status="running"')
    assert "running for" in history
    record_status(tracked, "failed", logs_complete=True, outputs={"error": "exit 1"})
    history = client.get(scene.url()).content.decode()
    history = history[history.index('id="job-timeline"') :]
    assert re.search(r"waited \d+s", history) and re.search(r"ran \d+s", history)
    assert 'data-status="failed"' in history and "running for" not in history


@pytest.mark.parametrize(
    ("fields", "notice"),
    [
        ({"gone": True}, "This job was deleted upstream."),
        ({"untrackable_reason": "No follower's token works any more."}, "This job cannot be tracked."),
        ({"error_count": 2, "last_error": "Nexical is unreachable."}, "Live updates paused:"),
    ],
)
def test_it_says_why_updates_stopped(client, cast, fields, notice):
    from django.utils import timezone

    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    TrackedJob.objects.filter(pk=scene.tracked().pk).update(last_error_at=timezone.now(), **fields)
    page = client.get(scene.url()).content.decode()
    assert notice in page


def test_a_long_log_shows_its_head_and_tail_and_the_middle_comes_by_range(client, cast, monkeypatch):
    monkeypatch.setattr(logs, "HEAD", 10)
    monkeypatch.setattr(logs, "TAIL", 20)
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    lines = record_lines(scene.tracked(), [f"line {n}" for n in range(1, 101)])
    page = client.get(scene.url()).content.decode()
    assert 'id="L10"' in page and 'id="L11"' not in page
    assert 'id="L80"' not in page and 'id="L81"' in page and 'id="L100"' in page
    assert f'data-after="{lines[9].pk}" data-before="{lines[80].pk}" data-count="70"' in page
    middle = client.get(
        scene.url("tracking:job_log_lines"), {"after": lines[9].pk, "before": lines[80].pk}
    ).json()
    assert middle["first"] == 11 and middle["count"] == 70 and not middle["more"]
    assert 'id="L11"' in middle["html"] and 'id="L80"' in middle["html"] and 'id="L81"' not in middle["html"]


def test_the_raw_log_is_plain_text_and_downloads(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    record_lines(scene.tracked(), ["\x1b[31mred\x1b[0m <b>bold</b>", "second"], level="error")
    response = client.get(scene.url("tracking:job_log_raw"))
    text = b"".join(response).decode()
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "ERROR \x1b[31mred\x1b[0m <b>bold</b>\n" in text and text.endswith("ERROR second\n")
    download = client.get(scene.url("tracking:job_log_raw"), {"download": "1"})
    assert download["Content-Disposition"] == f'attachment; filename="job-{scene.ids[3]}.log"'


def test_the_polling_fallback_sends_only_lines_after_the_cursor(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    lines = record_lines(scene.tracked(), ["one", "two", "three"])
    answer = client.get(scene.url("tracking:job_updates"), {"after": lines[0].pk}).json()
    assert answer["after"] == lines[2].pk and not answer["more"]
    line = next(event for event in answer["events"] if event["event"] == "line")
    assert line["data"]["first"] == 2 and "one" not in line["data"]["html"]
    assert [event["event"] for event in answer["events"]] == ["line", "status"]
    quiet = client.get(scene.url("tracking:job_updates"), {"after": lines[2].pk}).json()
    assert [event["event"] for event in quiet["events"]] == ["status"]


# --- triggering and watching ---------------------------------------------------------------------------


def test_a_job_triggered_from_the_branch_page_is_tracked_for_its_author(client, cast):
    project = cast.project()
    branch = cast.branch(project)
    as_user(client, cast.member)
    url = reverse("orchestrator:branch_detail", args=[cast.team["id"], project["id"], branch["id"]])
    response = client.post(url, {"type": "deploy", "inputs": "{}", "create_job": "1"})
    assert response.status_code == 302
    tracked = TrackedJob.objects.get(project_id=project["id"])
    assert JobInterest.objects.get(job=tracked, user=cast.member.user).reason == Reason.TRIGGERED


@pytest.mark.parametrize("role", ["owner", "member"])
def test_a_team_member_watches_and_unwatches_a_project_without_js(client, cast, role):
    project = cast.project()
    someone = getattr(cast, role)
    as_user(client, someone)
    team_page = reverse("orchestrator:team_detail", args=[cast.team["id"]])
    assert f'data-watch="{project["id"]}"' in client.get(team_page).content.decode()
    watch = reverse("tracking:project_watch", args=[cast.team["id"], project["id"]])
    response = client.post(watch, {"watch": "1", "next": team_page})
    assert response.status_code == 302 and response.url == team_page
    assert ProjectWatch.objects.filter(user=someone.user, project_id=project["id"]).exists()
    project_page = client.get(
        reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])
    ).content.decode()
    assert 'name="unwatch"' in project_page
    client.post(watch, {"unwatch": "1"})
    assert not ProjectWatch.objects.filter(user=someone.user, project_id=project["id"]).exists()


def test_an_outsider_cannot_watch_a_project(client, cast):
    project = cast.project()
    as_user(client, cast.outsider)
    watch = reverse("tracking:project_watch", args=[cast.team["id"], project["id"]])
    assert client.post(watch, {"watch": "1"}).status_code == 404
    assert not ProjectWatch.objects.exists()


def test_watching_refuses_get_a_missing_action_and_foreign_redirects(client, cast):
    project = cast.project()
    as_user(client, cast.member)
    watch = reverse("tracking:project_watch", args=[cast.team["id"], project["id"]])
    assert client.get(watch).status_code == 405
    assert client.post(watch, {}).status_code == 400
    response = client.post(watch, {"watch": "1", "next": "https://evil.example.com/"})
    assert response.url == reverse("orchestrator:project_detail", args=[cast.team["id"], project["id"]])


# --- the deployments overview ---------------------------------------------------------------------------


def test_the_overview_lists_triggered_and_watched_jobs_with_filters(client, cast):
    mine, watched, other = job_scene(cast), job_scene(cast), job_scene(cast)
    as_user(client, cast.member)
    for scene in (mine, watched, other):
        client.get(scene.url())  # viewed only: not on the overview
    JobInterest.objects.filter(job=mine.tracked(), user=cast.member.user).update(reason=Reason.TRIGGERED)
    ProjectWatch.objects.create(user=cast.member.user, team_id=cast.team["id"], project_id=watched.ids[1])
    record_status(watched.tracked(), "running")
    page = client.get(reverse("tracking:deployments")).content.decode()
    active = page[page.index('id="deployments-active"') : page.index('id="deployments-recent"')]
    assert f'data-tracked-job="{watched.ids[3]}"' in active and f'data-tracked-job="{mine.ids[3]}"' in active
    assert f'data-tracked-job="{other.ids[3]}"' not in page
    assert 'hx-trigger="every 3s"' in page  # live while something runs

    running = client.get(reverse("tracking:deployments"), {"status": "running"}).content.decode()
    assert (
        f'data-tracked-job="{watched.ids[3]}"' in running
        and f'data-tracked-job="{mine.ids[3]}"' not in running
    )
    by_project = client.get(reverse("tracking:deployments"), {"project": mine.ids[1]}).content.decode()
    assert f'data-tracked-job="{mine.ids[3]}"' in by_project
    assert f'data-tracked-job="{watched.ids[3]}"' not in by_project
    rows = client.get(
        reverse("tracking:deployments"), headers={"HX-Request": "true", "HX-Target": "deployment-rows"}
    )
    assert rows.content.decode().lstrip().startswith('<div id="deployment-rows"')


def test_the_overview_refuses_bad_filters_with_a_sentence(client, cast):
    as_user(client, cast.member)
    response = client.get(reverse("tracking:deployments"), {"team": "x", "status": "exploded"})
    assert response.status_code == 400
    assert "Those filters are not valid" in response.content.decode()


def test_the_overview_drops_jobs_of_a_team_the_user_left(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    JobInterest.objects.filter(user=cast.member.user).update(reason=Reason.TRIGGERED)
    assert (
        f'data-tracked-job="{scene.ids[3]}"' in client.get(reverse("tracking:deployments")).content.decode()
    )
    cast.api(cast.owner).http.delete(f"/teams/{cast.team['id']}/members/{cast.member.id}").raise_for_status()
    from django.core.cache import cache

    cache.clear()
    assert (
        f'data-tracked-job="{scene.ids[3]}"'
        not in client.get(reverse("tracking:deployments")).content.decode()
    )


def test_the_overview_is_empty_for_an_outsider_and_asks_strangers_to_sign_in(client, cast):
    scene = job_scene(cast)
    as_user(client, cast.member)
    client.get(scene.url())
    JobInterest.objects.update(reason=Reason.TRIGGERED)
    as_user(client, cast.outsider)
    page = client.get(reverse("tracking:deployments")).content.decode()
    assert "Nothing is running or waiting right now." in page and "data-tracked-job" not in page
    client.logout()
    assert client.get(reverse("tracking:deployments")).status_code == 302
