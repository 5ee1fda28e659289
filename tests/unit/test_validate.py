"""The dry run of ``POST /events/validate`` (``ingest.logic.validate``, ``theeye.checks``): every
check of the pipeline answered at once, the body read exactly as ``POST /events`` reads it, and
nothing handed to anyone."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any, get_args

import pytest

from ingest.logic import Validation, ingest, validate
from processor.logic import Processor, process_message
from processor.logic import Rules as ProcessorRules
from theeye.checks import CheckType, FindingType, Rules
from theeye.errors import InvalidRequest
from theeye.events import MAX_EVENTS_PER_REQUEST
from theeye.intake import QueueThenCount
from theeye.ledger import PROCESSOR_INVALID
from theeye.messages import Origin
from theeye.records import ERROR_TYPES
from theeye.schemas import SchemaRegistry
from theeye_local.memory import MemoryCounters, MemoryErrorStore, MemoryEventStore, MemoryQueue

ROOT = Path(__file__).parents[2]
SCHEMAS = SchemaRegistry.from_directory(ROOT / "schemas")
NOW = "2026-11-23T10:00:00.000000Z"
APP = "app-1"
HOST = {"host": "www.example.com", "path": "/"}


def event(name: str = "pageview", category: str = "page interaction", **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "session_id": "s-1",
        "category": category,
        "name": name,
        "data": dict(HOST),
        "timestamp": "2026-11-23T09:59:00Z",
    }
    value.update(changes)
    return value


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def dry_run(value: Any, *, now: str = NOW, **rules: Any) -> dict[str, Any]:
    raw = value if isinstance(value, bytes) else body(value)
    report = validate(
        raw, application_id=APP, received_at=now, validation=Validation(SCHEMAS, Rules(**rules))
    )
    return report.to_response()


def errors(result: dict[str, Any]) -> list[tuple[str, str]]:
    return [(e["type"], e["field"]) for e in result["errors"]]


def test_a_valid_event_gets_the_id_ingest_would_give_it() -> None:
    # Given the same events, one with its own id and one without
    events = [event(event_id="order-1"), event("cta click", data={**HOST, "element": "chat"})]
    # When they are validated, and ingested at the same moment
    answer = dry_run(events)
    queue = MemoryQueue()
    accepted = ingest(body(events), origin=Origin(APP, "k", NOW, "r"), intake=QueueThenCount(queue))
    # Then each is valid, under the id POST /events answers
    assert (answer["valid"], answer["invalid"]) == (2, 0)
    assert [r["event_id"] for r in answer["results"]] == accepted.to_response()["event_ids"]
    assert answer["results"][0] == {"index": 0, "event_id": "order-1", "valid": True, "errors": []}


def test_envelope_problems_are_one_entry_per_broken_field_as_ingest_rejects_them() -> None:
    events = [event(), event(session_id="", data=[], timestamp="yesterday", colour="red"), 7]
    answer = dry_run(events)
    ingested = ingest(body(events), origin=Origin(APP, "k", NOW, "r"), intake=QueueThenCount(MemoryQueue()))
    _, broken, number = answer["results"]
    assert (broken["valid"], broken["event_id"]) == (False, None)
    assert errors(broken) == [
        ("invalid_envelope", "session_id"),
        ("invalid_envelope", "data"),
        ("invalid_envelope", "timestamp"),
        ("invalid_envelope", "colour"),
    ]
    rejected = {r["index"]: r["errors"] for r in ingested.to_response()["rejected"]}
    for result in (broken, number):
        assert [{"field": e["field"], "message": e["message"]} for e in result["errors"]] == rejected[
            result["index"]
        ]
    assert errors(number) == [("invalid_envelope", "event")]


def test_a_schema_violation_names_every_broken_field() -> None:
    form = event("submit", "form interaction", data={**HOST, "form": {"first_name": 1, "last_name": None}})
    (result,) = dry_run(form)["results"]
    assert result["valid"] is False and result["event_id"].startswith("dv1-")
    assert sorted(errors(result)) == [
        ("schema_violation", "data.form.first_name"),
        ("schema_violation", "data.form.last_name"),
    ]
    assert "string" in result["errors"][0]["message"]


def test_a_future_timestamp_is_judged_at_the_time_of_the_request() -> None:
    later = event(timestamp="2026-11-23T10:01:01Z")
    (now,) = dry_run(later)["results"]
    (a_minute_on,) = dry_run(later, now="2026-11-23T10:00:02.000000Z")["results"]
    (lenient,) = dry_run(later, max_clock_skew=timedelta(seconds=120))["results"]
    assert errors(now) == [("future_timestamp", "timestamp")]
    assert "plus 60 s of skew" in now["errors"][0]["message"]
    assert a_minute_on["valid"] and lenient["valid"]


def test_sent_at_corrects_the_senders_clock_before_the_future_rule_judges() -> None:
    # Given a sender whose clock is a day fast: its event and its sent_at are both a day ahead
    fast = event(timestamp="2026-11-24T09:59:59Z", sent_at="2026-11-24T10:00:00Z")
    # Then the corrected time (a second before now) is not in the future
    (result,) = dry_run(fast)["results"]
    assert result["valid"], result


def test_unknown_types_are_reported_only_when_they_are_rejected() -> None:
    hover = event("hover")
    assert dry_run(hover)["results"][0]["valid"] is True
    (result,) = dry_run(hover, unknown_event_types="reject")["results"]
    assert errors(result) == [("unknown_event_type", "category")]


def test_every_problem_of_an_event_is_reported_at_once() -> None:
    both = event("cta click", timestamp="2027-01-01T00:00:00Z")
    (result,) = dry_run(both)["results"]
    assert errors(result) == [("future_timestamp", "timestamp"), ("schema_violation", "data.element")]


def test_a_request_where_every_event_is_invalid_is_still_a_report() -> None:
    answer = dry_run([{"x": 1}, event("cta click")])
    assert (answer["valid"], answer["invalid"]) == (0, 2)
    assert [r["index"] for r in answer["results"]] == [0, 1]


def test_the_processor_records_the_first_problem_the_dry_run_reports() -> None:
    # Given events that break each rule, judged by the dry run and by the processor at one time
    events = [
        event(event_id="future", timestamp="2027-01-01T00:00:00Z", name="cta click"),
        event(event_id="unknown", name="hover"),
        event(event_id="broken", name="cta click"),
        event(event_id="fine"),
    ]
    answer = dry_run(events, unknown_event_types="reject")
    store = MemoryErrorStore()
    processor = Processor(
        MemoryEventStore(), store, MemoryCounters(), SCHEMAS, ProcessorRules(unknown_event_types="reject")
    )
    queue = MemoryQueue()
    ingest(body(events), origin=Origin(APP, "k", NOW, "r"), intake=QueueThenCount(queue))
    (message,) = queue.bodies
    outcome = process_message(message, processor)
    # Then the processor's error for each event is the dry run's first finding, with its details
    first = {r["event_id"]: r["errors"] for r in answer["results"] if not r["valid"]}
    recorded = {e.event_id: e for e in store.errors.values()}
    assert set(first) == set(recorded) == {"future", "unknown", "broken"}
    for event_id, found in first.items():
        assert recorded[event_id].type == found[0]["type"]
        assert recorded[event_id].details == [
            {"field": e["field"], "message": e["message"]} for e in found if e["type"] == found[0]["type"]
        ]
    assert outcome.stored == 1


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"   ",
        b"not json",
        b'{"a": NaN}',
        b"\xff\xfe",
        b"[]",
        b"5",
        b'"text"',
        body([event()] * (MAX_EVENTS_PER_REQUEST + 1)),
    ],
    ids=["empty", "blank", "not-json", "nan", "not-utf8", "empty-array", "number", "string", "501-events"],
)
def test_a_body_post_events_refuses_is_refused_the_same_way_and_nothing_is_queued(raw: bytes) -> None:
    queue = MemoryQueue()
    with pytest.raises(InvalidRequest) as ingested:
        ingest(raw, origin=Origin(APP, "k", NOW, "r"), intake=QueueThenCount(queue))
    with pytest.raises(InvalidRequest) as validated:
        validate(raw, application_id=APP, received_at=NOW, validation=Validation(SCHEMAS, Rules()))
    refused = validated.value
    assert (refused.code, refused.message, refused.details) == (
        ingested.value.code,
        ingested.value.message,
        ingested.value.details,
    )
    assert len(queue.bodies) == 1  # POST /events records the refusal; the dry run had no queue to


def test_the_dry_runs_error_types_are_recorded_error_types() -> None:
    assert set(get_args(CheckType)) <= set(ERROR_TYPES)
    assert set(get_args(FindingType)) == set(PROCESSOR_INVALID) - {"event_id_conflict"}
