"""Reading the audit log: the filters, the page of rows and the CSV export that both log pages share
(the team's in orchestrator, the user's own in connections). Nothing here writes or deletes a row.
"""

import csv
import json
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from asgiref.sync import sync_to_async
from django import forms
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils import timezone

from dashboard.audit import AuditEntry, Result

from .http import AuthenticatedRequest
from .pages import page

PER_PAGE = 50
# Rows read from the database per round trip while streaming, and rows per chunk sent to the client:
# memory stays flat however long the log (aiterator uses a server-side cursor on PostgreSQL).
CSV_DB_CHUNK = 2000
CSV_SEND_CHUNK = 500
CSV_COLUMNS = [
    ("created_at", "time (UTC)"),
    ("username", "user"),
    ("nexical_email", "nexical email"),
    ("nexical_user_id", "nexical user id"),
    ("nexustoken_account_id", "nexustoken account id"),
    ("action", "action"),
    ("result", "result"),
    ("team_id", "team id"),
    ("project_id", "project id"),
    ("target", "target"),
    ("detail", "detail"),
    ("ip", "ip"),
    ("user_agent", "user agent"),
]
# Spreadsheets run a cell that starts with one of these as a formula; a target is user-chosen text.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class AuditFilters(forms.Form):
    """Person, action and dates; the choices are those present in the log being read."""

    person = forms.ChoiceField(required=False, label="Person")
    action = forms.ChoiceField(required=False, label="Action")
    result = forms.ChoiceField(required=False, label="Result", choices=[("", "Any result"), *Result.choices])
    since = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, data: Any, *, people: Sequence[str], actions: Sequence[str]) -> None:
        super().__init__(data, auto_id="audit_%s")
        person: Any = self.fields["person"]
        person.choices = [("", "Anyone"), *((name, name) for name in people if name)]
        action: Any = self.fields["action"]
        action.choices = [("", "Any action"), *((name, name) for name in actions)]

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", "The end date is before the start date.")
        return cleaned

    def apply(self, entries: QuerySet[AuditEntry]) -> QuerySet[AuditEntry]:
        """The rows the valid filters keep (all of them when there are none or they are not valid)."""
        if not self.is_valid():
            return entries
        data = self.cleaned_data
        if data["person"]:
            entries = entries.filter(username=data["person"])
        if data["action"]:
            entries = entries.filter(action=data["action"])
        if data["result"]:
            entries = entries.filter(result=data["result"])
        # Whole days in the dashboard's time zone, as ranges on the indexed column (no __date cast).
        if data["since"]:
            entries = entries.filter(created_at__gte=_start_of(data["since"]))
        if data["until"]:
            entries = entries.filter(created_at__lt=_start_of(data["until"] + timedelta(days=1)))
        return entries


def _start_of(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


@sync_to_async
def _read(
    entries: QuerySet[AuditEntry], data: Any, number: str | None
) -> tuple[AuditFilters, Page[AuditEntry]]:
    people = list(entries.order_by("username").values_list("username", flat=True).distinct())
    actions = list(entries.order_by("action").values_list("action", flat=True).distinct())
    # No query at all is the whole log, not a form left empty: unbound, so not "invalid".
    filters = AuditFilters(data or None, people=people, actions=actions)
    listing = Paginator(filters.apply(entries).order_by("-created_at", "-id"), PER_PAGE).get_page(number)
    listing.object_list = list(listing.object_list)  # read here: the template renders in async code
    return filters, listing


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True) if value else ""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return "" if value is None else value


class _Line:
    """csv.writer's file: hands back each line instead of keeping it."""

    def write(self, line: str) -> str:
        return line


async def csv_lines(entries: QuerySet[AuditEntry]) -> AsyncIterator[str]:
    writer = csv.writer(_Line())
    yield writer.writerow([label for _, label in CSV_COLUMNS])
    names = [name for name, _ in CSV_COLUMNS]
    # values(), not values_list(): Django's values_list().aiterator() runs its query in the event loop.
    rows = entries.order_by("-created_at", "-id").values(*names)
    chunk: list[str] = []
    async for row in rows.aiterator(chunk_size=CSV_DB_CHUNK):
        chunk.append(writer.writerow([_cell(row[name]) for name in names]))
        if len(chunk) >= CSV_SEND_CHUNK:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


async def respond(
    request: AuthenticatedRequest,
    entries: QuerySet[AuditEntry],
    *,
    template: str,
    context: dict[str, Any],
    filename: str,
) -> HttpResponse | StreamingHttpResponse:
    """The log page, or with ?format=csv the filtered rows as a streamed CSV file."""
    filters, listing = await _read(entries, request.GET, request.GET.get("page"))
    refused = filters.is_bound and not filters.is_valid()
    if request.GET.get("format") == "csv" and not refused:
        response = StreamingHttpResponse(
            csv_lines(filters.apply(entries)), content_type="text/csv; charset=utf-8"
        )
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        return response
    query = request.GET.copy()
    query.pop("page", None)
    query.pop("format", None)
    context = context | {"filters": filters, "page_obj": listing, "query": query.urlencode()}
    return page(request, template, context, status=400 if refused else 200)
