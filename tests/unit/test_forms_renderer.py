"""The form renderer writes inputs, textareas and selects in Python (dashboard/core/forms_renderer.py):
the same HTML, character for character, as Django's own widget templates."""

import datetime
from decimal import Decimal

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

from dashboard.core.forms_renderer import IN_PYTHON, FormRenderer

OURS, DJANGOS = FormRenderer(), DjangoTemplates()
TRICKY = "a <b> & \"c\" 'd'"
lazy_label = lazy(lambda: "Lazy <label>", str)()
ATTRS = [
    {},
    {"required": True, "disabled": False, "class": "wide", "placeholder": TRICKY, "data-x": 3},
    {"autofocus": True, "aria-describedby": "id_x_helptext id_x_error", "aria-invalid": "true"},
]
VALUES = [None, "", "plain", TRICKY, mark_safe("<i>safe</i>"), 0, 7, 1.5, Decimal("2.50")]
INPUTS = [
    forms.TextInput,
    forms.EmailInput,
    forms.NumberInput,
    forms.URLInput,
    forms.HiddenInput,
    forms.SearchInput,
    forms.TelInput,
    forms.ColorInput,
]
CHOICES = [
    [("", "---------"), ("a", "Alpha"), ("b", TRICKY), (3, "Three"), (4, 4), ("l", lazy_label)],
    [("Group <1>", [("x", "Ex"), ("y", "Why")]), ("z", "Zed"), ("Group 2", [(5, mark_safe("<b>5</b>"))])],
]


def both(widget: forms.Widget, value: object, attrs: dict | None = None) -> tuple[str, str]:
    return (
        widget.render("field", value, attrs=attrs, renderer=OURS),
        widget.render("field", value, attrs=attrs, renderer=DJANGOS),
    )


@pytest.mark.parametrize("widget_class", INPUTS)
@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", VALUES)
def test_inputs_are_written_as_djangos_templates_write_them(widget_class, attrs, value):
    ours, djangos = both(widget_class(), value, attrs)
    assert ours == djangos


@pytest.mark.parametrize(
    "widget, value",
    [
        (forms.PasswordInput(), "secret"),
        (forms.PasswordInput(render_value=True), "secret"),
        (forms.DateInput(), datetime.date(2026, 12, 3)),
        (forms.DateInput(attrs={"type": "date"}), datetime.date(2026, 12, 3)),
        (forms.DateTimeInput(), datetime.datetime(2026, 12, 3, 18, 4, tzinfo=datetime.UTC)),
        (forms.TimeInput(), datetime.time(18, 4)),
        (forms.CheckboxInput(), True),
        (forms.CheckboxInput(), False),
        (forms.CheckboxInput(), "on"),
        (forms.CheckboxInput(check_test=lambda value: value == "yes"), "yes"),
    ],
)
def test_other_inputs_too(widget, value):
    ours, djangos = both(widget, value, {"id": "id_field"})
    assert ours == djangos


@pytest.mark.parametrize("attrs", ATTRS)
@pytest.mark.parametrize("value", [*VALUES, "two\nlines <x>", "0"])
def test_textareas(attrs, value):
    ours, djangos = both(forms.Textarea(attrs={"rows": 3}), value, attrs)
    assert ours == djangos


@pytest.mark.parametrize("choices", CHOICES)
@pytest.mark.parametrize("value", [None, "", "a", 3, "3", "x", 5, ["a", 3]])
@pytest.mark.parametrize("widget_class", [forms.Select, forms.SelectMultiple])
def test_selects_and_their_options(widget_class, choices, value):
    ours, djangos = both(widget_class(choices=choices), value, {"id": "id_field", "required": True})
    assert ours == djangos


@pytest.mark.parametrize("value", [None, True, False, "unknown"])
def test_a_yes_no_select(value):
    ours, djangos = both(forms.NullBooleanSelect(), value)
    assert ours == djangos


def test_widgets_it_does_not_write_keep_djangos_templates():
    for widget in (forms.RadioSelect(choices=CHOICES[0]), forms.CheckboxSelectMultiple(choices=CHOICES[0])):
        assert widget.template_name not in IN_PYTHON
        ours, djangos = both(widget, "a", {"id": "id_field"})
        assert ours == djangos


class OddOption(forms.Select):
    option_template_name = "django/forms/widgets/input_option.html"


def test_a_select_with_options_of_another_template_is_left_to_djangos():
    ours, djangos = both(OddOption(choices=CHOICES[0]), "a")
    assert ours == djangos
