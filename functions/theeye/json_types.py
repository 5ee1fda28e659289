"""The one vocabulary for the type of a JSON value in messages to users: JSON Schema's names.

Envelope checks (``theeye.events``) and payload checks (``theeye.schemas``) both say what a
value was with these words, so "integer" in one answer is never "a number" in another.
"""

from __future__ import annotations

from typing import Any


def json_type(value: Any) -> str:
    """JSON Schema's name for the type of a decoded JSON value: ``integer``, ``string``, ..."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def described(value: Any) -> str:
    """The type with its article, for a sentence: ``an integer``, ``a string``, ``null``."""
    name = json_type(value)
    if name == "null":
        return name
    return ("an " if name[0] in "aeiou" else "a ") + name
