"""`{{ field|form_field }}` (dashboard/core/templatetags/form_field.py) writes what includes/field.html
wrote in the template language, character for character: the old template is kept here to compare."""

from pathlib import Path

import pytest
from django import forms
from django.template import Context, Template
from django.template.loader import render_to_string
from django.utils.functional import lazy
from django.utils.safestring import mark_safe

# includes/field.html as it was written in the template language (without its comment).
OLD_FIELD_HTML = (Path(__file__).parent / "old_field.html").read_text()
CHOICES = [("a", "Alpha"), ("b", "B <b>")]


class Everything(forms.Form):
    name = forms.CharField(help_text='Letters & digits, "quoted" <tag>')
    email = forms.EmailField(label="E-mail <address>")
    note = forms.CharField(widget=forms.Textarea, required=False, help_text=mark_safe("<em>safe</em> help"))
    secret = forms.CharField(widget=forms.HiddenInput, required=False)
    colour = forms.ChoiceField(choices=CHOICES, widget=forms.RadioSelect)
    tags = forms.MultipleChoiceField(
        choices=CHOICES, widget=forms.CheckboxSelectMultiple, help_text="Pick some"
    )
    kind = forms.ChoiceField(choices=CHOICES, label=lazy(lambda: "Lazy label", str)())
    count = forms.IntegerField(min_value=1, required=False)


FORMS = [
    Everything(),
    Everything({"name": "", "email": "not an email", "colour": "z", "tags": ["q"], "count": "0"}),
    Everything({"name": "ok", "email": "a@b.example", "colour": "a", "tags": ["a"], "kind": "b"}),
    Everything(auto_id=False),
    Everything(prefix="p", initial={"name": "Ann <3", "secret": "s&s"}),
]


@pytest.mark.parametrize("form", FORMS)
def test_every_field_comes_out_as_the_template_wrote_it(form):
    old = Template(OLD_FIELD_HTML)
    for field in form:
        new = render_to_string("includes/field.html", {"field": field})
        assert new == old.render(Context({"field": field})), field.name


class Checked(forms.Form):
    word = forms.CharField(required=False)

    def clean(self):
        if self.cleaned_data.get("word") == "bad":
            raise forms.ValidationError(["Not <that> word.", "Nor & this."])
        return self.cleaned_data


def test_the_forms_own_errors_come_out_as_the_template_wrote_them():
    old = Template((Path(__file__).parent / "old_form_errors.html").read_text())
    added = Checked({"word": "ok"})
    added.add_error(None, mark_safe("<b>safe</b> error"))
    for form in (Checked(), Checked({"word": "ok"}), Checked({"word": "bad"}), added):
        new = render_to_string("includes/form_errors.html", {"form": form})
        assert new == old.render(Context({"form": form}))
