"""Per-token rate limits of the pollers: when each stored token may be used again, in this process.

Both pollers act with the users' own tokens, and each upstream limits requests per token. A 429
rests that token alone for its Retry-After; other users' tokens go on. A caller that wants to stay
under a known rate also spaces its calls of one token, or counts them against a share of the
upstream's limit, leaving the rest for the pages of the same user.
Keys are connection pks, so one limiter can serve both upstreams.
"""

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from dashboard.services.errors import RateLimitError

# A 429 without Retry-After: wait this long before using the token again.
DEFAULT_RETRY_AFTER = 5.0
MINUTE = 60.0
# How many seconds' worth of a token's share may be spent at once (see `share_wait`): a whole minute,
# as a count of the last minute would allow. Less throttled the twenty live tabs of one person into
# reading some of their jobs too rarely.
BURST_SECONDS = 60.0


@dataclass
class TokenLimits:
    free_at: dict[int, float] = field(default_factory=dict)  # connection pk -> monotonic time
    # connection pk -> (calls it may make now, monotonic time of that count)
    buckets: dict[int, tuple[float, float]] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic

    def wait(self, key: int) -> float:
        """Seconds until this token may be used again; 0 when it may be used now."""
        return max(0.0, self.free_at.get(key, 0.0) - self.clock())

    def limited(self, key: int, error: RateLimitError) -> float:
        """A 429 for this token: it rests for the upstream's Retry-After (or a default); returns how long."""
        retry_after = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
        self._rest(key, retry_after)
        return retry_after

    async def take_turn(self, key: int, spacing: float) -> None:
        """Wait until this token may be used, then keep its next call `spacing` seconds behind this one."""
        await asyncio.sleep(self.wait(key))
        self._rest(key, spacing)

    def count(self, key: int, per_minute: int) -> None:
        """Note one call made with this token now (see `share_wait`)."""
        self._fill(key, per_minute)
        tokens, at = self.buckets[key]
        self.buckets[key] = (tokens - 1.0, at)

    def share_wait(self, key: int, per_minute: int) -> float:
        """Seconds until a call with this token keeps within `per_minute`; 0 when it may go now.

        A token bucket: a burst of up to BURST_SECONDS worth of calls goes at once, then calls go at
        the steady rate. (A count of the last sixty seconds would let a busy poller spend the whole
        minute's share in its first forty seconds and then stall for twenty.) The price: right after
        an idle minute, a busy minute may take up to twice the share.
        """
        tokens = self._fill(key, per_minute)
        return 0.0 if tokens >= 1.0 else (1.0 - tokens) * MINUTE / per_minute

    def _fill(self, key: int, per_minute: int) -> float:
        now = self.clock()
        capacity = max(1.0, per_minute * BURST_SECONDS / MINUTE)
        tokens, at = self.buckets.get(key, (capacity, now))
        tokens = min(capacity, tokens + (now - at) * per_minute / MINUTE)
        self.buckets[key] = (tokens, now)
        return tokens

    def _rest(self, key: int, seconds: float) -> None:
        self.free_at[key] = max(self.free_at.get(key, 0.0), self.clock() + seconds)
