"""The schema compatibility analysis: keyword by keyword, and a soundness property.

The property: whenever the analysis calls a change additive, every payload the old schema
accepts is accepted by the new one, under both validators the service uses. Pairs of schemas are
drawn at random and by mutating a drawn schema (most additive verdicts come from small changes);
payloads are drawn after the old schema's shape (its properties, types, enums, items) and from a
small pool of values that sit on the bounds and patterns the schemas use, then kept when the old
schema accepts them.
"""

from __future__ import annotations

import copy
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

import fastjsonschema
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from jsonschema import Draft7Validator

from theeye_cli.schema_compat import ADDITIVE, BREAKING, compare, compatibility

ROOT = Path(__file__).parents[2]
NAMES = ("a", "b", "c")
PATTERNS = ("^a", "b", "^[a-z]*$")
STRINGS = ("", "a", "b", "ab", "ba", "abc", "A1")
NUMBERS = (-2, -1, 0, 1, 2, 3, 0.5, -1.5, 2.0)
TYPES = ("null", "boolean", "object", "array", "string", "integer", "number")

scalars = st.one_of(st.none(), st.booleans(), st.sampled_from(NUMBERS), st.sampled_from(STRINGS))
values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from((*NAMES, "z")), inner, max_size=4)
    ),
    max_leaves=6,
)
types = st.sampled_from(TYPES) | st.lists(st.sampled_from(TYPES), min_size=1, max_size=3, unique=True)
bounds = st.sampled_from((-1, 0, 1, 2, 0.5))
lengths = st.integers(0, 3)


def schemas(depth: int = 2) -> st.SearchStrategy[Any]:
    """Draft-07 schemas over the keywords the analysis knows, and a few it only compares."""
    inner = schemas(depth - 1) if depth > 0 else st.booleans() | st.just({})
    keywords = st.fixed_dictionaries(
        {},
        optional={
            "type": types,
            "enum": st.lists(values, min_size=1, max_size=3),
            "const": values,
            "minLength": lengths,
            "maxLength": lengths,
            "pattern": st.sampled_from(PATTERNS),
            "minimum": bounds,
            "maximum": bounds,
            "exclusiveMinimum": bounds,
            "exclusiveMaximum": bounds,
            "multipleOf": st.sampled_from((1, 2, 0.5)),
            "items": inner,
            "minItems": lengths,
            "maxItems": lengths,
            "uniqueItems": st.booleans(),
            "required": st.lists(st.sampled_from(NAMES), max_size=3, unique=True),
            "properties": st.dictionaries(st.sampled_from(NAMES), inner, max_size=3),
            "additionalProperties": inner,
            "patternProperties": st.dictionaries(st.sampled_from(PATTERNS), inner, max_size=1),
            "minProperties": lengths,
            "maxProperties": lengths,
            "allOf": st.lists(inner, min_size=1, max_size=2),
            "anyOf": st.lists(inner, min_size=1, max_size=2),
            "not": inner,
            "title": st.just("annotation"),
        },
    )
    # enum and const make most schemas finite; keep them rarer than the rest
    return keywords.map(_thin)


def _thin(schema: dict[str, Any]) -> dict[str, Any]:
    if "enum" in schema and "const" in schema:
        del schema["const"]
    return schema


@st.composite
def mutations(draw: st.DrawFn, schema: Any, depth: int = 2) -> Any:
    """``schema`` with one change somewhere: a keyword dropped, added or replaced, or a
    property's or the items' schema changed."""
    if not isinstance(schema, dict):
        return draw(schemas(1))
    changed = copy.deepcopy(schema)
    nested = [k for k in ("items", "additionalProperties") if k in changed] + [
        f"properties.{n}" for n in changed.get("properties", {})
    ]
    choice = draw(st.sampled_from(("drop", "set", "nested") if nested and depth else ("drop", "set")))
    if choice == "drop" and changed:
        del changed[draw(st.sampled_from(sorted(changed)))]
    elif choice == "nested":
        where = draw(st.sampled_from(nested))
        if where.startswith("properties."):
            name = where.split(".", 1)[1]
            changed["properties"][name] = draw(mutations(changed["properties"][name], depth - 1))
        else:
            changed[where] = draw(mutations(changed[where], depth - 1))
    else:
        replacement = draw(schemas(1))
        if replacement:
            keyword = draw(st.sampled_from(sorted(replacement)))
            changed[keyword] = replacement[keyword]
    return changed


