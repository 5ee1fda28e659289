"""Event context end to end through `make run`'s stack, on both backends: what a sender says
about the visit and what the request says (its User-Agent, its source address) come back
enriched with every event; a resend from another browser is a duplicate; the Segment routes
fill the same fields; and no end user's raw address is written anywhere the stack writes."""

from __future__ import annotations

import ipaddress
import json
import uuid
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import BACKENDS, LocalStackHandle, start_stack, stop_stack
from tests.support import eventually

pytestmark = pytest.mark.e2e

CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.1 Mobile/15E148 Safari/604.1"
)
PAGE = {
    "url": "https://shop.example/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=winter#plans",
    "referrer": "https://www.google.com/search?q=the+eye",
    "title": "Pricing",
}


def event(session: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session,
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "shop.example", "path": "/pricing"},
        "timestamp": "2021-01-01T09:15:27.243860Z",
        **fields,
    }


def send(
    stack: LocalStackHandle, path: str, body: Any, headers: dict[str, str] | None = None
) -> tuple[int, Any]:
    answer = stack.request(
        "POST", path, body=body, headers={"Authorization": f"Bearer {stack.ingest_key}", **(headers or {})}
    )
    return answer.status, answer.json()


def get(stack: LocalStackHandle, path: str, **params: Any) -> Any:
    query = f"?{urlencode(params)}" if params else ""
    answer = stack.request("GET", path + query, headers={"Authorization": f"Bearer {stack.query_key}"})
    assert answer.status == 200, answer.body
    return answer.json()


def stored(stack: LocalStackHandle, session: str, count: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = get(stack, f"/sessions/{session}/events")["items"]
        return items if len(items) >= count else None

    return eventually(f"{count} stored events of session {session}", found)


# ------------------------------------------------------------------ what comes back


@pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)
def test_an_event_comes_back_with_its_context_enriched(local_stack: LocalStackHandle) -> None:
    session = f"context-{uuid.uuid4()}"
    sent = {
        "page": PAGE,
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 1280, "height": 720},
        "ip": "8.8.8.8",  # a server forwarding its visitor's address (Google Public DNS: US)
    }
    status, answer = send(local_stack, "/events", event(session, context=sent), {"User-Agent": CHROME})
    assert status == 202, answer
    (found,) = stored(local_stack, session, 1)
    assert found["context"] == {
        "ip": "8.8.8.0",
        "country": "US",
        "user_agent": CHROME,
        "browser": {"family": "Chrome", "version": "120.0"},
        "os": {"family": "Windows", "version": "10"},
        "device": "desktop",
        "bot": False,
        "page": {
            "url": "https://shop.example/pricing",
            "host": "shop.example",
            "path": "/pricing",
            "title": "Pricing",
            "referrer": "https://www.google.com/search",
        },
        "referrer": {"host": "www.google.com", "medium": "search", "source": "Google"},
        "campaign": {"source": "newsletter", "medium": "email", "name": "winter"},
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 1280, "height": 720},
    }
    assert get(local_stack, f"/events/{found['event_id']}")["context"] == found["context"]
    listed = get(local_stack, "/events", session_id=session)["items"]
    assert [e["context"] for e in listed] == [found["context"]]


@pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)
def test_without_a_sent_context_the_request_gives_the_user_agent_and_address(
    local_stack: LocalStackHandle,
) -> None:
    session = f"context-request-{uuid.uuid4()}"
    status, _ = send(local_stack, "/events", event(session), {"User-Agent": "curl/8.5.0"})
    assert status == 202
    (found,) = stored(local_stack, session, 1)
    # the stack is reached over loopback: its source address, anonymised, and no country
    assert found["context"] == {
        "ip": "127.0.0.0",
        "user_agent": "curl/8.5.0",
        "browser": {"family": "curl", "version": "8.5"},
        "device": "bot",
        "bot": True,
    }


@pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)
def test_a_resend_from_another_browser_is_a_duplicate_and_the_first_context_stays(
    local_stack: LocalStackHandle,
) -> None:
    session = f"context-resend-{uuid.uuid4()}"
    first = event(session, context={"page": PAGE})  # no event_id: derived from the content
    status, answer = send(local_stack, "/events", first, {"User-Agent": CHROME})
    assert status == 202
    (event_id,) = answer["event_ids"]
    (kept,) = stored(local_stack, session, 1)
    before = settled(local_stack)["duplicates"]
    again = event(session, context={"page": {"url": "https://other.example/"}, "ip": "8.8.8.8"})
    status, answer = send(local_stack, "/events", again, {"User-Agent": IPHONE})
    assert status == 202 and answer["event_ids"] == [event_id]
    assert settled(local_stack)["duplicates"] == before + 1
    assert get(local_stack, f"/sessions/{session}/events")["items"] == [kept]
    assert kept["context"]["browser"] == {"family": "Chrome", "version": "120.0"}


@pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)
def test_a_segment_message_fills_the_context_and_keeps_no_address_in_its_data(
    local_stack: LocalStackHandle,
) -> None:
    session = f"context-segment-{uuid.uuid4()}"
    message = {
        "type": "page",
        "anonymousId": session,
        "name": "Pricing",
        "context": {
            "ip": "8.8.8.8",
            "userAgent": IPHONE,
            "page": {**PAGE, "path": "/pricing", "search": "?utm_source=newsletter"},
            "locale": "de-DE",
            "timezone": "Europe/Berlin",
            "screen": {"width": 390, "height": 844, "density": 3},
            "campaign": {"name": "spring", "source": "partner"},
            "library": {"name": "analytics.js", "version": "5.0.0"},
        },
    }
    status, answer = send(local_stack, "/v1/page", message, {"User-Agent": "node-fetch"})
    assert (status, answer) == (200, {"success": True})
    (found,) = stored(local_stack, session, 1)
    context = found["context"]
    assert (context["ip"], context["country"], context["user_agent"]) == ("8.8.8.0", "US", IPHONE)
    assert (context["os"], context["device"]) == ({"family": "iOS", "version": "17.1"}, "mobile")
    assert context["page"]["url"] == "https://shop.example/pricing"
    assert context["referrer"]["medium"] == "search"
    # context.campaign is stated apart from the page and wins over its utm_* parameters
    assert context["campaign"] == {"source": "partner", "medium": "email", "name": "spring"}
    assert (context["locale"], context["timezone"]) == ("de-DE", "Europe/Berlin")
    assert context["screen"] == {"width": 390, "height": 844}
    kept = found["data"]["segment"]["context"]
    assert "ip" not in kept and kept["library"] == {"name": "analytics.js", "version": "5.0.0"}


# ------------------------------------------------------------------ the raw address, nowhere

RAW_V4 = "198.51.100.77"
RAW_V6 = "2001:db8:85a3::8a2e:370:7334"
ANONYMISED = ("198.51.100.0", "2001:db8:85a3::")


def spellings(address: str) -> list[bytes]:
    """Every way a file could hold the address: as sent, compressed, exploded, IPv4 in IPv6."""
    parsed = ipaddress.ip_address(address)
    forms = {address, str(parsed), parsed.exploded}
    if isinstance(parsed, ipaddress.IPv4Address):
        forms |= {f"::ffff:{parsed}", ipaddress.IPv6Address(f"::ffff:{parsed}").exploded}
    return [form.encode() for form in forms]


def every_ingest_route(stack: LocalStackHandle, session: str) -> None:
    """The raw addresses through each ingest route, in ``context.ip`` and ``X-Forwarded-For``:
    events stored (4), rejected at ingest (5) and by the processor (1), and a dry run."""
    forwarded = {"X-Forwarded-For": f"{RAW_V4}, {RAW_V6}", "User-Agent": CHROME}
    good = event(session, category="privacy", context={"ip": RAW_V4, "page": PAGE})
    good_v6 = event(session, category="privacy", name="click", context={"ip": RAW_V6})
    broken = event(session, name="", context={"ip": RAW_V4})  # an invalid envelope
    bad_ip = event(session, context={"ip": f"{RAW_V4}0"})  # not an address, holding the raw one
    schema_broken = event(session, data={}, context={"ip": RAW_V6})  # a pageview without host
    not_json = f'{{"session_id": "{session}", "context": {{"ip": "{RAW_V4}"}}, '.encode()
    segment = {"anonymousId": session, "context": {"ip": RAW_V6, "userAgent": IPHONE}}
    batch = {"batch": [{**segment, "type": "identify", "context": {}}], "context": {"ip": RAW_V4}}
    answers = [
        send(stack, "/events", [good, good_v6, broken, bad_ip, schema_broken], forwarded),
        send(stack, "/events", [broken], forwarded),  # every event rejected: a 400
        send(stack, "/events/validate", [good, broken, bad_ip], forwarded),
        send(stack, "/events", not_json, forwarded),
        send(stack, "/v1/track", {**segment, "event": "Bought"}, forwarded),
        send(stack, "/v1/track", segment, forwarded),  # no event name: rejected
        send(stack, "/v1/batch", batch, forwarded),
    ]
    assert [status for status, _ in answers] == [202, 400, 200, 400, 200, 400, 200], answers


def recorded_errors(stack: LocalStackHandle, session: str, count: int) -> list[dict[str, Any]]:
    def found() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = get(stack, "/errors", limit=1000)["items"]
        return items if len(items) >= count else None

    return eventually(f"{count} recorded errors of session {session}", found)


@pytest.mark.parametrize("backend", BACKENDS)
def test_no_raw_client_address_is_written_anywhere(backend: str, tmp_path: Path) -> None:
    """Every file of a stack of its own (database, write-ahead log, function logs, stack log):
    neither raw address in any spelling, while the anonymised ones are stored."""
    stack = start_stack(tmp_path, THEEYE_BACKEND=backend)
    try:
        session = f"privacy-{uuid.uuid4()}"
        every_ingest_route(stack, session)
        kept = stored(stack, session, 4)
        v4, v6 = ANONYMISED
        assert sorted(e["context"]["ip"] for e in kept) == sorted([v4, v6, v6, v4])
        errors = recorded_errors(stack, session, 6)
        settled(stack)
    finally:
        stop_stack(stack)
    shown = json.dumps(errors)
    leaked = [form for address in (RAW_V4, RAW_V6) for form in spellings(address) if form.decode() in shown]
    assert not leaked, f"the recorded errors show {leaked}"
    written = {path: path.read_bytes() for path in sorted(tmp_path.rglob("*")) if path.is_file()}
    assert any(path.suffix == ".jsonl" for path in written), sorted(map(str, written))
    for address in (RAW_V4, RAW_V6):
        for form in spellings(address):
            holding = [str(path.relative_to(tmp_path)) for path, data in written.items() if form in data]
            assert not holding, f"{form.decode()} is written in {holding}"
    if backend == "embedded":  # the store is a file (and its write-ahead log): it holds them
        database = b"".join(data for path, data in written.items() if path.is_relative_to(stack.data_dir))
        for anonymised in ANONYMISED:
            assert anonymised.encode() in database
