"""How long a caller may still wait on each upstream: a deadline carried through the service layer.

A page must answer within a few seconds whatever an upstream does, and a poller pass must not wait
a minute on one hung call. Whoever starts such a piece of work opens a budget (`upstream_budget`):
the web requests in `dashboard.core.deadlines`, the pollers around each upstream call.
`http.request` reads what is left (`remaining`), shortens each attempt to fit and skips the retries
that cannot.

The deadline of one upstream starts at the first call to it, so a page that asks Nexical and then
NexusToken gives each the whole budget, while its calls to one upstream share it, retries included.
A budget opened inside another never outlives the outer one. The budget lives in a context
variable: concurrent calls (`asyncio.gather`) share their caller's, and code that opened none (a
management command, a test calling the service layer) waits as long as the timeouts allow.
"""

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field


@dataclass
class Budget:
    seconds: float
    outer: "Budget | None" = None
    # Upstream name -> monotonic deadline, set by the first call to it.
    deadlines: dict[str, float] = field(default_factory=dict)

    def deadline(self, upstream: str) -> float:
        own = self.deadlines.setdefault(upstream, time.monotonic() + self.seconds)
        return own if self.outer is None else min(own, self.outer.deadline(upstream))


_current: ContextVar[Budget | None] = ContextVar("upstream_budget", default=None)


@contextmanager
def upstream_budget(seconds: float) -> Iterator[Budget]:
    """Bound the time the code inside may wait on each upstream to `seconds`, retries included."""
    budget = Budget(seconds, outer=_current.get())
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


def remaining(upstream: str) -> float | None:
    """Seconds left to wait on this upstream (0 or less: spent); None when no budget was opened."""
    budget = _current.get()
    if budget is None:
        return None
    return budget.deadline(upstream) - time.monotonic()
