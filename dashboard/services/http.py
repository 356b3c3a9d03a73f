"""Shared transport of the upstream clients: pooled httpx clients, retries and error mapping.

Only GETs are retried (network errors and 5xx, with jittered exponential backoff; a short 429 is
waited out once). Writes are never retried: a timed-out POST may already have happened upstream.
Every wait is bounded: by the caller's time budget (`budget`), and by the upstream's circuit
breaker (`breaker`), which fails calls at once while the upstream is treated as down.
Logs name the upstream, method, path and status, never headers, bodies or tokens.
"""

import asyncio
import logging
import math
import random
import ssl
import weakref
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import lru_cache
from types import GenericAlias
from typing import Any

import httpx
from django.conf import settings
from django.utils import timezone
from pydantic import TypeAdapter, ValidationError

from . import breaker, budget, metrics
from .errors import (
    NEXICAL,
    NEXUSTOKEN,
    APIError,
    AuthError,
    ContractError,
    NetworkError,
    RateLimitError,
    UpstreamError,
)
from .transport import Transport

logger = logging.getLogger("dashboard.services")

USER_AGENT = "nexus-dashboard/0.1"
# Per upstream and event loop: requests in flight at once, and connections kept open between them.
MAX_CONNECTIONS = 50
MAX_KEEPALIVE = 20
# An upstream may ask for any wait at all ("inf", 1e999, a date in the year 9999); past a day it
# only tells the user "later", and an unbounded number would break the arithmetic that shows it.
MAX_RETRY_AFTER = 86_400.0
# Seconds: a retry, or a 429's wait, that would leave less than this of the caller's budget is not
# worth making; the failure is reported at once instead.
SHORTEST_ATTEMPT = 0.5
# Parsing is recursive: a hostile or broken upstream can nest arrays deeper than Python's stack.
_UNPARSEABLE = (ValueError, RecursionError)


@dataclass(frozen=True)
class Upstream:
    """One upstream API: its display name, the setting holding its base URL, and a path prefix."""

    name: str
    url_setting: str
    prefix: str = ""

    @property
    def base_url(self) -> str:
        # Read at call time: tests point the settings at their own sandbox.
        return str(getattr(settings, self.url_setting)).rstrip("/") + self.prefix


NEXICAL_UPSTREAM = Upstream(NEXICAL, "NEXICAL_API_URL")
NEXUSTOKEN_UPSTREAM = Upstream(NEXUSTOKEN, "NEXUSTOKEN_API_URL", "/api/v1")


@dataclass(frozen=True)
class Response:
    status: int
    headers: httpx.Headers
    body: Any  # parsed JSON, or None for an empty answer


# An httpx.AsyncClient is bound to the event loop it first ran on. Django's test client and
# async_to_sync run each request in a fresh loop, so the pool is kept per loop and dropped with it.
_clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[str, httpx.AsyncClient]] = (
    weakref.WeakKeyDictionary()
)


