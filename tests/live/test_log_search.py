"""Stored line numbers, search over the whole cached log and its outline (step groups, errors)."""

import importlib

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from dashboard.tracking import logsearch
from dashboard.tracking.logtext import group_marker
from dashboard.tracking.models import LogLine
from dashboard.tracking.poller import Poller
from dashboard.tracking.record import cut_message
from tests.support.live_helpers import job_scene, record_lines
from tests.support.tracking_helpers import Worker, make_due, new_branch, one_pass

pytestmark = pytest.mark.django_db

MEGABYTE_LINE = "begin " + "x" * 1_000_000 + " needle-at-the-end"


@pytest.fixture
def scene(cast, client):
    """A job the member has opened (so it is tracked), with nothing in its log yet."""
    scene = job_scene(cast)
    client.force_login(cast.member.user)
    assert client.get(scene.url()).status_code == 200
    return scene


def search(client, scene, **params):
    return client.get(scene.url("tracking:job_log_search"), params)


def outline(client, scene) -> dict:
    response = client.get(scene.url("tracking:job_log_outline"))
    assert response.status_code == 200
    return response.json()


def test_the_poller_stores_each_lines_number_and_search_and_outline_read_them(cast, client):
    place = new_branch(cast)
    job = place.new_job()
    tracked = place.track(cast.member, job)
    worker = Worker(cast)
    poller = Poller(name="numbers")
    running = worker.acquire()
    worker.log(running, "::group::Install", "npm ci", "::endgroup::")
    one_pass(poller)
    worker.log(running, "::group::Build", "compiling", "Error: exit 2", "::endgroup::")
    worker.log(running, "\x1b[31mboom\x1b[0m", level="error")
    # The sandbox takes messages up to 100 kB: past the cache's 64 KiB cut, short of a megabyte.
    worker.log(running, "begin " + "x" * 90_000 + " needle-at-the-end", "bytes \x01\x02\x7f \ufffd end")
    worker.fail(running)
    make_due()
    one_pass(poller)
    stored = list(tracked.log_lines.order_by("id").values_list("number", flat=True))
    assert stored == list(range(1, 11))

    client.force_login(cast.member.user)
    ids = [cast.team["id"], place.project["id"], place.branch["id"], job["id"]]
    found = client.get(reverse("tracking:job_log_search", args=ids), {"q": "NEEDLE-AT"}).json()
    # The stored line was cut to 64 KiB: its end is not in the cache (the raw view says so).
    assert found == {"query": "NEEDLE-AT", "count": 0, "lines": [], "capped": False}
    assert client.get(reverse("tracking:job_log_search", args=ids), {"q": "xxxxxx"}).json()["lines"] == [9]
    assert client.get(reverse("tracking:job_log_search", args=ids), {"q": "bytes"}).json()["lines"] == [10]
    shape = client.get(reverse("tracking:job_log_outline", args=ids)).json()
    assert shape["total"] == 10 and shape["error_count"] == 1 and shape["errors"] == [8]
    assert [(g["name"], g["start"], g["end"], g["count"], g["error"]) for g in shape["groups"]] == [
        ("Install", 1, 3, 1, False),
        ("Build", 4, 7, 2, False),
    ]
    assert all(isinstance(g["seconds"], float) and g["seconds"] >= 0 for g in shape["groups"])


def test_the_migration_backfills_numbers_in_id_order_within_each_job(cast):
    """What migration 0004 runs on a cache made before the column: numbers from 1 per job, by id."""
    migration = importlib.import_module("dashboard.tracking.migrations.0004_logline_number_and_search")
    first, second = job_scene(cast), job_scene(cast)
    jobs = []
    for scene in (first, second):
        client = Client()
        client.force_login(cast.member.user)
        client.get(scene.url())
        jobs.append(scene.tracked())
    for upstream_id in range(1, 4):  # interleaved: ids alternate between the jobs
        for job in jobs:
            LogLine.objects.create(
                job=job,
                upstream_id=upstream_id,
                number=0,
                level="info",
                message="m",
                logged_at=timezone.now(),
            )

    class Editor:
        def execute(self, sql):
            with connection.cursor() as cursor:
                cursor.execute(sql)

    migration.backfill(None, Editor())
    for job in jobs:
        assert list(job.log_lines.order_by("id").values_list("number", flat=True)) == [1, 2, 3]


