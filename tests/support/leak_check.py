"""The run-wide secret-leak check: which secrets to look for, which log records to keep, and the scan.

Secrets are registered in one place, whatever made them: every JSON answer an httpx client in this
process reads (a test helper's, a test's or the dashboard's own) is searched for the fields the two
upstream APIs put secrets in. So a helper that creates a user, a key or a token cannot forget to
register it; `watch_secret` remains for the few secrets that never travel as JSON (passwords, mail).
"""

import logging
import os
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager, suppress
from functools import wraps
from typing import Any

import httpx

# Every secret the run has seen. tests/conftest.py fails the run if one shows up in any log record.
WATCHED_SECRETS: set[str] = set()

# The fields in which the sandbox (like the real APIs) hands out a secret: Nexical user, API,
# enrollment, worker and device tokens, NexusToken API keys and webhook secrets, invitation tokens.
SECRET_FIELDS = frozenset(
    {"token", "access_token", "api_key", "webhook_secret", "admin_token", "enrollment_token", "inviteToken"}
)
_MAY_HOLD_A_SECRET = re.compile(
    rb'"(?:' + b"|".join(re.escape(f.encode()) for f in SECRET_FIELDS) + rb')"\s*:'
)


def watch_secret(*values: str | None) -> None:
    """Have the end-of-run log check look for these values (empty or very short ones are skipped:
    they would match everywhere and prove nothing)."""
    WATCHED_SECRETS.update(value for value in values if isinstance(value, str) and len(value) >= 8)


def watch_secrets_in(data: Any) -> None:
    """Register every value of a secret field anywhere in a decoded JSON document."""
    if isinstance(data, dict):
        for key, value in data.items():
            if key in SECRET_FIELDS:
                watch_secret(value)
            watch_secrets_in(value)
    elif isinstance(data, list):
        for item in data:
            watch_secrets_in(item)


def _watch_response(response: httpx.Response) -> None:
    is_json = "json" in response.headers.get("content-type", "")
    if is_json and _MAY_HOLD_A_SECRET.search(response.content):
        with suppress(ValueError):  # a fault test's broken body: it carries nothing to register
            watch_secrets_in(response.json())


@contextmanager
def watching_responses() -> Iterator[None]:
    """Wrap httpx's two `send` methods for the run: every request of every client goes through them,
    whether a helper, a test or the dashboard made it. Streamed answers are left alone (not read yet)."""
    sync_send, async_send = httpx.Client.send, httpx.AsyncClient.send

    @wraps(sync_send)
    def send(self: httpx.Client, request: httpx.Request, **options: Any) -> httpx.Response:
        response = sync_send(self, request, **options)
        if not options.get("stream"):
            _watch_response(response)
        return response

    @wraps(async_send)
    async def send_async(self: httpx.AsyncClient, request: httpx.Request, **options: Any) -> httpx.Response:
        response = await async_send(self, request, **options)
        if not options.get("stream"):
            _watch_response(response)
        return response

    httpx.Client.send, httpx.AsyncClient.send = send, send_async  # type: ignore[method-assign]
    try:
        yield
    finally:
        httpx.Client.send, httpx.AsyncClient.send = sync_send, async_send  # type: ignore[method-assign]


# The loggers that can carry a secret, lowered to DEBUG for the run so that a secret logged even at
# the lowest level (which a production LOG_LEVEL=DEBUG would print) fails it:
LOGGERS_AT_DEBUG = (
    "dashboard",  # our own code: an upstream body, an exception or a client's repr logged carelessly
    "sandbox",  # the sandbox's code where it runs in this process (its server logs to its own file)
    "django.request",  # failed requests, with their exception
    "django.server",  # the live server's request lines (a secret in a query string)
    "django.security",  # rejected requests, with what was rejected
    "httpx",  # every request's URL
    "httpcore",  # every answer's headers
    "uvicorn",  # the in-process ASGI server's errors and request lines
    "asyncio",  # "exception was never retrieved": the exception's text, which may quote a body
)
# Every other logger is still read at its usual level (a warning from any library is scanned), but
# is not lowered: DEBUG output such as django.template's missing variables or other libraries'
# chatter cannot hold a secret of ours and only costs time.


