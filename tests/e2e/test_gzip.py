"""``Content-Encoding: gzip`` on the ingest routes, through `make run`'s stack on both backends:
a compressed body is read as the plain one, the 1 MiB limit applies to what it inflates to,
a decompression bomb is a 413, and a body that is not gzip is a 400 recorded as invalid_json."""

from __future__ import annotations

import gzip
import json
import uuid

import pytest

from tests.e2e.local_stack import BACKENDS, LocalStackHandle
from tests.e2e.test_pipeline import eventually, get, session_events
from theeye.segment import ROUTES as SEGMENT_ROUTES

# every route of the ingest function: POST /events, its dry run and the Segment-compatible routes
INGEST_ROUTES = ("/events", "/events/validate", *SEGMENT_ROUTES)
pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)]


def send(
    stack: LocalStackHandle, path: str, body: bytes, encoding: str = "gzip"
) -> tuple[int, dict[str, object]]:
    answer = stack.request(
        "POST",
        path,
        body=body,
        headers={"Authorization": f"Bearer {stack.ingest_key}", "Content-Encoding": encoding},
    )
    return answer.status, answer.json()


def test_a_gzip_body_is_ingested_and_validated_like_a_plain_one(local_stack: LocalStackHandle) -> None:
    session = f"gzip-{uuid.uuid4()}"
    events = [
        {
            "session_id": session,
            "category": "shop",
            "name": "view",
            "data": {"n": n},
            "timestamp": "2021-01-01T09:00:00Z",
        }
        for n in range(50)
    ]
    status, answer = send(local_stack, "/events", gzip.compress(json.dumps(events).encode()))
    assert status == 202, answer
    assert answer["accepted"] == 50
    assert len(session_events(local_stack, session, 50)) == 50
    status, report = send(local_stack, "/events/validate", gzip.compress(json.dumps(events[:3]).encode()))
    assert status == 200 and report["valid"] == 3, report


def test_a_decompression_bomb_is_a_413(local_stack: LocalStackHandle) -> None:
    bomb = gzip.compress(b"[" + b" " * (64 * 1024 * 1024) + b"]")  # 64 MiB in about 64 KiB
    for path in INGEST_ROUTES:
        status, answer = send(local_stack, path, bomb)
        assert status == 413, answer
        assert answer["error"]["code"] == "payload_too_large"


def test_a_body_that_is_not_gzip_is_a_400_and_recorded(local_stack: LocalStackHandle) -> None:
    marker = f"not-gzip-{uuid.uuid4()}"
    status, answer = send(local_stack, "/events", marker.encode())
    assert status == 400 and answer["error"]["code"] == "invalid_json", answer

    def recorded() -> list[dict[str, object]] | None:
        items = get(local_stack, "/errors", type="invalid_json", limit=1000)["items"]
        return [e for e in items if marker in str(e["payload"])] or None

    [error] = eventually("the unreadable body recorded as an invalid_json error", recorded)
    assert error["source"] == "ingest" and error["session_id"] is None


def test_another_content_encoding_is_a_400(local_stack: LocalStackHandle) -> None:
    for path in INGEST_ROUTES:
        status, answer = send(local_stack, path, b"{}", encoding="br")
        assert status == 400 and answer["error"]["code"] == "unsupported_content_encoding", (path, answer)
