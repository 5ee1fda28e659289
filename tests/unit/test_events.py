import re
import sys
from typing import Any

import pytest

from theeye.events import (
    MAX_EVENT_BYTES,
    NOT_BLANK_PATTERN,
    Event,
    FieldError,
    derive_event_id,
    validate_event,
)

APP = "app-1"


def an_event(**changes: Any) -> dict[str, Any]:
    event: dict[str, Any] = {
        "session_id": "e6fa79ca-d142-4046-a134-5134f16a0b5e",
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "www.example.com", "path": "/"},
        "timestamp": "2021-01-01 09:15:27.243860",
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def fields(outcome: Event | list[FieldError]) -> set[str]:
    assert isinstance(outcome, list), f"expected rejection, got {outcome}"
    return {e.field for e in outcome}


def test_a_valid_event_is_normalised_and_given_a_derived_id() -> None:
    outcome = validate_event(an_event(), APP)
    assert isinstance(outcome, Event)
    assert outcome.timestamp == "2021-01-01T09:15:27.243860Z"
    assert outcome.event_id.startswith("dv1-")
    assert outcome.data == {"host": "www.example.com", "path": "/"}


def test_a_client_event_id_is_kept() -> None:
    outcome = validate_event(an_event(event_id="order-42:click.1"), APP)
    assert isinstance(outcome, Event)
    assert outcome.event_id == "order-42:click.1"


def test_derived_ids_ignore_timestamp_spelling_but_not_content_or_sender() -> None:
    first = validate_event(an_event(), APP)
    same = validate_event(an_event(timestamp="2021-01-01T10:15:27.243860+01:00"), APP)
    other_data = validate_event(an_event(data={"host": "www.example.com", "path": "/x"}), APP)
    other_app = validate_event(an_event(), "app-2")
    assert isinstance(first, Event) and isinstance(same, Event)
    assert isinstance(other_data, Event) and isinstance(other_app, Event)
    assert first.event_id == same.event_id
    assert len({first.event_id, other_data.event_id, other_app.event_id}) == 3


def test_derived_ids_do_not_depend_on_key_order() -> None:
    a = derive_event_id(APP, {"a": 1, "b": {"c": 2, "d": 3}})
    b = derive_event_id(APP, {"b": {"d": 3, "c": 2}, "a": 1})
    assert a == b


@pytest.mark.parametrize("missing", ["session_id", "category", "name", "data", "timestamp"])
def test_every_required_field_is_named_when_missing(missing: str) -> None:
    assert fields(validate_event(an_event(**{missing: ...}), APP)) == {missing}


def test_every_broken_field_is_reported_at_once() -> None:
    outcome = validate_event(
        {
            "session_id": "",
            "category": 7,
            "name": "x" * 129,
            "data": [],
            "timestamp": "soon",
            "event_id": "a b",
        },
        APP,
    )
    assert fields(outcome) == {"session_id", "category", "name", "data", "timestamp", "event_id"}


@pytest.mark.parametrize("value", [None, [], "text", 3, True])
def test_an_event_must_be_an_object(value: Any) -> None:
    assert fields(validate_event(value, APP)) == {"event"}


def test_unknown_envelope_fields_are_refused_rather_than_silently_dropped() -> None:
    outcome = validate_event(an_event(user_id="u-1"), APP)
    assert fields(outcome) == {"user_id"}
    assert isinstance(outcome, list)
    assert "under data" in outcome[0].message


def test_events_over_32_kib_are_refused() -> None:
    outcome = validate_event(an_event(data={"blob": "x" * MAX_EVENT_BYTES}), APP)
    assert fields(outcome) == {"event"}


def test_an_event_just_under_the_limit_is_accepted() -> None:
    base = len(str(an_event(data={"blob": ""})).encode())
    outcome = validate_event(an_event(data={"blob": "x" * (MAX_EVENT_BYTES - base - 64)}), APP)
    assert isinstance(outcome, Event)


@pytest.mark.parametrize("event_id", ["", "x" * 65, "has space", "ünïcode", 12])
def test_malformed_event_ids_are_refused(event_id: Any) -> None:
    assert fields(validate_event(an_event(event_id=event_id), APP)) == {"event_id"}


def test_content_hash_is_independent_of_event_id() -> None:
    one = validate_event(an_event(event_id="a"), APP)
    two = validate_event(an_event(event_id="b"), APP)
    assert isinstance(one, Event) and isinstance(two, Event)
    assert one.content_hash() == two.content_hash()


def test_the_not_blank_pattern_calls_space_exactly_what_str_isspace_does() -> None:
    """The pattern (the rule, and the OpenAPI document's) spells out its class of space; every
    code point is checked, so "not blank" means ``value.strip() != ""`` as the client checks it."""
    not_blank = re.compile(NOT_BLANK_PATTERN)
    differ = [hex(c) for c in range(sys.maxunicode + 1) if bool(not_blank.match(chr(c))) == chr(c).isspace()]
    assert differ == []
    assert not_blank.match(" \t\u3000x") and not not_blank.match(" \t\u3000\x1c\x85")
