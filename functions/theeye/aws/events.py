"""DynamoDB adapter of ``EventStore``: one conditional write per event id, never two copies.

Each event is two items: a guard keyed by ``event_id`` that makes the id unique and remembers
the content hash, and the event itself keyed by session and time. The guard is written first
and conditionally; a failed condition returns the old guard, which says (without another
read) whether this is a duplicate, a conflict, or a redelivery of a half-finished write.
"""

from __future__ import annotations

import contextlib
from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from theeye import aws
from theeye.aws import layout
from theeye.aws.concurrently import SERIAL as _SERIAL
from theeye.aws.concurrently import run_all
from theeye.clock import format_timestamp, utc_now
from theeye.events import compact_json
from theeye.records import EventRecord, WriteOutcome

_failure = aws.retryable("event store")


def event_item(record: EventRecord, shards: int, stored_at: str) -> dict[str, Any]:
    event = record.event
    item: dict[str, Any] = {
        "pk": {"S": layout.session_pk(event.session_id)},
        "sk": {"S": layout.event_sk(event.timestamp, event.event_id)},
        "cat_pk": {
            "S": layout.category_pk(
                event.category, layout.day_of(event.timestamp), layout.shard_of(event.event_id, shards)
            )
        },
        "event_id": {"S": event.event_id},
        "application_id": {"S": record.application_id},
        "session_id": {"S": event.session_id},
        "category": {"S": event.category},
        "name": {"S": event.name},
        "data": {"S": compact_json(event.data)},
        "timestamp": {"S": event.timestamp},
        "received_at": {"S": record.received_at},
        "stored_at": {"S": stored_at},
    }
    if event.client_timestamp != event.timestamp:  # corrected by sent_at; absent: equal
        item["client_timestamp"] = {"S": event.client_timestamp}
    if event.context:
        item["context"] = {"S": compact_json(event.context)}
    if record.expires_at is not None:
        item["expires_at"] = {"N": str(record.expires_at)}
    return item


def guard_item(record: EventRecord) -> dict[str, Any]:
    event = record.event
    return {
        "pk": {"S": layout.guard_pk(event.event_id)},
        "sk": {"S": layout.GUARD_SORT_KEY},
        "event_pk": {"S": layout.session_pk(event.session_id)},
        "event_sk": {"S": layout.event_sk(event.timestamp, event.event_id)},
        "content_hash": {"S": record.content_hash},
        "origin": {"S": record.origin},
        **({"expires_at": {"N": str(record.expires_at)}} if record.expires_at is not None else {}),
    }


@dataclass
class DynamoEventStore:
    table_name: str
    shards: int
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    # independent writes run side by side (DynamoDB has no multi-item conditional put here)
    writers: Executor = field(default_factory=lambda: _SERIAL)

    def put_all(self, records: list[EventRecord]) -> list[WriteOutcome]:
        return run_all(self.writers, self.put, records)

    def put(self, record: EventRecord) -> WriteOutcome:
        try:
            aws.call(
                self.client.put_item,
                _failure,
                TableName=self.table_name,
                Item=guard_item(record),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except aws.ConditionFailed as exists:
            old = exists.item or self._read_guard(record.event.event_id)
            if old.get("content_hash", {}).get("S") != record.content_hash:
                return WriteOutcome.CONFLICT
            if old.get("origin", {}).get("S") != record.origin:
                return WriteOutcome.DUPLICATE
            # Our own earlier attempt wrote the guard and then failed: finish its work.
        # Already there from an earlier attempt of this same delivery: nothing to do.
        with contextlib.suppress(aws.ConditionFailed):
            aws.call(
                self.client.put_item,
                _failure,
                TableName=self.table_name,
                Item=event_item(record, self.shards, format_timestamp(utc_now())),
                ConditionExpression="attribute_not_exists(pk)",
            )
        return WriteOutcome.STORED

    def _read_guard(self, event_id: str) -> dict[str, Any]:
        key = {"pk": {"S": layout.guard_pk(event_id)}, "sk": {"S": layout.GUARD_SORT_KEY}}
        answer = aws.call(
            self.client.get_item, _failure, TableName=self.table_name, Key=key, ConsistentRead=True
        )
        return dict(answer.get("Item") or {})
