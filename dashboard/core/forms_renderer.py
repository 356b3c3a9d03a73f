"""The form renderer: Django's, with one of its widget templates replaced (form_widgets/).

Every input, select, option and textarea includes `django/forms/widgets/attrs.html`, which loops
over the widget's attributes in the template language: a few hundred template nodes for a page
with a few forms. The replacement writes the same attributes with a Python filter
(templatetags/widget_attrs.py). Everything else is Django's own widget templates.
"""

from functools import cached_property
from pathlib import Path

from django.forms import renderers
from django.template.backends.django import DjangoTemplates

OVERRIDES = Path(__file__).resolve().parent / "form_widgets"


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
