"""JSON typed by a user into a form, read the way an upstream will take it.

Python's json module reads more than JSON (NaN, Infinity) and fails on inputs that are valid JSON
but too big for it (numbers of thousands of digits, nesting thousands deep), with exceptions that are
not ValidationErrors. Every JSON field of the dashboard reads through here, so each of those becomes
a sentence under the field instead of a 500 or a body the upstream cannot parse.
"""

import json
import math

from django import forms

MAX_DEPTH = 32


def _refuse_constant(name: str) -> None:
    raise forms.ValidationError(f"{name} is not a JSON value; use a number or a string.")


def parse_json(raw: str, *, max_depth: int = MAX_DEPTH) -> object:
    """The value of `raw`, or a ValidationError saying what is wrong with it."""
    try:
        value = json.loads(raw, parse_constant=_refuse_constant)
    except json.JSONDecodeError as error:
        raise forms.ValidationError(f"This is not valid JSON ({error.msg}, line {error.lineno}).") from None
    except RecursionError:
        raise forms.ValidationError(f"The JSON is nested too deeply (at most {max_depth} levels).") from None
    except ValueError:
        # int() refuses numbers over 4,300 digits (a guard against slow parsing), without a position.
        raise forms.ValidationError("A number in it is too long; send it as a string.") from None
    check_sendable(value, max_depth=max_depth)
    return value


def check_sendable(value: object, *, max_depth: int = MAX_DEPTH) -> None:
    """Refuse what would parse but not encode: deep nesting, numbers too large for a float (1e400)."""
    stack: list[tuple[object, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > max_depth:
            raise forms.ValidationError(f"The JSON is nested too deeply (at most {max_depth} levels).")
        if isinstance(item, float) and not math.isfinite(item):
            raise forms.ValidationError("A number in it is too large; send it as a string.")
        if isinstance(item, dict):
            stack.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            stack.extend((child, depth + 1) for child in item)
