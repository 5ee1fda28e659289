"""The Segment mapping (theeye.segment), row by row of the contract's table, and what happens to
a mapped message at ingest: the same envelope rules, errors named by the message's fields."""

from __future__ import annotations

import json
from typing import Any

import pytest

from ingest import logic
from theeye import segment
from theeye.errors import InvalidRequest
from theeye.events import MAX_EVENTS_PER_REQUEST, Event, validate_event
from theeye.messages import Origin, QueueMessage, Rejection

RECEIVED = "2026-12-02T10:00:05.000000Z"


class MemoryIntake:
    """An Intake that keeps what it is given."""

    def __init__(self) -> None:
        self.messages: list[QueueMessage] = []

    def accept(self, messages: list[QueueMessage]) -> None:
        self.messages += messages


def mapped(message: dict[str, Any], kind: str | None = None, **defaults: Any) -> dict[str, Any]:
    envelope = segment.to_envelope(message, kind, RECEIVED, defaults)
    assert not envelope.errors, envelope.errors
    event: dict[str, Any] = envelope.event
    return event


def track(**fields: Any) -> dict[str, Any]:
    return {"type": "track", "event": "Clicked", "anonymousId": "anon-1", **fields}


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        (track(properties={"session_id": "s-prop"}, context={"session_id": "s-ctx"}), "s-prop"),
        (track(context={"session_id": "s-ctx"}, userId="u-1"), "s-ctx"),
        (track(userId="u-1"), "anon-1"),
        ({"type": "track", "event": "Clicked", "userId": "u-1"}, "u-1"),
        (track(anonymousId="", userId="u-1"), "u-1"),  # an empty id is no id
        (track(properties={"session_id": 1733133600000}), "1733133600000"),  # numeric: its digits
        (track(properties={"session_id": None}), "anon-1"),
    ],
)
def test_the_session_is_the_first_of_properties_context_anonymous_id_user_id(
    message: dict[str, Any], expected: str
) -> None:
    assert mapped(message)["session_id"] == expected


def test_identify_does_not_read_its_traits_for_the_session() -> None:
    message = {"type": "identify", "userId": "u-1", "traits": {"session_id": "t"}}
    assert mapped(message)["session_id"] == "u-1"


@pytest.mark.parametrize(
    ("message", "category", "name"),
    [
        (track(), "track", "Clicked"),
        (track(properties={"category": "Checkout"}), "Checkout", "Clicked"),
        (track(properties={"category": 3}), "track", "Clicked"),  # not a string: the type
        ({"type": "page", "anonymousId": "a", "name": "Home", "category": "Docs"}, "Docs", "Home"),
        (
            {"type": "page", "anonymousId": "a", "category": "Docs", "properties": {"category": "Shop"}},
            "Shop",
            "pageview",
        ),
        ({"type": "page", "anonymousId": "a"}, "page", "pageview"),
        ({"type": "screen", "anonymousId": "a", "name": "Settings"}, "screen", "Settings"),
        ({"type": "screen", "anonymousId": "a", "category": "Onboarding"}, "screen", "screen"),
        ({"type": "identify", "userId": "u"}, "identify", "identify"),
        ({"type": "group", "userId": "u", "groupId": "g"}, "group", "group"),
        ({"type": "alias", "userId": "u", "previousId": "p"}, "alias", "alias"),
    ],
)
def test_category_and_name_by_type(message: dict[str, Any], category: str, name: str) -> None:
    event = mapped(message)
    assert (event["category"], event["name"]) == (category, name)


