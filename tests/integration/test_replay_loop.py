"""Error replay's whole loop on the AWS code paths, against moto built from template.yaml: events
recorded as schema violations by a too-strict schema, the schema relaxed as a new container sees
it, a dry run, the replay through the queue and the processor, each event stored once as it was
received, the ledger balanced, a second replay finding nothing to replay, and the application's
own resend a duplicate. (The moto local stack keeps no data across a restart: this is the loop
of tests/e2e/test_replay.py with the real handlers in-process.)"""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path
from typing import Any

import pytest

from tests.integration.conftest import ROOT, Aws, clear_caches, sample
from tests.integration.functions import ingest_handler, processor_handler
from tests.integration.test_admin_handler import new_key, replay
from tests.integration.test_delivery_guarantees import EventSource
from tests.integration.test_processor_handler import items, sqs_event
from tests.integration.test_query_handler import get

PAGEVIEW = "page_interaction.pageview.json"
SESSION = "replayed-session"
COUNTS = ("matched", "replayable", "replayed")


def schemas(directory: Path, *, strict: bool) -> Path:
    """The repository's schemas; the pageview's also requiring ``plan`` when ``strict``."""
    shutil.copytree(ROOT / "schemas", directory)
    schema = json.loads((directory / PAGEVIEW).read_text())
    if strict:
        schema["required"] = [*schema["required"], "plan"]
    (directory / PAGEVIEW).write_text(json.dumps(schema))
    return directory


def use_schemas(monkeypatch: pytest.MonkeyPatch, directory: Path) -> None:
    """Every function on another schema directory, as new containers would start."""
    monkeypatch.setenv("SCHEMAS_DIR", str(directory))
    clear_caches()


def counts(answer: dict[str, Any]) -> tuple[int, ...]:
    return tuple(answer[name] for name in COUNTS)


def send(events: list[dict[str, Any]], context: Any) -> list[str]:
    """POST /events as API Gateway sends it, each request with an id of its own (an event's
    ``origin`` is its request's id and position: the samples' one fixed id would make the
    application's resend look like a retry of the replay's own write)."""
    request = sample("apigw_post_events_batch.json")
    request["requestContext"]["requestId"] = str(uuid.uuid4())
    request["body"] = json.dumps(events)
    response = ingest_handler(request, context)
    assert response["statusCode"] == 202, response
    return list(json.loads(response["body"])["event_ids"])


def queued(aws: Aws) -> int:
    attributes = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.refs["EventsQueue"],
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(v) for v in attributes.values())


