"""Search, outline and level counts of a job's whole cached log, by stored line number (LogLine.number).

Substring search runs in the database, on its index of messages (migration 0004): a pg_trgm GIN
index serves `ILIKE`/`LIKE` on PostgreSQL; on SQLite an FTS5 trigram table serves queries of three
characters or more (shorter ones scan the job's lines, which the (job, number) index bounds).
Regular expressions are Python's on every database (the dialect the browser's find also speaks),
matched in chunks against a deadline after a check that refuses patterns that backtrack
exponentially: the one a log reader types should never be able to stall a worker.

Messages are searched as stored, escape codes included: a match that spans a colour change is missed.
"""

import bisect
import importlib
import json
import re
import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict

from django.db import connection
from django.db.models import Count, F, Max, Q
from django.db.models.functions import Substr

from .logs import short
from .logtext import group_marker
from .models import LogLine
from .record import UNSTORABLE

MAX_QUERY = 500  # characters of a search
MAX_RESULTS = 1000  # line numbers returned (the count covers every match)
REGEX_CHUNK = 5000  # lines read at a time by a regex search
REGEX_SECONDS = 3.0  # a regex search that takes longer stops with a sentence
MAX_REPEAT = 1000  # the largest {n,m} count accepted
# Unbounded repeats in one pattern: each can multiply the backtracking of the others (.*a.*b.*c).
MAX_OPEN_REPEATS = 3
REGEX_PREFIX = 4096  # characters of each line a regex looks at, so one huge line stays cheap
MARKER_PREFIX = 1000  # characters of a candidate marker line read (a marker sits at its start)
MAX_HIDDEN = 10  # level names a search may leave out
# Level counts are given per block of line numbers: at least LEVEL_BLOCK lines a block (a multiple
# of it), and at most about MAX_BLOCKS blocks, so that the answer stays small for any log.
LEVEL_BLOCK = 100
MAX_BLOCKS = 1000
ERROR_LEVEL = "error"
FTS_MIN = 3  # the trigram index finds substrings of at least this many characters

# The re module's own parser, to look at a pattern's shape before running it (private, but stable
# across the versions the project supports; the check falls back to refusing what it cannot read).
_parser: Any = importlib.import_module("re._parser")


class SearchError(ValueError):
    """A query the user must change; the message is a sentence that says how."""


@dataclass
class Query:
    text: str
    regex: bool = False
    case: bool = False
    hidden: tuple[str, ...] = ()  # levels the reader has filtered out: their lines are not searched


class Found(TypedDict):
    query: str
    count: int
    lines: list[int]
    capped: bool


def checked(text: str | None, *, regex: bool = False, case: bool = False, hidden: str | None = None) -> Query:
    """The query, or SearchError with a sentence when it is empty, too long or a costly pattern.
    `hidden`: level names separated by commas, whose lines the search leaves out."""
    levels = tuple(sorted({name.strip() for name in (hidden or "").split(",") if name.strip()}))
    if len(levels) > MAX_HIDDEN:
        raise SearchError(f"A search can leave out at most {MAX_HIDDEN} levels.")
    if not text:
        raise SearchError("Type something to search for.")
    if len(text) > MAX_QUERY:
        raise SearchError(f"A search can be at most {MAX_QUERY} characters long; shorten it.")
    # As the poller stores messages: a NUL (which PostgreSQL refuses) finds the U+FFFD it became.
    text = UNSTORABLE.sub("\ufffd", text)
    if regex:
        _check_pattern(text, case)
    return Query(text=text, regex=regex, case=case, hidden=levels)


def _check_pattern(text: str, case: bool) -> None:
    try:
        parsed = _parser.parse(text, 0 if case else re.IGNORECASE)
    except re.error as error:
        raise SearchError(
            f"That is not a valid regular expression ({error.msg}); "
            "fix it, or untick Regex to search for the text as typed."
        ) from None
    except Exception:
        raise SearchError("That regular expression could not be read; simplify it.") from None
    problem = _costly(parsed)
    if not problem and _open_repeats(parsed) > MAX_OPEN_REPEATS:
        problem = f"more than {MAX_OPEN_REPEATS} open-ended repeats (*, + or {{n,}})"
    if problem:
        raise SearchError(f"That regular expression is too costly to run over a whole log: {problem}.")