def test_the_data_is_properties_or_traits_with_the_segment_fields_beside() -> None:
    context = {"library": {"name": "analytics-python", "version": "2.3.4"}, "ip": "10.0.0.1"}
    event = mapped(
        track(userId="u-1", properties={"price": 9.5}, context=context, integrations={"All": True})
    )
    kept = {"library": context["library"]}  # the address goes to the event's context only
    assert event["data"] == {
        "price": 9.5,
        "segment": {"type": "track", "userId": "u-1", "anonymousId": "anon-1", "context": kept},
    }
    assert event["context"] == {"ip": "10.0.0.1"}
    group = mapped({"type": "group", "userId": "u", "groupId": "g-1", "traits": {"plan": "pro"}})
    assert group["data"] == {"plan": "pro", "segment": {"type": "group", "userId": "u", "groupId": "g-1"}}
    alias = mapped({"type": "alias", "userId": "u", "previousId": "p", "traits": {"ignored": 1}})
    assert alias["data"] == {"segment": {"type": "alias", "userId": "u", "previousId": "p"}}
    identify = mapped({"type": "identify", "userId": "u", "properties": {"not": "traits"}})
    assert identify["data"] == {"segment": {"type": "identify", "userId": "u"}}


def test_a_single_message_route_implies_its_type() -> None:
    assert mapped({"event": "Signed up", "userId": "u"}, "track")["data"]["segment"]["type"] == "track"
    page = mapped({"type": "track", "userId": "u", "name": "Home"}, "page")  # the route decides
    assert (page["category"], page["name"], page["data"]["segment"]["type"]) == ("page", "Home", "page")


def test_the_timestamp_is_timestamp_else_original_timestamp_else_receipt() -> None:
    both = mapped(track(timestamp="2026-12-02T09:00:00Z", originalTimestamp="2026-12-02T08:00:00Z"))
    assert both["timestamp"] == "2026-12-02T09:00:00Z"
    original = mapped(track(originalTimestamp="2026-12-02T08:00:00Z", sentAt="2026-12-02T08:00:01Z"))
    assert (original["timestamp"], original["sent_at"]) == ("2026-12-02T08:00:00Z", "2026-12-02T08:00:01Z")
    neither = mapped(track(sentAt="2026-12-02T08:00:01Z"))
    assert neither["timestamp"] == RECEIVED
    assert "sent_at" not in neither  # the time is ours already: nothing to correct


def test_sent_at_corrects_the_clock_skew_as_on_post_events() -> None:
    message = track(timestamp="2026-12-02T09:59:00Z", sentAt="2026-12-02T10:00:00Z")  # 5 s slow
    event = validate_event(mapped(message), "app", received())
    assert isinstance(event, Event)
    assert event.timestamp == "2026-12-02T09:59:05.000000Z"
    assert event.client_timestamp == "2026-12-02T09:59:00.000000Z"


def received() -> Any:
    from theeye.clock import parse_timestamp

    return parse_timestamp(RECEIVED)


def test_the_batch_context_and_sent_at_hold_for_messages_without_their_own() -> None:
    body = {
        "batch": [
            track(timestamp="2026-12-02T09:00:00Z", context={"page": {"path": "/"}}),
            track(timestamp="2026-12-02T09:00:00Z", sentAt="2026-12-02T09:00:09Z", context={"ip": "own"}),
        ],
        "context": {"ip": "batch", "library": {"name": "x"}},
        "sentAt": "2026-12-02T09:00:01Z",
    }
    first, second = (e.event for e in segment.envelopes(body, RECEIVED, kind=None))
    # the merged context: its address in the event's context only, the rest under data.segment
    assert first["data"]["segment"]["context"] == {"library": {"name": "x"}, "page": {"path": "/"}}
    assert first["context"] == {"ip": "batch"}
    assert first["sent_at"] == "2026-12-02T09:00:01Z"
    assert second["data"]["segment"]["context"] == {"library": {"name": "x"}}
    assert second["context"] == {"ip": "own"}
    assert second["sent_at"] == "2026-12-02T09:00:09Z"


@pytest.mark.parametrize(
    ("message_id", "expected"),
    [
        ("ajs-next-1733133600000-3c1f", "ajs-next-1733133600000-3c1f"),
        ("0c4b4a5e-6d0f-4f1e-9d55-2d4f1b1b8a11", "0c4b4a5e-6d0f-4f1e-9d55-2d4f1b1b8a11"),
        (None, None),
    ],
)
def test_a_message_id_that_fits_is_the_event_id(message_id: str | None, expected: str | None) -> None:
    assert segment.message_event_id(message_id) == expected


