"""DynamoDB reads for the query function: one key condition per partition, never a Scan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer
from botocore.exceptions import BotoCoreError, ClientError

from theeye import aws, layout
from theeye.errors import ServiceUnavailable
from theeye.paging import Continuation, Fetch, Item

# Every sort key starts with a four-digit year, so these bound "everything".
LOWEST_KEY = "0"
HIGHEST_KEY = "9~"
_deserializer = TypeDeserializer()


def plain(item: dict[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class Partition:
    """One key condition: a table or index, its partition key, and the sort-key range (inclusive)."""

    table: str
    index: str | None
    key_name: str
    key_value: str
    lower: str = LOWEST_KEY
    upper: str = HIGHEST_KEY


@dataclass
class DynamoReader:
    client: Any = None

    def _ddb(self) -> Any:
        return self.client or aws.client("dynamodb")

    def fetcher(
        self, partition: Partition, *, descending: bool, page_size: int, filters: dict[str, str] | None = None
    ) -> Fetch:
        """A function that reads the partition one DynamoDB page at a time, in sort-key order."""
        request: dict[str, Any] = {
            "TableName": partition.table,
            "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lower AND :upper",
            "ExpressionAttributeNames": {"#pk": partition.key_name, "#sk": "sk"},
            "ExpressionAttributeValues": {
                ":pk": {"S": partition.key_value},
                ":lower": {"S": partition.lower},
                ":upper": {"S": partition.upper},
            },
            "ScanIndexForward": not descending,
            "Limit": page_size,
        }
        if partition.index:
            request["IndexName"] = partition.index
        if filters:
            clauses = []
            for n, (name, value) in enumerate(sorted(filters.items())):
                request["ExpressionAttributeNames"][f"#f{n}"] = name
                request["ExpressionAttributeValues"][f":f{n}"] = {"S": value}
                clauses.append(f"#f{n} = :f{n}")
            request["FilterExpression"] = " AND ".join(clauses)

        def fetch(token: Any) -> tuple[list[Item], Continuation | None]:
            call = dict(request, ExclusiveStartKey=token) if token else request
            try:
                answer = self._ddb().query(**call)
            except (ClientError, BotoCoreError) as exc:
                raise _unavailable(exc) from exc
            last = answer.get("LastEvaluatedKey")
            items = [plain(i) for i in answer.get("Items", [])]
            return items, ((str(last["sk"]["S"]), last) if last else None)

        return fetch

    def get(self, table: str, key: dict[str, str]) -> Item | None:
        try:
            answer = self._ddb().get_item(TableName=table, Key={k: {"S": v} for k, v in key.items()})
        except (ClientError, BotoCoreError) as exc:
            raise _unavailable(exc) from exc
        item = answer.get("Item")
        return plain(item) if item else None

    def event_by_id(self, table: str, event_id: str) -> Item | None:
        guard = self.get(table, {"pk": layout.guard_pk(event_id), "sk": layout.GUARD_SORT_KEY})
        if guard is None:
            return None
        return self.get(table, {"pk": str(guard["event_pk"]), "sk": str(guard["event_sk"])})


def _unavailable(exc: BaseException) -> ServiceUnavailable:
    return ServiceUnavailable(
        f"the store cannot answer right now ({aws.error_code(exc) or type(exc).__name__})"
    )
