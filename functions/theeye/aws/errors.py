"""DynamoDB adapter of ``ErrorStore``: one conditional put per error id; a replay's claim is one
conditional update of the error's item (``replayed`` absent, not erased)."""

from __future__ import annotations

from concurrent.futures import Executor
from dataclasses import dataclass, field
from typing import Any

from theeye import aws
from theeye.aws import layout
from theeye.aws.concurrently import SERIAL as _SERIAL
from theeye.aws.concurrently import run_all
from theeye.clock import parse_timestamp
from theeye.events import compact_json
from theeye.messages import cut_payload
from theeye.records import ErrorRecord, Replayed

_failure = aws.retryable("error store")


def error_item(record: ErrorRecord, shards: int, expires_at: int | None) -> dict[str, Any]:
    day = layout.day_of(record.received_at)
    item: dict[str, Any] = {
        "error_id": {"S": record.error_id},
        "sk": {"S": layout.error_sk(record.received_at, record.error_id)},
        "time_pk": {"S": layout.error_time_pk(day, layout.shard_of(record.error_id, shards))},
        "type_pk": {"S": layout.error_type_pk(record.type, day)},
        "type": {"S": record.type},
        "source": {"S": record.source},
        "application_id": {"S": record.application_id},
        "received_at": {"S": record.received_at},
        "details": {"S": compact_json(record.details)},
        "payload": {"S": compact_json(cut_payload(record.payload))},
        "key_id": {"S": record.key_id},
        "request_id": {"S": record.request_id},
    }
    if record.event_id is not None:
        item["event_id"] = {"S": record.event_id}
    if record.session_id is not None:  # indexed (BySession): erasure finds the session's errors
        item["session_id"] = {"S": record.session_id}
    if record.context:  # the event's stored context, for a replay (erasure removes it)
        item["context"] = {"S": compact_json(record.context)}
    if expires_at is not None:
        item["expires_at"] = {"N": str(expires_at)}
    return item


@dataclass
class DynamoErrorStore:
    table_name: str
    retention_days: int
    shards: int = layout.ERROR_TIME_SHARDS
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    # independent writes run side by side (DynamoDB has no multi-item conditional put here)
    writers: Executor = field(default_factory=lambda: _SERIAL)

    def put_all(self, records: list[ErrorRecord]) -> list[bool]:
        return run_all(self.writers, self.put, records)

    def put(self, record: ErrorRecord) -> bool:
        received = parse_timestamp(record.received_at).timestamp()
        try:
            aws.call(
                self.client.put_item,
                _failure,
                TableName=self.table_name,
                Item=error_item(record, self.shards, int(received) + self.retention_days * 86400),
                ConditionExpression="attribute_not_exists(error_id)",
            )
        except aws.ConditionFailed:
            return False
        return True

    def mark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        return self._update(
            error_id,
            "SET #replayed = :replayed",
            "attribute_exists(error_id) AND attribute_not_exists(#replayed) AND attribute_not_exists(erased)",
            replayed,
        )

    def unmark_replayed(self, error_id: str, replayed: Replayed) -> bool:
        return self._update(error_id, "REMOVE #replayed", "#replayed = :replayed", replayed)

    def _update(self, error_id: str, update: str, condition: str, replayed: Replayed) -> bool:
        try:
            aws.call(
                self.client.update_item,
                _failure,
                TableName=self.table_name,
                Key={"error_id": {"S": error_id}},
                UpdateExpression=update,
                ConditionExpression=condition,
                ExpressionAttributeNames={"#replayed": "replayed"},
                ExpressionAttributeValues={":replayed": {"S": compact_json(replayed.to_dict())}},
            )
        except aws.ConditionFailed:
            return False
        return True
