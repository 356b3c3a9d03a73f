"""Template filters of the orchestrator pages: ANSI-coloured log lines and job durations.

Log text comes from upstream workers, so it is never trusted: every character is escaped, and the
only markup in the output is the <span> elements built here from recognised SGR colour codes.
"""

import json
import re
from datetime import datetime, timedelta
from urllib.parse import urlsplit

from django import template
from django.utils import timezone
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

# Terminal escape sequences, matched whole so none of their bytes leak into the page as text:
#   CSI  ESC [ (or C1 0x9b), parameter bytes 0x30-0x3f (digits, ";", ":" and private markers like
#        "?" in ?25l), intermediate bytes 0x20-0x2f, one final byte; only a plain "m" (SGR) styles.
#   OSC  ESC ] … ended by BEL or ESC \ (window titles, OSC-8 hyperlinks): dropped with its payload,
#        the hyperlink's visible text stays as plain text. An unterminated one runs to the end.
#   Any other ESC with its intermediates and final byte (charset switches such as ESC ( B).
_ESCAPE = re.compile(
    r"(?:\x1b\[|\x9b)(?P<params>[0-?]*)(?P<inter>[ -/]*)(?P<final>[@-~])"
    r"|(?:\x1b\]|\x9d)[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]"
)
# Any other control character (bare ESC, bells, backspaces, C1 controls) is dropped; tabs are kept.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")

COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]


def _palette(index: int) -> str | None:
    """The class of a 256-colour index when it is one of the 16 named colours, else None."""
    if 0 <= index < 8:
        return COLOURS[index]
    if 8 <= index < 16:
        return f"bright-{COLOURS[index - 8]}"
    return None


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
        codes = [int(code) if code.isdigit() else 0 for code in params.split(";")]
        position = 0
        while position < len(codes):
            code = codes[position]
            position += 1
            if code in (38, 48, 58):
                # Extended colour: 5;n (256 colours) or 2;r;g;b. Its numbers are not codes of
                # their own (a 1 in it is not bold); only the 16 named colours are shown.
                kind = codes[position] if position < len(codes) else None
                if kind == 5:
                    colour = _palette(codes[position + 1]) if position + 1 < len(codes) else None
                    position += 2
                elif kind == 2:
                    colour = None
                    position += 4
                else:
                    colour = None
                    position = len(codes)
                if code == 38:
                    self.fg = colour
                elif code == 48:
                    self.bg = colour
            else:
                self._basic(code)

    def apply_colon_form(self, params: str) -> None:
        """ITU form: 38:5:n or 38:2::r:g:b, one parameter with sub-parameters."""
        head, _, rest = params.partition(":")
        parts = rest.split(":")
        colour = (
            _palette(int(parts[1])) if parts[0] == "5" and len(parts) > 1 and parts[1].isdigit() else None
        )
        if head == "38":
            self.fg = colour
        elif head == "48":
            self.bg = colour
        elif head == "4":
            self.underline = parts[0] not in ("", "0")

    def _basic(self, code: int) -> None:
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

    def sgr(self, params: str) -> None:
        """One SGR sequence's parameters, in either the ";" or the ":" (sub-parameter) form."""
        if ":" in params:
            for group in params.split(";"):
                if ":" in group:
                    self.apply_colon_form(group)
                else:
                    self.apply(group)
        else:
            self.apply(params)

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
    for match in _ESCAPE.finditer(text):
        parts.append(_wrap(_CONTROL.sub("", text[position : match.start()]), style.classes()))
        # Private (?25l), intermediate-byte and non-"m" sequences move cursors and such: dropped.
        if (
            match.group("final") == "m"
            and not match.group("inter")
            and _SGR_PARAMS.fullmatch(match["params"])
        ):
            style.sgr(match.group("params"))
        position = match.end()
    parts.append(_wrap(_CONTROL.sub("", text[position:]), style.classes()))
    # Safe: the parts are escaped text inside spans whose class names come from the fixed lists above.
    return mark_safe("".join(parts))  # noqa: S308


def _web_url(value: str | None) -> str:
    """The URL when it is a plain http(s) address, else "" (javascript:, data:, odd characters)."""
    value = value or ""
    # Browsers drop whitespace and control characters inside a URL, so " java\tscript:" would
    # still run: a URL containing any is not a link.
    if not value or re.search(r"[\x00-\x20\x7f-\x9f]", value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in ("http", "https") and parts.netloc else ""


@register.filter
def http_url(value: str | None) -> str:
    """For `{% if x|http_url %}`: upstream URLs are only used as links or images when http(s)."""
    return _web_url(value)


@register.filter
def link(value: str | None) -> SafeString:
    """An upstream URL as a link when it is http(s), else as plain (escaped) text; "—" when empty."""
    url = _web_url(value)
    if url:
        return format_html('<a href="{}" rel="noopener noreferrer">{}</a>', url, url)
    return format_html("{}", value or "—")


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
