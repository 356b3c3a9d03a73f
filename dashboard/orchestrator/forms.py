"""Forms of the orchestrator pages: everything is validated here before a request goes upstream."""

import re
from collections.abc import Collection, Mapping
from datetime import UTC, date, datetime, time
from typing import Any

from django import forms
from django.core.validators import RegexValidator, URLValidator
from django.utils import timezone
from django.utils.text import slugify

from dashboard.core.json_input import parse_json

# The orchestrator's rule: words of lowercase letters and digits joined by single dashes.
SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
slug_validator = RegexValidator(
    SLUG_RE, "Use lowercase letters and digits, with single dashes between words (not at the ends)."
)
# Links the dashboard renders for people to click: web addresses only (no ftp:, no javascript:).
web_url_validator = URLValidator(schemes=["http", "https"], message="Enter an http:// or https:// address.")
# What git clones from: a web or ssh URL, or the scp-like form git@github.com:org/repo.git.
REPO_URL_VALIDATOR = URLValidator(schemes=["http", "https", "ssh", "git+ssh"])
SCP_LIKE_RE = re.compile(r"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:(?!//)[A-Za-z0-9._~/-]+$")
MAX_INPUTS_BYTES = 64 * 1024
# Deeper inputs are no configuration anyone writes by hand; the limit also keeps encoding them cheap.
MAX_INPUTS_DEPTH = 32

ROLE_CHOICES = [("member", "Member"), ("admin", "Admin")]
MODE_CHOICES = [("managed", "Managed (Nexical runs the jobs)"), ("self_hosted", "Self-hosted (your workers)")]
SCOPE_CHOICES = [("read", "read"), ("write", "write")]
USER_CODE_RE = re.compile(r"^[A-Za-z0-9]{4}-?[A-Za-z0-9]{4}$")


def derive_slug(name: str) -> str:
    """The slug a name suggests: what the page's script fills in, for browsers without JS."""
    # slugify keeps underscores and the cut may end on a dash; the orchestrator accepts neither.
    return re.sub(r"[^a-z0-9]+", "-", slugify(name)).strip("-")[:50].strip("-")


def validate_repo_url(value: str) -> None:
    if SCP_LIKE_RE.match(value):
        return
    try:
        REPO_URL_VALIDATOR(value)
    except forms.ValidationError:
        raise forms.ValidationError(
            "Enter an https:// or ssh:// URL, or the git@host:org/repo.git form."
        ) from None


class WebURLField(forms.URLField):
    """A URL shown as a link: http and https only; a bare host gets https:// in front.

    A text input (keyboard hint "url"): the browser's own type="url" check would refuse the bare
    host (preview.example.com) that this field accepts.
    """

    widget = forms.TextInput(attrs={"inputmode": "url", "autocomplete": "url", "spellcheck": "false"})
    default_validators = [web_url_validator]
    # The field's own "invalid" message would replace the validator's, which names the schemes.
    default_error_messages = {"invalid": web_url_validator.message}

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("assume_scheme", "https")
        kwargs.setdefault("help_text", "https:// is added when you leave it out.")
        super().__init__(**kwargs)


class _Form(forms.Form):
    """Several forms share a page, so each class gets its own element ids ("team_name", "project_name")."""

    id_prefix = "form"

    def __init__(
        self, data: Mapping[str, object] | None = None, *, initial: dict[str, object] | None = None
    ) -> None:
        super().__init__(data, initial=initial, auto_id=f"{self.id_prefix}_%s")


def blank_to_none(data: Mapping[str, Any]) -> dict[str, Any]:
    """Optional fields left empty become None: left out of a create, cleared (null) by an update."""
    return {key: (value if value != "" else None) for key, value in data.items()}


class TeamForm(_Form):
    id_prefix = "team"
    name = forms.CharField(max_length=100, strip=True)
    slug = forms.CharField(
        max_length=50,
        required=False,
        validators=[slug_validator],
        widget=forms.TextInput(attrs={"data-slug-from": "team_name", "pattern": "[a-z0-9]+(-[a-z0-9]+)*"}),
        help_text="Lowercase letters and digits, words joined by single dashes. Left empty, it is derived "
        "from the name.",
    )

    def clean(self) -> dict[str, Any]:
        cleaned = self.cleaned_data
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

    def __init__(self, data: Mapping[str, object] | None = None, *, expected: str) -> None:
        super().__init__(data)
        self.expected = expected

    def clean_confirm(self) -> str:
        value: str = self.cleaned_data["confirm"]
        if value != self.expected:
            raise forms.ValidationError(f"Type “{self.expected}” exactly to confirm.")
        return value