def _costly(items: Any, inside_repeat: bool = False) -> str:
    """Why the parsed pattern could backtrack exponentially ("" when it cannot): a back-reference,
    a repeat of something that itself repeats or branches ((a+)+, (a|ab)*), a huge count."""
    c = _parser
    for op, value in items:
        if op in (c.GROUPREF, c.GROUPREF_EXISTS, c.GROUPREF_IGNORE):
            return "back-references are not supported"
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            low, high, body = value
            if (high != c.MAXREPEAT and high > MAX_REPEAT) or low > MAX_REPEAT:
                return f"a repeat count above {MAX_REPEAT}"
            repeats = high == c.MAXREPEAT or high > 1
            if repeats and inside_repeat:
                return "a repeated group contains another repeat"
            problem = _costly(body, inside_repeat or repeats)
        elif op is c.BRANCH:
            if inside_repeat:
                return "a repeated group contains alternatives"
            problem = next((p for branch in value[1] if (p := _costly(branch, inside_repeat))), "")
        elif op is c.SUBPATTERN:
            problem = _costly(value[3], inside_repeat)
        elif op in (c.ASSERT, c.ASSERT_NOT):
            problem = _costly(value[1], inside_repeat)
        elif op is c.ATOMIC_GROUP:
            problem = _costly(value, inside_repeat)
        else:
            problem = ""
        if problem:
            return problem
    return ""


def _open_repeats(items: Any) -> int:
    """How many unbounded repeats the parsed pattern holds, at any depth."""
    c = _parser
    total = 0
    for op, value in items:
        if op in (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT):
            total += (value[1] == c.MAXREPEAT) + _open_repeats(value[2])
        elif op is c.BRANCH:
            total += sum(_open_repeats(branch) for branch in value[1])
        elif op is c.SUBPATTERN:
            total += _open_repeats(value[3])
        elif op in (c.ASSERT, c.ASSERT_NOT):
            total += _open_repeats(value[1])
        elif op is c.ATOMIC_GROUP:
            total += _open_repeats(value)
    return total


@short
def search(job_pk: int, query: Query) -> Found:
    """Line numbers (ascending, at most MAX_RESULTS) of the job's lines that match, and their count."""
    if query.regex:
        count, numbers = _regex_search(job_pk, query)
    else:
        count, numbers = _substring_search(job_pk, query)
    return {"query": query.text, "count": count, "lines": numbers, "capped": count > len(numbers)}


# Fixed statements (only parameters vary). Each returns the first MAX_RESULTS numbers and, on every
# row, the count of all matches (the window is computed before the LIMIT). The levels left out are
# one parameter: an array on PostgreSQL, a JSON list on SQLite.
_POSTGRES = (
    "SELECT number, COUNT(*) OVER () FROM tracking_logline "
    "WHERE job_id = %s AND message {} %s AND NOT (level = ANY(%s)) ORDER BY number LIMIT %s"
)
_POSTGRES_SQL = {True: _POSTGRES.format("LIKE"), False: _POSTGRES.format("ILIKE")}
# The MATCH sits in a subquery so that it runs once: written as a join, SQLite's planner walked the
# job's lines by index and ran the MATCH again for each one (30-40 s for 100,000 lines, not 0.01 s).
_FTS = (
    "SELECT number, COUNT(*) OVER () FROM tracking_logline WHERE job_id = %s AND id IN "
    "(SELECT rowid FROM tracking_logline_fts WHERE tracking_logline_fts MATCH %s) {} "
    "AND level NOT IN (SELECT value FROM json_each(%s)) ORDER BY number LIMIT %s"
)
# The trigram index folds case: a case-sensitive search checks its candidates with instr().
_FTS_SQL = {True: _FTS.format("AND instr(message, %s) > 0"), False: _FTS.format("")}
_SCAN = (
    "SELECT number, COUNT(*) OVER () FROM tracking_logline WHERE job_id = %s AND {} "
    "AND level NOT IN (SELECT value FROM json_each(%s)) ORDER BY number LIMIT %s"
)
_SCAN_SQL = {True: _SCAN.format("instr(message, %s) > 0"), False: _SCAN.format("message LIKE %s ESCAPE '\\'")}


def _like(text: str) -> str:
    """A LIKE pattern matching `text` anywhere, its wildcards and the escape character escaped."""
    return "%" + re.sub(r"([\\%_])", r"\\\1", text) + "%"


def _substring_search(job_pk: int, query: Query) -> tuple[int, list[int]]:
    params: list[int | str | list[str]]
    if connection.vendor == "postgresql":
        sql = _POSTGRES_SQL[query.case]
        params = [job_pk, _like(query.text), list(query.hidden), MAX_RESULTS]
        return _run(sql, params)
    hidden = json.dumps(query.hidden)
    if len(query.text) >= FTS_MIN:
        phrase = '"' + query.text.replace('"', '""') + '"'  # one FTS5 string: matched as a substring
        sql = _FTS_SQL[query.case]
        params = [job_pk, phrase, *([query.text] if query.case else []), hidden, MAX_RESULTS]
    else:  # below the trigram length: scan the job's lines
        sql = _SCAN_SQL[query.case]
        params = [job_pk, query.text if query.case else _like(query.text), hidden, MAX_RESULTS]
    return _run(sql, params)


