"""Template filters every page may use: upstream URLs as safe links, job durations, JSON."""

import json
from datetime import datetime
from typing import Protocol

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from dashboard.core import humanize
from dashboard.core.links import web_url

register = template.Library()


@register.filter
def http_url(value: str | None) -> str:
    """For `{% if x|http_url %}`: upstream URLs are only used as links or images when http(s)."""
    return web_url(value)


@register.filter
def link(value: str | None) -> SafeString:
    """An upstream URL as a link when it is http(s), else as plain (escaped) text; "—" when empty."""
    url = web_url(value)
    if url:
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)
    return format_html("{}", value or "—")


class TimedJob(Protocol):
    """A job as the upstream reports it, or as tracking keeps it: both carry these times."""

    @property
    def status(self) -> str: ...
    @property
    def created_at(self) -> datetime | None: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def completed_at(self) -> datetime | None: ...


@register.filter
def duration(job: TimedJob) -> str:
    """How long a job ran (or has been running), or waited when it has not started."""
    started = job.started_at
    if started is None:
        created = job.created_at
        # Templates only ask about a job whose creation time is known.
        if job.status == "pending" and created is not None:
            return f"queued {humanize.duration(timezone.now() - created)}"
        return "—"
    end = job.completed_at or timezone.now()
    return humanize.duration(end - started)


@register.filter
def pretty_json(value: object) -> str:
    """Inputs and outputs as indented JSON (autoescaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)


REF_LIMIT = 60  # characters of a ref shown in a table cell
SHORT_COMMIT = 7


@register.filter
def job_ref(inputs: object) -> str:
    """What a job was asked to build, from its inputs: "main @ 1a2b3c4", "main", "1a2b3c4", or "".

    Inputs are whatever the job's author sent: only string values of `ref` and `commit` are used."""
    if not isinstance(inputs, dict):
        return ""
    ref, commit = inputs.get("ref"), inputs.get("commit")
    ref = ref.strip()[:REF_LIMIT] if isinstance(ref, str) else ""
    commit = commit.strip() if isinstance(commit, str) else ""
    if commit and all(char in "0123456789abcdefABCDEF" for char in commit):
        commit = commit[:SHORT_COMMIT]
    return " @ ".join(part for part in (ref, commit[:REF_LIMIT]) if part)
