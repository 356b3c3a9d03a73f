"""A circuit breaker per upstream, per process: a hung upstream costs each page the sentence, not
the whole budget.

Closed, every call goes through. `UPSTREAM_BREAKER_FAILURES` attempts in a row that got no answer
at all (a timeout, a refused or dropped connection) within `UPSTREAM_BREAKER_WINDOW` seconds open it:
for `UPSTREAM_BREAKER_COOLDOWN` seconds every call fails at once with `CircuitOpenError`, which says
when the upstream last answered. After that one call is let through as a trial; an answer closes the
breaker, another failure opens it for a new cool-down. Any HTTP answer counts as an answer, a 4xx
or 5xx included: it proves the upstream is there, and the retry policy deals with it.

The breakers are kept by upstream name and base URL, so two configured upstreams (or two test
sandboxes) never share one. `reset()` forgets them all (tests). The state is shared by every thread
and event loop of the process, hence the lock.
"""

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime

from django.conf import settings
from django.utils import timezone

from .errors import CircuitOpenError

logger = logging.getLogger("dashboard.services")


@dataclass
class _State:
    failures: int = 0  # attempts in a row without an answer
    first_failure_at: float = 0.0  # monotonic time of the first of them
    opened_at: float | None = None  # monotonic; None while closed
    trial_until: float = 0.0  # monotonic; a trial call is under way until then
    last_answered: datetime | None = None


_lock = threading.Lock()
_states: dict[tuple[str, str], _State] = {}


def admit(service: str, base_url: str, *, trial_seconds: float) -> None:
    """Let one attempt go out, or raise CircuitOpenError while the upstream is treated as down.

    Once the cool-down is over, one attempt goes out as the trial; the others are refused until it
    ends, or until `trial_seconds` passed (its caller may have been cancelled and never report).
    """
    now = time.monotonic()
    with _lock:
        state = _states.setdefault((service, base_url), _State())
        if state.opened_at is None:
            return
        if now < state.opened_at + settings.UPSTREAM_BREAKER_COOLDOWN or now < state.trial_until:
            raise CircuitOpenError(service, last_answered=state.last_answered)
        state.trial_until = now + trial_seconds
    logger.info("%s: trying again after its cool-down", service)


def answered(service: str, base_url: str) -> None:
    """The upstream gave an HTTP answer (any status): it is up."""
    with _lock:
        state = _states.setdefault((service, base_url), _State())
        was_open = state.opened_at is not None
        state.failures, state.opened_at, state.trial_until = 0, None, 0.0
        state.last_answered = timezone.now()
    if was_open:
        logger.warning("%s answers again: calls go through", service)


def failed(service: str, base_url: str) -> None:
    """An attempt got no answer: a timeout, or a connection refused, reset or never made."""
    now = time.monotonic()
    with _lock:
        state = _states.setdefault((service, base_url), _State())
        if state.opened_at is not None:
            # The trial failed (or a call sent before the breaker opened): a new cool-down.
            state.opened_at, state.trial_until = now, 0.0
            return
        if state.failures == 0 or now - state.first_failure_at > settings.UPSTREAM_BREAKER_WINDOW:
            state.failures, state.first_failure_at = 0, now
        state.failures += 1
        if state.failures < settings.UPSTREAM_BREAKER_FAILURES:
            return
        state.opened_at = now
        failures = state.failures
    logger.warning(
        "%s gave no answer %d times in a row: treated as down for %g s",
        service,
        failures,
        settings.UPSTREAM_BREAKER_COOLDOWN,
    )


def reset() -> None:
    """Forget every upstream's state (tests: an open breaker must not outlive its test)."""
    with _lock:
        _states.clear()
