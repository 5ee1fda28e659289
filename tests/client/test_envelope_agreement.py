"""The three statements of the event envelope agree, field by field, limit by limit, input by input.

* ``theeye.events``: the constants and ``validate_event``, the contract (docs/API.md, "POST /events");
* ``theeye_client._envelope``: the Python client's copy, which may not import the server;
* ``theeye.api_models.EventIn`` (and ``EventBatch``), from which docs/openapi.json is generated.

Three kinds of check: the client's constants equal the server's; EventIn's JSON Schema carries the
server's constants; and every boundary input gets the same verdict from the client's
``build_event``, from ``validate_event`` and from EventIn's own (pydantic) validation.

EventIn cannot express two rules; only they are left out of its verdicts (``Case.no_keyword``),
and its descriptions state them instead:

* the event's size (``MAX_EVENT_BYTES`` of compact UTF-8 JSON): a measure of the whole object,
  which no JSON Schema keyword takes;
* the timestamp's grammar: ``datetime.fromisoformat`` on the text without surrounding spaces,
  of at most ``MAX_TIME_TEXT_LENGTH`` characters. ``format: date-time`` (RFC 3339) is narrower, and
  a ``maxLength`` would count the spaces the server strips first.

Some inputs cannot be sent with the client at all: a missing or extra field, ``null`` data or
timestamp (to ``track`` None means "not given": it sends ``{}`` or now), something other than an
object. The client's verdict on those is "refused", and the server must refuse them too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import TypeAdapter, ValidationError
from theeye_client import Client
from theeye_client import _envelope as client

from ingest.logic import ingest
from theeye import context as server_context
from theeye import events as server
from theeye.api_models import EventBatch, EventIn
from theeye.errors import InvalidRequest
from theeye.messages import Origin, QueueMessage

APP = "app-1"
NOW = datetime(2026, 11, 23, 10, 0, 0, 123456, tzinfo=UTC)
DOCUMENT = Path(__file__).parents[2] / "docs" / "openapi.json"

# ------------------------------------------------------------------ the client's constants


@pytest.mark.parametrize(
    "name",
    [
        "MAX_BODY_BYTES",
        "MAX_EVENT_BYTES",
        "MAX_EVENTS_PER_REQUEST",
        "MAX_TEXT_LENGTH",
        "MAX_TIME_TEXT_LENGTH",
        "EVENT_ID_CHARACTERS",
        "MAX_EVENT_ID_LENGTH",
    ],
)
def test_the_clients_limit_is_the_servers(name: str) -> None:
    assert getattr(client, name) == getattr(server, name)


@pytest.mark.parametrize(
    "name", ["MAX_CONTEXT_BYTES", "MAX_USER_AGENT_LENGTH", "MAX_LABEL_LENGTH", "PAGE_LIMITS", "SCREEN_FIELDS"]
)
def test_the_clients_context_limit_is_the_servers(name: str) -> None:
    assert getattr(client, name) == getattr(server_context, name)


def test_the_clients_context_fields_are_the_servers() -> None:
    assert set(client.CONTEXT_FIELDS) == set(server_context.CONTEXT_RULES)


def test_the_clients_event_id_pattern_is_the_servers() -> None:
    assert client.EVENT_ID_PATTERN.pattern == server.EVENT_ID_PATTERN.pattern
    assert client.EVENT_ID_PATTERN.flags == server.EVENT_ID_PATTERN.flags


SENT_AT = client.format_time(NOW)  # what every attempt adds: the client's clock then


def test_the_client_sends_the_envelope_fields_and_no_other() -> None:
    _, body = client.build_event("s", "c", "n", None, None, None, NOW, {"locale": "en"})
    assert sorted(json.loads(client.with_sent_at(body, SENT_AT))) == sorted(server.ENVELOPE_FIELDS)
    _, body = client.build_event("s", "c", "n", None, None, None, NOW)  # no context: none sent
    assert "context" not in json.loads(body)


def test_the_room_kept_for_sent_at_is_what_it_takes() -> None:
    _, body = client.build_event("s", "c", "n", None, None, None, NOW)
    assert len(client.with_sent_at(body, SENT_AT)) - len(body) == client.SENT_AT_BYTES
    assert client.SENT_AT_FIELD in server.OPTIONAL_FIELDS


# ------------------------------------------------------------------ EventIn's schema

SCHEMA = EventIn.model_json_schema()
PROPERTIES: dict[str, Any] = SCHEMA["properties"]
KEYWORDS = ("type", "minLength", "maxLength", "pattern", "format", "anyOf")


def keywords(field: str) -> dict[str, Any]:
    return {k: v for k, v in PROPERTIES[field].items() if k in KEYWORDS}


def test_eventin_has_the_envelope_fields_the_required_ones_and_no_other() -> None:
    assert set(PROPERTIES) == set(server.ENVELOPE_FIELDS)
    assert set(SCHEMA["required"]) == set(server.REQUIRED_FIELDS)
    assert set(server.ENVELOPE_FIELDS) - set(server.REQUIRED_FIELDS) == set(server.OPTIONAL_FIELDS)
    assert SCHEMA["additionalProperties"] is False


@pytest.mark.parametrize("field", server.TEXT_FIELDS)
def test_eventin_text_fields_carry_the_length_limit_and_the_not_blank_pattern(field: str) -> None:
    assert keywords(field) == {
        "type": "string",
        "minLength": 1,
        "maxLength": server.MAX_TEXT_LENGTH,
        "pattern": server.NOT_BLANK_PATTERN,
    }


def test_eventin_data_is_any_object() -> None:
    assert keywords("data") == {"type": "object"}


def test_eventin_timestamp_is_a_string_whose_rule_is_described_not_keyworded() -> None:
    assert keywords("timestamp") == {"type": "string"}  # see the module docstring
    assert f"at most {server.MAX_TIME_TEXT_LENGTH} characters" in PROPERTIES["timestamp"]["description"]


def test_eventin_event_id_carries_the_servers_pattern_anchored_or_null() -> None:
    assert keywords("event_id") == {
        "anyOf": [{"type": "string", "pattern": f"^{server.EVENT_ID_PATTERN.pattern}$"}, {"type": "null"}]
    }
    assert PROPERTIES["event_id"]["default"] is None


def test_eventin_states_the_event_size_it_cannot_check() -> None:
    assert f"at most {server.MAX_EVENT_BYTES // 1024} KiB" in SCHEMA["description"]


def test_an_array_body_holds_1_to_max_events() -> None:
    schema = TypeAdapter(EventBatch).json_schema()
    assert (schema["type"], schema["minItems"], schema["maxItems"]) == (
        "array",
        1,
        server.MAX_EVENTS_PER_REQUEST,
    )


def test_the_committed_document_says_what_eventin_says() -> None:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    ref = "#/components/schemas/{model}"
    schema = EventIn.model_json_schema(ref_template=ref)
    for name, nested in schema.pop("$defs").items():  # the context's models: components of their own
        assert document["components"]["schemas"][name] == nested
    assert document["components"]["schemas"]["EventIn"] == schema
    body = document["paths"]["/events"]["post"]["requestBody"]
    array = body["content"]["application/json"]["schema"]["oneOf"][1]
    assert (array["minItems"], array["maxItems"]) == (1, server.MAX_EVENTS_PER_REQUEST)
    assert f"1-{server.MAX_EVENTS_PER_REQUEST}" in body["description"]
    assert f"At most {server.MAX_BODY_BYTES // 1024 // 1024} MiB" in body["description"]


# ------------------------------------------------------------------ the same verdicts


def server_accepts(raw: Any) -> bool:
    return isinstance(server.validate_event(raw, APP), server.Event)


def eventin_accepts(raw: Any) -> bool:
    """EventIn's verdict on the JSON text, as the document describes a request body."""
    try:
        EventIn.model_validate_json(json.dumps(raw))
    except ValidationError:
        return False
    return True


