"""`{{ field|form_field }}` and `{{ form|form_errors }}`: the markup of includes/field.html (label,
input, help and errors) and includes/form_errors.html (the form's own errors), done in Python.

Forms draw every field through that template; written in the template language it was the costliest
part of a page with forms (about 0.15 ms of CPU a field: a dozen `{% if %}`s and lookups, each of
which Django resolves anew; a form's `non_field_errors`, looked up in a template, first raises and
formats a KeyError listing the form's fields). The output is the same, character for character (the
tests render the old templates beside it).
"""

from typing import Any

from django import template
from django.forms import BaseForm, BoundField
from django.utils.html import conditional_escape
from django.utils.safestring import SafeString, mark_safe

register = template.Library()


@register.filter
def form_field(field: BoundField) -> SafeString:
    if field.is_hidden:
        return mark_safe(str(field))  # noqa: S308  # the widget's own HTML, escaped by its renderer
    errors = field.errors
    auto_id = _shown(field.auto_id)
    tail = ""
    if field.help_text:
        tail += f'<p class="help" id="{auto_id}_helptext">{_shown(field.help_text)}</p>'
    tail += "\n  "
    if errors:
        items = "".join(f"<li>{_shown(error)}</li>" for error in errors)
        tail += f'<ul class="field-error" id="{auto_id}_error">{items}</ul>'
    invalid = " field-invalid" if errors else ""
    if field.use_fieldset:
        described = field.aria_describedby
        described = f' aria-describedby="{_shown(described)}"' if described else ""
        head = f'<fieldset class="field{invalid}"{described}>\n  <legend>{_shown(field.label)}</legend>'
        end = "</fieldset>"
    else:
        label = f'<label for="{_shown(field.id_for_label)}">{_shown(field.label)}</label>'
        head = f'<div class="field{invalid}">\n  {label}'
        end = "</div>"
    return mark_safe(f"\n{head}\n  {field}\n  {tail}\n{end}")  # noqa: S308  # every value escaped


@register.filter
def form_errors(form: BaseForm) -> SafeString:
    errors = form.non_field_errors()
    if not errors:
        return mark_safe("")
    items = "".join(f"<li>{_shown(error)}</li>" for error in errors)
    return mark_safe(f'<ul class="errorlist nonfield" role="alert">{items}</ul>')  # noqa: S308  # escaped


def _shown(value: Any) -> str:
    """What `{{ value }}` writes: text escaped, unless marked safe."""
    return str(conditional_escape(value))
