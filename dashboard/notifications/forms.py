from typing import Any

from django import forms

from .models import Kind


class PreferenceForm(forms.Form):
    """Which kinds of event the bell shows, and which of those also come by email."""

    in_app = forms.MultipleChoiceField(
        choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Show in the bell"
    )
    email = forms.MultipleChoiceField(
        choices=Kind.choices, required=False, widget=forms.CheckboxSelectMultiple, label="Also send an email"
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data  # what Form.clean returns, typed here without its Optional
        # An email for an event the user hides would arrive with no trace in the dashboard.
        hidden = set(data.get("email", [])) - set(data.get("in_app", []))
        if hidden:
            labels = ", ".join(Kind(kind).label.lower() for kind in sorted(hidden))
            raise forms.ValidationError(f"Emails need the bell too; turn it on for: {labels}.")
        return data


class IdForm(forms.Form):
    id = forms.IntegerField(min_value=1)
