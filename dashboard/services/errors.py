"""Errors of the upstream clients, mirroring the official SDKs' classes.

Every error carries a `user_message` that a view may show as is: it never contains a token, an API
key or raw upstream output beyond the short human message the upstream wrote for its users.
`str(error)` is the same safe text, so logging an error or letting it reach a traceback leaks nothing.
"""

import math
import re
from datetime import datetime
from typing import Any

from django.utils import timezone

NEXICAL = "Nexical"
NEXUSTOKEN = "NexusToken"

# Upstream messages are shown to users; scrub anything shaped like a credential just in case an
# upstream echoes one back (Nexical tokens, enrollment tokens, NexusToken's 64-hex API keys).
_SECRET_SHAPES = re.compile(r"\b(?:nx[a-z]?_|nk_worker_|whsec_)[A-Za-z0-9_\-]{4,}|\b[0-9a-fA-F]{32,}\b")


def redact(text: str) -> str:
    return _SECRET_SHAPES.sub("[redacted]", text)


def _service_subject(service: str) -> str:
    return "The Nexical orchestrator" if service == NEXICAL else service


def _credential(service: str) -> str:
    return "token" if service == NEXICAL else "API key"


class UpstreamError(Exception):
    """Base class: something went wrong talking to an upstream API."""

    def __init__(self, service: str = NEXICAL) -> None:
        self.service = service
        super().__init__(self.user_message)

    @property
    def user_message(self) -> str:
        return f"{self.service} could not complete the request. Try again shortly."


class NetworkError(UpstreamError):
    """Timeout, refused connection, DNS failure: no HTTP answer at all."""

    @property
    def user_message(self) -> str:
        return f"{_service_subject(self.service)} is unreachable right now. Try again in a minute."


class CircuitOpenError(NetworkError):
    """Not sent: the upstream timed out repeatedly just now, so this process treats it as down for a
    short while (`services.breaker`). `last_answered` is when it last answered at all, if it has."""

    def __init__(self, service: str = NEXICAL, *, last_answered: datetime | None = None) -> None:
        self.last_answered = last_answered
        super().__init__(service)

    @property
    def user_message(self) -> str:
        subject = _service_subject(self.service)
        if self.last_answered is None:
            return f"{subject} is unreachable right now. Try again in a minute."
        return (
            f"{subject} is unreachable right now (last answered at {_clock(self.last_answered)}). "
            "Try again in a minute."
        )


def _clock(moment: datetime) -> str:
    """A time of day in the dashboard's time zone, with the date when it is not today."""
    local = timezone.localtime(moment)
    if local.date() == timezone.localdate():
        return f"{local:%H:%M:%S}"
    return f"{local:%H:%M:%S} on {local:%Y-%m-%d}"


class AuthError(UpstreamError):
    """401 (the token is unknown, expired or revoked) or 403 (authenticated but not allowed)."""

    def __init__(
        self,
        service: str = NEXICAL,
        *,
        status: int = 401,
        code: str | None = None,
        message: str | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = redact(message) if message else None
        super().__init__(service)

    @property
    def is_unauthenticated(self) -> bool:
        """The credential itself is bad: the user must reconnect it."""
        return self.status == 401

    @property
    def user_message(self) -> str:
        if self.status == 401:
            return (
                f"{self.service} rejected your {_credential(self.service)}. "
                "Reconnect it in Settings > Connections."
            )
        if self.code == "insufficient_scope":
            return f"Your {_credential(self.service)} lacks the write scope."
        if self.message and self.message.strip(" .!").lower() not in {"forbidden", "permission denied"}:
            return self.message
        return "You need the admin role for that."


class RateLimitError(UpstreamError):
    """429: the upstream asks us to slow down for `retry_after` seconds (None when it did not say)."""

    def __init__(self, service: str = NEXICAL, *, retry_after: float | None = None) -> None:
        # Whoever builds one, an infinite or NaN wait must not reach math.ceil in user_message.
        if retry_after is not None and not math.isfinite(retry_after):
            retry_after = None
        self.retry_after = retry_after
        super().__init__(service)

    @property
    def user_message(self) -> str:
        if self.retry_after is None:
            return f"{self.service} is rate limiting requests. Try again shortly."
        seconds = max(1, math.ceil(self.retry_after))
        unit = "second" if seconds == 1 else "seconds"
        return f"{self.service} is rate limiting requests. Try again in {seconds} {unit}."


class ContractError(UpstreamError):
    """The answer was not JSON or did not match the documented schema.

    `details` holds the validation errors (without the offending values) for the logs only.
    """

    def __init__(self, service: str = NEXICAL, *, details: Any = None) -> None:
        self.details = details
        super().__init__(service)

    @property
    def user_message(self) -> str:
        return f"{self.service} answered something unexpected. The problem has been logged."


class APIError(UpstreamError):
    """Any other 4xx/5xx, with the upstream's code, message and per-field details."""

    def __init__(
        self,
        service: str = NEXICAL,
        *,
        status: int,
        code: str | None = None,
        message: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.code = code
        self.message = redact(message) if message else None
        self.details = details or {}
        super().__init__(service)

    @property
    def is_missing_endpoint(self) -> bool:
        """The upstream lacks this (optional, extension) endpoint: hide the feature instead of failing."""
        return self.status in (404, 405)

    @property
    def is_not_found(self) -> bool:
        return self.status == 404

    @property
    def field_errors(self) -> dict[str, list[str]]:
        """Validation messages by field name, ready for `form.add_error`."""
        errors: dict[str, list[str]] = {}
        for field, messages in self.details.items():
            if isinstance(messages, list):
                errors[str(field)] = [redact(str(message)) for message in messages]
            elif isinstance(messages, str):
                errors[str(field)] = [redact(messages)]
        return errors

    @property
    def user_message(self) -> str:
        if self.status >= 500:
            return f"{self.service} is having problems (HTTP {self.status}). Try again shortly."
        if self.message:
            return self.message
        return f"{self.service} refused the request (HTTP {self.status})."


class DevicePending(UpstreamError):
    """Device flow: the user has not decided yet. `slow_down` means poll less often."""

    def __init__(self, service: str = NEXICAL, *, slow_down: bool = False) -> None:
        self.slow_down = slow_down
        super().__init__(service)

    @property
    def user_message(self) -> str:
        return "Waiting for the code to be approved."


class DeviceFlowError(UpstreamError):
    """Device flow ended without a token: the code expired or the user denied it."""

    def __init__(self, service: str = NEXICAL, *, code: str | None = None) -> None:
        self.code = code
        super().__init__(service)

    @property
    def user_message(self) -> str:
        if self.code == "access_denied":
            return "The sign-in request was denied."
        if self.code in ("expired_token", "invalid_grant"):
            return "The device code expired or was already used. Start again."
        return "The sign-in request expired or was denied. Start again."
