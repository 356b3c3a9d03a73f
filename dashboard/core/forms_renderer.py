"""The form renderer: Django's, with the commonest widgets written in Python.

Every input, select, option and textarea is a template of its own in Django, which includes another
(`attrs.html`) that loops over the widget's attributes: a few hundred template nodes, each with its
lookups, for a page with a few forms. Here:

- inputs (text, email, number, password, URL, date, hidden, checkbox…), textareas, selects and their
  options are written by the functions below, with the same output character for character (the
  tests compare them with Django's templates);
- every other widget (radio buttons, checkbox lists, files, multi-widgets) keeps Django's template,
  with `attrs.html` replaced by a Python filter (form_widgets/, templatetags/widget_attrs.py).
"""

from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

from django.forms import renderers
from django.http import HttpRequest
from django.template.backends.django import DjangoTemplates
from django.utils.formats import localize
from django.utils.html import conditional_escape, escape
from django.utils.safestring import SafeData
from django.utils.timezone import template_localtime  # type: ignore[attr-defined]  # not in the stubs

from .templatetags.widget_attrs import html_attrs

OVERRIDES = Path(__file__).resolve().parent / "form_widgets"

type Widget = dict[str, Any]  # the `widget` of a widget's template context


class FormRenderer(renderers.DjangoTemplates):
    @cached_property
    def engine(self) -> DjangoTemplates:
        return self.backend(
            {
                "APP_DIRS": True,
                # Ours first, then Django's forms templates, as Django's renderer finds them.
                "DIRS": [OVERRIDES, Path(renderers.__file__).parent / "templates"],
                "NAME": "djangoforms",
                "OPTIONS": {"builtins": ["dashboard.core.templatetags.widget_attrs"]},
            }
        )

    def render(self, template_name: str, context: dict[str, Any], request: HttpRequest | None = None) -> str:
        write = IN_PYTHON.get(template_name)
        if write is not None:
            try:
                return write(context["widget"])
            except _NotOurs:
                pass
        rendered: str = super().render(template_name, context, request)
        return rendered


def _shown(value: Any) -> str:
    """What `{{ value }}` writes in an autoescaped template (django.template.base.render_value_in_context)."""
    return str(conditional_escape(str(localize(template_localtime(value)))))


def _as_text(value: Any) -> str:
    """What `{{ value|stringformat:'s' }}` writes: the value as text, escaped unless it was marked safe
    (the filter is `is_safe`)."""
    text = "%s" % (value,)  # noqa: UP031 (a tuple stays one value, as in the filter)
    return text if isinstance(value, SafeData) else str(escape(text))


def _input(widget: Widget) -> str:
    """django/forms/widgets/input.html, which text.html, email.html and the other inputs include."""
    value = "" if widget["value"] is None else f' value="{_as_text(widget["value"])}"'
    name = _shown(widget["name"])
    return f'<input type="{_shown(widget["type"])}" name="{name}"{value}{html_attrs(widget["attrs"])}>'


def _textarea(widget: Widget) -> str:
    value = _shown(widget["value"]) if widget["value"] else ""
    return f'<textarea name="{_shown(widget["name"])}"{html_attrs(widget["attrs"])}>\n{value}</textarea>'


def _option(option: Widget) -> str:
    """select_option.html, with the newline that ends the file (it is included, so it stays)."""
    label = _shown(option["label"])
    return f'<option value="{_as_text(option["value"])}"{html_attrs(option["attrs"])}>{label}</option>\n'


def _select(widget: Widget) -> str:
    parts = [f'<select name="{_shown(widget["name"])}"{html_attrs(widget["attrs"])}>']
    for group_name, options, _ in widget["optgroups"]:
        if group_name:
            parts.append(f'\n  <optgroup label="{_shown(group_name)}">')
        for option in options:
            if option["template_name"] != "django/forms/widgets/select_option.html":
                raise _NotOurs
            parts.append(f"\n  {_option(option)}")
        if group_name:
            parts.append("\n  </optgroup>")
    parts.append("\n</select>")
    return "".join(parts)


class _NotOurs(Exception):
    """A select whose options use another template: Django's templates draw it."""


# The widgets whose template is input.html, or includes only it.
INPUTS = ["input", "text", "email", "number", "password", "url", "hidden", "date", "datetime", "time"]
INPUTS += ["search", "tel", "color", "checkbox"]
IN_PYTHON: dict[str, Callable[[Widget], str]] = {
    **{f"django/forms/widgets/{name}.html": _input for name in INPUTS},
    "django/forms/widgets/textarea.html": _textarea,
    "django/forms/widgets/select.html": _select,
}
