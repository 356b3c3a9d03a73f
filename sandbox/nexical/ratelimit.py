"""Per-token request limit (600 a minute, the vendor's number, by default), kept in memory.

The window is fixed and starts at a token's first request, so a burst never straddles two
windows by accident; the sandbox is one process, so a dict behind a lock is enough.
"""

import math
import threading
import time

from sandbox.core import knobs

WINDOW_SECONDS = 60.0

_lock = threading.Lock()
_windows: dict[int, tuple[float, int]] = {}  # token id -> (window start, requests in it)


def limit_per_minute() -> int:
    return knobs.get("nexical_requests_per_minute")


def hit(token_id: int) -> int | None:
    """Count one request; None if allowed, else the seconds until the window ends."""
    now = time.monotonic()
    with _lock:
        start, count = _windows.get(token_id, (now, 0))
        if now - start >= WINDOW_SECONDS:
            start, count = now, 0
        count += 1
        _windows[token_id] = (start, count)
    if count <= limit_per_minute():
        return None
    return max(1, math.ceil(start + WINDOW_SECONDS - now))
