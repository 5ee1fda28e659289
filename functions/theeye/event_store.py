"""DynamoDB adapter for stored events: one conditional write per event id, never two copies.

Each event is two items: a guard keyed by ``event_id`` that makes the id unique and remembers
the content hash, and the event itself keyed by session and time. The guard is written first
and conditionally; a failed condition returns the old guard, which says (without another
read) whether this is a duplicate, a conflict, or a redelivery of a half-finished write.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws, layout
from theeye.clock import format_timestamp, utc_now
from theeye.errors import RetryableStoreError
from theeye.events import Event, compact_json


class WriteOutcome(enum.Enum):
    STORED = "stored"
    DUPLICATE = "duplicate"
    CONFLICT = "conflict"


@dataclass(frozen=True, slots=True)
class EventRecord:
    """An accepted, valid event with what the pipeline knows of its delivery."""

    event: Event
    application_id: str
    received_at: str
    origin: str  # request id and position: the same for every redelivery of one request's event
    content_hash: str
    expires_at: int | None = None


class EventStore(Protocol):
    def put(self, record: EventRecord) -> WriteOutcome: ...


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
    client: Any = None

    def put(self, record: EventRecord) -> WriteOutcome:
        ddb = self.client or aws.client("dynamodb")
        try:
            ddb.put_item(
                TableName=self.table_name,
                Item=guard_item(record),
                ConditionExpression="attribute_not_exists(pk)",
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise _retryable(exc) from exc
            old = exc.response.get("Item") or self._read_guard(ddb, record.event.event_id)
            if old.get("content_hash", {}).get("S") != record.content_hash:
                return WriteOutcome.CONFLICT
            if old.get("origin", {}).get("S") != record.origin:
                return WriteOutcome.DUPLICATE
            # Our own earlier attempt wrote the guard and then failed: finish its work.
        except BotoCoreError as exc:
            raise _retryable(exc) from exc
        self._put_event(ddb, event_item(record, self.shards, format_timestamp(utc_now())))
        return WriteOutcome.STORED

    def _put_event(self, ddb: Any, item: dict[str, Any]) -> None:
        try:
            ddb.put_item(TableName=self.table_name, Item=item, ConditionExpression="attribute_not_exists(pk)")
        except ClientError as exc:
            if aws.error_code(exc) != "ConditionalCheckFailedException":
                raise _retryable(exc) from exc
            # Already there from an earlier attempt of this same delivery: nothing to do.
        except BotoCoreError as exc:
            raise _retryable(exc) from exc

    def _read_guard(self, ddb: Any, event_id: str) -> dict[str, Any]:
        key = {"pk": {"S": layout.guard_pk(event_id)}, "sk": {"S": layout.GUARD_SORT_KEY}}
        return dict(ddb.get_item(TableName=self.table_name, Key=key, ConsistentRead=True).get("Item") or {})


def _retryable(exc: BaseException) -> RetryableStoreError:
    return RetryableStoreError(f"event store unavailable: {aws.error_code(exc) or type(exc).__name__}")
