"""DynamoDB adapter of the session summaries (``GET /sessions``) that the counting keeps.

One item per session in the counters table, ``session#<session id>`` / ``#``:

* ``events`` and ``application_ids`` are added in the batch's counting transaction
  (``theeye.aws.ledger``), so exactly once per message, by its marker;
* ``first_seen`` / ``last_seen`` are moved after it by conditional updates that are idempotent
  (an earlier first, a later last), with ``start_pk`` / ``start_sk`` (day x shard / first event
  and id) for the ``BySessionStart`` index that ``theeye.aws.reads.DynamoSessionReader`` reads.

Erasure (``theeye.aws.erasure``) deletes the item.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from theeye import aws
from theeye.aws import layout
from theeye.ledger import MessageTally, SessionTally, merge_sessions
from theeye.ports import session_position

_failure = aws.retryable("counters")


def summary_key(session_id: str) -> dict[str, Any]:
    return {"pk": {"S": layout.session_summary_pk(session_id)}, "sk": {"S": layout.SESSION_SUMMARY_SK}}


def sessions_of(entries: Iterable[tuple[str, MessageTally]]) -> dict[str, SessionTally]:
    """The session tallies of many messages, one per session."""
    merged: dict[str, SessionTally] = {}
    for _key, tally in entries:
        merge_sessions(merged, tally.sessions)
    return merged


def summary_updates(table_name: str, sessions: Mapping[str, SessionTally]) -> list[dict[str, Any]]:
    """A summary's counts: one update per session in the counting transaction."""
    return [
        {
            "Update": {
                "TableName": table_name,
                "Key": summary_key(session_id),
                "UpdateExpression": "ADD #events :events, #apps :apps SET #id = :id",
                "ExpressionAttributeNames": {
                    "#events": "events",
                    "#apps": "application_ids",
                    "#id": "session_id",
                },
                "ExpressionAttributeValues": {
                    ":events": {"N": str(tally.events)},
                    ":apps": {"SS": sorted(tally.application_ids)},
                    ":id": {"S": session_id},
                },
            }
        }
        for session_id, tally in sorted(sessions.items())
    ]


@dataclass
class DynamoSessionSummaries:
    table_name: str
    client: Any

    def move_bounds(self, sessions: Mapping[str, SessionTally]) -> None:
        """Move each summary's first event earlier and last event later where these are beyond
        them: conditional updates, so running them again (a redelivery) changes nothing. Only a
        summary that has counts is moved (never one an erasure deleted meanwhile), so every
        summary the index lists has its counts."""
        for session_id, tally in sorted(sessions.items()):
            first = {
                # last_seen with it, when absent: a summary is listed only with both
                "UpdateExpression": (
                    "SET #first = :first, #spk = :spk, #ssk = :ssk, #id = :id, #last = if_not_exists(#last, :last)"
                ),
                "ConditionExpression": "attribute_exists(#events) AND (attribute_not_exists(#first) OR #first > :first)",
                "ExpressionAttributeNames": {
                    "#first": "first_seen",
                    "#spk": "start_pk",
                    "#ssk": "start_sk",
                    "#id": "session_id",
                    "#events": "events",
                    "#last": "last_seen",
                },
                "ExpressionAttributeValues": {
                    ":last": {"S": tally.last_seen},
                    ":first": {"S": tally.first_seen},
                    ":spk": {"S": layout.session_start_pk(tally.first_seen, session_id)},
                    ":ssk": {"S": session_position(tally.first_seen, session_id)},
                    ":id": {"S": session_id},
                },
            }
            last = {
                "UpdateExpression": "SET #last = :last",
                "ConditionExpression": "attribute_exists(#events) AND (attribute_not_exists(#last) OR #last < :last)",
                "ExpressionAttributeNames": {"#last": "last_seen", "#events": "events"},
                "ExpressionAttributeValues": {":last": {"S": tally.last_seen}},
            }
            for update in (first, last):
                with contextlib.suppress(aws.ConditionFailed):  # already as early (as late) or more
                    aws.call(
                        self.client.update_item,
                        _failure,
                        TableName=self.table_name,
                        Key=summary_key(session_id),
                        **update,
                    )
