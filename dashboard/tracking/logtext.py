"""Log text from upstream workers as safe HTML: ANSI styles, links, and a cut for huge lines.

Log text is never trusted: every character is escaped, and the only markup in the output is built
here: <span> elements whose class names come from fixed lists (plus `data-fg`/`data-bg` hex colours
formatted from integers, which logviewer/colours.js paints, as CSP forbids style attributes), <a> elements
for http(s) URLs, and the note that says where a line was cut.
"""

import html
import re
from typing import Literal

from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

from dashboard.core.links import web_url

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
# Controls a terminal acts on without printing anything (bell, backspace, shifts, a stray ESC).
_SILENT = re.compile(r"[\x07\x08\x0b\x0c\x0e\x0f\x1b]")
# Any other control character is binary data: shown as U+FFFD so the reader sees something was
# there. Tabs and newlines are text. Lone surrogates (JSON "\ud800") cannot be encoded at all.
_BINARY = re.compile(r"[\x00-\x06\x10-\x1a\x1c-\x1f\x7f-\x9f\ud800-\udfff]")
_SGR_PARAMS = re.compile(r"[0-9;:]*")
# A URL runs to whitespace, a quote or a bracket that cannot be part of one; trailing punctuation
# ("see https://x.org/a.") belongs to the sentence.
_URL = re.compile(r"https?://[^\s<>\"'`{}|\\^\x00-\x1f\x7f-\x9f]+", re.IGNORECASE)
_URL_TRAILING = ".,;:!?*'"
_CLOSERS = {")": "(", "]": "["}
# Opened apart from the log so the reader keeps their place; the log's author gains nothing from it.
_LINK = '<a href="{}" rel="noopener noreferrer nofollow" target="_blank">{}</a>'

# The most characters of one line rendered into the page: a 1 MB line would make the browser crawl.
# The raw view and the download keep the whole line.
DISPLAY_LIMIT = 20_000

COLOURS = ["black", "red", "green", "yellow", "blue", "magenta", "cyan", "white"]
NAMED = COLOURS + [f"bright-{name}" for name in COLOURS]
# xterm's 16 colours: a 256-colour or truecolor span also carries the class of the nearest of these
# (app.css gives each name its shade for the dark log), so it keeps a colour without JavaScript.
_NAMED_RGB = [
    (0, 0, 0), (205, 0, 0), (0, 205, 0), (205, 205, 0),
    (0, 0, 238), (205, 0, 205), (0, 205, 205), (229, 229, 229),
    (127, 127, 127), (255, 0, 0), (0, 255, 0), (255, 255, 0),
    (92, 92, 255), (255, 0, 255), (0, 255, 255), (255, 255, 255),
]  # fmt: skip
_CUBE = (0, 95, 135, 175, 215, 255)  # the xterm 6x6x6 cube's channel levels

# SGR codes that set and clear text attributes; the order is that of the classes in the output.
_FLAGS = {1: "bold", 2: "dim", 3: "italic", 4: "underline", 9: "strike"}
_CLEARS = {22: ("bold", "dim"), 23: ("italic",), 24: ("underline",), 29: ("strike",)}
_FLAG_ORDER = list(_FLAGS.values())

RGB = tuple[int, int, int]
Colour = str | RGB  # one of NAMED, or an exact colour


