"""Plumbing shared by every API view: the error shape, routing by method, auth, body validation."""

import json
import logging
import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, JsonResponse
from django.utils.dateparse import parse_datetime
from django.views.decorators.csrf import csrf_exempt

from sandbox.core import knobs

from . import ratelimit
from .auth import Caller, authenticate

logger = logging.getLogger("sandbox.nexical")


class ApiError(Exception):
    """An error answered in the contract's shape: {error, code, message, details}."""

    def __init__(self, status: int, code: str, message: str, details: dict | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}

    def response(self) -> JsonResponse:
        body = {"error": self.code, "code": self.code, "message": self.message, "details": self.details}
        return JsonResponse(body, status=self.status)


def not_found(what: str = "Resource") -> ApiError:
    return ApiError(404, "not_found", f"{what} not found.")


def forbidden(message: str, code: str = "forbidden") -> ApiError:
    return ApiError(403, code, message)


def conflict(message: str, code: str = "conflict") -> ApiError:
    return ApiError(409, code, message)


def invalid(details: dict[str, list[str]], message: str = "The request is not valid.") -> ApiError:
    return ApiError(400, "validation_error", message, details)


Handler = Callable[..., JsonResponse]


def route(*, auth: bool = True, **handlers: Handler) -> Callable[..., JsonResponse]:
    """One URL's view: picks the handler by HTTP method and calls it as handler(request, caller, **kw).

    With auth=True the caller is the authenticated token's holder (401 otherwise), rate limited and
    checked for the write scope on anything but GET. With auth=False the caller is None.
    """

    @csrf_exempt
    def view(request: HttpRequest, **kwargs: Any) -> JsonResponse:
        handler = handlers.get(request.method or "")
        try:
            if handler is None:
                allowed = ", ".join(sorted(handlers))
                response = ApiError(405, "method_not_allowed", f"Use {allowed}.").response()
                response["Allow"] = allowed
                return response
            caller = None
            if auth:
                caller = authenticate(request)
                if caller is None:
                    raise ApiError(401, "unauthorized", "Send a valid bearer token.")
                limited = _rate_limited(caller)
                if limited is not None:
                    return limited
                if request.method != "GET" and caller.scopes is not None and "write" not in caller.scopes:
                    raise forbidden("This token has no write scope.", "insufficient_scope")
            # Django's <int:...> takes any number of digits, but the database's ids are 64-bit:
            # a larger id can name nothing, and SQLite would overflow on it.
            if any(isinstance(value, int) and value > MAX_ID for value in kwargs.values()):
                raise not_found()
            return handler(request, caller, **kwargs)
        except ApiError as error:
            return error.response()
        except RequestDataTooBig:
            return ApiError(413, "payload_too_large", "The request body is over 1 MB.").response()
        except Exception:
            logger.exception("nexical %s %s failed", request.method, request.path)
            return ApiError(500, "internal_error", "Unexpected failure.").response()

    return view


def _rate_limited(caller: Caller) -> JsonResponse | None:
    if not knobs.get("rate_limits"):
        return None
    retry_after = ratelimit.hit(caller.token.pk)
    if retry_after is None:
        return None
    body = {
        "error": "rate_limited",
        "code": "rate_limited",
        "message": "Too many requests.",
        "details": {},
        "retryAfter": retry_after,
    }
    response = JsonResponse(body, status=429)
    response["Retry-After"] = str(retry_after)
    response["X-RateLimit-Limit"] = str(ratelimit.limit_per_minute())
    response["X-RateLimit-Remaining"] = "0"
    return response


MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class Field:
    """What one key of a JSON body may hold."""

    kind: type | tuple[type, ...]
    required: bool = False
    nullable: bool = False
    choices: tuple[str, ...] | None = None
    max_length: int | None = None
    pattern: str | None = None
    item_choices: tuple[str, ...] | None = None  # for lists of strings
    minimum: int | None = None  # for ints
    maximum: int | None = None


_TYPE_NAMES = {str: "a string", int: "an integer", bool: "a boolean", dict: "an object", list: "a list"}


# Deeper bodies are refused: nothing in the contract nests this far, and storing or encoding a much
# deeper structure again would run into Python's recursion limit.
MAX_DEPTH = 64


class _NotFinite(ValueError):
    pass


def _reject_constant(name: str) -> float:
    raise _NotFinite(name)


def _finite_float(text: str) -> float:
    # 1e400 parses as inf: like NaN and Infinity, it is not JSON a database column can hold.
    value = float(text)
    if not math.isfinite(value):
        raise _NotFinite(text)
    return value


def read_json(request: HttpRequest) -> Any:
    raw = request.body  # raises RequestDataTooBig above 1 MB: answered 413 by route()
    if not raw.strip():
        return {}
    try:
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except _NotFinite:
        message = "NaN, Infinity and numbers out of range are not allowed."
        raise invalid({"body": [message]}, "The body is not valid JSON.") from None
    except RecursionError:
        raise invalid({"body": ["Nested too deeply."]}, "The body is not valid JSON.") from None
    except (ValueError, UnicodeDecodeError):
        raise invalid({"body": ["Malformed JSON."]}, "The body is not valid JSON.") from None
    _check_text(data)
    return data


