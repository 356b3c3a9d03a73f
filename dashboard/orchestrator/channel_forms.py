"""The form of a team notification channel (the destination itself is checked by the view: DNS)."""

from collections.abc import Mapping
from typing import Any

from django import forms

from dashboard.accounts import crypto
from dashboard.channels import destinations
from dashboard.channels.models import SUBSCRIBABLE, Channel, Kind
from dashboard.services.nexical import Project


class ChannelForm(forms.Form):
    name = forms.CharField(max_length=100, help_text="For you: where it posts, such as “#deploys”.")
    kind = forms.ChoiceField(choices=Kind.choices, widget=forms.RadioSelect, initial=Kind.SLACK)
    url = forms.CharField(
        max_length=2000,
        label="Webhook URL",
        widget=forms.TextInput(attrs={"inputmode": "url", "spellcheck": "false", "autocomplete": "off"}),
        help_text="An https:// address on the public internet.",
    )
    events = forms.MultipleChoiceField(
        choices=[(event.value, event.label) for event in SUBSCRIBABLE],
        widget=forms.CheckboxSelectMultiple,
        initial=[event.value for event in SUBSCRIBABLE],
        error_messages={"required": "Tick at least one event."},
    )
    projects = forms.MultipleChoiceField(
        choices=[],
        widget=forms.CheckboxSelectMultiple,
        required=False,
        help_text="None ticked: every project of the team, new ones included.",
    )
    production_only = forms.BooleanField(required=False, label="Only the production branch")
    production_branch = forms.CharField(max_length=200, initial="main", label="Production branch")

    def __init__(
        self,
        data: Mapping[str, object] | None = None,
        *,
        projects: list[Project],
        channel: Channel | None = None,
    ) -> None:
        initial: dict[str, Any] | None = None
        if channel is not None:
            initial = {
                "name": channel.name,
                "kind": channel.kind,
                "events": channel.events,
                "projects": [str(pk) for pk in channel.project_ids],
                "production_only": channel.production_only,
                "production_branch": channel.production_branch,
            }
        super().__init__(data, initial=initial, auto_id="channel_%s")
        projects_field = self.fields["projects"]
        assert isinstance(projects_field, forms.MultipleChoiceField)
        projects_field.choices = [(str(project.id), project.name) for project in projects]
        if channel is not None:
            # The kind decides whether there is a secret: changing it is a new channel.
            self.fields["kind"].disabled = True
            # The stored address is never shown back: blank keeps it.
            self.fields["url"].required = False
            self.fields["url"].help_text = f"Now {channel.url_hint} Leave blank to keep it."

    def clean_production_branch(self) -> str:
        branch: str = self.cleaned_data["production_branch"].strip()
        if not branch:
            raise forms.ValidationError("Name the production branch, such as main.")
        return branch

    def apply(self, channel: Channel) -> None:
        data = self.cleaned_data
        channel.name = data["name"]
        channel.kind = data["kind"]
        if data["url"].strip():
            channel.url_encrypted = crypto.encrypt(data["url"].strip())
            channel.url_hint = destinations.hint(data["url"])
        channel.events = list(data["events"])
        channel.project_ids = sorted(int(pk) for pk in data["projects"])
        channel.production_only = data["production_only"]
        channel.production_branch = data["production_branch"]