@pytest.mark.parametrize("message_id", ["has spaces in it", "x" * 65, "ünïcode", 12345, ""])
def test_a_message_id_that_does_not_fit_gives_a_derived_event_id_the_same_each_time(message_id: Any) -> None:
    derived = segment.message_event_id(message_id)
    assert derived is not None and derived.startswith(segment.MESSAGE_ID_PREFIX)
    assert derived == segment.message_event_id(message_id)
    assert derived != segment.message_event_id(f"{message_id}-other")
    event = validate_event(mapped(track(messageId=message_id)), "app")
    assert isinstance(event, Event) and event.event_id == derived


def test_without_a_message_id_the_event_id_is_derived_from_the_content() -> None:
    event = validate_event(mapped(track(timestamp="2026-12-02T09:00:00Z")), "app")
    again = validate_event(mapped(track(timestamp="2026-12-02T09:00:00Z")), "app")
    assert isinstance(event, Event) and isinstance(again, Event)
    assert event.event_id == again.event_id and event.event_id.startswith("dv1-")


def test_the_write_key_never_reaches_the_event_nor_the_payload() -> None:
    envelope = segment.to_envelope(track(writeKey="eye_secret"), None, RECEIVED)
    assert "eye_secret" not in json.dumps([envelope.event, envelope.payload])
    text = '{"writeKey": "eye_se\\"cret", "batch": [oops'
    assert segment.redact_text(text) == '{"writeKey": "[redacted]", "batch": [oops'


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"writeKey": " eye_k ", "event": "x"}, "eye_k"),
        ({"batch": [{"type": "track"}, {"writeKey": "eye_m"}]}, "eye_m"),
        ({"writeKey": "eye_top", "batch": [{"writeKey": "eye_m"}]}, "eye_top"),
        ({"writeKey": ""}, None),
        ([{"writeKey": "eye_k"}], None),
        ({"writeKey": 5}, None),
    ],
)
def test_the_write_key_of_a_body(body: Any, expected: str | None) -> None:
    assert segment.write_key(body) == expected


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ([], "invalid_body"),
        ({"batch": {}}, "invalid_body"),
        ({"events": []}, "invalid_body"),
        ({"batch": []}, "empty_batch"),
        ({"batch": [track()] * (MAX_EVENTS_PER_REQUEST + 1)}, "too_many_events"),
    ],
)
def test_a_batch_body_that_is_not_a_batch_is_a_400(body: Any, code: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        segment.envelopes(body, RECEIVED, kind=None)
    assert caught.value.code == code


def test_a_single_route_takes_one_object() -> None:
    with pytest.raises(InvalidRequest) as caught:
        segment.envelopes([track()], RECEIVED, kind="track")
    assert caught.value.code == "invalid_body"


def test_a_batch_message_without_a_known_type_is_refused_by_its_type() -> None:
    missing, unknown, not_object = segment.envelopes(
        {"batch": [{"event": "x"}, {"type": "trak"}, "text"]}, RECEIVED, kind=None
    )
    assert [e.field for e in missing.errors + unknown.errors + not_object.errors] == [
        "type",
        "type",
        "message",
    ]
    assert "not 'trak'" in unknown.errors[0].message


def origin() -> Origin:
    return Origin(application_id="app", key_id="key-1", received_at=RECEIVED, request_id="req-1")


def test_rejections_name_the_fields_of_the_message_and_are_filed_under_its_session() -> None:
    intake = MemoryIntake()
    body = {
        "batch": [
            track(messageId="m-1"),
            {"type": "track", "anonymousId": "anon-2", "messageId": "m-2"},  # no event name
            {"type": "page", "event": "x", "properties": {"category": ""}},  # no session, blank category
            track(properties="not an object"),
            track(timestamp="yesterday"),
            track(timestamp="2026-12-02T09:00:00Z", sentAt="soon"),
        ],
        "writeKey": "eye_secret",
    }
    result = logic.ingest(
        json.dumps(body).encode(), origin=origin(), intake=intake, dialect=logic.segment_dialect(None)
    )
    assert [q.event.event_id for q in result.events] == ["m-1"]
    fields = {r.index: [e["field"] for e in r.errors] for r in result.rejections}
    assert fields == {
        1: ["event"],
        2: ["anonymousId", "properties.category"],
        3: ["properties"],
        4: ["timestamp"],
        5: ["sentAt"],
    }
    first = result.rejections[0]
    assert (first.session_id, first.event_id) == ("anon-2", "m-2")
    assert result.rejections[1].session_id is None
    assert "eye_secret" not in "".join(m.to_body() for m in intake.messages)


def test_a_rejection_keeps_where_it_is_filed_through_the_queue() -> None:
    rejection = Rejection(0, "invalid_envelope", [], {"anonymousId": "a"}, session_id="a", event_id="m")
    assert Rejection.from_dict(json.loads(json.dumps(rejection.to_dict()))) == rejection
    plain = Rejection(0, "invalid_envelope", [], {})
    assert set(plain.to_dict()) == {"index", "type", "errors", "payload"}


def test_a_segment_body_that_is_not_json_is_recorded_without_its_write_key() -> None:
    intake = MemoryIntake()
    with pytest.raises(InvalidRequest):
        logic.ingest(
            b'{"writeKey": "eye_secret", "batch": [',
            origin=origin(),
            intake=intake,
            dialect=logic.segment_dialect(None),
        )
    (message,) = intake.messages
    (rejection,) = message.rejections
    assert rejection.type == "invalid_json"
    assert "eye_secret" not in message.to_body() and "[redacted]" in rejection.payload


def test_every_message_is_one_event_through_the_post_events_path() -> None:
    intake = MemoryIntake()
    kinds = list(segment.MESSAGE_TYPES)
    body = {"batch": [{"type": k, "userId": "u", "event": "E", "messageId": f"m-{k}"} for k in kinds]}
    result = logic.ingest(
        json.dumps(body).encode(), origin=origin(), intake=intake, dialect=logic.segment_dialect(None)
    )
    assert [q.event.event_id for q in result.events] == [f"m-{k}" for k in kinds]
    assert [q.event.category for q in result.events] == kinds
    queued = [q.event for m in intake.messages for q in m.events]
    assert [e.event_id for e in queued] == [f"m-{k}" for k in kinds] and all(
        isinstance(e, Event) for e in queued
    )


def test_the_context_takes_the_listed_members_of_the_message_context() -> None:
    context = {
        "ip": "198.51.100.77",
        "userAgent": "Mozilla/5.0",
        "page": {"url": "https://a.example/p?q=1", "path": "/p", "search": "?q=1", "title": "P"},
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 390, "height": 844, "density": 3},
        "campaign": {"name": "spring"},
        "library": {"name": "analytics.js"},
    }
    envelope = segment.to_envelope(track(context=context), None, RECEIVED)
    assert envelope.event["context"] == {
        "ip": "198.51.100.77",
        "user_agent": "Mozilla/5.0",
        "page": {"url": "https://a.example/p?q=1", "title": "P"},
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 390, "height": 844},
    }
    assert envelope.campaign == {"name": "spring"}
    assert "context" not in mapped(track(context={"library": {"name": "x"}, "page": {"path": "/"}}))
    assert "context" not in mapped(track(context={"ip": "", "userAgent": "", "screen": {}}))


def test_a_bad_context_rejects_the_message_naming_its_field_and_keeps_no_address() -> None:
    intake = MemoryIntake()
    message = track(context={"ip": "198.51.100.77", "userAgent": "x" * 513, "locale": 7})
    with pytest.raises(InvalidRequest):
        logic.ingest(
            json.dumps(message).encode(),
            origin=origin(),
            intake=intake,
            dialect=logic.segment_dialect("track"),
        )
    (rejection,) = [r for m in intake.messages for r in m.rejections]
    assert [e["field"] for e in rejection.errors] == ["context.userAgent", "context.locale"]
    assert rejection.payload["context"]["ip"] == "[redacted]"
