"""Forms of the credits, budget and capability pages: everything is checked before going upstream."""

import re

from django import forms

# Stripe refuses charges under $0.50; the sandbox caps one top-up at 1,000,000 NC ($10,000).
MIN_TOP_UP, MAX_TOP_UP = 50, 1_000_000
TOP_UP_PRESETS = (500, 1_000, 2_500, 10_000)
GITHUB_LOGIN_RE = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9]|-(?=[A-Za-z0-9])){0,38}$")


class TopUpForm(forms.Form):
    amount_credits = forms.IntegerField(
        label="Credits to buy (NC)",
        widget=forms.NumberInput(attrs={"data-price-output": "top-up-price"}),
        min_value=MIN_TOP_UP,
        max_value=MAX_TOP_UP,
        help_text="1 NC = $0.01. From 50 NC ($0.50) to 1,000,000 NC ($10,000).",
        error_messages={
            "required": "Enter how many NC to buy.",
            "invalid": "Enter a whole number of NC, like 1000.",
            "min_value": "The smallest top-up is 50 NC ($0.50).",
            "max_value": "The largest top-up is 1,000,000 NC ($10,000).",
        },
    )


class DevTopUpForm(forms.Form):
    amount_credits = forms.IntegerField(
        label="Credits to add (NC)",
        min_value=1,
        max_value=MAX_TOP_UP,
        error_messages={
            "required": "Enter how many NC to add.",
            "invalid": "Enter a whole number of NC.",
            "min_value": "Add at least 1 NC.",
            "max_value": "Add at most 1,000,000 NC at once.",
        },
    )


class RepayForm(forms.Form):
    amount_credits = forms.IntegerField(
        label="Amount to repay (NC)",
        required=False,
        min_value=1,
        help_text="Leave empty to repay all of it.",
        error_messages={"invalid": "Enter a whole number of NC.", "min_value": "Repay at least 1 NC."},
    )


class GithubLinkForm(forms.Form):
    github_login = forms.CharField(
        label="GitHub username",
        max_length=39,
        error_messages={"required": "Enter your GitHub username."},
    )

    def clean_github_login(self) -> str:
        login: str = self.cleaned_data["github_login"].strip().removeprefix("@")
        if not GITHUB_LOGIN_RE.match(login):
            raise forms.ValidationError(
                "A GitHub username has letters, digits and single dashes (not at the start or end)."
            )
        return login


class BudgetForm(forms.Form):
    monthly_limit = forms.IntegerField(
        label="Monthly limit (NC)",
        required=False,
        min_value=1,
        max_value=100_000_000,
        help_text="Leave empty for no limit. Tasks whose budget would go over it are refused before posting.",
        error_messages={
            "invalid": "Enter a whole number of NC.",
            "min_value": "The limit must be at least 1 NC.",
        },
    )
    thresholds = forms.CharField(
        label="Alert at (% of the limit)",
        initial="50, 80, 100",
        max_length=60,
        help_text="Up to five percentages, comma separated. Each raises one notification a month.",
        error_messages={"required": "Enter at least one percentage, like 50, 80, 100."},
    )

    def clean_thresholds(self) -> list[int]:
        parts = [
            part.strip().rstrip("%") for part in self.cleaned_data["thresholds"].split(",") if part.strip()
        ]
        try:
            levels = sorted({int(part) for part in parts})
        except ValueError:
            raise forms.ValidationError(
                "Use whole percentages separated by commas, like 50, 80, 100."
            ) from None
        if not levels or len(levels) > 5:
            raise forms.ValidationError("Give between one and five percentages.")
        if levels[0] < 1 or levels[-1] > 100:
            raise forms.ValidationError("Each percentage must be between 1 and 100.")
        return levels


CATEGORIES = [(c, c.title()) for c in ("data", "text", "code", "web", "multimodal")]
INPUT_MODES = [(m, m) for m in ("text", "json", "file", "url")]
OUTPUT_MODES = [(m, m) for m in ("text", "json", "file", "bundle")]
VALIDATION_MODES = [
    ("deterministic", "Deterministic (schema and rules)"),
    ("evaluator_llm", "An LLM evaluator"),
    ("evaluator_jury", "A jury of evaluators"),
    ("acceptance", "The requester accepts"),
    ("reputation", "The worker's reputation"),
]


def _tags(value: str) -> list[str]:
    return [tag.strip().lower() for tag in value.split(",") if tag.strip()]


class CapabilityForm(forms.Form):
    name = forms.CharField(
        label="Name", max_length=100, help_text="The task type you handle, e.g. json_extraction."
    )
    category = forms.ChoiceField(label="Category", choices=CATEGORIES)
    input_mode = forms.ChoiceField(label="Input", choices=INPUT_MODES)
    output_mode = forms.ChoiceField(label="Output", choices=OUTPUT_MODES, initial="json")
    price_nc = forms.IntegerField(
        label="Price (NC)",
        min_value=1,
        max_value=1_000_000,
        error_messages={"min_value": "The price must be at least 1 NC."},
    )
    validation_mode = forms.ChoiceField(label="Validated by", choices=VALIDATION_MODES)
    description = forms.CharField(
        label="Description", required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    tags = forms.CharField(
        label="Tags", required=False, max_length=300, help_text="Comma separated, at most 10."
    )

    def clean_tags(self) -> list[str]:
        tags = _tags(self.cleaned_data["tags"])
        if len(tags) > 10:
            raise forms.ValidationError("Give at most 10 tags.")
        if any(len(tag) > 30 for tag in tags):
            raise forms.ValidationError("Each tag has at most 30 characters.")
        return tags


class AvailabilityForm(forms.Form):
    capability_id = forms.UUIDField(
        error_messages={"invalid": "That capability no longer exists. Reload the page."}
    )
    is_available = forms.BooleanField(required=False)


class BrowseForm(forms.Form):
    """The marketplace filters (a GET form: its values stay in the address, for bookmarks)."""

    category = forms.ChoiceField(label="Category", required=False, choices=[("", "Any"), *CATEGORIES])
    max_price = forms.IntegerField(label="Max price (NC)", required=False, min_value=0)
    tag = forms.CharField(label="Tag", required=False, max_length=30)

    def filters(self) -> dict[str, str | int]:
        return {name: value for name, value in self.cleaned_data.items() if value not in (None, "")}
