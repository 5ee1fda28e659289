"""The checks ``track`` makes before queueing, the id and time it stamps, and the retry arithmetic.

No network: a client that refuses an event never starts its sender.
"""

from __future__ import annotations

import json
import random
import re
from datetime import UTC, datetime, timedelta, timezone
from email.utils import formatdate
from typing import Any

import pytest
from theeye_client import Client
from theeye_client._envelope import MAX_EVENT_BYTES, SENT_AT_BYTES, build_event, to_time_text
from theeye_client._http import Backoff, parse_retry_after, retryable

NOW = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)


def event(**overrides: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "session_id": "s-1",
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "example.com"},
        "timestamp": None,
        "event_id": None,
    }
    args.update(overrides)
    built, body = build_event(now=NOW, **args)
    assert json.loads(body) == built
    return built


def test_defaults_stamp_a_utc_microsecond_timestamp_and_a_fresh_id() -> None:
    first, second = event(), event()
    assert first["timestamp"] == "2026-11-23T10:00:00.123456Z"
    assert re.fullmatch(r"[0-9a-f]{32}", first["event_id"])
    assert first["event_id"] != second["event_id"]
    assert list(first) == ["event_id", "session_id", "category", "name", "data", "timestamp"]


@pytest.mark.parametrize(
    ("given", "sent"),
    [
        (datetime(2021, 1, 1, 9, 15, 27, 243860), "2021-01-01T09:15:27.243860Z"),  # no zone: UTC
        (
            datetime(2021, 1, 1, 11, 15, 27, tzinfo=timezone(timedelta(hours=2))),
            "2021-01-01T09:15:27.000000Z",
        ),
        ("2021-01-01 09:15:27.243860", "2021-01-01T09:15:27.243860Z"),
        ("2021-01-01T10:15:27+01:00", "2021-01-01T09:15:27.000000Z"),
        ("2021-01-01T09:15:27.243860Z", "2021-01-01T09:15:27.243860Z"),
        ("2021-01-01", "2021-01-01T00:00:00.000000Z"),
    ],
)
def test_given_timestamps_are_normalised_to_utc(given: datetime | str, sent: str) -> None:
    assert event(timestamp=given)["timestamp"] == sent


def test_a_given_event_id_is_kept() -> None:
    assert event(event_id="order-42:v1.0_x")["event_id"] == "order-42:v1.0_x"


