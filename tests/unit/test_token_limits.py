"""The pollers' share of a token's rate limit: a short burst, then a steady rate, never a stall."""

import pytest

from dashboard.core.ratelimits import TokenLimits


@pytest.fixture
def clock():
    return [1000.0]


@pytest.fixture
def limits(clock):
    return TokenLimits(clock=lambda: clock[0])


def spend(limits: TokenLimits, per_minute: int) -> int:
    """Calls made with token 1 until the share says wait."""
    made = 0
    while limits.share_wait(1, per_minute) == 0:
        limits.count(1, per_minute)
        made += 1
    return made


def test_a_minutes_worth_goes_at_once_then_calls_go_at_the_steady_rate(clock, limits):
    assert spend(limits, 300) == 300  # an idle token's whole minute, as a count of the minute allows
    assert limits.share_wait(1, 300) == pytest.approx(0.2)  # the next one in 1/5 s, not in a minute
    clock[0] += 0.2
    assert spend(limits, 300) == 1
    # Then 5 a second for as long as the poller is busy: never a stall, as a count of the last
    # sixty seconds gives (the minute's share spent early, then nothing until it slides on).
    made = 0
    for _ in range(300):
        clock[0] += 0.2
        made += spend(limits, 300)
    assert made == 300


def test_each_token_has_its_own_share(limits):
    spend(limits, 60)
    assert limits.share_wait(1, 60) > 0
    assert limits.share_wait(2, 60) == 0


def test_a_share_of_one_a_minute_allows_one_call_then_waits_the_minute(limits):
    assert spend(limits, 1) == 1
    assert limits.share_wait(1, 1) == pytest.approx(60.0)
