"""The calls both libraries make, and what the query API must give back for each.

One list of calls in Segment's own field names (``anonymousId``, ``previousId``...), sent by
``segment-analytics-python`` and ``@segment/analytics-node`` alike; the expectation of each is
written from the contract's mapping table (docs/API.md, "Segment-compatible tracking API"), not
computed by the code under test. ``check`` compares a stored event with the message as the
library built and sent it (its ``messageId``, ``timestamp`` and ``context``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from tests.e2e.local_stack import LocalStackHandle

# the message fields that data.segment keeps, besides `type` and `context`
IDENTITIES = ("userId", "anonymousId", "groupId", "previousId")
# the stored time may differ from the sender's by the clock-skew correction: same machine here
SAME_CLOCK_SECONDS = 120.0
BODIES = {
    "track": "properties",
    "page": "properties",
    "screen": "properties",
    "identify": "traits",
    "group": "traits",
}
FAULT_LINE = re.compile(r"\[FAULT\] injected: intake\.accept \S+ (before|after)")


@dataclass(frozen=True)
class Call:
    method: str  # track, page, screen, identify, group, alias
    message: dict[str, Any]  # Segment's field names, as a Node call takes them
    category: str
    name: str
    data: dict[str, Any] = field(default_factory=dict)  # in the stored data, besides `segment`


def calls(session: str, user: str) -> list[Call]:
    """Every message type, each deriving its session (and category) from another field."""
    in_session = {"session_id": session}
    return [
        Call(
            "track",
            {
                "anonymousId": session,
                "event": "Order Completed",
                "properties": {"revenue": 19.99, "currency": "EUR"},
            },
            "track",
            "Order Completed",
            {"revenue": 19.99, "currency": "EUR"},
        ),
        Call(
            "track",
            {
                "userId": user,
                "event": "Signed Up",
                "properties": {"session_id": session, "category": "account"},
            },
            "account",
            "Signed Up",
            {"session_id": session, "category": "account"},
        ),
        Call(
            "page",
            {
                "anonymousId": session,
                "category": "Docs",
                "name": "Pricing",
                "properties": {"path": "/pricing"},
            },
            "Docs",
            "Pricing",
            {"path": "/pricing"},
        ),
        Call(
            "page", {"anonymousId": session, "properties": {"path": "/"}}, "page", "pageview", {"path": "/"}
        ),
        Call(
            "screen",
            {"userId": user, "context": in_session, "name": "Home", "properties": {"category": "mobile"}},
            "mobile",
            "Home",
            {"category": "mobile"},
        ),
        Call(
            "identify",
            {"anonymousId": session, "userId": user, "traits": {"plan": "pro", "seats": 3}},
            "identify",
            "identify",
            {"plan": "pro", "seats": 3},
        ),
        Call(
            "group",
            {"anonymousId": session, "userId": user, "groupId": "acme", "traits": {"name": "Acme"}},
            "group",
            "group",
            {"name": "Acme"},
        ),
        Call("alias", {"userId": user, "previousId": session, "context": in_session}, "alias", "alias"),
    ]


def normalised(timestamp: str) -> str:
    """A sender's ISO 8601 time as the API writes times: UTC, microseconds, ``Z``."""
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def check(stored: dict[str, Any], call: Call, sent: dict[str, Any], session: str) -> None:
    """The stored event is the contract's mapping of the message the library sent."""
    segment: dict[str, Any] = {"type": call.method}
    segment |= {key: sent[key] for key in IDENTITIES if sent.get(key) is not None}
    if sent.get("context") is not None:
        segment["context"] = sent["context"]
    assert stored["event_id"] == sent["messageId"]
    assert stored["session_id"] == session
    assert (stored["category"], stored["name"]) == (call.category, call.name)
    body = sent.get(BODIES.get(call.method, ""), {})  # as sent: Node adds a page's name to it
    assert stored["data"] == {**body, "segment": segment}
    assert call.data.items() <= stored["data"].items()
    assert stored["client_timestamp"] == normalised(sent["timestamp"])
    skew = datetime.fromisoformat(stored["timestamp"]) - datetime.fromisoformat(stored["client_timestamp"])
    assert abs(skew.total_seconds()) < SAME_CLOCK_SECONDS


def faults(stack: LocalStackHandle) -> list[str]:
    """``before`` / ``after`` for each intake fault the stack injected so far."""
    return FAULT_LINE.findall(stack.log_file.read_text(errors="replace"))
