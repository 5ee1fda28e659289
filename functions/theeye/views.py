"""What a stored event, a recorded error and a session summary look like when read back.

Every backend keeps an event's ``data`` and ``context`` and an error's ``details`` and ``payload`` as compact
JSON text beside plain fields, and a session's applications as JSON text (SQLite) or a set
(DynamoDB). ``event_view``, ``error_view`` and ``session_view`` turn such a row or item
(anything indexable by field name) into the view the API and the operators' tools show, so the
backends cannot disagree on it; ``json_field`` reads one stored JSON text back.
"""

from __future__ import annotations

import json
from typing import Any, Protocol

View = dict[str, Any]


class Stored(Protocol):
    """A row or item: ``sqlite3.Row`` and plain dicts both qualify."""

    def __getitem__(self, name: str) -> Any: ...

    def keys(self) -> Any: ...


def event_view(stored: Stored) -> View:
    present = set(stored.keys())
    client_timestamp = stored["client_timestamp"] if "client_timestamp" in present else None
    context = stored["context"] if "context" in present else None
    return {
        "event_id": stored["event_id"],
        "application_id": stored["application_id"],
        "session_id": stored["session_id"],
        "category": stored["category"],
        "name": stored["name"],
        "data": json.loads(stored["data"]),
        "timestamp": stored["timestamp"],
        "client_timestamp": client_timestamp or stored["timestamp"],
        "received_at": stored["received_at"],
        "context": json_field(context, {}),
    }


def error_view(stored: Stored) -> View:
    present = set(stored.keys())

    def field(name: str) -> Any:
        return stored[name] if name in present else None

    return {
        "error_id": stored["error_id"],
        "type": field("type"),
        "source": field("source"),
        "application_id": field("application_id"),
        "received_at": field("received_at"),
        "event_id": field("event_id"),
        "session_id": field("session_id"),
        "details": json_field(field("details"), []),
        "payload": json_field(field("payload"), None),
        "erased": bool(field("erased")),
        "replayed": json_field(field("replayed"), None),
        "key_id": field("key_id") or None,
        "request_id": field("request_id") or None,
        "context": json_field(field("context"), None),
    }


def json_field(text: Any, default: Any) -> Any:
    """Stored JSON text as a value; text that is not JSON (an old or cut payload) as it is."""
    if text is None:
        return default
    try:
        return json.loads(str(text))
    except ValueError:
        return text


def session_view(stored: Stored) -> View:
    """A session summary; ``application_ids`` kept as JSON text (SQLite) or a set (DynamoDB)."""
    apps = stored["application_ids"]
    return {
        "session_id": stored["session_id"],
        "first_seen": stored["first_seen"],
        "last_seen": stored["last_seen"],
        "events": int(stored["events"]),
        "application_ids": sorted(json.loads(apps) if isinstance(apps, str) else apps),
    }
