"""Forms of the accounts app: sign-up and the credentials users paste into Settings > Connections.

Secret fields use PasswordInput (never re-rendered with their value), so a form that failed
validation, or a token the upstream rejected, is never echoed back into the page.
"""

import re

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User

MAX_SECRET_LENGTH = 512
NEXICAL_PREFIXES = ("nx_", "nxs_")
NEXUSTOKEN_KEY = re.compile(r"[0-9a-fA-F]{64}")


class SignupForm(UserCreationForm[User]):
    email = forms.EmailField(help_text="Used to reset your password.")

    class Meta(UserCreationForm.Meta):
        model = get_user_model()
        fields = ("username", "email")


def _secret_input(placeholder: str) -> forms.PasswordInput:
    return forms.PasswordInput(
        attrs={"autocomplete": "off", "spellcheck": "false", "placeholder": placeholder, "class": "mono"}
    )


def _secret_field(label: str, placeholder: str, help_text: str = "") -> forms.CharField:
    noun = label if label.startswith("API") else label.lower()
    return forms.CharField(
        label=label,
        max_length=MAX_SECRET_LENGTH,
        strip=True,
        help_text=help_text,
        widget=_secret_input(placeholder),
        error_messages={
            "required": f"Paste your {noun}.",
            "max_length": f"This {noun} is too long (at most {MAX_SECRET_LENGTH} characters).",
        },
    )


def _reject_whitespace(value: str, what: str) -> None:
    if any(character.isspace() for character in value):
        raise forms.ValidationError(f"The {what} cannot contain spaces or line breaks. Paste it again.")


class NexicalTokenForm(forms.Form):
    token = _secret_field(
        "API token",
        "nx_…",
        "Create one in Nexical under API tokens. It starts with nx_ (or nxs_ for a service token).",
    )

    def clean_token(self) -> str:
        token: str = self.cleaned_data["token"]
        _reject_whitespace(token, "token")
        if NEXUSTOKEN_KEY.fullmatch(token):
            raise forms.ValidationError(
                "This looks like a NexusToken API key. Paste it in the NexusToken section instead."
            )
        if not token.startswith(NEXICAL_PREFIXES):
            raise forms.ValidationError("A Nexical API token starts with nx_ or nxs_. Check what you copied.")
        return token


class NexusTokenKeyForm(forms.Form):
    api_key = _secret_field("API key", "64 hexadecimal characters", "The key NexusToken showed you once.")

    def clean_api_key(self) -> str:
        api_key: str = self.cleaned_data["api_key"]
        _reject_whitespace(api_key, "API key")
        if api_key.startswith(NEXICAL_PREFIXES):
            raise forms.ValidationError(
                "This looks like a Nexical token. Paste it in the Nexical section instead."
            )
        if not NEXUSTOKEN_KEY.fullmatch(api_key):
            raise forms.ValidationError(
                "A NexusToken API key is exactly 64 hexadecimal characters (0-9, a-f). Check what you copied."
            )
        return api_key.lower()


class WebhookSecretForm(forms.Form):
    webhook_secret = _secret_field("Webhook secret", "whsec_…", "NexusToken signs task webhooks with it.")

    def clean_webhook_secret(self) -> str:
        secret: str = self.cleaned_data["webhook_secret"]
        _reject_whitespace(secret, "webhook secret")
        # Both are secrets too: stored here they would sit in the wrong place and verify no webhook.
        if secret.startswith(NEXICAL_PREFIXES):
            raise forms.ValidationError(
                "This looks like a Nexical token, not a webhook secret. Paste it in the Nexical section."
            )
        if NEXUSTOKEN_KEY.fullmatch(secret):
            raise forms.ValidationError(
                "This looks like your NexusToken API key, not the webhook secret. "
                "The webhook secret is shown next to the key when the account is created."
            )
        if len(secret) < 16:
            raise forms.ValidationError("That is too short for a webhook secret (at least 16 characters).")
        return secret


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254,
        widget=forms.EmailInput(attrs={"autocomplete": "email"}),
        error_messages={"required": "Enter an email address.", "invalid": "Enter a valid email address."},
    )


class RecoveryCodeForm(forms.Form):
    code = forms.CharField(
        label="Recovery code",
        max_length=32,
        strip=True,
        help_text="NexusToken emailed you this code.",
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "text"}),
        error_messages={"required": "Enter the code from the email.", "max_length": "That code is too long."},
    )

    def clean_code(self) -> str:
        code: str = self.cleaned_data["code"]
        _reject_whitespace(code, "code")
        return code
