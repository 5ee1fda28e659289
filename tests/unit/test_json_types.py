"""One vocabulary for JSON types: envelope and payload messages name a value's type alike."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from theeye.events import validate_event
from theeye.json_types import described, json_type
from theeye.schemas import SchemaRegistry

SCHEMAS = SchemaRegistry.from_directory(Path(__file__).parents[2] / "schemas")


@pytest.mark.parametrize(
    ("value", "name", "phrase"),
    [
        (None, "null", "null"),
        (True, "boolean", "a boolean"),
        (3, "integer", "an integer"),
        (2.5, "number", "a number"),
        ("x", "string", "a string"),
        ([], "array", "an array"),
        ({}, "object", "an object"),
    ],
)
def test_each_json_type_has_one_name(value: Any, name: str, phrase: str) -> None:
    assert (json_type(value), described(value)) == (name, phrase)


def test_the_envelope_and_the_payload_checks_say_the_same_word_for_an_integer() -> None:
    envelope = validate_event(
        {
            "session_id": 42,
            "category": "page interaction",
            "name": "pageview",
            "data": {},
            "timestamp": "2021-01-01",
        },
        "app",
    )
    payload = SCHEMAS.validate(("page interaction", "pageview"), {"host": 42, "path": "/"})

    assert isinstance(envelope, list) and any(e.message.endswith("not an integer") for e in envelope)
    assert payload and any(e.message.endswith("not an integer") for e in payload)
