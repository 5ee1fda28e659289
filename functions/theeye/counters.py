"""DynamoDB adapter for the counters table: what the pipeline aggregates per batch.

The category registry (``pk = "categories"``, ``sk = day``) lists the categories that had
events on a day; a time-range query without a category reads it to know which index
partitions to visit. Adding to a string set is idempotent, so redeliveries are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from typing import Any, Protocol

from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws, layout
from theeye.errors import RetryableStoreError


class CategoryRegistry(Protocol):
    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None: ...

    def categories(self, day: str) -> set[str]: ...


@dataclass
class DynamoCounters:
    table_name: str
    client: Any = None
    _registered: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (day, category) written

    def _ddb(self) -> Any:
        return self.client or aws.client("dynamodb")

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record categories per day; what this container registered before is not written again."""
        ddb = self._ddb()
        for day, all_names in categories_by_day.items():
            names = {n for n in all_names if (day, n) not in self._registered}
            if not names:
                continue
            try:
                ddb.update_item(
                    TableName=self.table_name,
                    Key={"pk": {"S": layout.CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
                    UpdateExpression="ADD #names :names",
                    ExpressionAttributeNames={"#names": "names"},
                    ExpressionAttributeValues={":names": {"SS": sorted(names)}},
                )
            except (ClientError, BotoCoreError) as exc:
                raise RetryableStoreError(f"counters unavailable: {aws.error_code(exc) or exc}") from exc
            self._registered.update((day, n) for n in names)

    def categories_between(self, days: list[str]) -> set[str]:
        """Every category registered on any of ``days`` (batched reads, 100 days a call)."""
        names: set[str] = set()
        for start in range(0, len(days), 100):
            keys = [
                {"pk": {"S": layout.CATEGORY_REGISTRY_PK}, "sk": {"S": d}} for d in days[start : start + 100]
            ]
            request: dict[str, Any] = {self.table_name: {"Keys": keys}}
            while request:
                answer = self._ddb().batch_get_item(RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    names.update(item["names"]["SS"])
                request = answer.get("UnprocessedKeys") or {}
        return names

    def categories(self, day: str) -> set[str]:
        item = (
            self._ddb()
            .get_item(
                TableName=self.table_name,
                Key={"pk": {"S": layout.CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
            )
            .get("Item")
        )
        return set(item["names"]["SS"]) if item else set()
