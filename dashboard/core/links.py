"""Upstream URLs that may become links or images: plain http(s) addresses only."""

import re
from urllib.parse import urlsplit


def web_url(value: str | None) -> str:
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