@lru_cache(maxsize=1)
def tls_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: reading the CA bundle costs about 30 ms,
    which a new client (one per event loop, see above) would otherwise pay each time."""
    return httpx.create_ssl_context()


def _client(base_url: str) -> httpx.AsyncClient:
    loop = asyncio.get_running_loop()
    pool = _clients.setdefault(loop, {})
    client = pool.get(base_url)
    if client is None or client.is_closed:
        # Our transport (transport.py) in place of httpcore's; `verify` and `limits` still serve the
        # proxy transports httpx mounts when the environment names a proxy.
        client = httpx.AsyncClient(
            transport=Transport(
                tls_context(), max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE
            ),
            verify=tls_context(),
            headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            limits=httpx.Limits(max_connections=MAX_CONNECTIONS, max_keepalive_connections=MAX_KEEPALIVE),
        )
        pool[base_url] = client
    return client


async def aclose() -> None:
    """Close the clients of the running loop (tests and shutdown hooks)."""
    pool = _clients.pop(asyncio.get_running_loop(), {})
    for client in pool.values():
        await client.aclose()


async def _exchange(
    base_url: str,
    method: str,
    url: str,
    timeout: httpx.Timeout,
    *,
    headers: dict[str, str] | None,
    **options: Any,
) -> httpx.Response:
    """One request, built with the client's headers and handed to the transport the client picks for
    its URL (ours, or a proxy's when the environment names one), then read whole: what the client's
    `request()` does for these calls, minus what they never use (auth, redirects, event hooks, and
    the client's cookie jar, which upstream APIs that take a token do not set; shared by every user
    of the process it should not be). About 0.1 ms of CPU less a call."""
    client = _client(base_url)
    merged = httpx.Headers(client.headers)
    merged.update(headers or {})
    request = httpx.Request(method, url, headers=merged, extensions={"timeout": timeout.as_dict()}, **options)
    response = await client._transport_for_url(request.url).handle_async_request(request)
    try:
        await (
            response.aread()
        )  # decodes the body (gzip, …) as the client did: a broken one is a DecodingError
    except BaseException:
        await response.aclose()  # a proxy's connection goes back to its pool, as the client does
        raise
    return response


def _timeout(limit: float) -> httpx.Timeout:
    return httpx.Timeout(limit, connect=min(limit, settings.UPSTREAM_CONNECT_TIMEOUT))


def _backoff(attempt: int) -> float:
    base: float = settings.UPSTREAM_RETRY_BACKOFF
    return base * 2.0 ** (attempt - 1) * random.uniform(0.5, 1.5)


def _seconds(value: float) -> float | None:
    """A wait the upstream asked for, clamped to [0, MAX_RETRY_AFTER]; None when it is not a number."""
    if not math.isfinite(value):
        return None
    return min(max(0.0, value), MAX_RETRY_AFTER)


def _retry_after(response: httpx.Response, body: Any) -> float | None:
    """Seconds from Retry-After (delta or HTTP date), else Nexical's `retryAfter` body field."""
    raw = response.headers.get("Retry-After")
    if raw:
        try:
            return _seconds(float(raw))
        except ValueError:
            try:
                return _seconds((parsedate_to_datetime(raw) - timezone.now()).total_seconds())
            except (TypeError, ValueError, OverflowError, IndexError):
                pass
    value = body.get("retryAfter") if isinstance(body, dict) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        try:
            return _seconds(float(value))
        except OverflowError:  # an integer too large for a float
            return MAX_RETRY_AFTER if value > 0 else 0.0
    return None


def _json_or_none(response: httpx.Response) -> Any:
    if not response.content:
        return None
    try:
        return response.json()
    except _UNPARSEABLE:
        return None


def _error_fields(body: Any) -> tuple[str | None, str | None, dict[str, Any]]:
    """(code, message, field details) from Nexical's `{error, code, message, details}`,
    RFC 8628's `{error, error_description}` or FastAPI's `{detail}` (a string, or a list on 422)."""
    if not isinstance(body, dict):
        return None, None, {}

    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) and value else None

    code = text("code") or text("error")
    message = text("message") or text("error_description") or text("detail")
    details: dict[str, Any] = body["details"] if isinstance(body.get("details"), dict) else {}
    if isinstance(body.get("detail"), list):
        details = {}
        for item in body["detail"]:
            if isinstance(item, dict):
                location = [str(part) for part in item.get("loc", []) if part != "body"]
                details.setdefault(".".join(location) or "__all__", []).append(str(item.get("msg", "")))
        message = message or "The request was not valid."
    return code, message, details


def _error_for(upstream: Upstream, response: httpx.Response, body: Any) -> UpstreamError:
    status = response.status_code
    code, message, details = _error_fields(body)
    if status in (401, 403):
        return AuthError(upstream.name, status=status, code=code, message=message)
    if status == 429:
        return RateLimitError(upstream.name, retry_after=_retry_after(response, body))
    return APIError(upstream.name, status=status, code=code, message=message, details=details)


async def request(
    upstream: Upstream,
    method: str,
    path: str,
    *,
    headers: dict[str, str] | None = None,
    json: Any = None,
    params: dict[str, Any] | None = None,
) -> Response:
    """Send one request to `upstream` and return its parsed JSON answer, or raise an UpstreamError.

    Within the caller's time budget (`services.budget`): each attempt is cut to the time left, and
    a retry or a 429's wait that would not leave a useful attempt is skipped.
    """
    method = method.upper()
    is_get = method == "GET"
    retries_left = max(0, settings.UPSTREAM_GET_RETRIES) if is_get else 0
    waited_for_rate_limit = False
    attempt = 0
    url = upstream.base_url + path
    if params:
        params = {key: value for key, value in params.items() if value is not None}

    while True:
        attempt += 1
        limit = _attempt_limit(upstream)
        if limit <= 0:
            logger.warning("%s %s %s not sent: its time budget is spent", upstream.name, method, path)
            raise NetworkError(upstream.name)
        try:
            response = await _send(
                upstream, method, url, limit, headers=headers, json=json, params=params or None
            )
        except (httpx.TransportError, TimeoutError) as exc:
            metrics.count_request(upstream.name, "network")
            reason = (
                f"no complete answer within {limit:.1f} s"
                if isinstance(exc, TimeoutError)
                else type(exc).__name__
            )
            logger.warning("%s %s %s failed: %s (attempt %d)", upstream.name, method, path, reason, attempt)
            pause = _backoff(attempt)
            if retries_left and _fits(upstream, pause):
                retries_left -= 1
                await asyncio.sleep(pause)
                continue
            raise NetworkError(upstream.name) from exc
        except httpx.DecodingError:
            # The body arrived but its Content-Encoding (gzip, deflate, …) is broken: a bad answer,
            # not a network fault, and sending the request again would most likely get the same.
            logger.error("%s %s %s answered a body that cannot be decoded", upstream.name, method, path)
            raise ContractError(
                upstream.name, details=[{"msg": "the response body cannot be decoded"}]
            ) from None
        except httpx.RequestError as exc:
            # Anything else httpx gives up on (too many redirects, …): no usable answer either.
            logger.warning("%s %s %s failed: %s", upstream.name, method, path, type(exc).__name__)
            raise NetworkError(upstream.name) from exc

        status = response.status_code
        metrics.count_request(upstream.name, status)
        if response.is_success:
            return Response(status, response.headers, _success_body(upstream, method, path, response))

        body = _json_or_none(response)
        pause = _backoff(attempt)
        if status >= 500 and retries_left and _fits(upstream, pause):
            logger.warning("%s %s %s answered %d (attempt %d)", upstream.name, method, path, status, attempt)
            retries_left -= 1
            await asyncio.sleep(pause)
            continue
        if status == 429 and is_get and not waited_for_rate_limit:
            retry_after = _retry_after(response, body)
            if (
                retry_after is not None
                and retry_after <= settings.UPSTREAM_MAX_RETRY_AFTER
                and _fits(upstream, retry_after)
            ):
                logger.info("%s %s %s rate limited, waiting %.1f s", upstream.name, method, path, retry_after)
                waited_for_rate_limit = True
                await asyncio.sleep(retry_after)
                continue

        level = logging.WARNING if status >= 500 or status == 429 else logging.INFO
        logger.log(level, "%s %s %s answered %d", upstream.name, method, path, status)
        raise _error_for(upstream, response, body)


