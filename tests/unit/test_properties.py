"""Property-based tests: arbitrary input never escapes as anything but the domain's own errors."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ingest.logic import ingest
from theeye.clock import format_timestamp, parse_timestamp
from theeye.cursor import CursorCodec, fingerprint
from theeye.errors import InvalidRequest, PayloadTooLarge
from theeye.events import Event, derive_event_id, validate_event
from theeye.intake import QueueThenCount
from theeye.messages import Origin, QueuedEvent, QueueMessage

ORIGIN = Origin("app", "key", "2026-11-23T10:00:00.000000Z", "req")
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=5),
    max_leaves=20,
)
text = st.text(min_size=1, max_size=40).filter(lambda s: s.strip() != "")
timestamps = st.datetimes(
    min_value=datetime(1970, 1, 2), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)


class Queue:
    def __init__(self) -> None:
        self.bodies: list[str] = []

    def send(self, messages: list[QueueMessage]) -> None:
        self.bodies += [m.to_body() for m in messages]


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2000))
def test_arbitrary_bytes_are_a_400_or_events_never_a_crash(raw: bytes) -> None:
    with contextlib.suppress(InvalidRequest, PayloadTooLarge):
        ingest(raw, origin=ORIGIN, intake=QueueThenCount(Queue()))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_arbitrary_json_is_a_400_or_events_never_a_crash(value: Any) -> None:
    with contextlib.suppress(InvalidRequest):
        ingest(json.dumps(value).encode(), origin=ORIGIN, intake=QueueThenCount(Queue()))


@settings(max_examples=200, deadline=None)
@given(
    session=text,
    category=text,
    name=text,
    data=st.dictionaries(st.text(max_size=10), json_values, max_size=5),
    moment=timestamps,
)
def test_accepted_events_round_trip_through_the_queue_unchanged(
    session: str, category: str, name: str, data: dict[str, Any], moment: datetime
) -> None:
    raw = {
        "session_id": session,
        "category": category,
        "name": name,
        "data": data,
        "timestamp": moment.isoformat(),
    }
    event = validate_event(raw, "app")
    assert isinstance(event, Event)
    queue = Queue()
    ingest(json.dumps(raw).encode(), origin=ORIGIN, intake=QueueThenCount(queue))
    (body,) = queue.bodies
    (queued,) = QueueMessage.from_body(body).events
    assert queued.event == event
    assert queued.event.data == data
    assert parse_timestamp(queued.event.timestamp) == moment


@given(moment=timestamps, offset_minutes=st.integers(min_value=-14 * 60, max_value=14 * 60))
def test_any_offset_is_converted_to_the_same_utc_instant(moment: datetime, offset_minutes: int) -> None:
    local = moment.astimezone(timezone(timedelta(minutes=offset_minutes)))
    assert format_timestamp(parse_timestamp(local.isoformat())) == format_timestamp(moment)


@settings(max_examples=500)
@given(st.text(max_size=60))
def test_timestamp_parsing_only_ever_raises_value_error(value: str) -> None:
    try:
        parsed = parse_timestamp(value)
    except ValueError:
        return
    assert parsed.tzinfo is not None
    assert len(format_timestamp(parsed)) == 27


@given(content=st.dictionaries(st.text(max_size=8), json_values, max_size=6), app=text)
def test_derived_ids_are_stable_and_valid(content: dict[str, Any], app: str) -> None:
    shuffled = dict(reversed(list(content.items())))
    first = derive_event_id(app, content)
    assert first == derive_event_id(app, shuffled)
    assert validate_event(
        {
            "session_id": "s",
            "category": "c",
            "name": "n",
            "data": {},
            "timestamp": "2021-01-01",
            "event_id": first,
        },
        app,
    )


@given(
    position=st.text(max_size=200),
    filters=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=4),
)
def test_cursors_round_trip(position: str, filters: dict[str, str]) -> None:
    codec = CursorCodec(b"secret" * 6)
    mark = fingerprint("/events", filters)
    assert codec.decode(codec.encode(position, mark), mark) == position


@settings(max_examples=500)
@given(st.text(max_size=300))
def test_any_presented_cursor_is_a_position_or_a_400(cursor: str) -> None:
    codec = CursorCodec(b"secret" * 6)
    outcome: str | InvalidRequest
    try:
        outcome = codec.decode(cursor, fingerprint("/events", {}))
    except InvalidRequest as refused:
        outcome = refused
    assert isinstance(outcome, str) or outcome.code == "invalid_cursor"


def test_queued_event_bodies_are_valid_json_with_every_field() -> None:
    event = validate_event(
        {"session_id": "s", "category": "c", "name": "n", "data": {"ü": 1.5}, "timestamp": "2021-01-01"}, "a"
    )
    assert isinstance(event, Event)
    body = json.loads(QueueMessage(ORIGIN, [QueuedEvent(0, event)]).to_body())
    assert body["events"][0]["data"] == {"ü": 1.5}
