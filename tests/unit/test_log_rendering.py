"""Log lines as HTML: ANSI 16/256/truecolor, links, progress-bar redraws, binary bytes, huge lines."""

import re

import pytest

from dashboard.tracking.logtext import DISPLAY_LIMIT, plain, render


def html(text: str, **kwargs) -> str:
    return str(render(text, **kwargs))


# --- colours ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("\x1b[31mred", '<span class="ansi-fg-red">red</span>'),
        ("\x1b[95mpink", '<span class="ansi-fg-bright-magenta">pink</span>'),
        ("\x1b[42mon green", '<span class="ansi-bg-green">on green</span>'),
        ("\x1b[38;5;9mnamed", '<span class="ansi-fg-bright-red">named</span>'),
        # The 6x6x6 cube: 16 + 36*r + 6*g + b with levels 0, 95, 135, 175, 215, 255.
        ("\x1b[38;5;208morange", '<span class="ansi-fg-yellow" data-fg="#ff8700">orange</span>'),
        ("\x1b[48;5;21mblue", '<span class="ansi-bg-blue" data-bg="#0000ff">blue</span>'),
        # The grey ramp: 232 is 8, each step 10 more.
        ("\x1b[38;5;244mgrey", '<span class="ansi-fg-bright-black" data-fg="#808080">grey</span>'),
        ("\x1b[38;2;255;200;0mgold", '<span class="ansi-fg-yellow" data-fg="#ffc800">gold</span>'),
        ("\x1b[38:2::0:128:255mitu", '<span class="ansi-fg-bright-blue" data-fg="#0080ff">itu</span>'),
        (
            "\x1b[38:2:0:128:255mshort itu",
            '<span class="ansi-fg-bright-blue" data-fg="#0080ff">short itu</span>',
        ),
        ("\x1b[1;3;4;9mall", '<span class="ansi-bold ansi-italic ansi-underline ansi-strike">all</span>'),
        (
            "\x1b[1;31mbold\x1b[22m plain red",
            '<span class="ansi-fg-red ansi-bold">bold</span><span class="ansi-fg-red"> plain red</span>',
        ),
        ("\x1b[31ma\x1b[39mb\x1b[0m", '<span class="ansi-fg-red">a</span>b'),
        ("\x1b[mreset only", "reset only"),
    ],
)
def test_it_renders_16_256_and_truecolor(text, expected):
    assert html(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "\x1b[38;2;300;0;0mout of range",  # no channel above 255
        "\x1b[38;2;1;2mtoo few",
        "\x1b[38;5;256mpast the palette",
        "\x1b[38;5mno index",
        "\x1b[38;9;1;2;3munknown kind",
    ],
)
def test_it_ignores_malformed_extended_colours(text):
    assert "<span" not in html(text)
    assert "data-fg" not in html(text)


def test_it_reads_the_numbers_of_a_truecolor_as_channels_not_codes():
    # 1 and 4 here are red and blue channels, not bold and underline.
    assert html("\x1b[38;2;1;4;200mx") == '<span class="ansi-fg-blue" data-fg="#0104c8">x</span>'


# --- safety -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        '\x1b[38;2;1;2;3m"><script>alert(1)</script>',
        "\x1b[38;5;21m<img src=x onerror=alert(1)>",
        'http://example.com/"onmouseover=alert(1)//<script>',
        "https://example.com/<svg/onload=alert(1)>",
        "javascript:alert(1) data:text/html,<script>alert(1)</script>",
        "\x1b]8;;javascript:alert(1)\x07click\x1b]8;;\x07",
    ],
)
def test_it_never_lets_log_text_become_markup(text):
    out = html(text)
    for dangerous in ("<script", "<img", "<svg", '"onmouseover', 'javascript:alert(1)"'):
        assert dangerous not in out
    # The only tags are our spans and http(s) links.
    for tag in re.findall(r"<([a-z]+)", out):
        assert tag in ("span", "a")
    for href in re.findall(r'href="([^"]*)"', out):
        assert href.startswith(("http://", "https://"))


