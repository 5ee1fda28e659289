"""Recorded errors: what operators read to learn why an event was not stored.

Error ids are derived from what the error is about (the request and position, or the event
id and content), so a redelivered message or a retried request records nothing twice.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, get_args

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws, layout
from theeye.clock import parse_timestamp
from theeye.errors import RetryableStoreError
from theeye.events import compact_json
from theeye.messages import cut_payload

ErrorType = Literal[
    "invalid_json",
    "invalid_envelope",
    "schema_violation",
    "future_timestamp",
    "unknown_event_type",
    "event_id_conflict",
]
ErrorSource = Literal["ingest", "processor"]
ERROR_TYPES: tuple[str, ...] = get_args(ErrorType)
ERROR_SOURCES: tuple[str, ...] = get_args(ErrorSource)


def derive_error_id(*parts: str) -> str:
    return "err-" + hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True, slots=True)
class ErrorRecord:
    error_id: str
    type: str
    source: str
    application_id: str
    received_at: str
    event_id: str | None
    details: list[dict[str, str]]
    payload: Any
    key_id: str = ""
    request_id: str = ""
    extra: dict[str, str] = field(default_factory=dict)

    def to_item(self, shards: int, expires_at: int | None) -> dict[str, Any]:
        day = layout.day_of(self.received_at)
        item: dict[str, Any] = {
            "error_id": {"S": self.error_id},
            "sk": {"S": layout.error_sk(self.received_at, self.error_id)},
            "time_pk": {"S": layout.error_time_pk(day, layout.shard_of(self.error_id, shards))},
            "type_pk": {"S": layout.error_type_pk(self.type, day)},
            "type": {"S": self.type},
            "source": {"S": self.source},
            "application_id": {"S": self.application_id},
            "received_at": {"S": self.received_at},
            "details": {"S": compact_json(self.details)},
            "payload": {"S": compact_json(cut_payload(self.payload))},
            "key_id": {"S": self.key_id},
            "request_id": {"S": self.request_id},
        }
        if self.event_id is not None:
            item["event_id"] = {"S": self.event_id}
        if expires_at is not None:
            item["expires_at"] = {"N": str(expires_at)}
        for name, value in self.extra.items():
            item[name] = {"S": value}
        return item


class ErrorStore(Protocol):
    def put(self, record: ErrorRecord) -> bool:
        """Record an error; False when the same error id was recorded before."""


@dataclass
class DynamoErrorStore:
    table_name: str
    shards: int
    retention_days: int
    client: Any = None

    def put(self, record: ErrorRecord) -> bool:
        ddb = self.client or aws.client("dynamodb")
        received = parse_timestamp(record.received_at).timestamp()
        try:
            ddb.put_item(
                TableName=self.table_name,
                Item=record.to_item(self.shards, int(received) + self.retention_days * 86400),
                ConditionExpression="attribute_not_exists(error_id)",
            )
        except ClientError as exc:
            if aws.error_code(exc) == "ConditionalCheckFailedException":
                return False
            raise RetryableStoreError(f"error store unavailable: {aws.error_code(exc)}") from exc
        except BotoCoreError as exc:
            raise RetryableStoreError(f"error store unavailable: {type(exc).__name__}") from exc
        return True
