"""DynamoDB adapter of ``Eraser``: a session's events and guards, its errors' payloads, its summary.

* Events: the session's partition of the events table is read (consistently) and deleted in
  transactions of up to 49 events, each with its guard and one ``ADD erased`` to the ledger,
  every event delete conditional on the event still being there. A concurrent erasure of the
  same session cancels the other's transaction instead of counting an event twice; the loser
  reads again and finds less. So ``erased`` counts each deleted event exactly once.
* Errors: the errors table's ``BySession`` index names them; each not yet erased gets its
  payload replaced by ``null`` and its details' messages redacted, conditionally (once).
* The summary item (``theeye.aws.session_summaries``) is deleted last.
* The erasure is noted in the counters table under its day (``erased#<YYYY-MM-DD>``, the session
  as sort key, expiring after ``ERASURE_NOTE_DAYS``): the lake's sweep deletes those sessions'
  rows again, in case Firehose delivered an upsert after its delete (``DynamoErasureLog``).

Write units: each event's item and guard are deleted in a transaction, which bills twice a plain
write; bench/erasure.py counts and prices an erasure from its requests.
"""

from __future__ import annotations

import random
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from theeye import aws
from theeye.aws import layout
from theeye.aws.ledger import LEDGER_PK
from theeye.aws.partition import Partition, fetcher
from theeye.aws.session_summaries import summary_key
from theeye.clock import format_timestamp, utc_now
from theeye.errors import RetryableStoreError
from theeye.events import compact_json
from theeye.ports import Erasure
from theeye.records import redacted_details
from theeye.views import json_field

_failure = aws.retryable("erasure")
ERASURE_NOTE_PREFIX = "erased#"
# An upsert reaches the lake at most a day (the stream's retention) and two hours (Firehose's
# retries) after the feeder read it; notes outlive that, and the sweep reads this many days.
ERASURE_NOTE_DAYS = 2
EVENTS_PER_TRANSACTION = 49  # x 2 deletes + the ledger update = 99 of 100 items
ERASURE_LEDGER_SK = "erasure"
ATTEMPTS = 8


