"""Checks of results against a task's JSON Schema and validation rules."""

import re
from typing import Any

import jsonschema
from jsonschema.exceptions import SchemaError
from referencing.exceptions import Unresolvable

# The parameters of each rule type, with a check of each value; any other key is refused.
_FIELD_NAME = ("a non-empty string", lambda v: isinstance(v, str) and v != "")
_SIZE = ("a non-negative integer", lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 0)
RULE_PARAMS: dict[str, dict[str, tuple[str, Any]]] = {
    "required_fields": {
        "fields": (
            "a non-empty list of non-empty strings",
            lambda v: isinstance(v, list) and v != [] and all(isinstance(f, str) and f for f in v),
        )
    },
    "min_length": {"field": _FIELD_NAME, "min": _SIZE},
    "max_length": {"field": _FIELD_NAME, "max": _SIZE},
    "regex": {"field": _FIELD_NAME, "pattern": ("a string", lambda v: isinstance(v, str))},
    "enum": {"field": _FIELD_NAME, "values": ("a non-empty list", lambda v: isinstance(v, list) and v != [])},
    "field_type": {"field": _FIELD_NAME, "expected": ("a string", lambda v: isinstance(v, str))},
}
FIELD_TYPES: dict[str, type | tuple[type, ...]] = {
    "string": str,
    "integer": int,
    "number": (int, float),
    "boolean": bool,
    "array": list,
    "object": dict,
}
# Keywords whose value is a URI reference: only in-document ones ("#...") are allowed, since the
# emulator never fetches anything, and an unresolvable reference would break every submission.
REF_KEYWORDS = ("$ref", "$dynamicRef", "$recursiveRef")


class UnusableSchema(ValueError):
    """The schema cannot be evaluated (a reference that does not resolve, or loops forever)."""


def _refs(node: Any):
    """Every reference value in a schema, walked without recursion (the depth is the caller's)."""
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            for key, value in item.items():
                if key in REF_KEYWORDS:
                    yield value
                stack.append(value)
        elif isinstance(item, list):
            stack.extend(item)


def schema_problem(schema: dict) -> str | None:
    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except SchemaError as exc:
        return f"validation_schema is not a valid JSON Schema: {exc.message}"
    for ref in _refs(schema):
        if not isinstance(ref, str) or not ref.startswith("#"):
            return f"validation_schema may only use local references ('#...'), not {ref!r}"
    return None


def schema_error(schema: dict, value: Any) -> str | None:
    """The first way value breaks the schema, or None; UnusableSchema when it cannot be evaluated."""
    try:
        validator = jsonschema.validators.validator_for(schema)(schema)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except Unresolvable as exc:
        raise UnusableSchema(f"validation_schema has a reference that does not resolve: {exc}") from None
    except RecursionError:
        raise UnusableSchema("validation_schema refers to itself without end") from None
    if error is None:
        return None
    where = "/".join(str(p) for p in error.absolute_path) or "(root)"
    return f"{where}: {error.message}"


def rule_problem(rule: Any) -> str | None:
    """Why a rule is malformed, or None."""
    if not isinstance(rule, dict) or rule.get("type") not in RULE_PARAMS:
        return f"each rule needs a type among {', '.join(RULE_PARAMS)}"
    params = RULE_PARAMS[rule["type"]]
    unknown = sorted(set(rule) - set(params) - {"type"})
    if unknown:
        return f"rule {rule['type']} does not take {', '.join(map(repr, unknown))}"
    for name, (wanted, is_valid) in params.items():
        if not is_valid(rule.get(name)):
            return f"rule {rule['type']} needs {name!r} as {wanted}"
    if rule["type"] == "regex":
        try:
            re.compile(rule["pattern"])
        except re.error:
            return "rule regex has an invalid pattern"
    if rule["type"] == "field_type" and rule["expected"] not in FIELD_TYPES:
        return f"rule field_type expects one of {', '.join(FIELD_TYPES)}"
    return None


def usable_rules(rules: Any) -> list[dict]:
    """The well-formed rules only: tasks stored before rules were checked may hold broken ones."""
    if not isinstance(rules, list):
        return []
    return [rule for rule in rules if rule_problem(rule) is None]


def _is_type(value: Any, expected: str) -> bool:
    if expected in {"integer", "number"} and isinstance(value, bool):
        return False
    return isinstance(value, FIELD_TYPES[expected])


def rule_error(rules: list[dict], value: dict) -> str | None:
    """The first rule the result breaks, or None. A missing field fails every rule but field presence."""
    for rule in usable_rules(rules):
        kind = rule["type"]
        if kind == "required_fields":
            missing = [f for f in rule["fields"] if value.get(f) in (None, "", [], {})]
            if missing:
                return f"required_fields: missing {', '.join(missing)}"
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
    """(error_code, message): SCHEMA_MISMATCH, RULE_VIOLATION, or (None, None) when it passes.

    Raises UnusableSchema when the task's own schema cannot be evaluated.
    """
    problem = schema_error(schema, result)
    if problem:
        return "SCHEMA_MISMATCH", problem
    problem = rule_error(rules, result)
    if problem:
        return "RULE_VIOLATION", problem
    return None, None
