"""The usage page's date range: the last 7, 30 or 90 days, this month, last month, or a custom from/to.

A range is a pair of local dates, both included. A custom one that runs backwards or spans more than a
year is refused with a sentence (the page then shows the default 30 days), never a 500.
"""

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from django import forms
from django.contrib.auth.models import User
from django.db.models import F, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from .models import Task

DEFAULT = "30"
LONGEST_DAYS = 366  # "at most a year": a leap year's 1 Jan to 31 Dec fits
CHOICES = [
    ("7", "Last 7 days"),
    ("30", "Last 30 days"),
    ("90", "Last 90 days"),
    ("this_month", "This month"),
    ("last_month", "Last month"),
    ("custom", "Custom"),
]


@dataclass(frozen=True)
class Range:
    first: date
    last: date
    label: str
    key: str

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    def start(self) -> datetime:
        return timezone.make_aware(datetime.combine(self.first, time.min))

    def end(self) -> datetime:
        """The first moment after the range."""
        return timezone.make_aware(datetime.combine(self.last + timedelta(days=1), time.min))

    @property
    def phrase(self) -> str:
        """The range in a sentence: "Spend per day over <phrase>"."""
        if self.key in ("7", "30", "90"):
            return f"the last {self.key} days"
        if self.key in ("this_month", "last_month"):
            return self.label.lower()
        return "the chosen days"

    @property
    def filename_part(self) -> str:
        return f"{self.first.isoformat()}_{self.last.isoformat()}"


class RangeForm(forms.Form):
    range = forms.ChoiceField(choices=CHOICES, required=False, label="Period")
    start = forms.DateField(
        required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    end = forms.DateField(
        required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("range") != "custom":
            return data
        start, end = data.get("start"), data.get("end")
        if "start" in self.errors or "end" in self.errors:
            return data
        if start is None or end is None:
            raise forms.ValidationError("A custom range needs both a From and a To date.")
        if end < start:
            raise forms.ValidationError(
                f"The range runs backwards: {end:%d %b %Y} is before {start:%d %b %Y}. "
                "Put the earlier date in From."
            )
        days = (end - start).days + 1
        if days > LONGEST_DAYS:
            raise forms.ValidationError(
                f"A range can be at most one year long; this one is {days:,} days. "
                "Pick a shorter one, or export each year separately."
            )
        return data


def _month_before(first_of_month: date) -> date:
    return (first_of_month - timedelta(days=1)).replace(day=1)


def preset(key: str, today: date) -> Range:
    label = dict(CHOICES)[key]
    if key == "this_month":
        return Range(today.replace(day=1), today, label, key)
    if key == "last_month":
        first_this = today.replace(day=1)
        return Range(_month_before(first_this), first_this - timedelta(days=1), label, key)
    days = int(key)
    return Range(today - timedelta(days=days - 1), today, label, key)


def chosen(form: RangeForm, today: date | None = None) -> Range:
    """The range the (bound) form asks for; the default when it asks for nothing valid."""
    today = today or timezone.localdate()
    if not form.is_valid():
        return preset(DEFAULT, today)
    key = form.cleaned_data.get("range") or DEFAULT
    if key == "custom":
        first, last = form.cleaned_data["start"], form.cleaned_data["end"]
        return Range(first, last, f"{first:%d %b %Y} to {last:%d %b %Y}", key)
    return preset(key, today)


def spend_tasks(user: User, period: Range) -> QuerySet[Task]:
    """The user's tasks with something to say about money in the range: those that settled in it
    (by settlement time), and the others by the time they were posted. `spend_at` is that time."""
    return (
        Task.objects.filter(user=user)
        .annotate(spend_at=Coalesce(F("settled_at"), F("created_at")))
        .filter(spend_at__gte=period.start(), spend_at__lt=period.end())
        .order_by("spend_at", "pk")
    )
