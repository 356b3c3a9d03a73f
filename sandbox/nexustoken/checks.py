"""Checks of results against a task's JSON Schema and validation rules."""

import re
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError

RULE_PARAMS: dict[str, dict[str, type | tuple[type, ...]]] = {
    "required_fields": {"fields": list},
    "min_length": {"field": str, "min": int},
    "max_length": {"field": str, "max": int},
    "regex": {"field": str, "pattern": str},
    "enum": {"field": str, "values": list},
    "field_type": {"field": str, "expected": str},
}
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}


def schema_problem(schema: dict) -> str | None:
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return f"validation_schema is not a valid JSON Schema: {exc.message}"
    return None


def schema_error(schema: dict, value: Any) -> str | None:
    """The first way value breaks the schema, or None."""
    validator = jsonschema.validators.validator_for(schema)(schema)
    error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def rule_problem(rule: Any) -> str | None:
    """Why a rule is malformed, or None."""
    if not isinstance(rule, dict) or rule.get("type") not in RULE_PARAMS:
        return f"each rule needs a type among {', '.join(RULE_PARAMS)}"
    for name, kind in RULE_PARAMS[rule["type"]].items():
        if not isinstance(rule.get(name), kind) or isinstance(rule.get(name), bool):
            return f"rule {rule['type']} needs {name!r}"
    if rule["type"] == "regex":
        try:
            re.compile(rule["pattern"])
        except re.error:
            return "rule regex has an invalid pattern"
    if rule["type"] == "field_type" and rule["expected"] not in FIELD_TYPES:
        return f"rule field_type expects one of {', '.join(FIELD_TYPES)}"
    return None


def _is_type(value: Any, expected: str) -> bool:
    if expected in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, FIELD_TYPES[expected])


def rule_error(rules: list[dict], value: dict) -> str | None:
    """The first rule the result breaks, or None. A missing field fails every rule but field presence."""
    for rule in rules:
        kind = rule["type"]
        if kind == "required_fields":
            missing = [f for f in rule["fields"] if value.get(f) in (None, "", [], {})]
            if missing:
                return f"required_fields: missing {', '.join(map(str, missing))}"
            continue
        field = rule["field"]
        if field not in value:
            return f"{kind}: field {field!r} is missing"
        item = value[field]
        sized = item if isinstance(item, str | list | dict) else str(item)
        if kind == "min_length" and len(sized) < rule["min"]:
            return f"min_length: {field!r} is shorter than {rule['min']}"
        if kind == "max_length" and len(sized) > rule["max"]:
            return f"max_length: {field!r} is longer than {rule['max']}"
        if kind == "regex" and not re.search(rule["pattern"], str(item)):
            return f"regex: {field!r} does not match {rule['pattern']!r}"
        if kind == "enum" and item not in rule["values"]:
            return f"enum: {field!r} is not one of the allowed values"
        if kind == "field_type" and not _is_type(item, rule["expected"]):
            return f"field_type: {field!r} is not of type {rule['expected']}"
    return None


def check_result(schema: dict, rules: list[dict], result: dict) -> tuple[str | None, str | None]:
    """(error_code, message): SCHEMA_MISMATCH, RULE_VIOLATION, or (None, None) when it passes."""
    problem = schema_error(schema, result)
    if problem:
        return "SCHEMA_MISMATCH", problem
    problem = rule_error(rules, result)
    if problem:
        return "RULE_VIOLATION", problem
    return None, None