@dataclass
class DynamoEraser:
    client: Any
    events_table: str
    errors_table: str
    counters_table: str

    def erase(self, session_id: str) -> Erasure:
        events = self._erase_events(session_id)
        errors = self._redact_errors(session_id)
        aws.call(
            self.client.delete_item,
            _failure,
            TableName=self.counters_table,
            Key=summary_key(session_id),
        )
        self._note(session_id)
        return Erasure(session_id, events, errors)

    def _note(self, session_id: str) -> None:
        now = utc_now()
        expires = int((now + timedelta(days=ERASURE_NOTE_DAYS + 1)).timestamp())
        aws.call(
            self.client.update_item,
            _failure,
            TableName=self.counters_table,
            Key={"pk": {"S": erasure_note_pk(now.date())}, "sk": {"S": session_id}},
            UpdateExpression="SET #at = :at, #expires = :expires",
            ExpressionAttributeNames={"#at": "erased_at", "#expires": "expires_at"},
            ExpressionAttributeValues={":at": {"S": format_timestamp(now)}, ":expires": {"N": str(expires)}},
        )

    def _erase_events(self, session_id: str) -> int:
        """Erase the events stored when the erasure read the session; events stored after that
        read are new data (a later erasure takes them)."""
        erased = 0
        pending = self._event_keys(session_id)
        reasons: list[str] = []
        for attempt in range(ATTEMPTS):
            failed: list[tuple[str, str, str]] = []
            for first in range(0, len(pending), EVENTS_PER_TRANSACTION):
                chunk = pending[first : first + EVENTS_PER_TRANSACTION]
                try:
                    aws.call(self.client.transact_write_items, _failure, TransactItems=self._deletes(chunk))
                    erased += len(chunk)
                except aws.TransactionCancelled as cancelled:
                    failed += chunk  # some erased meanwhile (another erasure), or a conflict
                    reasons = cancelled.reasons
            if not failed:
                return erased
            time.sleep(random.uniform(0, 0.05 * 2**attempt))
            still = set(self._event_keys(session_id))
            pending = [key for key in failed if key in still]
        raise RetryableStoreError(f"erasure kept contending ({sorted(set(reasons))}); run it again")

    def _event_keys(self, session_id: str) -> list[tuple[str, str, str]]:
        """(pk, sk, event_id) of every stored event of the session (a consistent read)."""
        partition = Partition(self.events_table, None, "pk", layout.session_pk(session_id))
        fetch = fetcher(self.client, partition, descending=False, page_size=1000, consistent=True)
        found: list[tuple[str, str, str]] = []
        token: Any = None
        while True:
            items, continuation = fetch(token)
            found += [(str(i["pk"]), str(i["sk"]), str(i["event_id"])) for i in items]
            if continuation is None:
                return found
            token = continuation[1]

    def _deletes(self, chunk: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        for pk, sk, event_id in chunk:
            items.append(
                {
                    "Delete": {
                        "TableName": self.events_table,
                        "Key": {"pk": {"S": pk}, "sk": {"S": sk}},
                        "ConditionExpression": "attribute_exists(pk)",
                    }
                }
            )
            guard = {"pk": {"S": layout.guard_pk(event_id)}, "sk": {"S": layout.GUARD_SORT_KEY}}
            items.append({"Delete": {"TableName": self.events_table, "Key": guard}})
        items.append(
            {
                "Update": {
                    "TableName": self.counters_table,
                    "Key": {"pk": {"S": LEDGER_PK}, "sk": {"S": ERASURE_LEDGER_SK}},
                    "UpdateExpression": "ADD #erased :n",
                    "ExpressionAttributeNames": {"#erased": "erased"},
                    "ExpressionAttributeValues": {":n": {"N": str(len(chunk))}},
                }
            }
        )
        return items

    def _redact_errors(self, session_id: str) -> int:
        partition = Partition(self.errors_table, layout.ERRORS_SESSION_INDEX, "session_id", session_id)
        fetch = fetcher(self.client, partition, descending=False, page_size=1000)
        redacted = 0
        token: Any = None
        while True:
            items, continuation = fetch(token)
            for item in items:
                if item.get("erased"):
                    continue
                details = redacted_details(json_field(item.get("details"), []))
                try:
                    aws.call(
                        self.client.update_item,
                        _failure,
                        TableName=self.errors_table,
                        Key={"error_id": {"S": str(item["error_id"])}},
                        UpdateExpression="SET #payload = :null, #details = :details, #erased = :true"
                        " REMOVE #context",
                        ConditionExpression="attribute_exists(error_id) AND attribute_not_exists(#erased)",
                        ExpressionAttributeNames={
                            "#payload": "payload",
                            "#details": "details",
                            "#erased": "erased",
                            "#context": "context",
                        },
                        ExpressionAttributeValues={
                            ":null": {"S": "null"},
                            ":details": {"S": compact_json(details)},
                            ":true": {"BOOL": True},
                        },
                    )
                    redacted += 1
                except aws.ConditionFailed:
                    pass  # redacted meanwhile, or expired
            if continuation is None:
                return redacted
            token = continuation[1]


def erasure_note_pk(day: date) -> str:
    return f"{ERASURE_NOTE_PREFIX}{day.isoformat()}"


@dataclass
class DynamoErasureLog:
    """The sessions erased lately, from the erasures' notes (read by the lake's sweep)."""

    client: Any
    counters_table: str

    def erased_since(self, now: datetime, days: int = ERASURE_NOTE_DAYS) -> list[str]:
        """Sessions erased on the ``days`` days up to and including ``now``'s, oldest day first."""
        found: list[str] = []
        for back in range(days - 1, -1, -1):
            request: dict[str, Any] = {
                "TableName": self.counters_table,
                "KeyConditionExpression": "#pk = :pk",
                "ExpressionAttributeNames": {"#pk": "pk"},
                "ExpressionAttributeValues": {
                    ":pk": {"S": erasure_note_pk((now - timedelta(days=back)).date())}
                },
                "ProjectionExpression": "sk",
            }
            while True:
                answer = aws.call(self.client.query, _failure, **request)
                found += [str(item["sk"]["S"]) for item in answer.get("Items", [])]
                if "LastEvaluatedKey" not in answer:
                    break
                request["ExclusiveStartKey"] = answer["LastEvaluatedKey"]
        return list(dict.fromkeys(found))
