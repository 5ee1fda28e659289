"""What the lake on AWS costs per million events: Firehose ingestion, S3 storage, one Athena query.

    .venv/bin/python -m bench.lake_cost [--events 6000]

* Events: the briefing's three types in turn (``bench.stacks.briefing_events``), each with the
  context the browser snippet sends (``context.page`` with UTM parameters, a referrer, a user
  agent and an address from tests/fixtures, locale, timezone, screen), posted 100 a request
  through the real ingest and processor handlers on moto (``bench.stacks.moto``).
* Records: the events table's stream (moto's) read as the feeder's event source hands it over,
  and turned into Firehose records by the feeder's own code (``theeye.aws.lake.stream_changes``,
  ``firehose_record``): their exact bytes, and those bytes rounded up record by record to
  Firehose's billing increment (``bench.prices.FIREHOSE_RECORD_INCREMENT_BYTES``).
* Parquet: the same rows written as one Parquet file with zstd (DuckDB; the table's
  ``write.parquet.compression-codec``), the Iceberg writer's format. ``EVENTS`` defaults to one
  Firehose buffer at the load of docs/DATA_MODEL.md (100 events/s for ``LakeBufferSeconds``), so
  the sample is one of the files Firehose would write; bytes per event are extrapolated from it.
* A typical analyst query: events per day and category over a month
  (``TYPICAL_QUERY``). Athena prunes the month's partitions and reads only the column chunks the
  statement names, so it scans the compressed bytes of ``event_time`` and ``category`` (read from
  the file's Parquet metadata).

Dollars are computed by ``bench.render`` from these figures and the prices recorded with them
(``bench.prices``): Firehose per GB billed, S3 Standard per GB-month, Athena per TB scanned with
its 10 MB minimum, for a month of events at the load of docs/DATA_MODEL.md.
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import uuid
from pathlib import Path
from typing import Any, Final

from bench import prices, stacks
from bench.common import ROOT, stamp
from bench.cost import price_list
from theeye.analytics.table import COLUMNS, TABLE

EVENTS: Final = 100 * 60  # one LakeBufferSeconds (60 s) of the 100 events/s load
PER_REQUEST: Final = 100
TYPICAL_QUERY: Final = (
    f"SELECT date_trunc('day', event_time) AS day, category, count(*) AS n FROM {TABLE} "  # noqa: S608
    "WHERE event_time >= from_iso8601_timestamp('2026-11-01T00:00:00Z') "
    "AND event_time < from_iso8601_timestamp('2026-12-01T00:00:00Z') GROUP BY 1, 2"
)
QUERY_COLUMNS: Final = ("event_time", "category")  # the columns TYPICAL_QUERY reads
FIXTURES: Final = ROOT / "tests" / "fixtures"
_SQL_TYPES: Final = {"varchar": "VARCHAR", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}


def contexts(count: int) -> list[dict[str, Any]]:
    """``count`` sender contexts, cycling through the fixtures' agents, referrers and addresses."""
    agents = json.loads((FIXTURES / "user_agents.json").read_text())["user_agents"]
    referrers = json.loads((FIXTURES / "referrers.json").read_text())["referrers"]
    addresses = json.loads((FIXTURES / "addresses.json").read_text())["addresses"]
    pages = ("/", "/pricing", "/products/lamp", "/blog/how-we-measure", "/signup")
    return [
        {
            "page": {
                "url": f"https://shop.example.com{pages[n % len(pages)]}"
                f"?utm_source=newsletter&utm_medium=email&utm_campaign=winter-{n % 4}",
                "referrer": referrers[n % len(referrers)]["referrer"],
                "title": f"Shop - {pages[n % len(pages)].strip('/') or 'home'}",
            },
            "user_agent": agents[n % len(agents)]["user_agent"],
            "ip": addresses[n % len(addresses)]["ip"],
            "locale": "en-GB",
            "timezone": "Europe/London",
            "screen": {"width": 1440, "height": 900},
        }
        for n in range(count)
    ]


