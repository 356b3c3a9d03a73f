"""An action a page is about to ask an upstream for, and how an upstream error counts in the log.

Pages hand an `Audit` to the page layer's `attempt()`, which records it right after the upstream
answered: done, refused (the upstream said no: a 4xx), or failed (no usable answer: a timeout, a 5xx,
an answer outside the contract).
"""

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest

from dashboard.services.errors import APIError, AuthError, RateLimitError

from .models import AuditEntry, Result
from .recording import arecord


def result_of(error: BaseException) -> Result:
    """REFUSED when the upstream answered no, FAILED when it did not answer usefully."""
    if isinstance(error, AuthError | RateLimitError):
        return Result.REFUSED
    if isinstance(error, APIError) and error.status < 500:
        return Result.REFUSED
    return Result.FAILED


@dataclass(frozen=True)
class Audit:
    """What to write about one upstream write. `from_result` adds what only the answer knows (the
    id of what was created) to the fields, when the call succeeded."""

    action: str
    team_id: int | None = None
    project_id: int | None = None
    target: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    from_result: Callable[[Any], Mapping[str, Any]] | None = None

    async def done(self, request: HttpRequest, value: Any = None) -> AuditEntry:
        extra = dict(self.from_result(value)) if self.from_result is not None and value is not None else {}
        return await self._write(request, Result.DONE, extra)

    async def not_done(self, request: HttpRequest, error: BaseException) -> AuditEntry:
        return await self._write(request, result_of(error), {"error": type(error).__name__})

    async def _write(self, request: HttpRequest, result: Result, extra: dict[str, Any]) -> AuditEntry:
        fields: dict[str, Any] = {
            "team_id": self.team_id,
            "project_id": self.project_id,
            "target": self.target,
        }
        detail = dict(self.detail)
        for name, value in extra.items():
            if name in fields:
                fields[name] = value
            else:
                detail[name] = value
        return await arecord(request, self.action, result=result, detail=detail, **fields)