def shaped(schema: Any, depth: int = 3) -> st.SearchStrategy[Any]:
    """Values built after ``schema``'s own keywords, so that many of them are valid under it."""
    if not isinstance(schema, dict) or depth == 0:
        return values
    options: list[st.SearchStrategy[Any]] = [values]
    if "const" in schema:
        options.append(st.just(schema["const"]))
    if isinstance(schema.get("enum"), list) and schema["enum"]:
        options.append(st.sampled_from(schema["enum"]))
    declared = schema.get("type", list(TYPES))
    kinds = set(declared if isinstance(declared, list) else [declared])
    if "object" in kinds:
        properties = schema.get("properties", {})
        fields = {name: shaped(sub, depth - 1) for name, sub in properties.items()}
        required = {n: fields.get(n, values) for n in schema.get("required", []) if isinstance(n, str)}
        optional = {n: s for n, s in fields.items() if n not in required}
        optional["z"] = shaped(schema.get("additionalProperties", True), depth - 1)
        options.append(st.fixed_dictionaries(required, optional=optional))
    if "array" in kinds:
        options.append(st.lists(shaped(schema.get("items", True), depth - 1), max_size=3))
    return st.one_of(options)


def valid(schema: Any, payload: Any) -> bool:
    return bool(Draft7Validator(schema).is_valid(payload))


@lru_cache(maxsize=4096)
def _compiled(text: str) -> Any:
    return fastjsonschema.compile(json.loads(text))


def valid_fast(schema: Any, payload: Any) -> bool:
    try:
        _compiled(json.dumps(schema, sort_keys=True))(payload)
    except fastjsonschema.JsonSchemaValueException:
        return False
    return True


def check_schema(schema: Any) -> bool:
    try:
        Draft7Validator.check_schema(schema)
        _compiled(json.dumps(schema, sort_keys=True))
    except Exception:  # noqa: BLE001 - any refusal: not a schema the service could load
        return False
    return True


