"""DynamoDB adapter for the API keys table (partition key: the key's SHA-256 hash)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from theeye import aws
from theeye.clock import Clock, format_timestamp, utc_now
from theeye.errors import NotFound
from theeye.keys import ApiKey


@dataclass
class DynamoKeyStore:
    table_name: str

    @property
    def _table(self) -> Any:
        return aws.table(self.table_name)

    def get(self, key_hash: str) -> ApiKey | None:
        item = self._table.get_item(Key={"key_hash": key_hash}).get("Item")
        return ApiKey.from_item(item) if item else None

    def put(self, record: ApiKey) -> None:
        self._table.put_item(Item=record.to_item(), ConditionExpression="attribute_not_exists(key_hash)")

    def list(self) -> list[ApiKey]:
        items: list[dict[str, Any]] = []
        kwargs: dict[str, Any] = {}
        while True:
            page = self._table.scan(**kwargs)
            items.extend(page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            kwargs["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted((ApiKey.from_item(i) for i in items), key=lambda k: k.created_at)

    def revoke(self, key_id: str, clock: Clock = utc_now) -> ApiKey:
        found = self._table.query(
            IndexName="ByKeyId",
            KeyConditionExpression="key_id = :id",
            ExpressionAttributeValues={":id": key_id},
        ).get("Items", [])
        if not found:
            raise NotFound(f"no API key with id {key_id}")
        record = ApiKey.from_item(found[0])
        if record.revoked_at:
            return record
        revoked_at = format_timestamp(clock())
        self._table.update_item(
            Key={"key_hash": record.key_hash},
            UpdateExpression="SET revoked_at = :t",
            ConditionExpression="attribute_exists(key_hash) AND attribute_not_exists(revoked_at)",
            ExpressionAttributeValues={":t": revoked_at},
        )
        return ApiKey(**{**record.__dict__, "revoked_at": revoked_at})
