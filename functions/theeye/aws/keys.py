"""DynamoDB adapter of ``KeyStore``: the keys table, partition key the key's SHA-256 hash."""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass, field
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer

from theeye import aws
from theeye.clock import Clock, format_timestamp, utc_now
from theeye.errors import InvalidRequest, NotFound
from theeye.keys import ApiKey

_reads = aws.unavailable("keys table")
_writes = aws.retryable("keys table")
_serializer = TypeSerializer()
_deserializer = TypeDeserializer()


def _to_item(record: ApiKey) -> dict[str, Any]:
    return {name: _serializer.serialize(value) for name, value in record.to_item().items()}


def _from_item(item: dict[str, Any]) -> ApiKey:
    return ApiKey.from_item({name: _deserializer.deserialize(value) for name, value in item.items()})


@dataclass
class DynamoKeyStore:
    table_name: str
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    clock: Clock = utc_now

    def get(self, key_hash: str) -> ApiKey | None:
        key = {"key_hash": {"S": key_hash}}
        item = aws.call(self.client.get_item, _reads, TableName=self.table_name, Key=key).get("Item")
        return _from_item(item) if item else None

    def put(self, record: ApiKey) -> None:
        try:
            aws.call(
                self.client.put_item,
                _writes,
                TableName=self.table_name,
                Item=_to_item(record),
                ConditionExpression="attribute_not_exists(key_hash)",
            )
        except aws.ConditionFailed:
            raise InvalidRequest("a key with this hash exists already", code="key_exists") from None

    def record_use(self, key_hash: str, used_at: str) -> None:
        with suppress(aws.ConditionFailed):  # an unknown key, or a later use recorded already
            aws.call(
                self.client.update_item,
                _writes,
                TableName=self.table_name,
                Key={"key_hash": {"S": key_hash}},
                UpdateExpression="SET last_used_at = :t",
                ConditionExpression="attribute_exists(key_hash) AND "
                "(attribute_not_exists(last_used_at) OR last_used_at < :t)",
                ExpressionAttributeValues={":t": {"S": used_at}},
            )

    def list(self) -> list[ApiKey]:
        items: list[dict[str, Any]] = []
        request: dict[str, Any] = {"TableName": self.table_name}
        while True:
            page = aws.call(self.client.scan, _reads, **request)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted((_from_item(i) for i in items), key=lambda k: k.created_at)

    def revoke(self, key_id: str) -> ApiKey:
        found = aws.call(
            self.client.query,
            _reads,
            TableName=self.table_name,
            IndexName="ByKeyId",
            KeyConditionExpression="key_id = :id",
            ExpressionAttributeValues={":id": {"S": key_id}},
        ).get("Items", [])
        if not found:
            raise NotFound(f"no API key with id {key_id}")
        record = _from_item(found[0])
        if record.revoked_at:
            return record
        revoked_at = format_timestamp(self.clock())
        try:
            aws.call(
                self.client.update_item,
                _writes,
                TableName=self.table_name,
                Key={"key_hash": {"S": record.key_hash}},
                UpdateExpression="SET revoked_at = :t",
                ConditionExpression="attribute_exists(key_hash) AND attribute_not_exists(revoked_at)",
                ExpressionAttributeValues={":t": {"S": revoked_at}},
            )
        except aws.ConditionFailed:
            return self.get(record.key_hash) or record  # revoked meanwhile
        return ApiKey(**{**record.__dict__, "revoked_at": revoked_at})