def _run(sql: str, params: list[int | str | list[str]]) -> tuple[int, list[int]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return (rows[0][1] if rows else 0), [row[0] for row in rows]


def _regex_search(job_pk: int, query: Query) -> tuple[int, list[int]]:
    pattern = re.compile(query.text, 0 if query.case else re.IGNORECASE)
    deadline = time.monotonic() + REGEX_SECONDS
    count, after = 0, 0
    numbers: list[int] = []
    lines = LogLine.objects.filter(job_id=job_pk).exclude(level__in=query.hidden).order_by("number")
    while chunk := list(lines.filter(number__gt=after).values_list("number", "message")[:REGEX_CHUNK]):
        for number, message in chunk:
            if pattern.search(message, 0, REGEX_PREFIX):
                count += 1
                if len(numbers) < MAX_RESULTS:
                    numbers.append(number)
        after = chunk[-1][0]
        if time.monotonic() > deadline:
            raise SearchError(
                "That regular expression took too long over this log; make it more specific "
                "(anchor it, or search for plain text)."
            )
    return count, numbers


# The outline ---------------------------------------------------------------------------------------


class Group(TypedDict):
    name: str
    start: int
    end: int | None
    count: int
    seconds: float | None
    error: bool
    depth: int


class Outline(TypedDict):
    total: int
    error_count: int
    errors: list[int]
    groups: list[Group]


_MARKERS = ("::group::", "::endgroup::", "##[group]", "##[endgroup]")


@short
def outline(job_pk: int) -> Outline:
    """The job's error lines and step groups, from the few lines that can be markers (never the
    whole log): nested groups get their depth, an unclosed one has no end yet."""
    lines = LogLine.objects.filter(job_id=job_pk)
    total = lines.aggregate(top=Max("number"))["top"] or 0
    errors = list(lines.filter(level=ERROR_LEVEL).order_by("number").values_list("number", flat=True))
    may_mark = Q()
    for text in _MARKERS:
        may_mark |= Q(message__contains=text)
    candidates = (
        lines.filter(may_mark)
        .order_by("number")
        .annotate(head=Substr("message", 1, MARKER_PREFIX))
        .values_list("number", "head", "logged_at")
    )
    groups: list[Group] = []
    open_groups: list[tuple[Group, datetime]] = []
    for number, head, logged_at in candidates:
        marker = group_marker(head)
        if marker is None:
            continue
        kind, name = marker
        if kind == "start":
            group: Group = {
                "name": name,
                "start": number,
                "end": None,
                "count": 0,
                "seconds": None,
                "error": False,
                "depth": len(open_groups),
            }
            groups.append(group)
            open_groups.append((group, logged_at))
        elif open_groups:  # an end without a start is a stray line, not a group
            group, began = open_groups.pop()
            group["end"] = number
            group["seconds"] = round((logged_at - began).total_seconds(), 3)
    for group in groups:
        last = group["end"] - 1 if group["end"] is not None else total
        group["count"] = max(0, last - group["start"])
        first_error = bisect.bisect_right(errors, group["start"])
        group["error"] = first_error < len(errors) and errors[first_error] <= last
    return {
        "total": total,
        "error_count": len(errors),
        "errors": errors[:MAX_RESULTS],
        "groups": groups,
    }


# Levels per block of lines --------------------------------------------------------------------------


class LevelCounts(TypedDict):
    total: int  # the lines counted: 1 .. total
    block: int  # lines a block: block k (from 0) holds lines k*block+1 .. (k+1)*block
    counts: dict[str, list[int]]  # per level found, its number of lines in each block


@short
def level_counts(job_pk: int) -> LevelCounts:
    """How many lines of each level each block of line numbers holds: what the viewer needs to size
    the lines it has not loaded when a level is filtered out. One grouped count, no line read out;
    asked for only then (it reads every line's level: 0.1-0.2 s for 100,000 lines)."""
    total = LogLine.objects.filter(job_id=job_pk).aggregate(top=Max("number"))["top"] or 0
    block = LEVEL_BLOCK * max(1, -(-total // (LEVEL_BLOCK * MAX_BLOCKS)))
    size = -(-total // block)
    counts: dict[str, list[int]] = {}
    rows = (
        LogLine.objects.filter(job_id=job_pk)
        .annotate(block=(F("number") - 1) / block)
        .values_list("block", "level")
        .annotate(lines=Count("id"))
        .order_by()
    )
    for index, level, lines in rows:
        counts.setdefault(level, [0] * size)[index] += lines
    return {"total": total, "block": block, "counts": counts}