def client_accepts(raw: Any) -> bool:
    """``build_event``'s verdict; False for an input no call of ``track`` can send.

    When it accepts, what it would send must be accepted by the server and stamped alike. Every
    attempt of the client adds its clock as ``sent_at``: an input whose ``sent_at`` is not that
    cannot be sent with the client.
    """
    if (
        not isinstance(raw, dict)
        or set(raw) - set(server.ENVELOPE_FIELDS)
        or any(raw.get(field) is None for field in server.REQUIRED_FIELDS)
        or raw.get("sent_at") != SENT_AT
    ):
        return False
    try:
        event, body = client.build_event(
            raw["session_id"],
            raw["category"],
            raw["name"],
            raw["data"],
            raw["timestamp"],
            raw.get("event_id"),
            NOW,
            raw.get("context"),
        )
    except ValueError:
        return False
    sent = server.validate_event(json.loads(client.with_sent_at(body, SENT_AT)), APP)
    assert isinstance(sent, server.Event), f"the client sent what the server refuses: {sent}"
    assert sent.client_timestamp == event["timestamp"]
    return True


def valid(**changes: Any) -> dict[str, Any]:
    """A valid event in the client's field order and timestamp form (so it measures the same);
    ``field=...`` leaves the field out."""
    event: dict[str, Any] = {
        "event_id": "order-42.click",
        "session_id": "e6fa79ca-d142-4046-a134-5134f16a0b5e",
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "www.example.com"},
        "timestamp": "2021-01-01T09:15:27.243860Z",
        "sent_at": SENT_AT,
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def of_size(size: int, char: str) -> dict[str, Any]:
    """A valid event of exactly ``size`` bytes of compact JSON, its data padded with ``char``."""
    base = len(server.compact_json(valid(data={"pad": ""})).encode("utf-8"))
    width = len(char.encode("utf-8"))
    room = size - base
    event = valid(data={"pad": char * (room // width) + "x" * (room % width)})
    assert len(server.compact_json(event).encode("utf-8")) == size
    return event


@dataclass(frozen=True)
class Case:
    raw: Any
    accepted: bool  # the contract's verdict: validate_event's
    no_keyword: str | None = None  # the rule EventIn cannot express, when that decides the case


SIZE = "the event's size: a measure of the whole object"
CONTEXT_SIZE = "the context's size: a measure of the whole object"
GRAMMAR = "the timestamp's ISO-8601 grammar and length (of the stripped text)"
MAX = server.MAX_TEXT_LENGTH
ASTRAL = "\U0001f600"  # one code point, two UTF-16 units, four UTF-8 bytes


def cases() -> dict[str, Case]:
    found: dict[str, Case] = {"a valid event": Case(valid(), True)}
    for field in server.TEXT_FIELDS:
        found |= {
            f"{field} of 1 character": Case(valid(**{field: "a"}), True),
            f"{field} at the limit": Case(valid(**{field: "x" * MAX}), True),
            f"{field} one over": Case(valid(**{field: "x" * (MAX + 1)}), False),
            f"{field} at the limit in astral characters": Case(valid(**{field: ASTRAL * MAX}), True),
            f"{field} one over in astral characters": Case(valid(**{field: ASTRAL * (MAX + 1)}), False),
            f"{field} at the limit in 2-byte characters": Case(valid(**{field: "é" * MAX}), True),
            f"{field} at the limit with a leading space": Case(valid(**{field: " " + "x" * (MAX - 1)}), True),
            f"{field} over the limit by its leading space": Case(valid(**{field: " " + "x" * MAX}), False),
            f"{field} empty": Case(valid(**{field: ""}), False),
            f"{field} a space": Case(valid(**{field: " "}), False),
            f"{field} tabs and newlines": Case(valid(**{field: "\t\r\n"}), False),
            f"{field} ideographic space": Case(valid(**{field: "\u3000"}), False),
            f"{field} next line and information separators": Case(valid(**{field: "\x85\x1c\x1f"}), False),
            f"{field} no-break space": Case(valid(**{field: "\xa0"}), False),
            f"{field} byte-order mark (not a space)": Case(valid(**{field: "\ufeff"}), True),
            f"{field} zero-width space (not a space)": Case(valid(**{field: "\u200b"}), True),
            f"{field} spaces around a character": Case(valid(**{field: " \u3000x\t"}), True),
            f"{field} a number": Case(valid(**{field: 1}), False),
            f"{field} a boolean": Case(valid(**{field: True}), False),
            f"{field} null": Case(valid(**{field: None}), False),
            f"{field} an array": Case(valid(**{field: ["x"]}), False),
            f"{field} an object": Case(valid(**{field: {"x": 1}}), False),
            f"{field} missing": Case(valid(**{field: ...}), False),
        }
    found |= {
        "data empty": Case(valid(data={}), True),
        "data nested": Case(valid(data={"a": [1, {"b": None}], "c": 1.5}), True),
        "data an array": Case(valid(data=[]), False),
        "data a string": Case(valid(data="x"), False),
        "data a number": Case(valid(data=1), False),
        "data null": Case(valid(data=None), False),
        "data missing": Case(valid(data=...), False),
    }
    at_limit = "2021-01-01T09:15:27." + "1" * (server.MAX_TIME_TEXT_LENGTH - 26) + "+00:00"
    assert len(at_limit) == server.MAX_TIME_TEXT_LENGTH
    over = at_limit.replace("+00:00", "1+00:00")
    for text, accepted in [
        ("2021-01-01 09:15:27.243860", True),
        ("2021-01-01T10:15:27+01:00", True),
        ("2021-01-01T09:15:27.2Z", True),
        ("2021-01-01", True),
        ("20210101T091527Z", True),
        (at_limit, True),
        (f"  {at_limit}\n", True),  # the limit counts the text without surrounding spaces
        (over, False),
        ("yesterday", False),
        ("", False),
        ("   ", False),
        ("2021-13-01", False),
        ("2021-01-01T25:00:00", False),
        ("01/01/2021", False),
        ("0001-01-01T00:00:00+01:00", False),  # before year 1 in UTC
        ("9999-12-31T23:59:59-01:00", False),  # after year 9999 in UTC
    ]:
        found[f"timestamp {text!r}"] = Case(valid(timestamp=text), accepted, None if accepted else GRAMMAR)
    found |= {
        "timestamp a number": Case(valid(timestamp=1609492527), False),
        "timestamp null": Case(valid(timestamp=None), False),
        "timestamp an array": Case(valid(timestamp=["2021-01-01"]), False),
        "timestamp missing": Case(valid(timestamp=...), False),
    }
    id_max = server.MAX_EVENT_ID_LENGTH
    found |= {
        "event_id missing": Case(valid(event_id=...), True),
        "event_id null": Case(valid(event_id=None), True),
        "event_id of 1 character": Case(valid(event_id="a"), True),
        "event_id of every allowed character": Case(valid(event_id="AZaz09._:-"), True),
        "event_id at the limit": Case(valid(event_id="x" * id_max), True),
        "event_id one over": Case(valid(event_id="x" * (id_max + 1)), False),
        "event_id empty": Case(valid(event_id=""), False),
        "event_id with a space": Case(valid(event_id="a b"), False),
        "event_id with a slash": Case(valid(event_id="a/b"), False),
        "event_id with a letter outside ASCII": Case(valid(event_id="é"), False),
        "event_id with a trailing newline": Case(valid(event_id="abc\n"), False),
        "event_id a number": Case(valid(event_id=42), False),
        "event_id a boolean": Case(valid(event_id=True), False),
        "event_id an array": Case(valid(event_id=["a"]), False),
    }
    found |= {
        "an extra field": Case(valid(colour="red"), False),
        "sent_at not a time": Case(valid(sent_at="yesterday"), False, GRAMMAR),
        "sent_at a number": Case(valid(sent_at=1700000000), False),
        "a field name in another case": Case({**valid(event_id=...), "Event_Id": "a"}, False),
        "not an object: an array": Case([valid()], False),
        "not an object: a string": Case("event", False),
        "not an object: null": Case(None, False),
    }
    found |= context_cases()
    size = server.MAX_EVENT_BYTES
    found |= {
        "an event at the size limit": Case(of_size(size, "x"), True),
        "an event one byte over": Case(of_size(size + 1, "x"), False, SIZE),
        "an event at the size limit in 2-byte characters": Case(of_size(size, "é"), True),
        "an event one byte over in 2-byte characters": Case(of_size(size + 1, "é"), False, SIZE),
        "an event at the size limit in astral characters": Case(of_size(size, ASTRAL), True),
        "an event one byte over in astral characters": Case(of_size(size + 1, ASTRAL), False, SIZE),
    }
    return found


def context_of_size(size: int) -> dict[str, Any]:
    """A valid context of exactly ``size`` bytes of compact JSON (its members within their limits)."""
    page = {"url": "", "referrer": "", "title": ""}
    room = size - len(server.compact_json({"page": page}).encode("utf-8"))
    for key in ("url", "referrer", "title"):
        take = min(room, server_context.PAGE_LIMITS[key])
        page[key], room = "u" * take, room - take
    context = {"page": page}
    assert room == 0 and len(server.compact_json(context).encode("utf-8")) == size
    return context


def context_cases() -> dict[str, Case]:
    """The context's rules, member by member (docs/API.md, the envelope's context row)."""
    ua, label = server_context.MAX_USER_AGENT_LENGTH, server_context.MAX_LABEL_LENGTH
    found: dict[str, Case] = {
        "context missing": Case(valid(context=...), True),
        "context null": Case(valid(context=None), True),
        "context empty": Case(valid(context={}), True),
        "context of every field": Case(
            valid(
                context={
                    "page": {"url": "https://shop.example/p?utm_source=x", "referrer": "", "title": "P"},
                    "user_agent": "Mozilla/5.0",
                    "ip": "198.51.100.77",
                    "locale": "en-GB",
                    "timezone": "Europe/London",
                    "screen": {"width": 1280, "height": 720},
                }
            ),
            True,
        ),
        "context an array": Case(valid(context=[]), False),
        "context a string": Case(valid(context="x"), False),
        "context with another key": Case(valid(context={"library": "x"}), False),
        "context.ip IPv6": Case(valid(context={"ip": "2001:db8:85a3::8a2e:370:7334"}), True),
        "context.ip IPv4 mapped into IPv6": Case(valid(context={"ip": "::ffff:198.51.100.77"}), True),
        "context.ip not an address": Case(valid(context={"ip": "localhost"}), False),
        "context.ip with a leading zero": Case(valid(context={"ip": "198.51.100.077"}), False),
        "context.ip with a space": Case(valid(context={"ip": " 198.51.100.77"}), False),
        "context.ip a number": Case(valid(context={"ip": 3325256781}), False),
        "context.user_agent at the limit": Case(valid(context={"user_agent": "a" * ua}), True),
        "context.user_agent one over": Case(valid(context={"user_agent": "a" * (ua + 1)}), False),
        "context.user_agent null": Case(valid(context={"user_agent": None}), False),
        "context.page empty": Case(valid(context={"page": {}}), True),
        "context.page a string": Case(valid(context={"page": "https://x"}), False),
        "context.page with another key": Case(valid(context={"page": {"path": "/"}}), False),
        "context.page.url null": Case(valid(context={"page": {"url": None}}), False),
        "context.screen.width a float": Case(valid(context={"screen": {"width": 1.0}}), False),
        "context.screen.width a boolean": Case(valid(context={"screen": {"width": True}}), False),
        "context.screen.width a string": Case(valid(context={"screen": {"width": "1"}}), False),
        "context.screen with another key": Case(valid(context={"screen": {"density": 2}}), False),
        "context.screen negative": Case(valid(context={"screen": {"width": -1, "height": 0}}), True),
    }
    for key in ("locale", "timezone"):
        found |= {
            f"context.{key} at the limit": Case(valid(context={key: "x" * label}), True),
            f"context.{key} one over": Case(valid(context={key: "x" * (label + 1)}), False),
            f"context.{key} at the limit in astral characters": Case(
                valid(context={key: ASTRAL * label}), True
            ),
            f"context.{key} a number": Case(valid(context={key: 1}), False),
        }
    for key, limit in server_context.PAGE_LIMITS.items():
        found |= {
            f"context.page.{key} at the limit": Case(valid(context={"page": {key: "p" * limit}}), True),
            f"context.page.{key} one over": Case(valid(context={"page": {key: "p" * (limit + 1)}}), False),
        }
    size = server_context.MAX_CONTEXT_BYTES
    found |= {
        "a context at the size limit": Case(valid(context=context_of_size(size)), True),
        "a context one byte over": Case(valid(context=context_of_size(size + 1)), False, CONTEXT_SIZE),
    }
    return found


CASES = cases()


@pytest.mark.parametrize("name", CASES)
def test_the_client_the_server_and_eventin_give_the_same_verdict(name: str) -> None:
    case = CASES[name]
    assert server_accepts(case.raw) is case.accepted, "the contract changed (or this case is wrong)"
    assert client_accepts(case.raw) is case.accepted, "the client disagrees with the server"
    if case.no_keyword is None:
        assert eventin_accepts(case.raw) is case.accepted, "EventIn (docs/openapi.json) disagrees"
    else:  # the rule it cannot express is the only reason for the server's no
        assert eventin_accepts(case.raw), f"EventIn refuses for another reason than {case.no_keyword}"


def test_the_client_measures_an_event_as_the_server_does() -> None:
    raw = of_size(server.MAX_EVENT_BYTES, "é")
    _, body = client.build_event(
        raw["session_id"], raw["category"], raw["name"], raw["data"], raw["timestamp"], raw["event_id"], NOW
    )
    assert client.with_sent_at(body, SENT_AT) == server.compact_json(raw).encode("utf-8")


class Intake:
    def __init__(self) -> None:
        self.messages: list[QueueMessage] = []

    def accept(self, messages: list[QueueMessage]) -> None:
        self.messages.extend(messages)


@pytest.mark.parametrize(
    ("count", "accepted"),
    [
        (0, False),
        (1, True),
        (server.MAX_EVENTS_PER_REQUEST, True),
        (server.MAX_EVENTS_PER_REQUEST + 1, False),
    ],
)
def test_events_per_request_the_same_for_the_client_the_server_and_eventin(
    count: int, accepted: bool
) -> None:
    batch = [valid(event_id=f"e-{i}") for i in range(count)]
    origin = Origin(APP, "key-1", "2026-11-23T10:00:00.000000Z", "req-1")
    refused: str | None = None
    try:
        ingest(json.dumps(batch).encode("utf-8"), origin=origin, intake=Intake())
    except InvalidRequest as exc:
        refused = exc.code
    assert refused == (None if accepted else "empty_batch" if count == 0 else "too_many_events")
    try:  # the client's requests hold at most batch_size events
        Client("eye_test-ingest-key", "http://127.0.0.1:9", batch_size=count).close(timeout=0)
        client_verdict = True
    except ValueError:
        client_verdict = False
    assert client_verdict is accepted
    try:
        TypeAdapter(EventBatch).validate_json(json.dumps(batch))
        eventin_verdict = True
    except ValidationError:
        eventin_verdict = False
    assert eventin_verdict is accepted
