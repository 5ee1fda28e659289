"""The lake on AWS, fed from the events table's stream (docs/ANALYTICS.md, "On AWS").

* :func:`stream_changes` turns the records of one DynamoDB stream batch into lake changes: an
  event item written (``INSERT``) is the upsert of its row (``theeye.analytics.table.row_of``),
  an event item removed (``REMOVE``: erasure or TTL) the delete of its ``event_id``. Guards share
  the table (``theeye.aws.layout``) and are skipped, here as in the event source's filter.
  Firehose does not keep the order of records, so a batch's changes of one event collapse into
  its last one; each change remembers the first stream record it stands for, which is where
  Lambda resumes when the change could not be sent.
* :class:`FirehoseLakeSink` (``theeye.ports.LakeSink``) sends changes to the Firehose stream
  whose Apache Iceberg destination keeps the ``events`` table, one JSON record per change.

The record format follows "Route incoming records to different Iceberg tables"
(https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-format-input-record-different.html):
with ``UniqueKeys: [event_id]`` in the destination's table configuration, the operation of each
record (``update`` = upsert by the unique key, ``delete``) comes from the JSONQuery expression of
the stream's ``MetadataExtraction`` processor (template.yaml, ``LakeDeliveryStream``). Every
record names every column, so it is a complete row of the table; a delete's columns other than
``event_id`` and ``event_time`` are null, and a null ``received_at`` (never null in a stored
event) is what the expression reads as ``delete``. Timestamps are microseconds since the epoch,
as Firehose requires for Iceberg ``timestamp`` columns
(https://docs.aws.amazon.com/firehose/latest/dev/apache-iceberg-destination.html).

Why a delete carries ``event_time``: Firehose applies an update or delete as an Iceberg v2
equality delete on the unique keys ("UniqueKeys", https://docs.aws.amazon.com/firehose/latest/APIReference/API_DestinationTableConfiguration.html),
written into the partition of the record; and the table format applies an equality delete only
to the data files of its own partition ("Scan Planning", https://iceberg.apache.org/spec/#scan-planning:
"the data file's partition (both spec id and partition values) is equal to the delete file's
partition or the delete file's partition spec is unpartitioned"). The table is partitioned by
``day(event_time)``, so a delete without ``event_time`` would land in the null partition and
remove nothing. AWS's pages do not say more on partitioned tables; the stream's unique keys
are therefore ``event_id`` and the partition's source column ``event_time`` (template.yaml),
the rule other equality-delete writers state (Flink's upsert tables: partition columns belong
to the key), and the delete takes its ``event_time`` from the stream record's old image.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from boto3.dynamodb.types import TypeDeserializer

from theeye import aws
from theeye.analytics.table import COLUMNS, KEY_COLUMN, PARTITION_COLUMN, row_of
from theeye.aws import layout
from theeye.errors import LakeDeliveryFailed
from theeye.ports import LakeChange, LakeDelete, LakeUpsert, StreamChange
from theeye.views import event_view

# PutRecordBatch limits (Firehose quotas): records and bytes per call.
MAX_RECORDS_PER_BATCH: Final = 500
MAX_BYTES_PER_BATCH: Final = 4 * 1024 * 1024
ATTEMPTS: Final = 4  # a batch's refused records are sent again this many times in all
# The field whose null marks a delete record (the stream's JSONQuery reads it).
DELETE_MARKER: Final = "received_at"
_EPOCH: Final = datetime(1970, 1, 1)
_MICROSECOND: Final = timedelta(microseconds=1)
_deserialize = TypeDeserializer().deserialize


def stream_changes(records: Sequence[Mapping[str, Any]]) -> list[StreamChange]:
    """The lake changes of one stream batch, in stream order, one per event."""
    last: dict[str, StreamChange] = {}
    for record in records:
        stream = record.get("dynamodb") or {}
        keys = _plain(stream.get("Keys") or {})
        if not str(keys.get("pk", "")).startswith(layout.SESSION_PREFIX):
            continue  # a guard, not an event
        sequence = str(stream["SequenceNumber"])
        if record.get("eventName") == "REMOVE":  # an erasure, or the table's TTL
            old = _plain(stream.get("OldImage") or {})
            event_id = str(old.get("event_id") or keys["sk"].rsplit("#", 1)[-1])
            change: LakeChange = LakeDelete(int(sequence), event_ids=(event_id,), event_time=_event_time(old))
        else:  # INSERT (events are never modified; a MODIFY is the item as it now is)
            new = _plain(stream["NewImage"])
            event_id = str(new["event_id"])
            change = LakeUpsert(int(sequence), row_of(event_view(new)))
        earlier = last.pop(event_id, None)  # re-inserted last: the dict keeps stream order
        last[event_id] = StreamChange(change, earlier.first_record if earlier else sequence)
    return list(last.values())


def _plain(image: Mapping[str, Any]) -> dict[str, Any]:
    return {name: _deserialize(value) for name, value in image.items()}


def _event_time(old: Mapping[str, Any]) -> datetime | None:
    """The removed event's ``event_time``, exactly as its upsert sent it (its row's)."""
    if "timestamp" not in old:
        return None  # an old image without the event (the stream keeps both images: not expected)
    event_time: datetime = row_of(event_view(old))[PARTITION_COLUMN]
    return event_time


def firehose_record(change: LakeChange) -> bytes:
    """The Firehose record of one change: a complete row of ``events`` as compact JSON."""
    if isinstance(change, LakeUpsert):
        values = {column.name: _json_value(change.row.get(column.name)) for column in COLUMNS}
    else:
        (event_id,) = change.event_ids  # the feeder deletes one event per change
        values = {column.name: None for column in COLUMNS} | {
            KEY_COLUMN: event_id,
            PARTITION_COLUMN: _json_value(change.event_time),  # its partition (the module's docstring)
        }
    return json.dumps(values, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return (value.replace(tzinfo=None) - _EPOCH) // _MICROSECOND
    return value


@dataclass
class FirehoseLakeSink:
    """``LakeSink`` over a Firehose stream with an Iceberg destination (upserts and deletes by
    ``event_id``). ``apply`` sends every change, retrying refused records a few times; what is
    still refused raises :class:`LakeDeliveryFailed`, naming those changes."""

    stream_name: str
    client: Any = field(default_factory=lambda: aws.client("firehose"))
    sleep: Callable[[float], None] = time.sleep

    def apply(self, changes: Sequence[LakeChange]) -> None:
        failed: list[LakeChange] = []
        codes: set[str] = set()
        batches = list(_batches(changes))
        for index, batch in enumerate(batches):
            try:
                refused, why = self._put(batch)
            except LakeDeliveryFailed as stopped:  # the stream itself refused: none of the rest sent
                unsent = [change for later in batches[index + 1 :] for change, _ in later]
                raise LakeDeliveryFailed(stopped.detail, [*failed, *stopped.failed, *unsent]) from stopped
            failed += refused
            codes |= why
        if failed:
            raise LakeDeliveryFailed("refused: " + ", ".join(sorted(codes)), failed)

    def _put(self, batch: list[tuple[LakeChange, bytes]]) -> tuple[list[LakeChange], set[str]]:
        """Send one batch, then again what Firehose refused; what it still refuses, and why."""
        pending = batch
        codes: set[str] = set()
        for attempt in range(ATTEMPTS):
            if attempt:
                self.sleep(random.uniform(0, 0.1 * 2**attempt))
            answer = aws.call(
                self.client.put_record_batch,
                _refused([change for change, _ in pending]),
                DeliveryStreamName=self.stream_name,
                Records=[{"Data": data} for _, data in pending],
            )
            if not answer.get("FailedPutCount"):
                return [], set()
            responses = answer["RequestResponses"]
            pending = [entry for entry, reply in zip(pending, responses, strict=True) if "ErrorCode" in reply]
            codes = {str(reply["ErrorCode"]) for reply in responses if "ErrorCode" in reply}
        return [change for change, _ in pending], codes


def _refused(unsent: list[LakeChange]) -> aws.Failure:
    """The failure of a PutRecordBatch call Firehose refused as a whole: none of ``unsent`` went."""
    return lambda code, _transient: LakeDeliveryFailed(code, unsent)


def _batches(changes: Sequence[LakeChange]) -> Iterable[list[tuple[LakeChange, bytes]]]:
    """The changes with their records, in PutRecordBatch calls within Firehose's limits."""
    batch: list[tuple[LakeChange, bytes]] = []
    size = 0
    for change in changes:
        data = firehose_record(change)
        if batch and (len(batch) == MAX_RECORDS_PER_BATCH or size + len(data) > MAX_BYTES_PER_BATCH):
            yield batch
            batch, size = [], 0
        batch.append((change, data))
        size += len(data)
    if batch:
        yield batch
