"""Whose token the poller acts with, and each token's rate limit.

The poller acts for the users with an interest in a job (who triggered it, watch its project, or
viewed it), never with a token of its own. It tries their connections in order; a 401 marks that
connection for its owner (clients.note_failure) and the next is tried; a 403 or 404 may only mean
that this user lost access, so the next is tried too. A 429 pauses that token alone for its
Retry-After, in this process (dashboard.core.ratelimits).

The upstream counts a token's calls per minute, the owner's pages and the poller's together. So the
poller makes at most POLLER_TOKEN_CALLS_PER_MINUTE with any one token (at a steady rate after a
short burst), and past that share it goes on with the next candidate: busy branches spread over their
followers' tokens, and each person's pages keep the rest of their own limit.

Each call may take POLLER_CALL_BUDGET seconds in all, retries included. A token whose call got no
answer is left out for the rest of the pass (the next candidate serves its other jobs, if any), so
one hung token costs a pass one budget, not one per branch; the next candidate is not tried for
the same call, since a timeout more often means the upstream than the token.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from django.conf import settings

from dashboard.accounts import clients
from dashboard.accounts.models import Connection
from dashboard.core.ratelimits import TokenLimits
from dashboard.services.budget import upstream_budget
from dashboard.services.errors import (
    NEXICAL,
    APIError,
    AuthError,
    CircuitOpenError,
    NetworkError,
    RateLimitError,
)
from dashboard.services.nexical import NexicalAPI


class NoUsableToken(Exception):
    """Every candidate's token was rejected (or there was none): the job cannot be tracked."""


class AllRateLimited(Exception):
    """Every usable token is rate limited; `retry_in` seconds until the first is free again."""

    def __init__(self, retry_in: float) -> None:
        self.retry_in = retry_in
        super().__init__(f"rate limited for {retry_in:.1f} s")


@dataclass
class TokenPool:
    """Per-process memory of tokens: rate-limited until when, which were rejected or stalled this pass."""

    limits: TokenLimits = field(default_factory=TokenLimits)
    rejected: set[int] = field(default_factory=set)  # connection pks that answered 401 this pass
    stalled: set[int] = field(default_factory=set)  # connection pks whose call got no answer this pass

    def new_pass(self) -> None:
        # A rejected connection is marked needs_attention and left out of later passes' candidates;
        # once its owner reconnects (same row, new secret) it is a candidate again.
        self.rejected.clear()
        self.stalled.clear()

    async def call[T](
        self, connections: list[Connection], request: Callable[[NexicalAPI], Awaitable[T]]
    ) -> T:
        """`request` made with the first candidate whose token works.

        Raises the upstream's 404/403 if every candidate got one (the job is gone, or nobody may see
        it any more), AllRateLimited, NoUsableToken, a NetworkError when the only usable tokens
        stalled earlier in the pass, or any other UpstreamError as it came.
        """
        refused: APIError | AuthError | None = None
        waits: list[float] = []
        skipped_stalled = False
        for candidate in connections:
            if candidate.pk in self.rejected:
                continue
            if candidate.pk in self.stalled:
                skipped_stalled = True
                continue
            wait = max(
                self.limits.wait(candidate.pk),
                self.limits.share_wait(candidate.pk, settings.POLLER_TOKEN_CALLS_PER_MINUTE),
            )
            if wait > 0:
                waits.append(wait)
                continue
            self.limits.count(candidate.pk, settings.POLLER_TOKEN_CALLS_PER_MINUTE)
            try:
                api = await clients.nexical_api(candidate)
                with upstream_budget(settings.POLLER_CALL_BUDGET):
                    return await request(api)
            except NetworkError as error:
                if not isinstance(error, CircuitOpenError):  # refused unsent: the token is not to blame
                    self.stalled.add(candidate.pk)
                raise
            except RateLimitError as error:
                waits.append(self.limits.limited(candidate.pk, error))
            except AuthError as error:
                if error.is_unauthenticated:
                    self.rejected.add(candidate.pk)
                    await clients.note_failure(candidate, error)
                else:
                    refused = error
            except APIError as error:
                if not error.is_not_found:
                    raise
                refused = error
        if refused is not None:
            raise refused
        if waits:
            raise AllRateLimited(min(waits))
        if skipped_stalled:
            raise NetworkError(NEXICAL)
        raise NoUsableToken
