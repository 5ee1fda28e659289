"""One DynamoDB key condition, read one page at a time in sort-key order (never a Scan)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from boto3.dynamodb.types import TypeDeserializer

from theeye import aws
from theeye.aws.merge import Continuation, Fetch, Item
from theeye.ports import HIGHEST_POSITION, LOWEST_POSITION

_deserializer = TypeDeserializer()
_failure = aws.unavailable("store")


def plain(item: dict[str, Any]) -> Item:
    return {name: _deserializer.deserialize(value) for name, value in item.items()}


@dataclass(frozen=True)
class Partition:
    """One key condition: a table or index, its partition key, and the sort-key range (inclusive)."""

    table: str
    index: str | None
    key_name: str
    key_value: str
    lower: str = LOWEST_POSITION
    upper: str = HIGHEST_POSITION
    sort_name: str = "sk"  # the sort key's attribute (an index may have its own)


@dataclass(frozen=True)
class Member:
    """A filter value that must be one of a set attribute's members (not equal to it)."""

    value: str


@dataclass(frozen=True)
class Present:
    """A filter that an attribute be there (``True``) or absent (``False``), whatever its value."""

    value: bool


def fetcher(
    client: Any,
    partition: Partition,
    *,
    descending: bool,
    page_size: int,
    filters: Mapping[str, str | Member | Present] | None = None,
    consistent: bool = False,
) -> Fetch:
    """A function that reads the partition one DynamoDB page at a time, in sort-key order."""
    request: dict[str, Any] = {
        "TableName": partition.table,
        "KeyConditionExpression": "#pk = :pk AND #sk BETWEEN :lower AND :upper",
        "ExpressionAttributeNames": {"#pk": partition.key_name, "#sk": partition.sort_name},
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
    if consistent:  # a table's own partition only: indexes answer eventually
        request["ConsistentRead"] = True
    if filters:
        clauses = []
        for n, (name, value) in enumerate(sorted(filters.items())):
            request["ExpressionAttributeNames"][f"#f{n}"] = name
            if isinstance(value, Present):
                clauses.append(f"attribute_exists(#f{n})" if value.value else f"attribute_not_exists(#f{n})")
            elif isinstance(value, Member):
                request["ExpressionAttributeValues"][f":f{n}"] = {"S": value.value}
                clauses.append(f"contains(#f{n}, :f{n})")
            else:
                request["ExpressionAttributeValues"][f":f{n}"] = {"S": value}
                clauses.append(f"#f{n} = :f{n}")
        request["FilterExpression"] = " AND ".join(clauses)

    def fetch(token: Any) -> tuple[list[Item], Continuation | None]:
        call = dict(request, ExclusiveStartKey=token) if token else request
        answer = aws.call(client.query, _failure, **call)
        last = answer.get("LastEvaluatedKey")
        items = [plain(i) for i in answer.get("Items", [])]
        if partition.sort_name != "sk":  # the merge reads an item's position as its "sk"
            for item in items:
                item["sk"] = item[partition.sort_name]
        return items, ((str(last[partition.sort_name]["S"]), last) if last else None)

    return fetch


def get(client: Any, table: str, key: dict[str, str]) -> Item | None:
    answer = aws.call(client.get_item, _failure, TableName=table, Key={k: {"S": v} for k, v in key.items()})
    item = answer.get("Item")
    return plain(item) if item else None
