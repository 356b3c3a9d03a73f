"""Bounded waits on the pages: a hung upstream costs a page its time budget and the sentence, never
the timeout times the retries; an upstream that keeps timing out is treated as down for a while (the
circuit breaker), and tried again after its cool-down."""

import re

import pytest
from django.urls import reverse

from tests.support.orchestrator_cast import as_user

pytestmark = pytest.mark.django_db

# Hung requests sleep far longer than any budget below; they answer long after the page gave up.
HUNG = {"scope": "nexical", "hang_seconds": 10}
UNREACHABLE = "The Nexical orchestrator is unreachable right now"
BREAKER_SENTENCE = re.compile(
    r"The Nexical orchestrator is unreachable right now \(last answered at \d\d:\d\d:\d\d\)\. "
    r"Try again in a minute\."
)


@pytest.fixture
def short_budget(settings):
    """A 1 s budget, and the default retries and timeout that used to make a page wait 30 s."""
    settings.UPSTREAM_PAGE_BUDGET = 1.0
    settings.UPSTREAM_TIMEOUT = 10.0
    settings.UPSTREAM_GET_RETRIES = 2
    return settings


def nexical_calls(sandbox) -> dict[str, int]:
    """The reads Nexical served: the pages' calls. (The sandbox serves the whole xdist worker, and a
    simulated worker of an earlier test may still be posting a log line.)"""
    counts = sandbox.request_counts().items()
    return {call: count for call, count in counts if call.startswith("GET /nexical/")}


def teams_page(client):
    return client.get(reverse("orchestrator:team_list"))


def open_the_breaker(client, sandbox, settings) -> None:
    """The teams list answers once (so the breaker knows when Nexical last answered), then times
    out as often as it takes to open the breaker."""
    assert teams_page(client).status_code == 200
    settings.UPSTREAM_PAGE_BUDGET = 0.5
    sandbox.set_knobs(hang=settings.UPSTREAM_BREAKER_FAILURES, **HUNG)
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES):
        response = teams_page(client)
        assert response.status_code == 503 and UNREACHABLE in response.content.decode()


def test_a_hung_upstream_gets_one_attempt_within_the_budget_and_the_sentence(
    client, cast, sandbox, short_budget
):
    as_user(client, cast.owner)
    sandbox.set_knobs(hang=10, **HUNG)
    sandbox.reset_request_counts()

    response = teams_page(client)

    assert response.status_code == 503
    assert f"{UNREACHABLE}. Try again in a minute." in response.content.decode()
    # The attempt used the whole budget: no retry could fit in what was left.
    assert nexical_calls(sandbox) == {"GET /nexical/teams": 1}


def test_the_reads_of_a_page_share_one_budget(client, cast, sandbox, short_budget):
    """The team page's four reads run at once; all of them hung, the page still answers in time."""
    as_user(client, cast.owner)
    sandbox.set_knobs(hang=10, **HUNG)

    response = client.get(reverse("orchestrator:team_detail", args=[cast.team["id"]]))

    assert response.status_code == 503
    assert UNREACHABLE in response.content.decode()


def test_after_repeated_timeouts_pages_answer_at_once_without_calling_upstream(
    client, cast, sandbox, short_budget
):
    as_user(client, cast.owner)
    open_the_breaker(client, sandbox, short_budget)
    sandbox.reset_request_counts()

    response = teams_page(client)
    other_page = client.get(reverse("orchestrator:team_detail", args=[cast.team["id"]]))

    assert response.status_code == 503 and other_page.status_code == 503
    assert BREAKER_SENTENCE.search(response.content.decode())
    assert BREAKER_SENTENCE.search(other_page.content.decode())
    assert nexical_calls(sandbox) == {}


def test_the_breaker_closes_when_a_trial_call_after_the_cool_down_answers(
    client, cast, sandbox, short_budget
):
    as_user(client, cast.owner)
    open_the_breaker(client, sandbox, short_budget)
    assert BREAKER_SENTENCE.search(teams_page(client).content.decode())

    short_budget.UPSTREAM_BREAKER_COOLDOWN = 0.0  # the cool-down is over
    short_budget.UPSTREAM_PAGE_BUDGET = 8.0  # room for a busy sandbox's answers
    sandbox.reset_request_counts()
    trial = teams_page(client)
    after = teams_page(client)

    assert trial.status_code == 200 and after.status_code == 200
    assert cast.team["name"] in after.content.decode()
    assert nexical_calls(sandbox) == {"GET /nexical/teams": 2}


def test_error_answers_prove_the_upstream_is_up_and_never_open_the_breaker(client, cast, sandbox, settings):
    settings.UPSTREAM_GET_RETRIES = 0
    as_user(client, cast.owner)
    sandbox.set_knobs(scope="nexical", error_rate=1.0)
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES + 1):
        assert teams_page(client).status_code == 502

    sandbox.reset_knobs()
    sandbox.reset_request_counts()
    assert teams_page(client).status_code == 200
    assert nexical_calls(sandbox) == {"GET /nexical/teams": 1}