async def _send(upstream: Upstream, method: str, url: str, limit: float, **options: Any) -> httpx.Response:
    """One attempt, given `limit` seconds in all, its outcome told to the upstream's circuit breaker
    (which may refuse it at once with CircuitOpenError)."""
    breaker.admit(upstream.name, upstream.base_url, trial_seconds=limit)
    try:
        # httpx's read timeout restarts with every chunk, so a body trickling in a byte at a time
        # would never time out: the whole attempt gets one deadline as well.
        async with asyncio.timeout(limit):
            response = await _exchange(upstream.base_url, method, url, _timeout(limit), **options)
    except (httpx.TransportError, TimeoutError):
        breaker.failed(upstream.name, upstream.base_url)
        raise
    except httpx.RequestError:
        # A body that cannot be decoded, too many redirects: the upstream did answer.
        breaker.answered(upstream.name, upstream.base_url)
        raise
    breaker.answered(upstream.name, upstream.base_url)
    return response


def _attempt_limit(upstream: Upstream) -> float:
    """Seconds the next attempt may take: the timeout, or less when the caller's budget is nearly spent."""
    timeout: float = settings.UPSTREAM_TIMEOUT
    left = budget.remaining(upstream.name)
    return timeout if left is None else min(timeout, left)


def _fits(upstream: Upstream, wait: float) -> bool:
    """Whether waiting `wait` seconds still leaves a useful attempt within the caller's budget."""
    left = budget.remaining(upstream.name)
    return left is None or left - wait >= SHORTEST_ATTEMPT


def _success_body(upstream: Upstream, method: str, path: str, response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content:
        return None
    try:
        return response.json()
    except _UNPARSEABLE:
        logger.error(
            "%s %s %s answered %d with a body that is not JSON (%s, %d bytes)",
            upstream.name,
            method,
            path,
            response.status_code,
            response.headers.get("Content-Type", "no content type"),
            len(response.content),
        )
        raise ContractError(upstream.name, details=[{"msg": "the response body is not JSON"}]) from None


@lru_cache(maxsize=256)
def _adapter(type_: Any) -> TypeAdapter[Any]:
    return TypeAdapter(type_)


def validate[T](upstream: Upstream, type_: type[T], data: Any, *, where: str) -> T:
    """Parse `data` into `type_`, or log what did not match and raise ContractError."""
    parsed: T = _parse(upstream, type_, data, where=where)
    return parsed


def validate_list[T](upstream: Upstream, item: type[T], data: Any, *, where: str) -> list[T]:
    """Parse `data` into a list of `item`, or log what did not match and raise ContractError."""
    parsed: list[T] = _parse(upstream, GenericAlias(list, (item,)), data, where=where)
    return parsed


def _parse(upstream: Upstream, type_: Any, data: Any, *, where: str) -> Any:
    """The offending values are left out of the log and of the error: they may hold tokens."""
    try:
        return _adapter(type_).validate_python(data)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False, include_context=False)
        logger.error(
            "%s %s answered a body that does not match the schema: %s", upstream.name, where, details
        )
        # `from None`: the ValidationError's own text would repeat the input values.
        raise ContractError(upstream.name, details=details) from None
