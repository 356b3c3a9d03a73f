"""`{{ widget.attrs|html_attrs }}`: Django's forms/widgets/attrs.html, done in Python.

That template loops over a widget's attributes with two `{% if %}`s and a filter for each one, and
every input, select, option and textarea includes it: on a page with a few forms, a few hundred
template nodes for a dozen fields. The output is the same, character for character: ` name="value"`
per attribute (the value as text, escaped), ` name` alone for True, nothing for False.
"""

from django import template
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def html_attrs(attrs: dict[str, object]) -> SafeString:
    return mark_safe(  # noqa: S308  # every name and value is escaped here
        "".join(
            f" {conditional_escape(name)}"
            if value is True
            else f' {conditional_escape(name)}="{escape(value)}"'
            for name, value in attrs.items()
            if value is not False
        )
    )