@pytest.mark.parametrize(
    "name", ["tracking:job_log_search", "tracking:job_log_outline", "tracking:job_log_levels"]
)
def test_it_hides_search_and_outline_from_an_outsider(client, cast, scene, name):
    record_lines(scene.tracked(), ["members-only secret line"])
    client.force_login(cast.outsider.user)
    response = client.get(scene.url(name), {"q": "members-only"})
    assert response.status_code == 404
    assert b"members-only" not in response.content
    client.force_login(cast.owner.user)
    assert client.get(scene.url(name), {"q": "members-only"}).status_code == 200


def test_it_searches_the_whole_log_case_insensitively_and_counts_past_the_cap(client, scene, monkeypatch):
    monkeypatch.setattr(logsearch, "MAX_RESULTS", 3)
    tracked = scene.tracked()
    record_lines(tracked, [f"step {n}: {'Deploy OK' if n % 2 else 'nothing'}" for n in range(1, 11)])
    found = search(client, scene, q="deploy ok").json()
    assert found == {"query": "deploy ok", "count": 5, "lines": [1, 3, 5], "capped": True}
    assert search(client, scene, q="deploy ok", case="1").json()["count"] == 0
    assert search(client, scene, q="Deploy OK", case="1").json()["count"] == 5
    # Short queries (below the trigram index's three characters) still find their lines.
    assert search(client, scene, q="7").json()["lines"] == [7]
    assert search(client, scene, q="K", case="1").json()["count"] == 5


def test_it_leaves_out_the_levels_the_reader_filtered_out(client, scene):
    tracked = scene.tracked()
    record_lines(tracked, ["deploy step one", "deploy step two"])  # 1, 2
    record_lines(tracked, ["deploy is slow"], level="warn")  # 3
    record_lines(tracked, ["deploy failed"], level="error")  # 4
    # Every search path: the trigram index (or PostgreSQL's), a short query's scan, a regex.
    assert search(client, scene, q="deploy", hide="info").json()["lines"] == [3, 4]
    assert search(client, scene, q="de", hide="info,warn").json()["lines"] == [4]
    assert search(client, scene, q="Deploy", case="1", hide="info").json()["count"] == 0
    assert search(client, scene, q=r"deploy \w+", regex="1", hide="error, info").json()["lines"] == [3]
    assert search(client, scene, q="deploy", hide="").json()["count"] == 4
    too_many = ",".join(f"level{n}" for n in range(logsearch.MAX_HIDDEN + 1))
    assert "at most" in search(client, scene, q="deploy", hide=too_many).json()["error"]


@pytest.mark.parametrize(
    "query", ["%", "_", "\\", ".*", "[a]", "(x)", "a+b", "$1", "^step", '"quoted"', "it's", "50%_\\done"]
)
def test_it_searches_regex_and_like_metacharacters_as_plain_text_by_default(client, scene, query):
    record_lines(scene.tracked(), ["plain line", f"holds {query} inside", "another plain line"])
    found = search(client, scene, q=query).json()
    assert found["lines"] == [2], query


def test_it_searches_by_regular_expression_when_asked(client, scene):
    record_lines(scene.tracked(), ["took 12.5s", "took 3s", "Took 99.1s", "no time"])
    assert search(client, scene, q=r"took \d+\.\d+s", regex="1").json()["lines"] == [1, 3]
    assert search(client, scene, q=r"took \d+\.\d+s", regex="1", case="1").json()["lines"] == [1]
    assert search(client, scene, q=r"^no", regex="1").json()["count"] == 1


@pytest.mark.parametrize(
    ("params", "sentence"),
    [
        ({}, "Type something to search for."),
        ({"q": ""}, "Type something to search for."),
        ({"q": "x" * 10_000}, "at most 500 characters"),
        ({"q": "x" * 501}, "at most 500 characters"),
        ({"q": "[unclosed", "regex": "1"}, "not a valid regular expression"),
        ({"q": "(a+)+$", "regex": "1"}, "too costly"),
        ({"q": "(a|aa)*b", "regex": "1"}, "too costly"),
        ({"q": r"(\w)\1", "regex": "1"}, "back-references"),
        ({"q": ".*a.*b.*c.*d", "regex": "1"}, "too costly"),
    ],
)
def test_it_refuses_a_bad_search_with_a_sentence(client, scene, params, sentence):
    record_lines(scene.tracked(), ["a line"])
    response = search(client, scene, **params)
    assert response.status_code == 400
    assert sentence in response.json()["error"]


def test_it_accepts_a_500_character_query(client, scene):
    record_lines(scene.tracked(), ["y" * 600])
    assert search(client, scene, q="y" * 500).json()["lines"] == [1]


