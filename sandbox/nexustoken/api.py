"""Plumbing shared by the JSON views: FastAPI-style errors, X-API-Key auth, rate limits, body parsing."""

import hashlib
import json
import logging
import math
import secrets
import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable

import pydantic
from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from sandbox.core import knobs

from .models import Account, ApiKey

logger = logging.getLogger(__name__)


class ApiError(Exception):
    """Raised anywhere below a view to answer `{"detail": ...}` with this status."""

    def __init__(self, status: int, detail, headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.detail = detail
        self.headers = headers or {}


def error_response(status: int, detail, headers: dict[str, str] | None = None) -> JsonResponse:
    response = JsonResponse({"detail": detail}, status=status)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def not_found(request: HttpRequest, **kwargs) -> JsonResponse:
    """Any unknown path under /nexustoken/: the SDK reads `detail`, so never Django's HTML page."""
    return error_response(404, "Not Found")


def uuid_or_404(value: str, what: str) -> uuid.UUID:
    """Ids in paths are matched as any string, so a malformed one gets the same JSON 404 as an unknown one."""
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(404, f"{what} not found") from None


def new_api_key() -> str:
    return secrets.token_hex(32)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def issue_key(account: Account, label: str = "") -> str:
    """Create a key for the account and return it in clear, the only time it is ever known."""
    raw = new_api_key()
    ApiKey.objects.create(account=account, key_hash=hash_key(raw), label=label)
    return raw


# --- Rate limits (in memory: the sandbox is one process) -------------------------------------------


class _Window:
    """Sliding-window counters keyed by string; check() answers the seconds to wait, or 0.

    The limit is a number, or the name of the knob that holds it.
    """

    def __init__(self, limit: int | str, seconds: float):
        self._limit = limit
        self.seconds = seconds
        self._hits: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    @property
    def limit(self) -> int:
        return knobs.get(self._limit) if isinstance(self._limit, str) else self._limit

    def _trim(self, hits: deque[float], now: float) -> None:
        while hits and hits[0] <= now - self.seconds:
            hits.popleft()

    def hit(self, key: str) -> int:
        """Count one hit unless over the limit; returns the Retry-After seconds (0 = allowed)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            self._trim(hits, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.seconds - now))
            hits.append(now)
            return 0

    def blocked(self, key: str) -> int:
        """Like hit() but counts nothing (failed auths are counted only once they failed)."""
        now = time.monotonic()
        with self._lock:
            hits = self._hits[key]
            self._trim(hits, now)
            if len(hits) >= self.limit:
                return max(1, math.ceil(hits[0] + self.seconds - now))
            return 0

    def record(self, key: str) -> None:
        with self._lock:
            self._hits[key].append(time.monotonic())

    def clear(self) -> None:
        with self._lock:
            self._hits.clear()


requests_per_key = _Window("nexustoken_requests_per_second", 1.0)
creates_per_key = _Window(60, 60.0)
failed_auths_per_ip = _Window(5, 60.0)


def limits_on() -> bool:
    """Whether the rate_limits knob is on; while it is off the counters are dropped, so switching
    it on (as a test does) always starts from zero."""
    if knobs.get("rate_limits"):
        return True
    for window in (requests_per_key, creates_per_key, failed_auths_per_ip):
        window.clear()
    return False


def _too_many(retry_after: int, what: str) -> ApiError:
    return ApiError(429, f"Rate limit exceeded: {what}", {"Retry-After": str(retry_after)})


def client_ip(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


def auth_failure(request: HttpRequest, status: int, detail: str) -> ApiError:
    """The error for a failed authentication; past 5 a minute from one IP it becomes a 429.

    Only failures are limited, so a bad key never locks out good keys from the same host.
    """
    if limits_on():
        wait = failed_auths_per_ip.blocked(client_ip(request))
        if wait:
            return _too_many(wait, "too many failed authentication attempts")
        failed_auths_per_ip.record(client_ip(request))
    return ApiError(status, detail)


def check_create_limit(key_hash: str) -> None:
    if limits_on():
        wait = creates_per_key.hit(key_hash)
        if wait:
            raise _too_many(wait, "60 task creations per minute")


def authenticate(request: HttpRequest) -> Account:
    raw = request.headers.get("X-API-Key", "").strip()
    key = ApiKey.objects.select_related("account").filter(key_hash=hash_key(raw)).first() if raw else None
    if key is None:
        raise auth_failure(request, 401, "Invalid or missing API key")
    if limits_on():
        wait = requests_per_key.hit(key.key_hash)
        if wait:
            raise _too_many(wait, f"{requests_per_key.limit} requests per second")
    # Kept on the request for the handlers that limit or revoke the caller's own key.
    request.key_hash = key.key_hash  # type: ignore[attr-defined]  # HttpRequest has no slot for it
    return key.account


# --- Bodies ----------------------------------------------------------------------------------------


MAX_JSON_DEPTH = 64  # far beyond any real schema; deeper bodies only serve to exhaust the stack


def _finite_float(text: str) -> float:
    # 1e400 overflows to inf: refused like the NaN/Infinity literals, which JSON does not allow.
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number out of range: {text}")
    return value


def _refuse_constant(name: str):
    raise ValueError(f"{name} is not allowed")


def _storable_problem(data) -> str | None:
    """Why a parsed body cannot be stored (too deep, NUL or lone surrogates in a string), or None.

    PostgreSQL refuses NUL in text and jsonb, and lone surrogates are not encodable as UTF-8, so
    both would fail later with a 500; the walk uses its own stack to keep clear of the recursion limit.
    """
    stack = [(data, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list) and depth > MAX_JSON_DEPTH:
            return f"Request body is nested too deeply (limit {MAX_JSON_DEPTH} levels)"
        if isinstance(item, dict):
            stack.extend((key, depth) for key in item)
            stack.extend((value, depth + 1) for value in item.values())
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item)
        elif isinstance(item, str):
            if "\x00" in item:
                return "Strings must not contain the NUL character (\\u0000)"
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                return "Strings must not contain unpaired surrogates (such as \\ud800)"
    return None


def read_json(request: HttpRequest) -> dict:
    """The JSON object in the body; an empty body counts as {}."""
    try:
        raw = request.body
    except RequestDataTooBig:
        raise ApiError(413, "Request body too large (limit 1 MB)") from None
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_float=_finite_float, parse_constant=_refuse_constant)
    except RecursionError:
        raise ApiError(400, "Request body is nested too deeply") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ApiError(400, "Request body is not valid JSON") from None
    except ValueError as exc:  # from the two hooks above
        raise ApiError(400, f"Request body is not valid JSON: {exc}") from None
    problem = _storable_problem(data)
    if problem:
        raise ApiError(400, problem)
    if not isinstance(data, dict):
        raise ApiError(422, [{"loc": ["body"], "msg": "Input should be a JSON object", "type": "dict_type"}])
    return data


def parse[M: pydantic.BaseModel](model: type[M], data: dict) -> M:
    """Validate a body with a pydantic model; errors become a FastAPI-style 422 list."""
    try:
        return model.model_validate(data)
    except pydantic.ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        detail = [{"loc": ["body", *err["loc"]], "msg": err["msg"], "type": err["type"]} for err in errors]
        raise ApiError(422, detail) from None


def body(request: HttpRequest, model: type[pydantic.BaseModel]):
    return parse(model, read_json(request))


# --- The view decorator ----------------------------------------------------------------------------


def endpoint(methods: dict[str, Callable], *, auth: bool = True):
    """Build one URL's view from {"GET": handler, ...}.

    Each handler gets (request, account, **kwargs) - account is None when auth=False - and returns
    a JSON-able value or a (value, status) pair. Errors raised as ApiError become `{"detail"}`.
    """

    @csrf_exempt
    def view(request: HttpRequest, **kwargs):
        handler = methods.get(request.method or "")
        if handler is None:
            return error_response(405, "Method Not Allowed", {"Allow": ", ".join(methods)})
        try:
            account = authenticate(request) if auth else None
            result = handler(request, account, **kwargs)
        except ApiError as exc:
            return error_response(exc.status, exc.detail, exc.headers)
        except RequestDataTooBig:
            return error_response(413, "Request body too large (limit 1 MB)")
        except Exception:
            # A bug must still answer in the API's shape: the SDK shows `detail` to its user.
            logger.exception("nexustoken: %s %s failed", request.method, request.path)
            return error_response(500, "Internal error")
        if isinstance(result, JsonResponse):
            return result
        status = 200
        if isinstance(result, tuple):
            result, status = result
        return JsonResponse(result, status=status, safe=False)

    return view
