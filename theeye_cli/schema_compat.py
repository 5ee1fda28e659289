"""Is a schema change additive or breaking? A proof that every payload the old JSON Schema accepts,
the new one accepts too, keyword by keyword.

The analysis is sound rather than complete: it answers ``additive`` only when it can show that
no payload accepted by the old schema is refused by the new one, under both validators the
service uses (``fastjsonschema`` in the processor, ``jsonschema`` for the explanations). Anything
it cannot reason about is a reason of its own, "cannot prove ...", and makes the change breaking.

How the proof goes, at each position of a payload (the root is ``data``, always an object):

* a schema is the conjunction of its keywords (draft-07, no ``$ref``: a schema that uses ``$ref``
  is analysed only when unchanged), so the new schema is implied when each of its keywords is
  implied by the old schema's;
* the old schema's ``type`` says which kinds of value (null, boolean, object, array, string,
  integer, other numbers) can reach the new keywords; a keyword that only constrains kinds the
  old schema refuses is no constraint at all;
* when the old schema accepts finitely many values (``enum``, ``const``, or only ``null`` and
  booleans) each of them is simply validated against the new schema;
* the old schema's constraints are only ever *dropped* when they are not understood (which makes
  the old set of payloads larger, so the proof harder, never wrong), while the new schema's must
  each be accounted for: same keyword with the same value in the old schema at the same place, or
  a rule below.

Keywords with a rule: ``type`` (lists too; integers are numbers), ``enum``, ``const``,
``minLength``, ``maxLength``, ``pattern`` and ``format`` (only when unchanged: two regular
expressions cannot be compared), ``minimum``, ``maximum``, ``exclusiveMinimum``,
``exclusiveMaximum``, ``multipleOf`` (unchanged), ``required``, ``properties``,
``additionalProperties`` (``false`` or a schema), ``patternProperties`` (unchanged),
``minProperties``, ``maxProperties``, ``items`` (one schema; a list only unchanged),
``minItems``, ``maxItems``, ``uniqueItems``, ``allOf`` (each branch), ``anyOf`` (some branch).
Other keywords count only when unchanged. Keywords that validate nothing (``title``,
``description``, ``x-event-type``, ...) are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final, Literal, TypeGuard

Compatibility = Literal["additive", "breaking"]
ADDITIVE: Final = "additive"
BREAKING: Final = "breaking"
ROOT: Final = "data"

# The kinds of JSON value a schema can tell apart; "number" is integer + fraction.
NULL, BOOLEAN, OBJECT, ARRAY, STRING, INTEGER, FRACTION = (
    "null",
    "boolean",
    "object",
    "array",
    "string",
    "integer",
    "fraction",
)
ALL_KINDS: Final = frozenset({NULL, BOOLEAN, OBJECT, ARRAY, STRING, INTEGER, FRACTION})
_TYPE_KINDS: Final = {
    "null": {NULL},
    "boolean": {BOOLEAN},
    "object": {OBJECT},
    "array": {ARRAY},
    "string": {STRING},
    "integer": {INTEGER},
    "number": {INTEGER, FRACTION},
}
_KIND_WORDS: Final = {
    NULL: "null",
    BOOLEAN: "booleans",
    OBJECT: "objects",
    ARRAY: "arrays",
    STRING: "strings",
    INTEGER: "integers",
    FRACTION: "numbers with a fraction",
}

# Draft-07's validation keywords, and the kinds of value each one constrains (None: every kind).
_APPLIES: Final[dict[str, frozenset[str] | None]] = {
    "type": None,
    "enum": None,
    "const": None,
    "allOf": None,
    "anyOf": None,
    "oneOf": None,
    "not": None,
    "if": None,
    "then": None,
    "else": None,
    "$ref": None,
    "minLength": frozenset({STRING}),
    "maxLength": frozenset({STRING}),
    "pattern": frozenset({STRING}),
    "format": frozenset({STRING}),
    "contentMediaType": frozenset({STRING}),
    "contentEncoding": frozenset({STRING}),
    "minimum": frozenset({INTEGER, FRACTION}),
    "maximum": frozenset({INTEGER, FRACTION}),
    "exclusiveMinimum": frozenset({INTEGER, FRACTION}),
    "exclusiveMaximum": frozenset({INTEGER, FRACTION}),
    "multipleOf": frozenset({INTEGER, FRACTION}),
    "items": frozenset({ARRAY}),
    "additionalItems": frozenset({ARRAY}),
    "minItems": frozenset({ARRAY}),
    "maxItems": frozenset({ARRAY}),
    "uniqueItems": frozenset({ARRAY}),
    "contains": frozenset({ARRAY}),
    "required": frozenset({OBJECT}),
    "properties": frozenset({OBJECT}),
    "patternProperties": frozenset({OBJECT}),
    "additionalProperties": frozenset({OBJECT}),
    "minProperties": frozenset({OBJECT}),
    "maxProperties": frozenset({OBJECT}),
    "dependencies": frozenset({OBJECT}),
    "propertyNames": frozenset({OBJECT}),
}
# Keywords whose meaning depends on a sibling: equal only together.
_TOGETHER: Final = {
    "if": ("if", "then", "else"),
    "then": ("if", "then", "else"),
    "else": ("if", "then", "else"),
    "additionalItems": ("items", "additionalItems"),
}
DRAFT_07: Final = frozenset(
    {
        "http://json-schema.org/draft-07/schema#",
        "http://json-schema.org/draft-07/schema",
        "https://json-schema.org/draft-07/schema#",
        "https://json-schema.org/draft-07/schema",
    }
)


@dataclass(frozen=True)
class Reason:
    """Why a change is breaking: where in the payload (``data.form.name``) and what."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def compatibility(reasons: Sequence[Reason]) -> Compatibility:
    return BREAKING if reasons else ADDITIVE