class InviteForm(_Form):
    id_prefix = "invite"
    email = forms.EmailField(max_length=254)
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="member")

    def clean_email(self) -> str:
        email: str = self.cleaned_data["email"]
        return email.lower()


MAX_INVITES_AT_ONCE = 50
ADDRESS_SEPARATORS = re.compile(r"[\s,;]+")


class BulkInviteForm(_Form):
    """Several addresses at once: one per line or separated by commas. Each is judged on its own
    (an invalid one is reported with the others' results), so only the list's size is refused here."""

    id_prefix = "invite_many"
    emails = forms.CharField(
        label="Email addresses",
        widget=forms.Textarea(attrs={"rows": 4, "spellcheck": "false", "autocomplete": "off"}),
        max_length=20_000,
        help_text=f"One per line, or separated by commas; up to {MAX_INVITES_AT_ONCE}.",
    )
    role = forms.ChoiceField(choices=ROLE_CHOICES, initial="member")

    def clean_emails(self) -> list[str]:
        seen: dict[str, None] = {}
        for address in ADDRESS_SEPARATORS.split(self.cleaned_data["emails"]):
            if address:
                seen.setdefault(address.lower(), None)
        if not seen:
            raise forms.ValidationError("Enter at least one email address.")
        if len(seen) > MAX_INVITES_AT_ONCE:
            raise forms.ValidationError(
                f"That is {len(seen)} addresses: invite at most {MAX_INVITES_AT_ONCE} at once."
            )
        return list(seen)


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
    repo_url = forms.CharField(
        max_length=500,
        required=False,
        strip=True,
        label="Repository URL",
        validators=[validate_repo_url],
        help_text="https://… or git@host:org/repo.git",
    )
    production_url = WebURLField(max_length=500, required=False, label="Production URL")
    mode = forms.ChoiceField(choices=MODE_CHOICES, initial="managed")


class BranchForm(_Form):
    id_prefix = "branch"
    name = forms.CharField(
        max_length=100,
        strip=True,
        validators=[RegexValidator(r"^[A-Za-z0-9._/-]+$", "Use letters, digits, dots, dashes and slashes.")],
    )
    preview_url = WebURLField(max_length=500, required=False, label="Preview URL")


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

    def clean_inputs(self) -> dict[str, object] | None:
        raw = self.cleaned_data["inputs"].strip()
        if not raw:
            return None
        if len(raw.encode()) > MAX_INPUTS_BYTES:
            # Upstream stores inputs with the job and hands them to every worker that polls it.
            raise forms.ValidationError("Inputs are limited to 64 KB; pass large data by reference (a URL).")
        value = parse_json(raw, max_depth=MAX_INPUTS_DEPTH)
        if not isinstance(value, dict):
            raise forms.ValidationError('Inputs must be a JSON object, like {"key": "value"}.')
        return value


class TokenForm(_Form):
    id_prefix = "token"
    name = forms.CharField(
        max_length=100, strip=True, help_text="What uses it, e.g. laptop-cli or ci-deploy."
    )
    scopes = forms.MultipleChoiceField(
        choices=SCOPE_CHOICES,
        widget=forms.CheckboxSelectMultiple,
        initial=["read", "write"],
        help_text="Read allows GET only; write is needed for any change.",
    )
    expires_on = forms.DateField(
        required=False, label="Expires on", widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, data: Mapping[str, object] | None = None, *, taken: Collection[str] = ()) -> None:
        super().__init__(data)
        self.taken = {name.casefold() for name in taken}

    def clean_name(self) -> str:
        # Two tokens of one name could not be told apart in the list, nor when revoking one.
        name: str = self.cleaned_data["name"]
        if name.casefold() in self.taken:
            raise forms.ValidationError(f"You already have a token named “{name}”. Pick another name.")
        return name

    def clean_expires_on(self) -> date | None:
        value: date | None = self.cleaned_data["expires_on"]
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
    avatar_url = WebURLField(max_length=500, required=False, label="Avatar URL")


class DeviceCodeForm(_Form):
    id_prefix = "device"
    user_code = forms.CharField(
        max_length=9,
        strip=True,
        label="Code shown on your device",
        help_text="Eight letters or digits, like ABCD-1234. The dash is optional.",
        widget=forms.TextInput(
            attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}
        ),
    )

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


class InviteTokenForm(_Form):
    """The token of an invitation email, pasted; the email's link brings it in the session instead."""

    id_prefix = "invitation"
    token = forms.CharField(
        max_length=200,
        required=False,
        strip=True,
        label="Invitation token",
        validators=[RegexValidator(r"^\S+$", "Paste the token alone, without spaces.")],
        help_text="It starts with nxi_ and is at the end of the link in your invitation email.",
        widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
