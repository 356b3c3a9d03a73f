"""Runtime switches of the sandbox: fault injection, rate limits and simulated activity.

Each knob starts from an environment variable and can be changed while the sandbox runs through
`/_sandbox/knobs` (tests and benchmarks do that). The sandbox is one process, so the state lives
in memory, guarded by a lock because every request runs in its own thread.
"""

import math
import os
import threading
from typing import Any

DEFAULTS: dict[str, Any] = {
    # Faults. `scope` limits them to paths under one API ("nexical", "nexustoken") or "" for all.
    "scope": "",
    "latency_ms": 0,  # added to every API request
    "jitter_ms": 0,  # plus a uniform random 0..jitter_ms
    "error_rate": 0.0,  # share of requests answered 500
    "force_429": 0,  # the next N requests get 429 with Retry-After
    "retry_after": 1,  # seconds in those forced 429s
    "malformed": 0,  # the next N requests get a body that is not JSON
    "hang": 0,  # the next N requests hang for hang_seconds before answering
    "hang_seconds": 30.0,
    "hang_path": "",  # only requests whose path contains this text hang ("" for any)
    # Rate limits at the vendors' numbers (NexusToken: 10 req/s per key, 60 creates/min, 5 failed
    # auths/min per IP; Nexical: 600 req/min per token).
    "rate_limits": True,
    "nexical_requests_per_minute": 600,  # Nexical's limit per token (tests lower it)
    "nexustoken_requests_per_second": 10,  # NexusToken's general limit per key (tests raise it)
    # Simulated activity.
    "simulate_worker": True,  # a Nexical worker that runs pending jobs
    "simulate_nodes": True,  # NexusToken processing nodes that bid and submit
    "deliver_webhooks": True,  # signed webhook delivery to tasks' callback_url
    "worker_speed": 1.0,  # >1 makes the simulated worker write its logs faster
    "worker_slots": 4,  # jobs the simulated worker runs at once
    "auction_seconds": 3.0,  # a NexusToken auction closes this long after the first bid
    # NexusToken's account and task settings.
    "signup_credits": 500,  # credits a new account starts with
    "nexustoken_routing_seconds": 600.0,  # a task waits this long for a first bid, then goes pending
    "nexustoken_device_interval": 5,  # seconds the device flow asks a client to wait between polls
    "nexustoken_min_sdk": "0.4.0",  # the oldest SDK version the heartbeat accepts
}

_lock = threading.Lock()
_state: dict[str, Any] = {}
_frozen = False


class FrozenError(Exception):
    """The sandbox serves from several processes, each with its own copy of the knobs."""


def freeze() -> None:
    global _frozen
    _frozen = True


def _from_env(name: str, default: Any) -> Any:
    raw = os.environ.get(f"SANDBOX_{name.upper()}")
    if raw is None:
        return default
    return _coerce(name, raw)


def _coerce(name: str, value: Any) -> Any:
    kind = type(DEFAULTS[name])
    if kind is bool:
        if isinstance(value, str):
            return value.strip().lower() in {"1", "true", "yes", "on"}
        return bool(value)
    coerced = kind(value)
    # Negative or endless numbers would crash every request (time.sleep raises on them).
    if kind in (int, float) and not (math.isfinite(coerced) and coerced >= 0):
        raise ValueError(f"{name} must be a finite number of at least 0.")
    return coerced


def reset() -> None:
    with _lock:
        _state.clear()
        _state.update({name: _from_env(name, default) for name, default in DEFAULTS.items()})


def get(name: str) -> Any:
    with _lock:
        return _state[name]


def snapshot() -> dict[str, Any]:
    with _lock:
        return dict(_state)


def update(values: dict[str, Any]) -> dict[str, Any]:
    """Set knobs by name; raises KeyError for an unknown name and ValueError for a bad value."""
    if _frozen:
        raise FrozenError
    coerced = {}
    for name, value in values.items():
        if name not in DEFAULTS:
            raise KeyError(name)
        coerced[name] = _coerce(name, value)
    with _lock:
        _state.update(coerced)
        return dict(_state)


def take(name: str) -> bool:
    """Use up one of a counted fault (force_429, malformed, hang); True if one was left."""
    with _lock:
        if _state[name] > 0:
            _state[name] -= 1
            return True
        return False


reset()
