"""CSV downloads of tasks and of spend, streamed: a row is written as it is read, so 100,000 tasks
take the memory of one chunk of rows, not of the file.

The rows are read with `aiterator(chunk_size=…)`, the async form of `.iterator(chunk_size=…)`:
under ASGI a StreamingHttpResponse over a *sync* iterator is first read into a list whole (Django
warns and does so), which is exactly the memory this avoids.

Every cell a spreadsheet could take for a formula (one starting with = + - @, or a tab or carriage
return) is prefixed with ' : an input text like `=HYPERLINK(…)` stays text when the file is opened.
"""

import csv
from collections.abc import AsyncIterator, Iterable
from datetime import date, datetime
from typing import Any

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from .models import Status, Task, TaskType

CHUNK_SIZE = 2000  # rows fetched from the database at a time
ROWS_PER_PIECE = 500  # rows sent to the browser at a time
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

TASK_COLUMNS = (
    "posted",
    "task id",
    "type",
    "status",
    "budget (NC)",
    "awarded price (NC)",
    "fee (NC)",
    "total (NC)",
    "settled",
    "input text",
)
SPEND_COLUMNS = ("date", "task id", "type", "status", "budget (NC)", "price (NC)", "fee (NC)", "total (NC)")
TASK_FIELDS = (
    "created_at",
    "task_id",
    "task_type",
    "status",
    "budget",
    "awarded_price",
    "platform_fee",
    "settled_at",
    "input_data",
)
SPEND_FIELDS = ("spend_at", "task_id", "task_type", "status", "budget", "awarded_price", "platform_fee")


def safe_cell(value: object) -> str:
    """The cell as text, defused if a spreadsheet would run it as a formula."""
    if value is None:
        return ""
    text = value.isoformat() if isinstance(value, datetime | date) else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


class _Lines:
    """A file-like target for csv.writer that collects lines until they are taken as one piece: a
    piece per ROWS_PER_PIECE rows, not per row, spares the server one ASGI message per line."""

    def __init__(self) -> None:
        self.parts: list[str] = []

    def write(self, text: str) -> None:
        self.parts.append(text)

    def take(self) -> bytes:
        piece, self.parts = "".join(self.parts).encode(), []
        return piece


def _add(writer: Any, cells: Iterable[object]) -> None:
    writer.writerow([safe_cell(cell) for cell in cells])


def _local(moment: datetime | None) -> str:
    return timezone.localtime(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


_TYPE_LABELS = dict(TaskType.choices)
_STATUS_LABELS = dict(Status.choices)


def _total(price: int | None, fee: int | None) -> int | None:
    return None if price is None else price + (fee or 0)


def _aiter_rows(tasks: QuerySet[Task], fields: tuple[str, ...]) -> AsyncIterator[dict[str, Any]]:
    # .values(), not .values_list(): the latter's iterable runs its query as soon as it is created,
    # which aiterator() does in the event loop (SynchronousOnlyOperation); the former's is lazy.
    rows: AsyncIterator[dict[str, Any]] = tasks.values(*fields).aiterator(chunk_size=CHUNK_SIZE)
    return rows


async def task_rows(tasks: QuerySet[Task]) -> AsyncIterator[bytes]:
    lines = _Lines()
    writer = csv.writer(lines)
    _add(writer, TASK_COLUMNS)
    count = 0
    async for row in _aiter_rows(tasks, TASK_FIELDS):
        price, fee = row["awarded_price"], row["platform_fee"]
        _add(
            writer,
            (
                _local(row["created_at"]),
                row["task_id"],
                _TYPE_LABELS.get(row["task_type"], row["task_type"]),
                _STATUS_LABELS.get(row["status"], row["status"]),
                row["budget"],
                price,
                fee,
                _total(price, fee),
                _local(row["settled_at"]),
                row["input_data"],
            ),
        )
        count += 1
        if count % ROWS_PER_PIECE == 0:
            yield lines.take()
    yield lines.take()


async def spend_rows(tasks: QuerySet[Task]) -> AsyncIterator[bytes]:
    """`tasks` annotated with `spend_at` (see usage_range.spend_tasks)."""
    lines = _Lines()
    writer = csv.writer(lines)
    _add(writer, SPEND_COLUMNS)
    count = 0
    async for row in _aiter_rows(tasks, SPEND_FIELDS):
        price, fee = row["awarded_price"], row["platform_fee"]
        _add(
            writer,
            (
                timezone.localtime(row["spend_at"]).date(),
                row["task_id"],
                _TYPE_LABELS.get(row["task_type"], row["task_type"]),
                _STATUS_LABELS.get(row["status"], row["status"]),
                row["budget"],
                price,
                fee,
                _total(price, fee),
            ),
        )
        count += 1
        if count % ROWS_PER_PIECE == 0:
            yield lines.take()
    yield lines.take()


def csv_download(rows: AsyncIterator[bytes], filename: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(rows, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # a person's money: never kept by a shared cache
    return response