def _indexed(index: int) -> Colour | None:
    """A 256-colour palette entry: a named colour below 16, the cube, then the grey ramp."""
    if 0 <= index < 16:
        return NAMED[index]
    if 16 <= index < 232:
        index -= 16
        return (_CUBE[index // 36], _CUBE[index // 6 % 6], _CUBE[index % 6])
    if 232 <= index < 256:
        grey = 8 + (index - 232) * 10
        return (grey, grey, grey)
    return None


def _rgb(values: list[str]) -> Colour | None:
    if len(values) != 3 or not all(value.isdigit() and int(value) < 256 for value in values):
        return None
    red, green, blue = (int(value) for value in values)
    return (red, green, blue)


def _nearest(rgb: RGB) -> str:
    """The named colour closest as the eye sees it ("redmean": plain RGB distance calls blues cyan)."""

    def distance(named: RGB) -> float:
        mean = (rgb[0] + named[0]) / 2
        red, green, blue = (a - b for a, b in zip(rgb, named, strict=True))
        return (2 + mean / 256) * red**2 + 4 * green**2 + (2 + (255 - mean) / 256) * blue**2

    return NAMED[min(range(16), key=lambda index: distance(_NAMED_RGB[index]))]


class _Style:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.fg: Colour | None = None
        self.bg: Colour | None = None
        self.flags: set[str] = set()

    def _extended(self, code: str, colour: Colour | None) -> None:
        if code == "38":
            self.fg = colour
        elif code == "48":
            self.bg = colour

    def apply(self, params: str) -> None:
        """The ";" form. An extended colour's numbers (5;n or 2;r;g;b) are not codes of their own:
        the 1 in 38;2;1;32;0 is not bold."""
        codes = params.split(";")
        position = 0
        while position < len(codes):
            code = codes[position] or "0"
            position += 1
            if code in ("38", "48", "58"):
                kind = codes[position] if position < len(codes) else ""
                if kind == "5" and position + 1 < len(codes) and codes[position + 1].isdigit():
                    self._extended(code, _indexed(int(codes[position + 1])))
                    position += 2
                elif kind == "2":
                    self._extended(code, _rgb(codes[position + 1 : position + 4]))
                    position += 4
                else:  # an unknown kind: the rest cannot be read reliably
                    position = len(codes)
            elif code.isdigit():
                self._basic(int(code))

    def apply_colon_form(self, params: str) -> None:
        """ITU form: 38:5:n, 38:2::r:g:b (with a colour space id) or 38:2:r:g:b, and 4:n underlines."""
        head, _, rest = params.partition(":")
        parts = rest.split(":")
        colour: Colour | None = None
        if parts[0] == "5" and len(parts) > 1 and parts[1].isdigit():
            colour = _indexed(int(parts[1]))
        elif parts[0] == "2":
            colour = _rgb(parts[-3:]) if len(parts) in (4, 5) else None
        if head == "4":
            self._flag("underline", parts[0] not in ("", "0"))
        else:
            self._extended(head, colour)

    def _flag(self, name: str, on: bool) -> None:
        if on:
            self.flags.add(name)
        else:
            self.flags.discard(name)

    def _basic(self, code: int) -> None:
        if code == 0:
            self.reset()
        elif code in _FLAGS:
            self.flags.add(_FLAGS[code])
        elif code in _CLEARS:
            self.flags.difference_update(_CLEARS[code])
        elif 30 <= code <= 37 or 90 <= code <= 97:
            self.fg = NAMED[code - 30] if code < 90 else NAMED[code - 90 + 8]
        elif 40 <= code <= 47 or 100 <= code <= 107:
            self.bg = NAMED[code - 40] if code < 100 else NAMED[code - 100 + 8]
        elif code == 39:
            self.fg = None
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

    def opening(self) -> str:
        """The <span …> for text in this style, or "" for plain text."""
        classes: list[str] = []
        data: list[str] = []
        for layer, colour in (("fg", self.fg), ("bg", self.bg)):
            if isinstance(colour, str):
                classes.append(f"ansi-{layer}-{colour}")
            elif colour is not None:
                classes.append(f"ansi-{layer}-{_nearest(colour)}")
                data.append(f' data-{layer}="#{colour[0]:02x}{colour[1]:02x}{colour[2]:02x}"')
        classes.extend(f"ansi-{flag}" for flag in sorted(self.flags, key=_FLAG_ORDER.index))
        return f'<span class="{" ".join(classes)}"{"".join(data)}>' if classes else ""


def _trim_url(url: str) -> str:
    """Drop what ends a sentence rather than the URL: trailing dots, commas, unmatched brackets."""
    while url:
        last = url[-1]
        if last in _URL_TRAILING or (last in _CLOSERS and url.count(last) > url.count(_CLOSERS[last])):
            url = url[:-1]
        else:
            break
    return url


def _linked(text: str) -> str:
    """Escaped text whose http(s) URLs are links that open apart from the log (the standard library's
    escape, as Django's, without its lazy-string wrapper: it runs for every piece of every line)."""
    out: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = web_url(_trim_url(match.group()))
        if not url:
            continue
        out.append(html.escape(text[position : match.start()]))
        out.append(format_html(_LINK, url, url))
        position = match.start() + len(url)
    out.append(html.escape(text[position:]))
    return "".join(out)


def _visible(text: str) -> str:
    return _BINARY.sub("\ufffd", _SILENT.sub("", text))


def _redraw(segment: str, overwrite: bool) -> tuple[str, bool, bool]:
    """Progress bars redraw their line after "\r": like a terminal, keep only the last drawing.

    Returns the text to add, whether it replaces what was drawn before, and whether the next text
    will (the segment ended with "\r")."""
    pieces = segment.split("\r")
    drawn = [index for index, piece in enumerate(pieces) if piece]
    if not drawn:
        return "", False, overwrite or len(pieces) > 1
    last = drawn[-1]
    return pieces[last], overwrite or last > 0, last < len(pieces) - 1


def render(text: str | None, limit: int = DISPLAY_LIMIT) -> SafeString:
    """A log message as HTML: styles as spans, URLs as links, at most `limit` characters shown."""
    text = (text or "").replace("\r\n", "\n")
    if "\n" in text:  # a multi-line message does not redraw: its carriage returns are noise
        text = text.replace("\r", "")
    style = _Style()
    parts: list[str] = []
    shown = 0
    overwrite = False
    position = 0
    for match in [*_ESCAPE.finditer(text), None]:
        end = match.start() if match else len(text)
        segment, replaces, overwrite = _redraw(_visible(text[position:end]), overwrite)
        if replaces:
            parts, shown = [], 0
        if len(segment) > limit - shown:
            room = limit - shown
            parts.append(_span(style, segment[:room]))
            hidden = len(segment) - room + len(plain(text[end:]))
            return mark_safe("".join(parts) + _cut_note(hidden))  # noqa: S308
        parts.append(_span(style, segment))
        shown += len(segment)
        if match:
            # Private (?25l), intermediate-byte and non-"m" sequences move cursors and such: dropped.
            if match["final"] == "m" and not match["inter"] and _SGR_PARAMS.fullmatch(match["params"]):
                style.sgr(match["params"])
            position = match.end()
    # Safe: escaped text inside markup built here from fixed class names and integers.
    return mark_safe("".join(parts))  # noqa: S308


def _span(style: _Style, text: str) -> str:
    if not text:
        return ""
    opening = style.opening()
    return f"{opening}{_linked(text)}</span>" if opening else _linked(text)


def _cut_note(hidden: int) -> str:
    return format_html(
        '<span class="log-cut">… line cut here: {} more characters, see the raw log</span>',
        f"{hidden:,}",
    )


def plain(text: str | None) -> str:
    """A log message as plain text for the raw view: escape sequences and binary bytes removed."""
    return _visible(_ESCAPE.sub("", text or "")).replace("\r", "")


# Step groups, GitHub's workflow-command form and its older Azure-style one. The marker may be
# preceded by whitespace and wrapped in escape codes (a coloured "::group::"), removed first.
_GROUP = re.compile(r"\s*(?:::(?P<gh>group|endgroup)::|##\[(?P<az>group|endgroup)\])(?P<name>.*)", re.DOTALL)
GROUP_NAME_LIMIT = 200  # characters of a group's name kept: a name is a label, not a log line


def group_marker(message: str) -> tuple[Literal["start", "end"], str] | None:
    """("start", name) for a line that opens a step group, ("end", "") for one that closes it, else
    None. The name is plain text: escape codes, controls and binary bytes removed, whitespace trimmed."""
    match = _GROUP.match(plain(message))
    if match is None:
        return None
    if (match["gh"] or match["az"]) == "endgroup":
        return ("end", "") if not match["name"].strip() else None
    first_line = match["name"].strip().split("\n", 1)[0].strip()
    return ("start", first_line[:GROUP_NAME_LIMIT])
