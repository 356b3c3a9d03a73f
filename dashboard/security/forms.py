from typing import Any

from django import forms


class CodeForm(forms.Form):
    """The second step's one field: the authenticator app's code or a recovery code."""

    otp_token = forms.CharField(
        label="Code",
        max_length=20,
        help_text="The 6-digit code your authenticator app shows, or one of your recovery codes.",
        widget=forms.TextInput(
            attrs={
                "autocomplete": "one-time-code",
                "inputmode": "text",
                "autocapitalize": "off",
                "autofocus": True,
            }
        ),
    )


class ConfirmSetupForm(forms.Form):
    device = forms.IntegerField(widget=forms.HiddenInput)
    otp_token = forms.CharField(
        label="Code from the app",
        max_length=12,
        help_text="Enter the 6-digit code the app shows for Nexus Dashboard.",
        # The form appears after "Set up two-factor": the keyboard goes on to its one field.
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # Ids of its own: htmx puts the focus back on an element with the focused field's id, which
        # would be the turn-off form's code field once two-factor is on.
        kwargs.setdefault("auto_id", "setup_%s")
        super().__init__(*args, **kwargs)


class DisableForm(forms.Form):
    """Turning two-factor off takes one proof: a current code, or the password."""

    otp_token = forms.CharField(
        label="Code or recovery code",
        max_length=20,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code"}),
    )
    password = forms.CharField(
        label="Or your password",
        required=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}),
    )

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        if not cleaned.get("otp_token") and not cleaned.get("password"):
            raise forms.ValidationError(
                "Enter a code from your authenticator app, a recovery code, or your password."
            )
        return cleaned


class IdForm(forms.Form):
    id = forms.IntegerField(min_value=1)
