"""Per-token rate limits of the pollers: when each stored token may be used again, in this process.

Both pollers act with the users' own tokens, and each upstream limits requests per token. A 429
rests that token alone for its Retry-After; other users' tokens go on. A caller that wants to stay
under a known rate also spaces its calls of one token, or counts them against a share of the
upstream's limit, leaving the rest for the pages of the same user.
Keys are connection pks, so one limiter can serve both upstreams.
"""

import asyncio
import time
from collections import deque
from dataclasses import dataclass, field

from dashboard.services.errors import RateLimitError

# A 429 without Retry-After: wait this long before using the token again.
DEFAULT_RETRY_AFTER = 5.0
# The window of `share_wait` and `count`, as the upstreams count theirs.
MINUTE = 60.0


@dataclass
class TokenLimits:
    free_at: dict[int, float] = field(default_factory=dict)  # connection pk -> monotonic time
    # connection pk -> monotonic times of this process's calls with it in the last minute
    recent: dict[int, deque[float]] = field(default_factory=dict)

    def wait(self, key: int) -> float:
        """Seconds until this token may be used again; 0 when it may be used now."""
        return max(0.0, self.free_at.get(key, 0.0) - time.monotonic())

    def limited(self, key: int, error: RateLimitError) -> float:
        """A 429 for this token: it rests for the upstream's Retry-After (or a default); returns how long."""
        retry_after = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
        self._rest(key, retry_after)
        return retry_after

    async def take_turn(self, key: int, spacing: float) -> None:
        """Wait until this token may be used, then keep its next call `spacing` seconds behind this one."""
        await asyncio.sleep(self.wait(key))
        self._rest(key, spacing)

    def count(self, key: int) -> None:
        """Note one call made with this token now (see `share_wait`)."""
        self.recent.setdefault(key, deque()).append(time.monotonic())

    def share_wait(self, key: int, per_minute: int) -> float:
        """Seconds until this token has made fewer than `per_minute` calls in the last minute; 0 now."""
        calls = self.recent.get(key)
        if not calls:
            return 0.0
        now = time.monotonic()
        while calls and calls[0] <= now - MINUTE:
            calls.popleft()
        if len(calls) < per_minute:
            return 0.0
        return calls[-per_minute] + MINUTE - now

    def _rest(self, key: int, seconds: float) -> None:
        self.free_at[key] = max(self.free_at.get(key, 0.0), time.monotonic() + seconds)
