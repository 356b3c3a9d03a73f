"""Per-token rate limits of the pollers: when each stored token may be used again, in this process.

Both pollers act with the users' own tokens, and each upstream limits requests per token. A 429
rests that token alone for its Retry-After; other users' tokens go on. A caller that wants to stay
under a known rate also spaces its calls of one token, leaving room for the pages of the same user.
Keys are connection pks, so one limiter can serve both upstreams.
"""

import asyncio
import time
from dataclasses import dataclass, field

from dashboard.services.errors import RateLimitError

# A 429 without Retry-After: wait this long before using the token again.
DEFAULT_RETRY_AFTER = 5.0


@dataclass
class TokenLimits:
    free_at: dict[int, float] = field(default_factory=dict)  # connection pk -> monotonic time

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

    def _rest(self, key: int, seconds: float) -> None:
        self.free_at[key] = max(self.free_at.get(key, 0.0), time.monotonic() + seconds)
