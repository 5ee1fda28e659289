"""Payload rules per event type: JSON Schemas from ``schemas/``, compiled once per container.

Valid payloads take the fast path (a compiled fastjsonschema check). Only a payload that
fails is examined again with ``jsonschema`` to list every broken field, so the slower,
heavier library is imported only when there is something to report.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import fastjsonschema

from theeye.events import FieldError
from theeye.json_types import described

EventType = tuple[str, str]
TYPE_KEYWORD = "x-event-type"


class SchemaFileError(ValueError):
    """A schema file is unreadable, not a valid JSON Schema, or claims a type twice."""


@dataclass
class SchemaRegistry:
    """The schemas of a directory, keyed by (category, name)."""

    schemas: dict[EventType, dict[str, Any]]
    _compiled: dict[EventType, Callable[[Any], Any]] = field(default_factory=dict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def from_directory(cls, directory: str | Path) -> SchemaRegistry:
        schemas: dict[EventType, dict[str, Any]] = {}
        for path in sorted(Path(directory).glob("*.json")):
            try:
                schema = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise SchemaFileError(f"{path.name}: not readable JSON ({exc})") from exc
            declared = schema.get(TYPE_KEYWORD) if isinstance(schema, dict) else None
            if not isinstance(declared, dict) or not declared.get("category") or not declared.get("name"):
                raise SchemaFileError(f"{path.name}: needs {TYPE_KEYWORD} with category and name")
            key = (str(declared["category"]), str(declared["name"]))
            if key in schemas:
                raise SchemaFileError(f"{path.name}: type {key} is already defined by another file")
            schemas[key] = schema
        return cls(schemas)

    def knows(self, event_type: EventType) -> bool:
        return event_type in self.schemas

    def validate(self, event_type: EventType, data: Any) -> list[FieldError]:
        """Every broken field of ``data`` as ``data.<path>`` (empty when valid or unknown type)."""
        schema = self.schemas.get(event_type)
        if schema is None:
            return []
        try:
            self._validator(event_type)(data)
        except fastjsonschema.JsonSchemaValueException:
            return explain(schema, data)
        return []

    def _validator(self, event_type: EventType) -> Callable[[Any], Any]:
        compiled = self._compiled.get(event_type)
        if compiled is None:
            with self._lock:
                compiled = self._compiled.get(event_type)
                if compiled is None:
                    try:
                        compiled = fastjsonschema.compile(self.schemas[event_type])
                    except fastjsonschema.JsonSchemaDefinitionException as exc:
                        raise SchemaFileError(f"schema of {event_type} is not valid: {exc}") from exc
                    self._compiled[event_type] = compiled
        return compiled

    def compile_all(self) -> None:
        """Compile every schema now (also proves each one is valid JSON Schema)."""
        for event_type in self.schemas:
            self._validator(event_type)


def explain(schema: dict[str, Any], data: Any) -> list[FieldError]:
    """List every violation with a dotted field path and a readable message."""
    from jsonschema import Draft7Validator

    found: list[FieldError] = []
    for error in sorted(
        Draft7Validator(schema).iter_errors(data), key=lambda e: list(map(str, e.absolute_path))
    ):
        base = ".".join(["data", *(str(part) for part in error.absolute_path)])
        if error.validator == "required" and isinstance(error.instance, dict):
            found.extend(
                FieldError(f"{base}.{name}", "is required")
                for name in error.validator_value
                if name not in error.instance
            )
        elif error.validator == "type":
            expected = error.validator_value
            wanted = " or ".join(expected) if isinstance(expected, list) else str(expected)
            found.append(FieldError(base, f"must be of type {wanted}, not {described(error.instance)}"))
        else:
            found.append(FieldError(base, _short(error.message)))
    # jsonschema reports a missing property once per missing name, each error listing them all
    unique = list(dict.fromkeys(found))
    return unique or [FieldError("data", "does not match the schema of its event type")]


def check_schema(schema: dict[str, Any]) -> None:
    """Raise ``SchemaFileError`` unless ``schema`` is a valid draft-07 JSON Schema."""
    from jsonschema import Draft7Validator
    from jsonschema.exceptions import SchemaError

    try:
        Draft7Validator.check_schema(schema)
    except SchemaError as exc:
        raise SchemaFileError(str(exc.message)) from exc


def _short(message: str, limit: int = 200) -> str:
    return message if len(message) <= limit else message[: limit - 1] + "…"