class LogRecorder:
    """Keeps every log record of the run, formatted as it was emitted, with the test that emitted it.

    It hooks the record factory rather than adding a handler: every record any logger creates passes
    through it, whether its logger propagates or not and whatever handlers a library's own logging
    setup (uvicorn's dictConfig) installs or removes during the run. Identical lines are kept once
    (most DEBUG lines of httpcore repeat), which keeps a whole run's worth in memory cheap.
    """

    def __init__(self) -> None:
        self.formatter = logging.Formatter("%(levelname)s %(name)s: %(message)s")
        self.lines: dict[str, str] = {}  # formatted record -> the first test that logged it

    def keep(self, record: logging.LogRecord) -> None:
        try:
            text = self.formatter.format(record)
        except Exception:  # a record that cannot be formatted may still hold a secret in its parts
            text = f"{record.levelname} {record.name}: {record.msg!r} % {record.args!r}"
        self.lines.setdefault(text, os.environ.get("PYTEST_CURRENT_TEST", "(outside a test)"))


@contextmanager
def recording_logs() -> Iterator[LogRecorder]:
    """Record every log record while open, with LOGGERS_AT_DEBUG lowered to DEBUG; consoles keep
    showing what they showed before (pytest's own capture shows everything, as it always did)."""
    recorder = LogRecorder()
    make_record = logging.getLogRecordFactory()

    def recording_factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        # Kept as its logger's own filters leave it, which is what every handler gets: settings.LOGGING
        # masks secrets there (webhook tokens in request paths). Those filters only rewrite records,
        # so the logger running them again on the same record changes nothing more.
        filtered = logging.getLogger(record.name).filter(record)
        recorder.keep(filtered if isinstance(filtered, logging.LogRecord) else record)
        return record

    lowered = {name: logging.getLogger(name) for name in LOGGERS_AT_DEBUG}
    levels = {name: logger.level for name, logger in lowered.items()}
    usual = {name: logger.getEffectiveLevel() for name, logger in lowered.items()}

    def as_usual(record: logging.LogRecord) -> bool:
        name = record.name
        while name not in usual and "." in name:
            name = name.rsplit(".", 1)[0]
        return name not in usual or record.levelno >= usual[name]

    consoles = [
        handler
        for handler in logging.getLogger().handlers
        if isinstance(handler, logging.StreamHandler) and not type(handler).__module__.startswith("_pytest")
    ]
    logging.setLogRecordFactory(recording_factory)
    for console in consoles:
        console.addFilter(as_usual)
    for logger in lowered.values():
        logger.setLevel(logging.DEBUG)
    try:
        yield recorder
    finally:
        logging.setLogRecordFactory(make_record)
        for name, logger in lowered.items():
            logger.setLevel(levels[name])
        for console in consoles:
            console.removeFilter(as_usual)


def secret_pattern(secrets: Iterable[str]) -> re.Pattern[str]:
    """One pattern matching any of the secrets, shaped as a trie (secrets sharing a prefix share its
    branch). A flat alternation of thousands of literals is tried one branch after another at every
    position: some 600 times slower than this on a run's worth of log text, and 20 times slower than
    searching for each secret in turn."""
    trie: dict[str, dict] = {}
    for secret in secrets:
        node = trie
        for char in secret:
            node = node.setdefault(char, {})
        node[""] = {}  # a secret ends here

    def branch(node: dict[str, dict]) -> str:
        alternatives = [re.escape(char) + branch(child) for char, child in sorted(node.items()) if char]
        if not alternatives:
            return ""
        body = alternatives[0] if len(alternatives) == 1 else "(?:" + "|".join(alternatives) + ")"
        return f"(?:{body})?" if "" in node else body

    return re.compile(branch(trie) if trie else r"(?!)")


def find_leaks(lines: dict[str, str], secrets: Iterable[str]) -> list[str]:
    """One sentence per record holding a secret, the secret itself masked so the report leaks nothing."""
    pattern = secret_pattern(secrets)
    if not pattern.search("\n".join(lines)):  # one scan of the whole run; records only on a hit
        return []

    def mask(match: re.Match[str]) -> str:
        return f"[{match[0][:4]}… REGISTERED SECRET]"

    return [
        f"  during {test}:\n    {pattern.sub(mask, line)[:500]}"
        for line, test in lines.items()
        if pattern.search(line)
    ]