def _bad_text(text: str) -> bool:
    """NUL cannot be stored in PostgreSQL text or jsonb, and a lone surrogate cannot be encoded."""
    if "\x00" in text:
        return True
    try:
        text.encode()
    except UnicodeEncodeError:
        return True
    return False


def _check_text(data: Any) -> None:
    """A 400 naming the field (as a dotted path) that holds bad text or nests too deeply.

    Walked with an explicit stack, not recursion, so a deep body cannot exhaust the call stack.
    """
    stack: list[tuple[Any, str, int]] = [(data, "", 0)]
    while stack:
        value, path, depth = stack.pop()
        where = path or "body"
        if depth > MAX_DEPTH:
            raise invalid({where: [f"Nested more than {MAX_DEPTH} levels deep."]})
        if isinstance(value, str):
            if _bad_text(value):
                raise invalid({where: ["May not contain NUL characters or unpaired surrogates."]})
        elif isinstance(value, dict):
            for key, item in value.items():
                if _bad_text(key):
                    raise invalid({where: ["Keys may not contain NUL characters or unpaired surrogates."]})
                stack.append((item, f"{path}.{key}" if path else key, depth + 1))
        elif isinstance(value, list):
            for index, item in enumerate(value):
                stack.append((item, f"{where}[{index}]", depth + 1))


def parse_body(request: HttpRequest, spec: dict[str, Field]) -> dict[str, Any]:
    """The body's keys checked against spec: unknown, missing and ill-typed keys are a 400."""
    data = read_json(request)
    if not isinstance(data, dict):
        raise invalid({"body": ["Expected a JSON object."]})
    return check_fields(data, spec)


def check_fields(data: dict[str, Any], spec: dict[str, Field]) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    for key in data:
        if key not in spec:
            errors[key] = ["Unknown field."]
    for key, field in spec.items():
        if key not in data:
            if field.required:
                errors[key] = ["This field is required."]
            continue
        problem = _check_value(data[key], field)
        if problem:
            errors[key] = [problem]
    if errors:
        raise invalid(errors)
    return {key: data[key] for key in spec if key in data}


def _check_value(value: Any, field: Field) -> str | None:
    if value is None:
        return None if field.nullable else "May not be null."
    kinds = field.kind if isinstance(field.kind, tuple) else (field.kind,)
    # JSON true/false arrive as bool, a subclass of int: never accept them as numbers.
    if isinstance(value, bool) and bool not in kinds:
        return f"Must be {_TYPE_NAMES.get(kinds[0], kinds[0].__name__)}."
    if not isinstance(value, kinds):
        return f"Must be {_TYPE_NAMES.get(kinds[0], kinds[0].__name__)}."
    if isinstance(value, str):
        if field.required and not value.strip():
            return "May not be blank."
        if field.max_length is not None and len(value) > field.max_length:
            return f"At most {field.max_length} characters."
        if field.pattern and not re.fullmatch(field.pattern, value):
            return "Has an invalid format."
        if field.choices is not None and value not in field.choices:
            return f"Must be one of: {', '.join(field.choices)}."
    if isinstance(value, int) and not isinstance(value, bool):
        if field.minimum is not None and value < field.minimum:
            return f"Must be at least {field.minimum}."
        if field.maximum is not None and value > field.maximum:
            return f"Must be at most {field.maximum}."
    if isinstance(value, list) and field.item_choices is not None and not _all_in(value, field.item_choices):
        return f"Each item must be one of: {', '.join(field.item_choices)}."
    return None


def _all_in(items: list[Any], choices: tuple[str, ...]) -> bool:
    return all(isinstance(item, str) and item in choices for item in items)


def parse_timestamp(value: str, key: str) -> datetime:
    problem = {key: ["Must be an ISO-8601 datetime with a time zone."]}
    try:
        # A well-formed but impossible date (month 13, hour 25, a 24 h offset) raises ValueError.
        parsed = parse_datetime(value)
    except ValueError:
        raise invalid(problem) from None
    if parsed is None or parsed.tzinfo is None:
        raise invalid(problem)
    try:
        # Stored and sent in UTC: a time near year 1 or 9999 may not exist there.
        return parsed.astimezone(UTC)
    except OverflowError:
        raise invalid({key: ["Is out of range."]}) from None


def query_int(request: HttpRequest, key: str, *, minimum: int, maximum: int | None = None) -> int | None:
    raw = request.GET.get(key)
    if raw is None:
        return None
    if (
        not re.fullmatch(r"\d{1,12}", raw)
        or int(raw) < minimum
        or (maximum is not None and int(raw) > maximum)
    ):
        bound = f" up to {maximum}" if maximum is not None else ""
        raise invalid({key: [f"Must be an integer from {minimum}{bound}."]})
    return int(raw)


def ok() -> JsonResponse:
    return JsonResponse({"success": True})


def created(body: dict[str, Any]) -> JsonResponse:
    return JsonResponse(body, status=201)
