"""Template filters of the log viewer: log lines as safe HTML (see logtext)."""

import html

from django import template
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe

from dashboard.tracking import logtext
from dashboard.tracking.models import LogLine

register = template.Library()


@register.filter
def ansi(text: str | None) -> SafeString:
    """A log message as safe HTML: ANSI colours as spans, URLs as links, a huge line cut with a note."""
    return logtext.render(text)


# Built as one string: a hidden range of a long log is thousands of rows, and format_html or a
# template per row made one 5,000-line request take seconds.
_CUT_NOTE = '<span class="log-cut">… the worker\'s line was longer than 64 KiB; the rest was not kept</span>'


@register.filter
def log_row(line: LogLine) -> SafeString:
    """One cached log line (a tracking LogLine with its stored number) as the log viewer's <li>."""
    at = timezone.localtime(line.logged_at)
    level = html.escape(line.level)
    number = int(line.number)
    # A step group's marker (::group::Name, ##[endgroup]…): its row says so, and a header shows the
    # name alone (escaped here; the viewer folds the section). The substring test spares the rest.
    marker = logtext.group_marker(line.message) if "group" in line.message else None
    group = f' data-group="{marker[0]}"' if marker else ""
    if marker and marker[0] == "start":
        message = html.escape(marker[1]) or "(unnamed step)"
    else:
        message = logtext.render(line.message) + (_CUT_NOTE if line.truncated else "")
    # Safe: the level is escaped, the numbers are ints, the times are formatted here, the group's
    # kind is a literal, and the message is escaped text or logtext's escaped HTML.
    return mark_safe(  # noqa: S308
        f'<li class="log-line log-{level}" id="L{number}" data-log-id="{int(line.pk)}"{group}>'
        f'<a class="log-number" href="#L{number}" aria-label="Line {number}">{number}</a>'
        f'<time datetime="{at.isoformat()}">{at:%H:%M:%S}</time>'
        f'<span class="log-level">{level.upper()}</span>'
        f'<span class="log-message">{message}</span></li>'
    )
