"""The events table's one definition: the columns of the contract, and the row of an event."""

from __future__ import annotations

from datetime import datetime

from theeye.analytics.table import COLUMN_NAMES, COLUMNS, row_of


def test_an_event_becomes_a_flat_row() -> None:
    event = {
        "event_id": "ev-1",
        "application_id": "web",
        "session_id": "s-1",
        "category": "page interaction",
        "name": "page view",
        "data": {"path": "/pricing", "ms": 3},
        "timestamp": "2026-12-01T09:15:27.243860Z",
        "client_timestamp": "2026-12-01T09:15:28.000000Z",
        "received_at": "2026-12-01T09:15:29.000001Z",
        "context": {
            "ip": "203.0.113.0",
            "browser": {"family": "Chrome", "version": "120.0"},
            "os": {"family": "Windows"},
            "bot": False,
            "page": {"url": "https://example.com/pricing", "host": "example.com", "path": "/pricing"},
            "campaign": {"name": "spring", "source": "newsletter"},
        },
    }
    row = row_of(event)
    assert list(row) == list(COLUMN_NAMES)
    assert row["event_time"] == datetime(2026, 12, 1, 9, 15, 27, 243860)
    assert row["client_time"] == datetime(2026, 12, 1, 9, 15, 28)
    assert row["data"] == '{"path":"/pricing","ms":3}'
    assert (row["browser"], row["browser_version"], row["os"], row["os_version"]) == (
        "Chrome",
        "120.0",
        "Windows",
        None,
    )
    assert row["bot"] is False and row["country"] is None
    assert (row["utm_campaign"], row["utm_source"], row["utm_medium"]) == ("spring", "newsletter", None)
    assert row["page_path"] == "/pricing" and row["referrer_medium"] is None


def test_an_event_without_context_has_null_context_columns() -> None:
    event = {
        "event_id": "ev-2",
        "application_id": "web",
        "session_id": "s-2",
        "category": "c",
        "name": "n",
        "data": {},
        "timestamp": "2026-12-01T09:15:27.000000Z",
        "received_at": "2026-12-01T09:15:27.000000Z",
        "context": {},
    }
    row = row_of(event)
    assert row["client_time"] == row["event_time"]
    assert all(row[column.name] is None for column in COLUMNS if column.context_path)