def test_recorded_violations_replayed_after_the_schema_is_relaxed_are_stored_once_as_received(
    aws: Aws, ingest_key: str, lambda_context: Any, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    admin_key, query_key = new_key(aws, "admin"), new_key(aws, "query")
    # Given four pageviews without ``plan`` and a cta click without its element, processed while
    # the pageview's schema requires ``plan``: five schema violations
    use_schemas(monkeypatch, schemas(tmp_path / "strict", strict=True))
    pageviews = [
        {
            "session_id": SESSION,
            "category": "page interaction",
            "name": "pageview",
            "data": {"host": "h", "path": f"/{n}"},
            "timestamp": "2021-01-01T09:15:27Z",
            "context": {"locale": "en-GB"},
        }
        for n in range(4)
    ]
    broken = {**pageviews[0], "name": "cta click"}
    ids = send(pageviews, lambda_context)
    (broken_id,) = send([broken], lambda_context)
    EventSource(aws, lambda_context).drain(processor_handler)
    status, listed = get("/errors", lambda_context, query_key, type="schema_violation")
    assert status == 200, listed
    recorded = {e["event_id"]: e for e in listed["items"]}
    assert set(recorded) == {*ids, broken_id}
    assert all(e["replayed"] is None for e in recorded.values())
    # each with the event's context as stored (held for a replay, not listed)
    contexts = {i["event_id"]: json.loads(i["context"]) for i in items(aws, "ErrorsTable")}
    assert all(c["locale"] == "en-GB" for c in contexts.values()) and len(contexts) == 5
    _, before = get("/status", lambda_context, query_key)
    assert (
        before["accepted"],
        before["invalid"]["schema_violation"],
        before["stored"],
        before["replayed"],
    ) == (5, 5, 0, 0)

    # When the schema is relaxed (the pageview's as in the repository) and a dry run asked
    use_schemas(monkeypatch, schemas(tmp_path / "relaxed", strict=False))
    status, dry = replay({"type": "schema_violation", "dry_run": True}, lambda_context, admin_key)
    # Then the pageviews are replayable, the cta click still invalid, and nothing changed
    assert status == 200, dry
    assert (counts(dry), dry["next"]) == ((5, 4, 0), None)
    assert [s["error_id"] for s in dry["still_invalid"]] == [recorded[broken_id]["error_id"]]
    assert [e["field"] for e in dry["still_invalid"][0]["errors"]] == ["data.element"]
    assert queued(aws) == 0
    assert get("/status", lambda_context, query_key)[1] == before
    assert get("/errors", lambda_context, query_key, replayed="true")[1]["items"] == []

    # When they are replayed
    status, done = replay({"type": "schema_violation"}, lambda_context, admin_key)
    assert status == 200, done
    assert (counts(done), done["next"]) == ((5, 4, 4), None)
    # Then each event is queued in a message of its own, which the processor stores, once even
    # when the queue delivers it twice
    messages = aws.drain()
    assert len(messages) == 4
    for _ in range(2):
        assert processor_handler(sqs_event(aws, messages), lambda_context) == {"batchItemFailures": []}
    status, page = get("/events", lambda_context, query_key, session_id=SESSION)
    assert status == 200, page
    stored = {e["event_id"]: e for e in page["items"]}
    assert sorted(stored) == sorted(ids)
    assert len([i for i in items(aws, "EventsTable") if i["pk"].startswith("S#")]) == 4
    # with its original event_id, received_at and context
    for event_id, event in stored.items():
        assert event["received_at"] == recorded[event_id]["received_at"]
        assert event["context"] == contexts[event_id]
        assert event["data"] == recorded[event_id]["payload"]["data"]
    # and the ledger balances, counting the replayed events once
    _, ledger = get("/status", lambda_context, query_key)
    assert ledger["balanced"] is True and ledger["queued"] == 0
    assert (ledger["accepted"], ledger["replayed"], ledger["invalid"]["schema_violation"]) == (5, 4, 5)
    assert (ledger["stored"], ledger["duplicates"]) == (4, 0)

    # When the replay is run again, then nothing is replayable any more: the replayed errors are
    # marked, only the still invalid one matches
    status, again = replay({"type": "schema_violation"}, lambda_context, admin_key)
    assert (status, counts(again)) == (200, (1, 0, 0))
    _, pageviews_again = replay({"type": "schema_violation", "name": "pageview"}, lambda_context, admin_key)
    assert counts(pageviews_again) == (0, 0, 0)
    assert queued(aws) == 0
    marked = get("/errors", lambda_context, query_key, replayed="true")[1]["items"]
    assert sorted(e["replayed"]["event_id"] for e in marked) == sorted(ids)
    assert [
        e["event_id"] for e in get("/errors", lambda_context, query_key, replayed="false")[1]["items"]
    ] == [broken_id]
    assert get("/status", lambda_context, query_key)[1] == ledger

    # When the application sends the same events again, then each is a duplicate
    assert send([{**p, "event_id": i} for p, i in zip(pageviews, ids, strict=True)], lambda_context) == ids
    EventSource(aws, lambda_context).drain(processor_handler)
    _, after = get("/status", lambda_context, query_key)
    assert (after["accepted"], after["stored"], after["duplicates"], after["balanced"]) == (9, 4, 4, True)
    _, page = get("/events", lambda_context, query_key, session_id=SESSION)
    assert sorted(e["event_id"] for e in page["items"]) == sorted(ids)
