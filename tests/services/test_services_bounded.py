"""The transport's bounds: the caller's time budget (services.budget) and the circuit breaker per
upstream (services.breaker), against the live sandbox's hang knob and a port nobody listens on."""

import asyncio

import pytest

from dashboard.services import breaker, http, nexical, nexustoken
from dashboard.services.budget import upstream_budget
from dashboard.services.errors import APIError, CircuitOpenError, NetworkError
from tests.services.test_services_nexical import create_nexical_user
from tests.support.helpers import new_nexustoken_account
from tests.support.sandbox_process import free_port


@pytest.fixture(autouse=True)
async def _close_clients():
    yield
    await http.aclose()


@pytest.fixture
def user_api(sandbox) -> nexical.NexicalAPI:
    return nexical.NexicalAPI(create_nexical_user(sandbox)["token"])


def nowhere(settings) -> nexical.NexicalAPI:
    """Nexical at a port nobody listens on: every attempt is refused at once."""
    settings.NEXICAL_API_URL = f"http://127.0.0.1:{free_port()}/nexical"
    return nexical.NexicalAPI("nx_nowhere_test_token")


async def test_a_budget_cuts_the_attempt_and_skips_the_retries_that_cannot_fit(sandbox, settings, user_api):
    settings.UPSTREAM_GET_RETRIES = 2
    sandbox.set_knobs(hang=3, hang_seconds=10, scope="nexical")
    sandbox.reset_request_counts()

    with upstream_budget(0.5), pytest.raises(NetworkError) as caught:
        await nexical.users_me(user_api)

    assert not isinstance(caught.value, CircuitOpenError)
    assert sandbox.request_counts() == {"GET /nexical/users/me": 1}


async def test_each_upstream_has_its_own_share_of_a_budget(sandbox, settings, user_api):
    """Nexical hung and spent its share; NexusToken, asked afterwards, still gets the whole budget."""
    nexus_api = nexustoken.NexusTokenAPI(new_nexustoken_account(sandbox)["api_key"])
    sandbox.set_knobs(hang=1, hang_seconds=10, scope="nexical")

    with upstream_budget(0.5):
        with pytest.raises(NetworkError):
            await nexical.users_me(user_api)
        balance = await nexustoken.credits_balance(nexus_api)
        with pytest.raises(NetworkError):  # spent: not even sent
            await nexical.users_me(user_api)

    assert balance.credits_balance >= 0


async def test_connection_failures_open_the_breaker_and_it_refuses_at_once(settings):
    settings.UPSTREAM_GET_RETRIES = 0
    api = nowhere(settings)
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES):
        with pytest.raises(NetworkError) as caught:
            await nexical.users_me(api)
        assert not isinstance(caught.value, CircuitOpenError)

    with pytest.raises(CircuitOpenError) as refused:
        await nexical.users_me(api)

    # It never answered in this process: nothing to say about when it last did.
    assert refused.value.last_answered is None
    assert refused.value.user_message == (
        "The Nexical orchestrator is unreachable right now. Try again in a minute."
    )


async def test_failures_spread_wider_than_the_window_do_not_open_it(settings):
    settings.UPSTREAM_GET_RETRIES = 0
    settings.UPSTREAM_BREAKER_WINDOW = 0.0  # each failure starts a new streak
    api = nowhere(settings)
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES + 2):
        with pytest.raises(NetworkError) as caught:
            await nexical.users_me(api)
        assert not isinstance(caught.value, CircuitOpenError)


async def test_a_failed_trial_opens_it_again_and_an_answer_closes_it(sandbox, settings, user_api):
    settings.UPSTREAM_GET_RETRIES = 0
    await nexical.users_me(user_api)  # answered: the breaker knows when
    sandbox.set_knobs(hang=settings.UPSTREAM_BREAKER_FAILURES + 1, hang_seconds=10, scope="nexical")
    settings.UPSTREAM_TIMEOUT = 0.3
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES):
        with pytest.raises(NetworkError):
            await nexical.users_me(user_api)
    with pytest.raises(CircuitOpenError) as refused:
        await nexical.users_me(user_api)
    assert refused.value.last_answered is not None
    assert "(last answered at " in refused.value.user_message

    settings.UPSTREAM_BREAKER_COOLDOWN = 0.0
    with pytest.raises(NetworkError) as trial:  # the trial hangs too: open again
        await nexical.users_me(user_api)
    assert not isinstance(trial.value, CircuitOpenError)
    settings.UPSTREAM_BREAKER_COOLDOWN = 60.0
    with pytest.raises(CircuitOpenError):
        await nexical.users_me(user_api)

    settings.UPSTREAM_BREAKER_COOLDOWN = 0.0
    me = await nexical.users_me(user_api)  # the hangs are used up: the trial answers
    settings.UPSTREAM_BREAKER_COOLDOWN = 60.0
    assert me.role == "user"
    assert (await nexical.users_me(user_api)).role == "user"


async def test_one_trial_at_a_time(sandbox, settings, user_api):
    """After the cool-down one call goes out; the others are refused until it has answered."""
    settings.UPSTREAM_GET_RETRIES = 0
    base_url = settings.NEXICAL_API_URL.rstrip("/")
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES):
        breaker.failed("Nexical", base_url)
    settings.UPSTREAM_BREAKER_COOLDOWN = 0.0
    sandbox.reset_request_counts()

    results = await asyncio.gather(*(nexical.users_me(user_api) for _ in range(3)), return_exceptions=True)

    assert sum(isinstance(result, CircuitOpenError) for result in results) == 2
    assert sandbox.request_counts() == {"GET /nexical/users/me": 1}


async def test_breakers_are_kept_per_upstream(sandbox, settings):
    settings.UPSTREAM_GET_RETRIES = 0
    nexus_api = nexustoken.NexusTokenAPI(new_nexustoken_account(sandbox)["api_key"])
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES):
        breaker.failed("Nexical", settings.NEXICAL_API_URL.rstrip("/"))

    assert (await nexustoken.credits_balance(nexus_api)).credits_balance >= 0


async def test_error_answers_do_not_count_as_failures(sandbox, settings, user_api):
    settings.UPSTREAM_GET_RETRIES = 0
    sandbox.set_knobs(error_rate=1.0, scope="nexical")
    for _ in range(settings.UPSTREAM_BREAKER_FAILURES + 1):
        with pytest.raises(APIError):
            await nexical.users_me(user_api)
