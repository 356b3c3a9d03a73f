"""Template filters every page may use: upstream URLs as safe links."""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

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
