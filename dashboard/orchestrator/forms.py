"""Forms of the orchestrator pages: everything is validated here before a request goes upstream."""

import json
import re
from datetime import UTC, date, datetime, time

from django import forms
from django.core.validators import RegexValidator
from django.utils import timezone
from django.utils.text import slugify

SLUG_RE = re.compile(r"^[a-z0-9-]+$")
slug_validator = RegexValidator(SLUG_RE, "Use lowercase letters, digits and dashes only.")

ROLE_CHOICES = [("member", "Member"), ("admin", "Admin")]
MODE_CHOICES = [("managed", "Managed (Nexical runs the jobs)"), ("self_hosted", "Self-hosted (your workers)")]
SCOPE_CHOICES = [("read", "read"), ("write", "write")]
USER_CODE_RE = re.compile(r"^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$")


def derive_slug(name: str) -> str:
    """The slug a name suggests: what the page's script fills in, for browsers without JS."""
    return slugify(name)[:50].strip("-")


class _Form(forms.Form):
    """Several forms share a page, so each class gets its own element ids ("team_name", "project_name")."""

    id_prefix = "form"

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("auto_id", f"{self.id_prefix}_%s")
        super().__init__(*args, **kwargs)


def blank_to_none(data: dict) -> dict:
    """Optional fields left empty are not sent upstream at all."""
    return {key: (value if value != "" else None) for key, value in data.items()}


class TeamForm(_Form):
    id_prefix = "team"
    name = forms.CharField(max_length=100, strip=True)
    slug = forms.CharField(
        max_length=50,
        required=False,
        validators=[slug_validator],
        widget=forms.TextInput(attrs={"data-slug-from": "team_name", "pattern": "[a-z0-9-]+"}),
        help_text="Lowercase letters, digits and dashes. Left empty, it is derived from the name.",
    )

    def clean(self):
        cleaned = super().clean()
        if cleaned.get("name") and not cleaned.get("slug") and "slug" not in self.errors:
            slug = derive_slug(cleaned["name"])
            if not slug:
                self.add_error("slug", "The name has no letters or digits to derive a slug from; enter one.")
            cleaned["slug"] = slug
        return cleaned


class DeleteConfirmForm(_Form):
    """Deleting something asks the user to type its slug (or name) back."""

    id_prefix = "delete"

    confirm = forms.CharField(max_length=100, strip=True, label="Type it to confirm")

    def __init__(self, *args, expected: str, **kwargs):
        super().__init__(*args, **kwargs)
        self.expected = expected

    def clean_confirm(self) -> str:
        value = self.cleaned_data["confirm"]
        if value != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to confirm.")
        return value


class InviteForm(_Form):
    id_prefix = "invite"
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="member")

    def clean_email(self) -> str:
        return self.cleaned_data["email"].lower()


class MemberRoleForm(_Form):
    id_prefix = "role"
    user_id = forms.UUIDField(widget=forms.HiddenInput)
    role = forms.ChoiceField(choices=ROLE_CHOICES)


class MemberForm(_Form):
    id_prefix = "member"
    user_id = forms.UUIDField(widget=forms.HiddenInput)


class IdForm(_Form):
    """The id of a row an action targets (an invite, a branch, a token)."""

    id_prefix = "row"

    id = forms.IntegerField(min_value=1, widget=forms.HiddenInput)


class ProjectForm(_Form):
    id_prefix = "project"
    name = forms.CharField(max_length=100, strip=True)
    repo_url = forms.URLField(max_length=500, required=False, label="Repository URL", assume_scheme="https")
    production_url = forms.URLField(
        max_length=500, required=False, label="Production URL", assume_scheme="https"
    )
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="managed")


class BranchForm(_Form):
    id_prefix = "branch"
    name = forms.CharField(
        max_length=100,
        strip=True,
        validators=[RegexValidator(r"^[A-Za-z0-9._/-]+$", "Use letters, digits, dots, dashes and slashes.")],
    )
    preview_url = forms.URLField(max_length=500, required=False, label="Preview URL", assume_scheme="https")


class JobForm(_Form):
    id_prefix = "job"
    type = forms.CharField(
        max_length=50,
        initial="deploy",
        validators=[RegexValidator(r"^[a-z0-9_.:-]+$", "Use lowercase letters, digits, dots and dashes.")],
    )
    inputs = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false"}),
        help_text='A JSON object, e.g. {"ref": "main"}. Leave empty for none.',
    )

    def clean_inputs(self) -> dict | None:
        raw = self.cleaned_data["inputs"].strip()
        if not raw:
            return None
        try:
            value = json.loads(raw)
        except ValueError as error:
            message = f"This is not valid JSON ({error.msg}, line {error.lineno})."
            raise forms.ValidationError(message) from None
        if not isinstance(value, dict):
            raise forms.ValidationError('Inputs must be a JSON object, like {"key": "value"}.')
        return value


class TokenForm(_Form):
    id_prefix = "token"
    name = forms.CharField(max_length=100, strip=True)
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["read", "write"],
        help_text="Read allows GET only; write is needed for any change.",
    )
    expires_on = forms.DateField(
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean_expires_on(self) -> date | None:
        value = self.cleaned_data["expires_on"]
        if value and value <= timezone.now().date():
            raise forms.ValidationError("The expiry date must be in the future.")
        return value

    def expires_at(self) -> datetime | None:
        """The end of the chosen day in UTC, so a token "expiring on" a day works all that day."""
        value = self.cleaned_data.get("expires_on")
        return datetime.combine(value, time(23, 59, 59), tzinfo=UTC) if value else None


class ProfileForm(_Form):
    id_prefix = "profile"
    full_name = forms.CharField(max_length=100, required=False, strip=True, label="Full name")
    avatar_url = forms.URLField(max_length=500, required=False, label="Avatar URL", assume_scheme="https")


class DeviceCodeForm(_Form):
    id_prefix = "device"
    user_code = forms.CharField(max_length=9, strip=True, label="Code shown on your device")

    def clean_user_code(self) -> str:
        value = self.cleaned_data["user_code"].upper()
        if not USER_CODE_RE.match(value):
            raise forms.ValidationError("Codes look like ABCD-1234: eight letters or digits.")
        value = value.replace("-", "")
        return f"{value[:4]}-{value[4:]}"


class SystemUserForm(_Form):
    id_prefix = "user"
    full_name = forms.CharField(max_length=100, strip=True, label="Full name")
    email = forms.EmailField(max_length=254)
    password = forms.CharField(min_length=8, max_length=128, widget=forms.PasswordInput)


class EnrollmentTokenForm(_Form):
    id_prefix = "enroll"
    name = forms.CharField(max_length=100, required=False, strip=True)
    team_id = forms.IntegerField(
        min_value=1, required=False, label="Team id", help_text="Empty for a public (managed) worker."
    )
