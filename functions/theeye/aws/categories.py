"""DynamoDB adapter of the category registry: the categories that had events on a UTC day.

Items ``categories`` / ``<day>`` of the counters table, a string set each, so a time-range
query without a category knows which index partitions to visit. Adding to a set is
idempotent, so redeliveries are harmless.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from theeye import aws
from theeye.aws.layout import CATEGORY_REGISTRY_PK
from theeye.aws.stats import calendar

_read_failure = aws.unavailable("counters table")


@dataclass
class DynamoCategories:
    table_name: str
    client: Any = field(default_factory=lambda: aws.client("dynamodb"))
    _registered: set[tuple[str, str]] = field(default_factory=set, repr=False)  # (day, category) written

    def register(self, categories_by_day: Mapping[str, Set[str]]) -> None:
        """Record categories per day; what this container registered before is not written again."""
        for day, all_names in categories_by_day.items():
            names = {n for n in all_names if (day, n) not in self._registered}
            if not names:
                continue
            aws.call(
                self.client.update_item,
                aws.retryable("counters"),
                TableName=self.table_name,
                Key={"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
                UpdateExpression="ADD #names :names",
                ExpressionAttributeNames={"#names": "names"},
                ExpressionAttributeValues={":names": {"SS": sorted(names)}},
            )
            self._registered.update((day, n) for n in names)

    def categories(self, day: str) -> set[str]:
        """The categories registered on one UTC day."""
        answer = aws.call(
            self.client.get_item,
            _read_failure,
            TableName=self.table_name,
            Key={"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": day}},
        )
        item = answer.get("Item")
        return set(item["names"]["SS"]) if item else set()

    def categories_between(self, start: datetime, end: datetime) -> set[str]:
        """Every category registered on any day ``[start, end)`` touches (100 days a call)."""
        days = calendar(start.date().isoformat(), end.date().isoformat())
        names: set[str] = set()
        for first in range(0, len(days), 100):
            keys = [{"pk": {"S": CATEGORY_REGISTRY_PK}, "sk": {"S": d}} for d in days[first : first + 100]]
            request: dict[str, Any] = {self.table_name: {"Keys": keys}}
            while request:
                answer = aws.call(self.client.batch_get_item, _read_failure, RequestItems=request)
                for item in answer.get("Responses", {}).get(self.table_name, []):
                    names.update(item["names"]["SS"])
                request = answer.get("UnprocessedKeys") or {}
        return names
