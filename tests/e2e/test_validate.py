"""``POST /events/validate`` through ``make run``'s stack (embedded backend) over HTTP: every check
answered, the same 400/413/401/403 and CORS as ``POST /events``, and nothing written anywhere:
the ledger, the queue and the error store are as they were, once the pipeline is idle again."""

from __future__ import annotations

import io
import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from theeye_client import Client

from tests.e2e.ledger import settled
from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack
from tests.support import eventually
from theeye_cli.__main__ import main

pytestmark = pytest.mark.e2e
HOST = {"host": "www.example.com", "path": "/"}


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """A stack of its own, rejecting unknown event types (as ``UNKNOWN_EVENT_TYPES=reject`` in
    the shell sets it for every function), whose ledger no other suite moves meanwhile."""
    stack = start_stack(tmp_path_factory.mktemp("validate-stack"), UNKNOWN_EVENT_TYPES="reject")
    yield stack
    stop_stack(stack)


def event(session: str, **changes: Any) -> dict[str, Any]:
    value = {"session_id": session, "category": "page interaction", "name": "pageview", "data": dict(HOST)}
    return {**value, "timestamp": datetime.now(UTC).isoformat(), **changes}


def post(stack: LocalStackHandle, path: str, body: Any, **headers: str) -> Any:
    return stack.request(
        "POST", path, body=body, headers={"Authorization": f"Bearer {stack.ingest_key}", **headers}
    )


def get(stack: LocalStackHandle, path: str) -> Any:
    answer = stack.request("GET", path, headers={"Authorization": f"Bearer {stack.query_key}"})
    assert answer.status == 200, answer.body
    return answer.json()


def test_every_check_is_answered_through_the_stack(local_stack: LocalStackHandle) -> None:
    session = f"validate-{uuid.uuid4()}"
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    events = [
        event(session, event_id=f"{session[-12:]}.ok"),
        {"session_id": session},
        event(session, name="submit", category="form interaction", data={**HOST, "form": {"a": 1}}),
        event(session, timestamp=soon),
        event(session, name="hover"),
    ]
    answer = post(local_stack, "/events/validate", events)
    assert answer.status == 200, answer.body
    report = answer.json()
    assert (report["valid"], report["invalid"]) == (1, 4)
    assert [sorted({e["type"] for e in r["errors"]}) for r in report["results"]] == [
        [],
        ["invalid_envelope"],
        ["schema_violation"],
        ["future_timestamp"],
        ["unknown_event_type"],
    ]
    assert report["results"][2]["errors"][0]["field"] == "data.form.a"


def test_nothing_is_queued_stored_counted_or_recorded(local_stack: LocalStackHandle) -> None:
    # Given a pipeline that has already stored and refused some events, now idle
    session = f"validate-{uuid.uuid4()}"
    assert (
        post(local_stack, "/events", [event(session), event(session, name="hover"), {"x": 1}]).status == 202
    )
    before = settled(local_stack)
    errors_before = get(local_stack, "/errors?limit=1000")["items"]
    # When every kind of request is validated: mixed, all invalid, not JSON, too large, a beacon
    sent = [
        post(
            local_stack,
            "/events/validate",
            [event(session, event_id="would-be"), event(session, name="hover")],
        ),
        post(local_stack, "/events/validate", [{"x": 1}, 7]),
        post(local_stack, "/events/validate", b'{"session_id": '),
        post(local_stack, "/events/validate", b"[" + b" " * (1024 * 1024) + b"]"),
        local_stack.request(
            "POST",
            f"/events/validate?key={local_stack.ingest_key}",
            body=json.dumps(event(session)).encode(),
            headers={"Content-Type": "text/plain"},
        ),
    ]
    assert [answer.status for answer in sent] == [200, 200, 400, 413, 200]
    assert sent[2].json()["error"]["code"] == "invalid_json"
    # Then, once an event sent afterwards has been stored, only that event has moved anything
    marker = event(session, event_id=f"marker-{uuid.uuid4().hex[:12]}")
    assert post(local_stack, "/events", marker).status == 202

    def marker_stored() -> dict[str, Any] | None:
        ledger = settled(local_stack)
        return ledger if ledger["stored"] != before["stored"] else None

    after = eventually("the marker event stored", marker_stored)
    moved = {"accepted": before["accepted"] + 1, "stored": before["stored"] + 1}
    assert {k: after[k] for k in moved} == moved
    assert {k: v for k, v in after.items() if k not in moved} == {
        k: v for k, v in before.items() if k not in moved
    }
    assert get(local_stack, "/errors?limit=1000")["items"] == errors_before
    assert (
        local_stack.request(
            "GET", "/events/would-be", headers={"Authorization": f"Bearer {local_stack.query_key}"}
        ).status
        == 404
    )


def test_keys_are_checked_as_for_post_events(local_stack: LocalStackHandle) -> None:
    body = [event("s-keys")]
    for headers, status in (({}, 401), ({"Authorization": f"Bearer {local_stack.query_key}"}, 403)):
        validated = local_stack.request("POST", "/events/validate", body=body, headers=headers)
        ingested = local_stack.request("POST", "/events", body=body, headers=headers)
        assert validated.status == ingested.status == status
        assert validated.json()["error"]["code"] == ingested.json()["error"]["code"]


def test_cors_is_the_same_as_for_post_events(local_stack: LocalStackHandle) -> None:
    def headers_of(answer: Any) -> dict[str, str]:
        skip = {"apigw-requestid", "date", "content-length"}
        return {k.lower(): v for k, v in answer.headers.items() if k.lower() not in skip}

    preflight = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type",
    }
    validate = local_stack.request("OPTIONS", "/events/validate", headers=preflight)
    ingest = local_stack.request("OPTIONS", "/events", headers=preflight)
    assert validate.status == ingest.status == 204
    assert headers_of(validate) == headers_of(ingest)
    origin = {"Origin": "https://app.example"}
    answered = post(local_stack, "/events/validate", [event("s-cors")], **origin)
    accepted = post(local_stack, "/events", [event("s-cors")], **origin)
    assert (answered.status, accepted.status) == (200, 202)
    cors = {k: v for k, v in headers_of(accepted).items() if k.startswith("access-control-")}
    assert cors and {k: v for k, v in headers_of(answered).items() if k.startswith("access-control-")} == cors


def test_the_client_and_the_cli_validate_through_the_stack(
    local_stack: LocalStackHandle, tmp_path: Path
) -> None:
    events = [event("s-tools"), event("s-tools", name="cta click")]
    with Client(local_stack.ingest_key, local_stack.base_url) as client:
        report = client.validate(events)
    assert (report.valid, report.invalid) == (1, 1)
    assert [p.field for p in report.results[1].errors] == ["data.element"]
    path = tmp_path / "events.json"
    path.write_text(json.dumps(events))
    out, err = io.StringIO(), io.StringIO()
    code = main(["--state", str(local_stack.state_file), "validate", str(path), "--json"], out=out, err=err)
    assert code == 1, err.getvalue()
    online = json.loads(out.getvalue())
    assert [r["valid"] for r in online["results"]] == [True, False]
    # the same file judged offline: the same verdicts (and ids: the stack's key is local-app's)
    offline = io.StringIO()
    assert main(["validate", str(path), "--json"], out=offline, err=err) == 1
    assert json.loads(offline.getvalue()) == online