def test_it_searches_a_megabyte_line_and_binary_bytes_safely(client, scene):
    cut, truncated = cut_message(MEGABYTE_LINE)
    assert truncated
    record_lines(scene.tracked(), [cut, cut_message("PNG\x00\x01\x02\x7f\x85 \ud800 done")[0]])
    assert search(client, scene, q="begin xxx").json()["lines"] == [1]
    assert search(client, scene, q="\ufffd").json()["lines"] == [2]
    assert search(client, scene, q="x{3}", regex="1").json()["lines"] == [1]
    # NUL and lone surrogates are stored as U+FFFD (PostgreSQL refuses them): a query too.
    assert search(client, scene, q="\x00\x01").json()["lines"] == [2]


def test_it_outlines_nested_empty_and_unclosed_groups(client, scene):
    tracked = scene.tracked()
    record_lines(
        tracked,
        [
            "::group::Outer",  # 1
            "  ::group::Inner",  # 2
            "inner work",  # 3
            "::endgroup::",  # 4
            "::group::Empty",  # 5
            "::endgroup::",  # 6
            "::endgroup::",  # 7 closes Outer
            "::endgroup::",  # 8 stray: no group is open
            "##[group]Tail",  # 9
            "still going",  # 10
        ],
    )
    record_lines(tracked, ["it broke"], level="error")  # 11
    shape = outline(client, scene)
    assert shape["total"] == 11 and shape["errors"] == [11]
    assert [
        (g["name"], g["start"], g["end"], g["count"], g["depth"], g["error"]) for g in shape["groups"]
    ] == [
        ("Outer", 1, 7, 5, 0, False),
        ("Inner", 2, 4, 1, 1, False),
        ("Empty", 5, 6, 0, 1, False),
        ("Tail", 9, None, 2, 0, True),
    ]
    assert shape["groups"][3]["seconds"] is None


def levels(client, scene) -> dict:
    response = client.get(scene.url("tracking:job_log_levels"))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    return response.json()


def test_it_counts_each_levels_lines_per_block_of_line_numbers(client, scene, monkeypatch):
    tracked = scene.tracked()
    record_lines(tracked, ["a", "b", "c"])  # 1-3
    record_lines(tracked, ["careful"], level="warn")  # 4
    record_lines(tracked, ["d"] * 5)  # 5-9
    record_lines(tracked, ["boom"], level="error")  # 10
    assert levels(client, scene) == {
        "total": 10,
        "block": 100,
        "counts": {"info": [8], "warn": [1], "error": [1]},
    }
    # A longer log gets larger blocks (a multiple of the smallest), never more than MAX_BLOCKS.
    monkeypatch.setattr(logsearch, "LEVEL_BLOCK", 2)
    monkeypatch.setattr(logsearch, "MAX_BLOCKS", 3)
    assert levels(client, scene) == {
        "total": 10,
        "block": 4,  # 10 lines in blocks of 2 would be 5 blocks: blocks of 4, 1-4, 5-8, 9-10
        "counts": {"info": [3, 4, 1], "warn": [1, 0, 0], "error": [0, 0, 1]},
    }


def test_an_empty_log_has_no_level_counts(client, scene):
    assert levels(client, scene) == {"total": 0, "block": 100, "counts": {}}


def test_it_gives_a_marker_name_with_html_and_ansi_as_plain_text(client, scene):
    record_lines(
        scene.tracked(),
        ["\x1b[1;36m::group::<img src=x onerror=alert(1)> \x1b[31mBuild\x1b[0m\x07", "::endgroup::"],
    )
    response = client.get(scene.url("tracking:job_log_outline"))
    assert response["Content-Type"] == "application/json"
    assert response.json()["groups"][0]["name"] == "<img src=x onerror=alert(1)> Build"


@pytest.mark.parametrize(
    ("message", "marker"),
    [
        ("::group::Install", ("start", "Install")),
        ("   ::group::  Spaced name  ", ("start", "Spaced name")),
        ("##[group]Azure style", ("start", "Azure style")),
        ("\x1b[36m::endgroup::\x1b[0m", ("end", "")),
        ("##[endgroup]", ("end", "")),
        ("::group::", ("start", "")),
        ("::group::first\nsecond", ("start", "first")),
        ("echo ::group::not at the start", None),
        ("::endgroup:: trailing words", None),
        ("::Group::wrong case", None),
        ("", None),
    ],
)
def test_it_recognises_group_markers(message, marker):
    assert group_marker(message) == marker
