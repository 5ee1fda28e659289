"""The events table's stream -> the lake: one stream batch becomes lake changes, sent in order.

When the sink does not take some changes, the answer names the first stream record of the
earliest of them (DynamoDB streams' ``ReportBatchItemFailures``): Lambda sends the batch again
from that record, and only the records after it that were already applied are applied twice,
which changes nothing (an upsert by ``event_id`` again, a delete again).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from aws_lambda_powertools.utilities.batch.types import PartialItemFailureResponse

from theeye.aws.lake import LakeDeliveryFailed, StreamChange, stream_changes
from theeye.ports import LakeSink


def feed(records: Sequence[Mapping[str, Any]], sink: LakeSink) -> tuple[PartialItemFailureResponse, int]:
    """Apply the lake changes of ``records``; (the answer to Lambda, changes applied)."""
    changes = stream_changes(records)
    try:
        sink.apply([fed.change for fed in changes])
    except LakeDeliveryFailed as exc:
        return {"batchItemFailures": [{"itemIdentifier": _resume_at(changes, exc)}]}, 0
    return {"batchItemFailures": []}, len(changes)


def _resume_at(changes: list[StreamChange], exc: LakeDeliveryFailed) -> str:
    failed = {id(change) for change in exc.failed}
    return min(
        (fed.first_record for fed in changes if id(fed.change) in failed),
        key=int,
        default=min((fed.first_record for fed in changes), key=int),
    )