def test_it_turns_http_urls_into_links_that_open_apart():
    out = html("deployed to https://app.example.com/runs/7?x=1&y=2. (see http://docs.example.com/a)")
    assert out == (
        'deployed to <a href="https://app.example.com/runs/7?x=1&amp;y=2" rel="noopener noreferrer nofollow"'
        ' target="_blank">https://app.example.com/runs/7?x=1&amp;y=2</a>. (see '
        '<a href="http://docs.example.com/a" rel="noopener noreferrer nofollow" target="_blank">'
        "http://docs.example.com/a</a>)"
    )


def test_it_keeps_balanced_brackets_in_urls():
    out = html("https://en.wikipedia.org/wiki/Foo_(bar)")
    assert 'href="https://en.wikipedia.org/wiki/Foo_(bar)"' in out


def test_it_links_urls_inside_coloured_text():
    out = html("\x1b[34mhttps://example.com/x\x1b[0m done")
    assert out == (
        '<span class="ansi-fg-blue"><a href="https://example.com/x" rel="noopener noreferrer nofollow"'
        ' target="_blank">https://example.com/x</a></span> done'
    )


@pytest.mark.parametrize("text", ["ftp://example.com/x", "http://", "https:///nohost", "mailto:a@b.c"])
def test_it_links_only_http_urls_with_a_host(text):
    assert "<a" not in html(text)


# --- terminals, binary, huge lines -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10%\r50%\r100%", "100%"),
        ("done\r", "done"),
        ("working\r\x1b[32mok\x1b[0m", '<span class="ansi-fg-green">ok</span>'),
        ("\x1b[33m10%\r\x1b[0m", '<span class="ansi-fg-yellow">10%</span>'),
        # A multi-line message keeps its lines; CRLF endings are newlines.
        ("first\r\nsecond", "first\nsecond"),
    ],
)
def test_it_keeps_the_last_drawing_of_a_progress_line(text, expected):
    assert html(text) == expected


def test_it_shows_binary_bytes_and_invalid_utf8_as_replacement_characters():
    # What a JSON body can carry: NULs, other controls, a lone surrogate from "\ud800".
    out = html("PNG\x00\x01\x02 \x7f\x85 \ud800\udfff end\x07\x08")
    assert out == "PNG\ufffd\ufffd\ufffd \ufffd\ufffd \ufffd\ufffd end"
    out.encode("utf-8")  # nothing left that cannot be sent


def test_it_keeps_tabs_and_newlines():
    assert html("a\tb\nc") == "a\tb\nc"


def test_it_cuts_a_huge_line_with_a_note():
    line = "\x1b[31m" + "x" * 1_000_000 + "\x1b[0m tail"
    out = html(line)
    assert out.startswith('<span class="ansi-fg-red">' + "x" * DISPLAY_LIMIT + "</span>")
    hidden = 1_000_000 - DISPLAY_LIMIT + len(" tail")
    assert out.endswith(
        f'<span class="log-cut">… line cut here: {hidden:,} more characters, see the raw log</span>'
    )
    assert len(out) < DISPLAY_LIMIT + 200


def test_it_counts_only_visible_characters_towards_the_cut():
    line = "\x1b[1m\x1b[0m" * 100 + "abcdef"
    assert html(line, limit=6) == "abcdef"
    assert html(line, limit=5).startswith('abcde<span class="log-cut">… line cut here: 1 more')


def test_it_renders_a_huge_line_fast_enough_to_be_linear():
    # Not a speed assertion: a quadratic renderer would not finish a 1 MB line in this test at all.
    text = ("\x1b[32mok\x1b[0m https://example.com/x " * 40_000)[:1_000_000]
    assert "line cut here" in html(text)


def test_it_gives_the_raw_view_plain_text():
    assert plain("\x1b[1;31mfail\x1b[0m \x00 <b>\r") == "fail \ufffd <b>"
    assert plain(None) == ""