def compare(old: Any, new: Any) -> list[Reason]:
    """Every reason the new payload schema may refuse a payload the old one accepts; empty when
    the change is additive. Both are whole schemas (``data`` is always an object)."""
    if same(_assertions(old), _assertions(new)):
        return []
    for schema in (old, new):
        declared = schema.get("$schema") if isinstance(schema, dict) else None
        if declared is not None and declared not in DRAFT_07:
            return [Reason(ROOT, f"cannot prove: {declared!r} is not draft-07, the only draft analysed")]
    if _uses_ref(old) or _uses_ref(new):
        return [Reason(ROOT, "cannot prove: the schema uses $ref and changed")]
    return _compare(old, new, ROOT, frozenset({OBJECT}))


# -- the proof, position by position ----------------------------------------------------------


def _compare(old: Any, new: Any, path: str, kinds: frozenset[str]) -> list[Reason]:
    """Reasons some value of a kind in ``kinds`` that ``old`` accepts is refused by ``new``."""
    new_rules = _assertions(new)
    if new_rules == {}:
        return []
    old_rules = _assertions(old)
    if old_rules is False or same(old_rules, new_rules):
        return []
    finite = _finite(old_rules, kinds)
    if finite is not None:
        refused = [v for v in finite if _accepts_any(old, v) and not _accepts_all(new, v)]
        return [Reason(path, f"{_show(v)} is no longer accepted") for v in refused]
    if new_rules is False:
        return [Reason(path, "no value is accepted any more")]
    old_rules = old_rules if isinstance(old_rules, dict) else {}
    reach = kinds & _kinds(old_rules.get("type"))
    if not reach:
        return []
    reasons: list[Reason] = []
    lost = reach - _kinds(new_rules.get("type"))
    if lost and not old_rules:  # the old schema said nothing of this value
        reasons.append(Reason(path, f"any value was accepted, now only {_words(reach - lost) or 'none'}"))
    elif lost:
        reasons.append(Reason(path, f"type narrowed: {_words(lost)} no longer accepted"))
    for keyword in new_rules:
        applies = _APPLIES.get(keyword)
        if keyword == "type" or (applies is not None and not applies & reach):
            continue
        rule = _RULES.get(keyword, _unchanged)
        reasons += rule(keyword, old_rules, new_rules, path, reach, old)
    return reasons


Rule = Callable[[str, dict[str, Any], dict[str, Any], str, frozenset[str], Any], list[Reason]]