def feeder_records(events: int) -> list[dict[str, Any]]:
    """The rows the feeder sends for ``events`` stored events: each change's record and row."""
    import boto3

    from theeye.aws.lake import firehose_record, stream_changes
    from theeye.ports import LakeUpsert

    sent = stacks.briefing_events(0, events, "lake")
    for event, context in zip(sent, contexts(events), strict=True):
        event["context"] = context
    with stacks.moto() as stack:
        for first in range(0, events, PER_REQUEST):
            stack.post(sent[first : first + PER_REQUEST], str(uuid.uuid4()))
        while messages := stack.receive(10):
            stack.process(stack.sqs_event(messages))
            stack.delete(messages)
        records = _stream(boto3.session.Session(region_name=stacks.REGION), stack.refs["EventsTable"])
    upserts = [fed.change for fed in stream_changes(records) if isinstance(fed.change, LakeUpsert)]
    assert len(upserts) == events, len(upserts)
    return [{"record": firehose_record(change), "row": change.row} for change in upserts]


def _stream(session: Any, table: str) -> list[dict[str, Any]]:
    """Every record of the table's stream, as the feeder's event source hands them over."""
    arn = session.client("dynamodb").describe_table(TableName=table)["Table"]["LatestStreamArn"]
    streams = session.client(
        "dynamodbstreams", endpoint_url=f"https://streams.dynamodb.{stacks.REGION}.amazonaws.com"
    )
    records: list[dict[str, Any]] = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        iterator = streams.get_shard_iterator(
            StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON"
        )["ShardIterator"]
        while iterator:
            got = streams.get_records(ShardIterator=iterator, Limit=1000)
            records += got["Records"]
            iterator = got.get("NextShardIterator") if got["Records"] else None
    return records


def parquet_figures(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows as one zstd Parquet file: its bytes, and the compressed bytes of each column."""
    import duckdb

    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory) / "events.parquet"
        connection = duckdb.connect()
        columns = ", ".join(f"{c.name} {_SQL_TYPES[c.type]}" for c in COLUMNS)
        connection.execute(f"CREATE TABLE {TABLE} ({columns})")
        marks = ", ".join("?" for _ in COLUMNS)
        connection.executemany(
            f"INSERT INTO {TABLE} VALUES ({marks})",  # noqa: S608 - the table's own column list
            [[row.get(c.name) for c in COLUMNS] for row in rows],
        )
        connection.execute(f"COPY {TABLE} TO '{path}' (FORMAT parquet, COMPRESSION zstd)")
        by_column = dict(
            connection.execute(
                "SELECT path_in_schema, sum(total_compressed_size) FROM parquet_metadata(?) GROUP BY 1",
                [str(path)],
            ).fetchall()
        )
        return {"file_bytes": path.stat().st_size, "column_bytes": {k: int(v) for k, v in by_column.items()}}


def figures(records: list[dict[str, Any]]) -> dict[str, Any]:
    sizes = sorted(len(r["record"]) for r in records)
    increment = prices.FIREHOSE_RECORD_INCREMENT_BYTES
    billed = sum(math.ceil(size / increment) * increment for size in sizes)
    parquet = parquet_figures([r["row"] for r in records])
    return {
        "record_bytes": {
            "mean": sum(sizes) / len(sizes),
            "median": sizes[len(sizes) // 2],
            "largest": sizes[-1],
            "smallest": sizes[0],
        },
        "billed_bytes_per_event": billed / len(sizes),
        "parquet_bytes_per_event": parquet["file_bytes"] / len(sizes),
        "query_bytes_per_event": sum(parquet["column_bytes"][c] for c in QUERY_COLUMNS) / len(sizes),
        "parquet": parquet,
    }


def measure(events: int = EVENTS) -> dict[str, Any]:
    measured = figures(feeder_records(events))
    return stamp(
        f"python -m bench.lake_cost --events {events}",
        {
            "events": events,
            "query": TYPICAL_QUERY,
            "query_columns": list(QUERY_COLUMNS),
            **measured,
            "prices": price_list(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    args = parser.parse_args()
    print(json.dumps(measure(args.events), indent=2))


if __name__ == "__main__":
    main()
