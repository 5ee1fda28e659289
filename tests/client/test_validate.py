"""``Client.validate``: the dry run of ``POST /events/validate`` with a typed answer, retried like a
delivery when the network or the server fails, and refused like one when the request is wrong.

The fake API answers with the server's own dry run, so the verdicts here are the server's."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import pytest
from theeye_client import (
    ApiError,
    BadRequest,
    Client,
    EventVerdict,
    PayloadTooLarge,
    ServiceUnavailable,
    Unauthorized,
    ValidationErrorType,
    ValidationProblem,
    ValidationReport,
)

from tests.client.conftest import Sleeps
from tests.client.fake_api import Drop, FakeApi, Status
from theeye import api_models
from theeye.checks import CheckType, Rules
from theeye.events import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST

HOST = {"host": "www.example.com", "path": "/"}


def event(**changes: Any) -> dict[str, Any]:
    value = {"session_id": "s-1", "category": "page interaction", "name": "pageview", "data": dict(HOST)}
    return {**value, "timestamp": datetime.now(UTC).isoformat(), **changes}


def test_each_event_gets_the_servers_verdict_typed(make_client: Callable[..., Client], api: FakeApi) -> None:
    # Given a valid event, one with a broken payload and one with a broken envelope
    events = [event(event_id="ok-1"), event(name="cta click"), {"session_id": "s"}]
    # When they are validated
    report = make_client().validate(events)
    # Then the report says what the pipeline would make of each
    assert isinstance(report, ValidationReport)
    assert (report.valid, report.invalid, report.ok) == (1, 2, False)
    ok, broken, envelope = report.results
    assert ok == EventVerdict(0, "ok-1", True, ())
    assert broken.event_id is not None and broken.event_id.startswith("dv1-")
    assert broken.errors == (ValidationProblem("schema_violation", "data.element", "is required"),)
    assert envelope.event_id is None
    assert {p.type for p in envelope.errors} == {"invalid_envelope"}
    assert [p.field for p in envelope.errors] == ["category", "name", "data", "timestamp"]
    assert report.failures() == [broken, envelope]


def test_the_events_are_sent_as_given_and_nothing_is_delivered(
    make_client: Callable[..., Client], api: FakeApi
) -> None:
    client = make_client()
    single = event(timestamp="2021-01-01 09:15:27.243860")
    assert client.validate(single).ok
    (request,) = api.posts()
    assert request.path == "/events/validate"
    assert json.loads(request.body) == single  # no event_id, timestamp or sent_at added
    assert request.headers["content-type"] == "application/json"
    assert api.deliveries == []
    assert client.stats().queued == 0


def test_future_timestamps_and_unknown_types_are_reported(
    make_client: Callable[..., Client], api: FakeApi
) -> None:
    api.rules = Rules(unknown_event_types="reject")
    soon = (datetime.now(UTC) + timedelta(minutes=5)).isoformat()
    report = make_client().validate([event(timestamp=soon), event(name="hover")])
    assert [[p.type for p in r.errors] for r in report.results] == [
        ["future_timestamp"],
        ["unknown_event_type"],
    ]


def test_a_request_post_events_would_refuse_raises_the_same_error(
    make_client: Callable[..., Client], api: FakeApi, sleeps: Sleeps
) -> None:
    client = make_client()
    with pytest.raises(BadRequest) as empty:
        client.validate([])
    assert empty.value.code == "empty_batch"
    with pytest.raises(BadRequest) as many:
        client.validate([event()] * (MAX_EVENTS_PER_REQUEST + 1))
    assert many.value.code == "too_many_events"
    with pytest.raises(PayloadTooLarge):
        client.validate([event(data={**HOST, "pad": "x" * (MAX_BODY_BYTES // 2)})] * 2)
    assert sleeps.delays == []  # refused for good: not retried


def test_an_unknown_key_raises_unauthorized_without_a_retry(api: FakeApi, sleeps: Sleeps) -> None:
    with Client("eye_not-the-key", api.url, sleep=sleeps) as client, pytest.raises(Unauthorized):
        client.validate(event())
    assert len(api.posts()) == 1


def test_network_errors_and_5xx_are_retried_then_answered(
    make_client: Callable[..., Client], api: FakeApi, sleeps: Sleeps
) -> None:
    api.faults.extend([Drop(), Status(503, "service_unavailable", (("Retry-After", "2"),))])
    report = make_client().validate([event()])
    assert report.ok
    assert len(api.posts()) == 3
    assert len(sleeps.delays) == 2 and sleeps.delays[1] >= 2


def test_it_gives_up_after_max_retries(make_client: Callable[..., Client], api: FakeApi) -> None:
    api.always = Status(503, "service_unavailable")
    with pytest.raises(ServiceUnavailable):
        make_client(max_retries=2).validate([event()])
    assert len(api.posts()) == 3


def test_an_answer_of_another_shape_is_an_invalid_response(
    make_client: Callable[..., Client], api: FakeApi
) -> None:
    api.validate = lambda request: (200, {"valid": 1}, {})  # type: ignore[method-assign]
    with pytest.raises(ApiError) as raised:
        make_client().validate([event()])
    assert raised.value.code == "invalid_response"


def test_events_that_are_not_json_raise_value_error_before_any_request(
    make_client: Callable[..., Client], api: FakeApi
) -> None:
    with pytest.raises(ValueError, match="JSON"):
        make_client().validate([event(data={"x": float("nan")})])
    with pytest.raises(ValueError, match="JSON"):
        make_client().validate([event(timestamp=datetime.now(UTC))])  # type: ignore[dict-item]
    assert api.posts() == []


# -- the client's copy of the answer's shape is the server's (the client may not import it) --


@pytest.mark.parametrize(
    ("ours", "theirs"),
    [
        (ValidationReport, api_models.ValidationReport),
        (EventVerdict, api_models.ValidatedEvent),
        (ValidationProblem, api_models.ValidationProblem),
    ],
)
def test_the_reports_fields_are_the_servers(ours: type, theirs: type[Any]) -> None:
    assert [f.name for f in dataclasses.fields(ours)] == list(theirs.model_fields)


def test_the_reports_error_types_are_the_servers() -> None:
    assert get_args(ValidationErrorType) == get_args(CheckType)