@pytest.mark.parametrize(
    ("overrides", "complaint"),
    [
        ({"session_id": ""}, "session_id"),
        ({"session_id": "   "}, "session_id"),
        ({"session_id": "x" * 129}, "session_id"),
        ({"session_id": 7}, "session_id"),
        ({"category": ""}, "category"),
        ({"category": "c" * 129}, "category"),
        ({"name": "\t"}, "name"),
        ({"name": None}, "name"),
        ({"data": [1, 2]}, "data"),
        ({"data": "text"}, "data"),
        ({"data": {"x": float("nan")}}, "NaN"),
        ({"data": {"x": float("inf")}}, "NaN"),
        ({"data": {"when": datetime(2021, 1, 1)}}, "JSON-serialisable"),
        ({"data": {"s": {1, 2}}}, "JSON-serialisable"),
        ({"timestamp": "yesterday"}, "timestamp"),
        ({"timestamp": ""}, "timestamp"),
        ({"timestamp": 1700000000}, "timestamp"),
        ({"event_id": ""}, "event_id"),
        ({"event_id": "has space"}, "event_id"),
        ({"event_id": "x" * 65}, "event_id"),
        ({"event_id": "é"}, "event_id"),
    ],
)
def test_what_the_api_would_refuse_raises_value_error(overrides: dict[str, Any], complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        event(**overrides)


def test_self_referencing_data_is_refused() -> None:
    data: dict[str, Any] = {}
    data["self"] = data
    with pytest.raises(ValueError, match="JSON-serialisable"):
        event(data=data)


def test_the_32_kib_limit_is_measured_as_the_api_does() -> None:
    """Compact UTF-8 JSON of the whole event as sent, ids, timestamp and the ``sent_at`` each
    attempt adds included: 32768 passes, 32769 not."""
    base = len(json.dumps(event(event_id="fixed", data={"pad": ""}), separators=(",", ":")).encode())
    room = MAX_EVENT_BYTES - base - SENT_AT_BYTES
    sent = json.dumps(event(event_id="fixed", data={"pad": "x" * room}), separators=(",", ":"))
    assert len(sent) + SENT_AT_BYTES == 32768
    with pytest.raises(ValueError, match="32768"):
        event(event_id="fixed", data={"pad": "x" * (room + 1)})
    # Multi-byte characters count as their UTF-8 bytes.
    with pytest.raises(ValueError, match="bytes"):
        event(event_id="fixed", data={"pad": "é" * (room // 2 + 1)})


def test_text_length_counts_characters() -> None:
    assert event(session_id="é" * 128)["session_id"] == "é" * 128


def test_track_refuses_before_queueing_and_starts_no_thread() -> None:
    client = Client("key", "http://127.0.0.1:9", flush_interval=10)
    try:
        with pytest.raises(ValueError, match="category"):
            client.track("s", "", "n")
        assert client.stats().queued == 0
        assert client._thread is None
    finally:
        client.close(timeout=0)


@pytest.mark.parametrize(
    "options",
    [
        {"batch_size": 0},
        {"batch_size": 501},
        {"max_queue_size": 0},
        {"flush_interval": 0},
        {"timeout": 0},
        {"max_retries": -1},
        {"api_key": ""},
        {"api_key": "a\nb"},
        {"endpoint": "ftp://example.com"},
        {"endpoint": "127.0.0.1:3000"},
    ],
)
def test_bad_options_are_refused(options: dict[str, Any]) -> None:
    args = {"api_key": "key", "endpoint": "http://127.0.0.1:9", **options}
    with pytest.raises(ValueError):
        Client(args.pop("api_key"), args.pop("endpoint"), **args)


def test_query_times_accept_datetimes_dates_and_text() -> None:
    assert to_time_text(datetime(2021, 1, 1, tzinfo=timezone(timedelta(hours=-5))), "start") == (
        "2021-01-01T05:00:00.000000Z"
    )
    assert to_time_text(datetime(2021, 1, 1).date(), "start") == "2021-01-01T00:00:00.000000Z"
    with pytest.raises(ValueError, match="end"):
        to_time_text("not a time", "end")


# ---------------------------------------------------------------------- retry arithmetic


def test_retry_after_in_seconds_and_as_an_http_date() -> None:
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after(" 1.5 ") == 1.5
    assert parse_retry_after("-3") == 0.0
    now = 1_800_000_000.0
    assert parse_retry_after(formatdate(now + 30, usegmt=True), now=lambda: now) == pytest.approx(30, abs=1)
    assert parse_retry_after(formatdate(now - 30, usegmt=True), now=lambda: now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_full_jitter_stays_within_a_doubling_capped_window() -> None:
    backoff = Backoff(0.5, 4.0, rng=random.Random(7))
    for retry, window in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 4.0), (5, 4.0), (40, 4.0), (10_000, 4.0)]:
        samples = [backoff.delay(retry) for _ in range(400)]
        assert all(0 <= s <= window for s in samples)
        assert min(samples) < window * 0.1 and max(samples) > window * 0.9  # really spread: jitter


def test_retry_after_is_a_floor_with_a_sanity_cap() -> None:
    backoff = Backoff(0.5, 30.0, max_retry_after=60.0, rng=random.Random(1))
    assert all(backoff.delay(1, retry_after=7) >= 7 for _ in range(100))
    assert backoff.delay(1, retry_after=10_000) == 60.0


@pytest.mark.parametrize(
    ("status", "again"),
    [
        (429, True),
        (500, True),
        (502, True),
        (503, True),
        (504, True),
        (408, True),
        (400, False),
        (401, False),
        (403, False),
        (404, False),
        (413, False),
        (422, False),
    ],
)
def test_which_statuses_are_retried(status: int, again: bool) -> None:
    assert retryable(status) is again
