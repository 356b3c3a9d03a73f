"""The task form (field names are the seed's short names: scripts post them), templates, add by id."""

import json
from typing import Any, TypedDict

import jsonschema
from django import forms
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

from dashboard.core.json_input import parse_json

from ..models import Quality, Status, TaskType

RULE_TYPES = ("required_fields", "min_length", "max_length", "regex", "enum", "field_type")
# The seed: 5 NC minimum; the contract: 1000 NC maximum, 300 s (1800 s for physical_proof).
MIN_BUDGET, MAX_BUDGET = 5, 1000
MAX_SECONDS, MAX_SECONDS_PHYSICAL = 300, 1800
FEE_PERCENT = 5
# The task settings a template keeps besides its schema, example, rules, type and budget.
SETTING_NAMES = ("max_seconds", "quality_preference", "min_skill_rating", "pending_pool_hours", "auto_retry")


class TaskSettings(TypedDict):
    """The values of SETTING_NAMES, as a template stores them."""

    max_seconds: int
    quality_preference: str
    min_skill_rating: int
    pending_pool_hours: int
    auto_retry: int


JSON_AREA = forms.Textarea(attrs={"rows": 8, "spellcheck": "false", "class": "code"})


def worst_case_fee(budget: int) -> int:
    """The platform fee if the winning bid is the whole budget: 5 %, at least 1 NC (rounded up)."""
    return max(1, -(-budget * FEE_PERCENT // 100))


class JSONText(forms.CharField):
    """A JSON document typed into a textarea; `kind` is the Python type it must parse to."""

    def __init__(self, *, kind: type, kind_name: str, **kwargs: Any) -> None:
        self.kind, self.kind_name = kind, kind_name
        kwargs.setdefault("widget", JSON_AREA)
        super().__init__(strip=True, **kwargs)

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return json.dumps(value, indent=2)
        return value

    def to_python(self, value: Any) -> Any:
        if isinstance(value, dict | list):
            return value
        text = super().to_python(value)
        if text in self.empty_values:
            return self.kind()
        parsed = parse_json(str(text))
        if not isinstance(parsed, self.kind):
            raise forms.ValidationError(f"This must be a JSON {self.kind_name}.")
        return parsed


def schema_problem(schema: dict[str, Any]) -> str | None:
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as error:
        return f"This is not a valid JSON Schema: {error.message}"
    return None


def example_problem(schema: dict[str, Any], example: dict[str, Any]) -> str | None:
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(example))
    except (Unresolvable, RecursionError):
        return (
            "The schema has a reference ($ref) that does not resolve, so nothing can be checked against it."
        )
    if error is None:
        return None
    where = "/".join(str(part) for part in error.absolute_path) or "the top level"
    return f"The example does not match the schema at {where}: {error.message}"


def rules_problem(rules: list[Any]) -> str | None:
    for number, rule in enumerate(rules, start=1):
        if not isinstance(rule, dict) or rule.get("type") not in RULE_TYPES:
            return f'Rule {number} needs a "type" among {", ".join(RULE_TYPES)}.'
    return None


def schema_tips(schema: dict[str, Any], example: dict[str, Any]) -> list[str]:
    """The seed's tips for better results, where this schema does not follow them yet."""
    tips = []
    found = schema.get("properties")
    properties: dict[str, Any] = found if isinstance(found, dict) else {}
    bare = [
        name for name, spec in properties.items() if not isinstance(spec, dict) or "description" not in spec
    ]
    if bare:
        tips.append(
            f"Add a description to {', '.join(bare)}: workers otherwise only know the name and type, "
            "and may reformat values."
        )
    if properties and schema.get("additionalProperties") is not False:
        tips.append('Set "additionalProperties": false so workers do not add fields you did not ask for.')
    missing = [name for name in properties if name not in example]
    if missing:
        tips.append(
            f"Complete the example with {', '.join(missing)}: workers copy its format for every field."
        )
    if properties and not schema.get("required"):
        tips.append('List the must-have fields in "required": optional ones may be left out.')
    return tips


class TaskSettingsFields(forms.Form):
    """What a task and a template share."""

    task_type = forms.ChoiceField(choices=TaskType.choices, initial=TaskType.JSON_EXTRACTION)
    schema = JSONText(
        kind=dict,
        kind_name="object",
        label="JSON Schema of the result",
        help_text="What the worker must return; checked before the task is sent.",
    )
    example_output = JSONText(
        kind=dict, kind_name="object", label="Example output", help_text="A complete, realistic result."
    )
    rules = JSONText(
        kind=list,
        kind_name="array",
        required=False,
        label="Validation rules",
        help_text='Optional, e.g. [{"type": "enum", "field": "currency", "values": ["USD", "EUR"]}].',
        widget=forms.Textarea(attrs={"rows": 3, "spellcheck": "false", "class": "code"}),
    )
    max_seconds = forms.IntegerField(
        label="Time limit (seconds)", min_value=1, max_value=MAX_SECONDS_PHYSICAL, initial=120
    )
    quality_preference = forms.ChoiceField(choices=Quality.choices, initial=Quality.BALANCED)
    min_skill_rating = forms.IntegerField(
        label="Minimum skill rating", min_value=0, max_value=5, initial=0, help_text="0 accepts any worker."
    )
    pending_pool_hours = forms.IntegerField(
        label="Wait for bids (hours)", min_value=1, max_value=72, initial=24
    )
    auto_retry = forms.IntegerField(
        label="Automatic retries", min_value=0, max_value=10, initial=3, help_text="After a failed award."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        schema, example = data.get("schema"), data.get("example_output")
        if schema is not None:
            problem = schema_problem(schema)
            if problem:
                self.add_error("schema", problem)
            elif example is not None and (mismatch := example_problem(schema, example)):
                self.add_error("example_output", mismatch)
        if data.get("rules") and (problem := rules_problem(data["rules"])):
            self.add_error("rules", problem)
        seconds, task_type = data.get("max_seconds"), data.get("task_type")
        if seconds and task_type != TaskType.PHYSICAL_PROOF and seconds > MAX_SECONDS:
            self.add_error("max_seconds", f"At most {MAX_SECONDS} seconds, except for physical proof tasks.")
        return data

    @property
    def tips(self) -> list[str]:
        data = getattr(self, "cleaned_data", {})
        if not self.is_bound or "schema" not in data or "example_output" not in data:
            return []
        return schema_tips(data["schema"], data["example_output"])

    def settings_values(self) -> TaskSettings:
        data = self.cleaned_data
        return TaskSettings(
            max_seconds=data["max_seconds"],
            quality_preference=data["quality_preference"],
            min_skill_rating=data["min_skill_rating"],
            pending_pool_hours=data["pending_pool_hours"],
            auto_retry=data["auto_retry"],
        )


class TaskForm(TaskSettingsFields):
    input_data = forms.CharField(
        label="Input text", max_length=10_000, widget=forms.Textarea(attrs={"rows": 6}), strip=False
    )
    budget = forms.IntegerField(
        label="Budget (NC)",
        min_value=MIN_BUDGET,
        max_value=MAX_BUDGET,
        initial=20,
        help_text="Frozen while the task is open; the unspent part comes back when it settles.",
    )
    override_budget = forms.BooleanField(
        required=False, label="Post it even if it crosses my monthly spend limit"
    )
    field_order = ["task_type", "input_data", "schema", "example_output", "rules", "budget"]

    def clean_input_data(self) -> str:
        text: str = self.cleaned_data["input_data"]
        if not text.strip():
            raise forms.ValidationError("Give the worker some text to work on.")
        return text


class TemplateForm(TaskSettingsFields):
    name = forms.CharField(max_length=100, label="Template name")
    default_budget = forms.IntegerField(
        label="Default budget (NC)", min_value=MIN_BUDGET, max_value=MAX_BUDGET, initial=20
    )
    field_order = ["name", "task_type", "schema", "example_output", "rules", "default_budget"]


class AddTaskForm(forms.Form):
    task_id = forms.CharField(
        label="Task id",
        max_length=64,
        help_text="The id the SDK printed when you posted it (a UUID).",
    )

    def clean_task_id(self) -> str:
        value: str = self.cleaned_data["task_id"].strip()
        if not value.replace("-", "").isalnum():
            raise forms.ValidationError("A task id has only letters, digits and dashes.")
        return value


class ListFilters(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    q = forms.CharField(required=False, max_length=100, label="Search")
