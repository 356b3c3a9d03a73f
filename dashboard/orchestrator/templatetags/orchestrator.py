"""Template filters of the orchestrator pages: ANSI-coloured log lines and job durations.

Log text comes from upstream workers, so it is never trusted: every character is escaped, and the
only markup in the output is the <span> elements built here from recognised SGR colour codes.
"""

import json
import re
from datetime import datetime, timedelta

from django import template
from django.utils import timezone
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# CSI sequences: ESC [ params final-byte. Only "m" (SGR) changes colours; the rest are dropped.
_CSI = re.compile(r"\x1b\[([0-9;]*)([@-~])")
# Any other control character (bare ESC, bells, backspaces) is dropped too; tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")

COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]


class _Style:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: str | None = None
        self.bg: str | None = None
        self.bold = False
        self.dim = False
        self.italic = False
        self.underline = False

    def apply(self, params: str) -> None:
        codes = [int(code) for code in params.split(";") if code.isdigit()] or [0]
        for code in codes:
            if code == 0:
                self.reset()
            elif code == 1:
                self.bold = True
            elif code == 2:
                self.dim = True
            elif code == 3:
                self.italic = True
            elif code == 4:
                self.underline = True
            elif code == 22:
                self.bold = self.dim = False
            elif code == 23:
                self.italic = False
            elif code == 24:
                self.underline = False
            elif 30 <= code <= 37:
                self.fg = COLOURS[code - 30]
            elif 90 <= code <= 97:
                self.fg = f"bright-{COLOURS[code - 90]}"
            elif code == 39:
                self.fg = None
            elif 40 <= code <= 47:
                self.bg = COLOURS[code - 40]
            elif 100 <= code <= 107:
                self.bg = f"bright-{COLOURS[code - 100]}"
            elif code == 49:
                self.bg = None
            # 256-colour and RGB codes (38;5;n, 38;2;r;g;b) are rare in deploy logs: ignored.

    def classes(self) -> list[str]:
        names = []
        if self.fg:
            names.append(f"ansi-fg-{self.fg}")
        if self.bg:
            names.append(f"ansi-bg-{self.bg}")
        for flag in ("bold", "dim", "italic", "underline"):
            if getattr(self, flag):
                names.append(f"ansi-{flag}")
        return names


def _wrap(text: str, classes: list[str]) -> str:
    if not text:
        return ""
    escaped = escape(text)
    return f'<span class="{" ".join(classes)}">{escaped}</span>' if classes else escaped


@register.filter
def ansi(text: str | None) -> SafeString:
    """Render a log message's ANSI colours as CSS classes, with everything else escaped."""
    style = _Style()
    parts: list[str] = []
    position = 0
    text = text or ""
    for match in _CSI.finditer(text):
        parts.append(_wrap(_CONTROL.sub("", text[position : match.start()]), style.classes()))
        if match.group(2) == "m":
            style.apply(match.group(1))
        position = match.end()
    parts.append(_wrap(_CONTROL.sub("", text[position:]), style.classes()))
    # Safe: the parts are escaped text inside spans whose class names come from the fixed lists above.
    return mark_safe("".join(parts))  # noqa: S308


def _human(delta: timedelta) -> str:
    seconds = max(0, int(delta.total_seconds()))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m {seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h {minutes:02d}m"


@register.filter
def duration(job) -> str:
    """How long a job ran (or has been running), or waited when it has not started."""
    started: datetime | None = job.started_at
    if started is None:
        return f"queued {_human(timezone.now() - job.created_at)}" if job.status == "pending" else "—"
    end = job.completed_at or timezone.now()
    return _human(end - started)


@register.filter
def pretty_json(value) -> str:
    """Inputs and outputs as indented JSON (autoescaped by the template like any other text)."""
    return json.dumps(value, indent=2, sort_keys=True, default=str)
