"""A starter per task type NexusToken documents (the contract's six: json_extraction, the default, plus
the five the SDK's docstrings add): an input text, a JSON Schema, an example output that validates
against it, and rules, so a first task does not start from empty boxes.

Each schema follows the seed's tips (a description per field, `additionalProperties: false`, the
must-haves in `required`, a complete example), and a test checks every starter passes the form.

Filling the form never overwrites what a person typed without asking: `fill` takes only empty
fields, and names the ones it left alone so the page can ask before replacing them.
"""

import json
from dataclasses import dataclass, field
from typing import Any

from .models import TaskType


@dataclass(frozen=True)
class Starter:
    task_type: str
    summary: str
    input_data: str
    schema: dict[str, Any]
    example_output: dict[str, Any]
    rules: list[dict[str, Any]] = field(default_factory=list)

    def values(self) -> dict[str, Any]:
        """The form fields a starter fills, by name."""
        return {
            "input_data": self.input_data,
            "schema": self.schema,
            "example_output": self.example_output,
            "rules": self.rules,
        }


def _object(properties: dict[str, dict[str, Any]], required: list[str]) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }


STARTERS: dict[str, Starter] = {
    TaskType.JSON_EXTRACTION: Starter(
        task_type=TaskType.JSON_EXTRACTION,
        summary="Pull named fields out of free text into JSON.",
        input_data="Initech Ltd reported second-quarter revenue of $4.2 million, up 12% on last year.",
        schema=_object(
            {
                "company": {"type": "string", "description": "The company's name as written in the text"},
                "revenue": {
                    "type": "string",
                    "description": "The amount with currency and unit, e.g. '$4.2 million'",
                },
                "period": {"type": "string", "description": "The reporting period, e.g. 'Q2'"},
            },
            ["company", "revenue", "period"],
        ),
        example_output={"company": "Globex Corp", "revenue": "$12.5 million", "period": "Q1"},
        rules=[{"type": "required_fields", "fields": ["company", "revenue"]}],
    ),
    TaskType.TEXT_CLASSIFICATION: Starter(
        task_type=TaskType.TEXT_CLASSIFICATION,
        summary="Put a text in one of a fixed set of labels.",
        input_data="The parcel arrived two weeks late and the box was crushed. I want my money back.",
        schema=_object(
            {
                "label": {
                    "type": "string",
                    "enum": ["complaint", "question", "praise", "other"],
                    "description": "The one label that fits the text best",
                },
                "confidence": {
                    "type": "number",
                    "minimum": 0,
                    "maximum": 1,
                    "description": "How sure the worker is, from 0 to 1",
                },
            },
            ["label", "confidence"],
        ),
        example_output={"label": "question", "confidence": 0.9},
        rules=[{"type": "enum", "field": "label", "values": ["complaint", "question", "praise", "other"]}],
    ),
    TaskType.TEXT_GENERATION: Starter(
        task_type=TaskType.TEXT_GENERATION,
        summary="Write a text from a brief.",
        input_data=(
            "Write a two-sentence product description for a steel water bottle that keeps drinks "
            "cold for 24 hours."
        ),
        schema=_object(
            {
                "text": {"type": "string", "description": "The text asked for, plain prose without markup"},
            },
            ["text"],
        ),
        example_output={
            "text": "A lamp that folds flat into any bag, with three levels and a week of light a charge."
        },
        rules=[
            {"type": "min_length", "field": "text", "min": 40},
            {"type": "max_length", "field": "text", "max": 600},
        ],
    ),
    TaskType.DATA_TRANSFORMATION: Starter(
        task_type=TaskType.DATA_TRANSFORMATION,
        summary="Turn data from one shape into another.",
        input_data="name,born\nAda Lovelace,1815-12-10\nGrace Hopper,1906-12-09",
        schema=_object(
            {
                "rows": {
                    "type": "array",
                    "description": "One object per input line, in input order",
                    "items": _object(
                        {
                            "name": {"type": "string", "description": "The person's full name"},
                            "born": {"type": "string", "description": "Date of birth as YYYY-MM-DD"},
                        },
                        ["name", "born"],
                    ),
                },
            },
            ["rows"],
        ),
        example_output={"rows": [{"name": "Alan Turing", "born": "1912-06-23"}]},
        rules=[{"type": "field_type", "field": "rows", "expected": "array"}],
    ),
    TaskType.CODE_EXECUTION: Starter(
        task_type=TaskType.CODE_EXECUTION,
        summary="Run a short program and report what it printed.",
        input_data="print(sum(range(1, 101)))",
        schema=_object(
            {
                "stdout": {"type": "string", "description": "Everything the program printed, exactly"},
                "exit_code": {"type": "integer", "description": "The process's exit status, 0 on success"},
            },
            ["stdout", "exit_code"],
        ),
        example_output={"stdout": "42\n", "exit_code": 0},
        rules=[{"type": "field_type", "field": "exit_code", "expected": "integer"}],
    ),
    TaskType.PHYSICAL_PROOF: Starter(
        task_type=TaskType.PHYSICAL_PROOF,
        summary="Someone checks something in the physical world and proves it with a photo.",
        input_data="Photograph the opening hours sign on the front door of the library on Main Street.",
        schema=_object(
            {
                "photo_url": {"type": "string", "description": "A link to the photo taken on the spot"},
                "notes": {"type": "string", "description": "What the worker saw, in one or two sentences"},
            },
            ["photo_url", "notes"],
        ),
        example_output={
            "photo_url": "https://example.com/photos/sign.jpg",
            "notes": "The sign reads Mon-Fri 9-18, Sat 10-14.",
        },
        rules=[{"type": "regex", "field": "photo_url", "pattern": "^https://"}],
    ),
}


def _parsed(value: Any) -> Any:
    """A JSON field's text as data, to compare with the starter's (other text as it is)."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value.strip()
    return value


def _is_empty(value: Any) -> bool:
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() in ("", "{}", "[]")
    return not value


@dataclass(frozen=True)
class Filled:
    values: dict[str, Any]  # the form's values with the starter's in every empty field
    kept: list[str]  # fields that had text of their own which differs from the starter's


def fill(current: dict[str, Any], starter: Starter, *, replace: bool = False) -> Filled:
    """The starter's values where the form is empty (everywhere, with `replace`)."""
    values, kept = dict(current), []
    for name, value in starter.values().items():
        if replace or _is_empty(current.get(name)):
            values[name] = value
        elif _parsed(current.get(name)) != value:
            kept.append(name)
    return Filled(values, kept)


def for_page() -> dict[str, dict[str, str]]:
    """Every starter as the form's fields show it (JSON as indented text), for the page's script."""
    return {
        kind: {
            "summary": starter.summary,
            "input_data": starter.input_data,
            "schema": json.dumps(starter.schema, indent=2),
            "example_output": json.dumps(starter.example_output, indent=2),
            "rules": json.dumps(starter.rules, indent=2) if starter.rules else "",
        }
        for kind, starter in STARTERS.items()
    }