def _unchanged(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    together = _TOGETHER.get(keyword, (keyword,))
    if all(same(old.get(k), new.get(k)) for k in together):
        return []
    was = f"was {_show(old[keyword])}, " if keyword in old else ""
    return [Reason(path, f"cannot prove: {keyword} {was}now {_show(new[keyword])}")]


def _enum(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    # The old schema accepts infinitely many values here (else _finite answered).
    allowed = new[keyword] if keyword == "enum" else [new[keyword]]
    return [Reason(path, f"values narrowed to {_show(allowed)}")]


def _lower(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    if old.get(keyword, 0) >= new[keyword]:
        return []
    return [Reason(path, f"{keyword} raised to {new[keyword]} (was {old.get(keyword, 0)})")]


def _upper(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    if keyword in old and old[keyword] <= new[keyword]:
        return []
    was = f"was {old[keyword]}" if keyword in old else "was unbounded"
    return [Reason(path, f"{keyword} tightened to {new[keyword]} ({was})")]


def _bound(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    """minimum/maximum and their exclusive forms: the old bounds must be as tight."""
    limit = new[keyword]
    if not _number(limit):
        return [Reason(path, f"cannot prove: {keyword} {_show(limit)} is not a number")]
    lower = keyword in ("minimum", "exclusiveMinimum")
    exclusive = keyword.startswith("exclusive")
    inclusive_key, exclusive_key = (
        ("minimum", "exclusiveMinimum") if lower else ("maximum", "exclusiveMaximum")
    )
    sign = 1 if lower else -1  # compare upper bounds as lower bounds of -x
    target = sign * limit
    held: list[tuple[float, bool]] = []  # (bound on sign*x, exclusive)
    for key, is_exclusive in ((inclusive_key, False), (exclusive_key, True)):
        value = old.get(key)
        if _number(value):
            held.append((sign * value, is_exclusive))
    if reach <= {INTEGER}:
        # Only integral values: x > b means x >= floor(b) + 1, x >= a means x >= ceil(a).
        held += [
            (math.floor(b) + 1 if is_exclusive else math.ceil(b), False)
            for b, is_exclusive in list(held)
            if math.isfinite(b)
        ]
    for bound, is_exclusive in held:
        if (bound > target) or (bound == target and (is_exclusive or not exclusive)):
            return []
    old_text = ", ".join(f"{k} {old[k]}" for k in (inclusive_key, exclusive_key) if k in old) or "none"
    return [Reason(path, f"{keyword} {limit} tightens the bound (old: {old_text})")]


def _unique(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    if new[keyword] is not True or old.get(keyword) is True:
        return []
    return [Reason(path, "items must now be unique")]


def _required(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    before = set(old.get("required", []))
    return [Reason(f"{path}.{name}", "newly required") for name in new[keyword] if name not in before]


def _items(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    items = new[keyword]
    if isinstance(items, list):
        if same(old.get(keyword), items) and same(old.get("additionalItems"), new.get("additionalItems")):
            return []
        return [Reason(path, "cannot prove: items given as a list changed")]
    before = old.get(keyword)
    known = True if isinstance(before, list) or before is None else before
    return _compare(known, items, f"{path}[]", ALL_KINDS)


def _additional_items(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    return []  # applies only beside a list of items, which _items checks together with it


def _properties(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    reasons: list[Reason] = []
    for name, schema in new[keyword].items():
        reasons += _compare(_old_property(old, name), schema, f"{path}.{name}", ALL_KINDS)
    return reasons


def _old_property(old: dict[str, Any], name: str) -> Any:
    """What the old schema says of property ``name``'s value (True: nothing known)."""
    properties = old.get("properties", {})
    if name in properties:
        return properties[name]
    if old.get("patternProperties"):
        return True  # a pattern may match it: regular expressions are not evaluated here
    return old.get("additionalProperties", True)


def _additional_properties(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    extra = new[keyword]
    if _assertions(extra) == {}:
        return []
    reasons: list[Reason] = []
    kept = new.get("properties", {})
    for name, schema in old.get("properties", {}).items():
        if name in kept or _assertions(schema) is False:
            continue
        if _assertions(extra) is False:
            reasons.append(Reason(f"{path}.{name}", "property removed while extra properties are refused"))
        else:
            reasons += _compare(schema, extra, f"{path}.{name}", ALL_KINDS)
    old_patterns, new_patterns = old.get("patternProperties"), new.get("patternProperties")
    others = (
        old.get("additionalProperties", True)
        if not old_patterns or same(old_patterns, new_patterns)
        else True
    )
    if _assertions(extra) is False and _assertions(others) is not False:
        reasons.append(Reason(f"{path}.*", "extra properties are now refused"))
    elif _assertions(extra) is not False:
        reasons += _compare(others, extra, f"{path}.*", ALL_KINDS)
    return reasons


def _pattern_properties(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    if same(old.get(keyword), new[keyword]):
        return []
    return [Reason(path, "cannot prove: patternProperties changed")]


def _all_of(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], whole: Any
) -> list[Reason]:
    reasons: list[Reason] = []
    for branch in new[keyword]:
        reasons += _compare(whole, branch, path, reach)
    return reasons


def _any_of(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], whole: Any
) -> list[Reason]:
    if same(old.get(keyword), new[keyword]):
        return []
    if any(not _compare(whole, branch, path, reach) for branch in new[keyword]):
        return []
    return [Reason(path, "cannot prove: no branch of anyOf accepts every value the old schema accepts")]


def _string_rule(
    keyword: str, old: dict[str, Any], new: dict[str, Any], path: str, reach: frozenset[str], _: Any
) -> list[Reason]:
    if same(old.get(keyword), new[keyword]):
        return []
    if keyword in old:
        return [
            Reason(
                path, f"cannot prove: {keyword} changed from {_show(old[keyword])} to {_show(new[keyword])}"
            )
        ]
    return [Reason(path, f"{keyword} {_show(new[keyword])} added")]


_RULES: Final[dict[str, Rule]] = {
    "enum": _enum,
    "const": _enum,
    "minLength": _lower,
    "maxLength": _upper,
    "pattern": _string_rule,
    "format": _string_rule,
    "minimum": _bound,
    "maximum": _bound,
    "exclusiveMinimum": _bound,
    "exclusiveMaximum": _bound,
    "minItems": _lower,
    "maxItems": _upper,
    "minProperties": _lower,
    "maxProperties": _upper,
    "uniqueItems": _unique,
    "required": _required,
    "items": _items,
    "additionalItems": _additional_items,
    "properties": _properties,
    "additionalProperties": _additional_properties,
    "patternProperties": _pattern_properties,
    "allOf": _all_of,
    "anyOf": _any_of,
}


# -- helpers ----------------------------------------------------------------------------------


def _assertions(schema: Any) -> dict[str, Any] | Literal[False]:
    """The keywords of ``schema`` that validate (``True``/``False`` schemas as they are; an
    object with none is ``{}``, which accepts everything)."""
    if isinstance(schema, bool):
        return {} if schema else False
    if not isinstance(schema, Mapping):
        return {"$invalid": schema}
    return {k: v for k, v in schema.items() if k in _APPLIES}


def _kinds(declared: Any) -> frozenset[str]:
    if declared is None:
        return ALL_KINDS
    names = declared if isinstance(declared, list) else [declared]
    found: set[str] = set()
    for name in names:
        found |= _TYPE_KINDS.get(name, set()) if isinstance(name, str) else set()
    return frozenset(found)


def _words(kinds: frozenset[str]) -> str:
    return ", ".join(_KIND_WORDS[k] for k in sorted(kinds, key=list(_KIND_WORDS).index))


def kind_of(value: Any) -> str:
    """The kind of a JSON value, as both validators see it (``1.0`` is an integer)."""
    if value is None:
        return NULL
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, int):
        return INTEGER
    if isinstance(value, float):
        return INTEGER if value.is_integer() else FRACTION
    if isinstance(value, str):
        return STRING
    if isinstance(value, list):
        return ARRAY
    return OBJECT


def _finite(rules: dict[str, Any] | Literal[False], kinds: frozenset[str]) -> list[Any] | None:
    """The values of a kind in ``kinds`` the old schema may accept, when they are few enough to
    list (``enum``, ``const``, or kinds null and boolean only); ``None`` otherwise."""
    if not isinstance(rules, dict):
        return None
    if "const" in rules:
        candidates = [rules["const"]]
    elif isinstance(rules.get("enum"), list):
        candidates = list(rules["enum"])
    elif kinds & _kinds(rules.get("type")) <= {NULL, BOOLEAN}:
        candidates = [None, True, False]
    else:
        return None
    return [v for v in candidates if kind_of(v) in kinds]


def _accepts_any(schema: Any, value: Any) -> bool:
    """Whether either validator accepts ``value`` (the old side: the larger set)."""
    return _jsonschema(schema, value) or _fast(schema, value)


def _accepts_all(schema: Any, value: Any) -> bool:
    """Whether both validators accept ``value`` (the new side: the smaller set)."""
    return _jsonschema(schema, value) and _fast(schema, value)


def _jsonschema(schema: Any, value: Any) -> bool:
    from jsonschema import Draft7Validator

    return bool(Draft7Validator(schema).is_valid(value))


def _fast(schema: Any, value: Any) -> bool:
    import fastjsonschema

    try:
        _compiled(canonical(schema))(value)
    except (fastjsonschema.JsonSchemaValueException, fastjsonschema.JsonSchemaDefinitionException):
        return False
    return True


@lru_cache(maxsize=256)
def _compiled(text: str) -> Callable[[Any], Any]:
    import fastjsonschema

    compiled: Callable[[Any], Any] = fastjsonschema.compile(json.loads(text))
    return compiled


def _uses_ref(schema: Any) -> bool:
    if isinstance(schema, Mapping):
        return "$ref" in schema or any(_uses_ref(v) for v in schema.values())
    if isinstance(schema, list):
        return any(_uses_ref(v) for v in schema)
    return False


def _number(value: Any) -> TypeGuard[int | float]:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def canonical(value: Any) -> str:
    """One text per JSON value: ``true``, ``1`` and ``1.0`` stay apart (Python's ``==`` does not)."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def same(a: Any, b: Any) -> bool:
    return canonical(a) == canonical(b)


def _show(value: Any, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[: limit - 1] + "…"