@given(st.data())
@settings(
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
def test_an_additive_verdict_never_refuses_a_payload_the_old_schema_accepts(data: st.DataObject) -> None:
    old = {**data.draw(schemas()), "type": "object"}
    new = data.draw(mutations(old) | schemas())
    if not (check_schema(old) and check_schema(new)):
        return
    reasons = compare(old, new)
    event(compatibility(reasons))
    if reasons:
        return
    drawn = [data.draw(values) for _ in range(4)]
    drawn += [data.draw(shaped(old)) for _ in range(6)]
    for payload in drawn:
        if not isinstance(payload, dict):  # data is always an object
            continue
        if valid(old, payload) or valid_fast(old, payload):
            assert valid(new, payload), (old, new, payload)
            assert valid_fast(new, payload), (old, new, payload)


@given(st.data())
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_a_schema_compared_with_itself_or_a_wider_type_is_additive(data: st.DataObject) -> None:
    schema = {**data.draw(schemas()), "type": "object"}
    assert compare(schema, schema) == []
    assert compare(schema, {"type": "object"}) == []
    assert compare(schema, {**schema, "description": "only words changed"}) == []


OBJECT = {"type": "object"}


def props(extra: dict[str, Any] | None = None, **properties: Any) -> dict[str, Any]:
    return {**OBJECT, "properties": properties, **(extra or {})}


CASES: list[tuple[str, Any, Any, str | None]] = [
    # (case, old, new, a reason's text when breaking; None when additive)
    ("new optional property", props(a={"type": "string"}), props(a={"type": "string"}, b={}), None),
    (
        "new typed property",
        props(a={}),
        props(a={}, b={"type": "string"}),
        "data.b: any value was accepted, now only strings",
    ),
    ("newly required", props(a={}), {**props(a={}), "required": ["a"]}, "data.a: newly required"),
    ("required kept", {**props(a={}), "required": ["a"]}, {**props(a={}), "required": ["a"]}, None),
    ("required dropped", {**props(a={}), "required": ["a"]}, props(a={}), None),
    (
        "removed while extras refused",
        props({"additionalProperties": False}, a={}, b={}),
        props({"additionalProperties": False}, a={}),
        "data.b: property removed while extra properties are refused",
    ),
    (
        "removed while extras accepted",
        props({"additionalProperties": False}, a={}, b={}),
        props(a={}),
        None,
    ),
    (
        "extras refused",
        props(a={}),
        props({"additionalProperties": False}, a={}),
        "data.*: extra properties are now refused",
    ),
    (
        "extras typed",
        props({"additionalProperties": {"type": "string"}}),
        props({"additionalProperties": {"type": ["string", "null"]}}),
        None,
    ),
    (
        "extras narrowed",
        props({"additionalProperties": {"type": "number"}}),
        props({"additionalProperties": {"type": "integer"}}),
        "numbers with a fraction no longer accepted",
    ),
    (
        "extra schema vs removed property",
        props({"additionalProperties": {"type": "string"}}, a={"type": "string"}, b={"type": "integer"}),
        props({"additionalProperties": {"type": "string"}}, a={"type": "string"}),
        "data.b: type narrowed: integers no longer accepted",
    ),
    ("integer widened to number", props(n={"type": "integer"}), props(n={"type": "number"}), None),
    (
        "number narrowed to integer",
        props(n={"type": "number"}),
        props(n={"type": "integer"}),
        "type narrowed",
    ),
    ("type list widened", props(n={"type": "string"}), props(n={"type": ["string", "null"]}), None),
    (
        "type list narrowed",
        props(n={"type": ["string", "null"]}),
        props(n={"type": "string"}),
        "null no longer",
    ),
    ("enum widened", props(e={"enum": ["a", "b"]}), props(e={"enum": ["a", "b", "c"]}), None),
    ("enum narrowed", props(e={"enum": ["a", "b"]}), props(e={"enum": ["a"]}), '"b" is no longer accepted'),
    ("const to enum", props(e={"const": 1}), props(e={"enum": [1, 2]}), None),
    ("enum on free text", props(e={"type": "string"}), props(e={"enum": ["a"]}), "values narrowed"),
    ("boolean to enum", props(e={"type": "boolean"}), props(e={"enum": [True, False]}), None),
    ("true is not 1", props(e={"const": True}), props(e={"enum": [1]}), "true is no longer accepted"),
    ("maxLength raised", props(s={"maxLength": 3}), props(s={"maxLength": 5}), None),
    ("maxLength lowered", props(s={"maxLength": 5}), props(s={"maxLength": 3}), "maxLength tightened"),
    (
        "minLength raised",
        props(s={"type": "string"}),
        props(s={"type": "string", "minLength": 1}),
        "minLength",
    ),
    (
        "minLength on integers",
        props(s={"type": "integer"}),
        props(s={"type": "integer", "minLength": 9}),
        None,
    ),
    ("minimum lowered", props(n={"minimum": 1}), props(n={"minimum": 0}), None),
    ("minimum raised", props(n={"minimum": 0}), props(n={"minimum": 1}), "minimum 1 tightens"),
    ("exclusive implies", props(n={"exclusiveMinimum": 1}), props(n={"minimum": 1}), None),
    ("inclusive is not exclusive", props(n={"minimum": 1}), props(n={"exclusiveMinimum": 1}), "tightens"),
    (
        "integers: > 0 means >= 1",
        props(n={"type": "integer", "exclusiveMinimum": 0}),
        props(n={"type": "integer", "minimum": 1}),
        None,
    ),
    ("maximum raised", props(n={"maximum": 5}), props(n={"exclusiveMaximum": 6}), None),
    ("maximum added", props(n={"type": "number"}), props(n={"type": "number", "maximum": 6}), "maximum"),
    ("pattern kept", props(s={"pattern": "^a"}), props(s={"pattern": "^a", "maxLength": 9}), "maxLength"),
    ("pattern changed", props(s={"pattern": "^a"}), props(s={"pattern": "^ab?"}), "cannot prove: pattern"),
    ("pattern added", props(s={"type": "string"}), props(s={"type": "string", "pattern": "x"}), "pattern"),
    (
        "items widened",
        props(t={"type": "array", "items": {"type": "integer"}}),
        props(t={"type": "array", "items": {"type": "number"}}),
        None,
    ),
    (
        "items narrowed",
        props(t={"type": "array", "items": {"type": "string"}}),
        props(t={"type": "array", "items": {"type": "string", "maxLength": 2}}),
        "data.t[]: maxLength",
    ),
    (
        "nested object",
        props(f={"type": "object", "properties": {"x": {"type": "string"}}}),
        props(f={"type": "object", "properties": {"x": {"type": "string"}}, "required": ["x"]}),
        "data.f.x: newly required",
    ),
    ("oneOf added", props(a={}), props(a={"oneOf": [{"type": "string"}, {"type": "null"}]}), "cannot prove"),
    ("not kept", props(a={"not": {"type": "null"}}), props(a={"not": {"type": "null"}}, b={}), None),
    ("$ref changed", props(a={"$ref": "#/definitions/x"}), props(a={"$ref": "#/definitions/y"}), "$ref"),
    ("format added", props(s={"type": "string"}), props(s={"type": "string", "format": "email"}), "format"),
]


@pytest.mark.parametrize(("old", "new", "expected"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_each_keyword(old: Any, new: Any, expected: str | None) -> None:
    reasons = compare(old, new)
    if expected is None:
        assert compatibility(reasons) == ADDITIVE, reasons
    else:
        assert compatibility(reasons) == BREAKING
        assert any(expected in str(r) for r in reasons), [str(r) for r in reasons]


def test_the_shipped_schemas_are_additive_to_themselves_and_to_added_optional_fields() -> None:
    for path in sorted((ROOT / "schemas").glob("*.json")):
        schema = json.loads(path.read_text(encoding="utf-8"))
        wider = copy.deepcopy(schema)
        wider["properties"]["referrer"] = {"description": "any value, as before"}
        assert compare(schema, wider) == [], path.name
        assert compare(wider, schema) == [], path.name  # extras are allowed: removing is fine