# --- the viewer's template ---------------------------------------------------------------------------


def _line(number: int, message: str, level: str = "info", truncated: bool = False):
    from datetime import UTC, datetime

    from dashboard.tracking.models import LogLine

    line = LogLine(
        id=1000 + number,
        job_id=1,
        upstream_id=number,
        level=level,
        message=message,
        truncated=truncated,
        logged_at=datetime(2026, 1, 1, 12, 0, number % 60, tzinfo=UTC),
    )
    line.number = number
    return line


URLS = {"stream": "/s", "updates": "/u", "log_lines": "/l", "log_raw": "/r.txt"}


def test_it_renders_a_line_as_an_element_with_a_linkable_number():
    from django.template.loader import render_to_string

    rows = render_to_string(
        "tracking/_log_viewer.html#log_rows",
        {"lines": [_line(7, "\x1b[31mfail\x1b[0m <b>", "error"), _line(8, "y" * 10, truncated=True)]},
    )
    assert rows.startswith('<li class="log-line log-error" id="L7" data-log-id="1007">')
    assert '<a class="log-number" href="#L7" aria-label="Line 7">7</a>' in rows
    assert '<span class="ansi-fg-red">fail</span> &lt;b&gt;' in rows
    assert '<time datetime="2026-01-01T12:00:07+00:00">' in rows
    assert 'id="L8"' in rows and "longer than 64 KiB; the rest was not kept" in rows
    assert "64 KiB" not in rows.split('id="L7"')[1].split("</li>")[0]


def test_it_marks_step_group_rows_and_shows_a_header_s_name_as_text():
    from django.template.loader import render_to_string

    lines = [_line(1, "::group::Build <b>app</b> \x1b[1mnow\x1b[0m"), _line(2, "x"), _line(3, "##[endgroup]")]
    rows = render_to_string("tracking/_log_viewer.html#log_rows", {"lines": lines})
    header, inside, end = rows.split("</li>")[:3]
    assert 'data-group="start"' in header
    assert '<span class="log-message">Build &lt;b&gt;app&lt;/b&gt; now</span>' in header
    assert "data-group" not in inside and 'data-group="end"' in end


def test_it_renders_the_head_the_gap_and_the_tail_of_a_long_log():
    from django.template.loader import render_to_string

    from dashboard.tracking.logs import Page

    head = [_line(n, f"head {n}") for n in (1, 2)]
    tail = [_line(n, f"tail {n}") for n in (1234, 1235)]
    page = Page(head=head, tail=tail, total=1235, hidden=1231)
    html = render_to_string("tracking/_log_viewer.html", {"log": page, "log_urls": URLS, "live": False})
    assert 'data-last-id="2235"' in html and 'data-live="false"' in html
    assert 'data-lines-url="/l"' in html and 'data-updates-url="/u"' in html
    gap = html.split('<li class="log-gap"')[1].split("</li>")[0]
    assert 'data-after="1002" data-before="2234" data-count="1231"' in gap
    assert "1,231 lines not shown here." in gap and 'href="/r.txt"' in gap
    assert html.index('id="L2"') < html.index('class="log-gap"') < html.index('id="L1234"')
    assert "1,235 lines" in html
    assert 'data-toggle="follow"' not in html  # nothing more can come: no follow mode
    assert 'data-gap-from="3" data-gap-to="1233"' in html and 'data-total="1235"' in html
    assert '<script type="module" src="/static/js/logviewer/main.js">' in html


def test_it_says_when_a_live_log_is_still_empty():
    from django.template.loader import render_to_string

    from dashboard.tracking.logs import Page

    html = render_to_string(
        "tracking/_log_viewer.html", {"log": Page(head=[]), "log_urls": URLS, "live": True}
    )
    assert "No log lines yet. They appear here as soon as a worker writes them." in html
    assert 'data-toggle="follow"' in html and 'data-live="true"' in html
    assert "log-gap" not in html
