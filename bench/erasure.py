"""Erasing one session of 10,000 events, on both backends; and what session summaries add to a
processor batch on DynamoDB.

    .venv/bin/python -m bench.erasure [--rounds 5]

* Embedded backend: a fresh SQLite file holding ``BACKGROUND_EVENTS`` events of other sessions;
  each round stores the session's ``SESSION_EVENTS`` events (``SqliteEventStore.put_all``) and
  ``SESSION_ERRORS`` errors, then times ``SqliteEraser.erase``.
* moto: the AWS code path on moto in this process (``bench.stacks.moto``: the tables from
  template.yaml through ``theeye_local.resources.create_resources``), with `make run`'s patch
  to moto's transactions (one rollback copy per table, not per item). The session's event and
  guard items (the adapter's own ``event_item`` / ``guard_item``), its errors
  (``DynamoErrorStore``) and its summary (``DynamoCounters.commit_batch``) are written, then
  ``DynamoEraser.erase`` is timed and metered at once: moto's wall time, not AWS's (moto copies
  the tables for every transaction's rollback).
* Session summaries: through the real ingest and processor handlers on moto, one processor batch
  per batch size (the template's ``ProcessorBatchSize`` and 100) and events per message
  (1, 10, 100), its messages each one session's: a session with one message in the batch and
  one with two (both seen in an earlier batch, as a long-lived session is), the others new.

``Meter`` counts what every DynamoDB request of the stack's client costs, from the request and
the items it touches (every item it writes sized before and after, with ``bench.cost.item_bytes``):
a write costs 1 unit per KB of the larger of the item's two sizes (at least 1), twice that in a
transaction, and a write whose condition failed still costs it; an index entry added, changed or
removed costs 1 unit per KB of the entry (as ``bench.cost`` counts them), a key change two
writes (the old entry removed, the new one put). Reads: a Query page costs 0.5 unit per 4 KB
returned (1 when consistent).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import tempfile
import threading
import time
import uuid
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import stacks
from bench.common import ROOT, load_average, median, stamp
from bench.cost import item_bytes, price_list, template_facts

SESSION = "bench-erasure-session"
SESSION_EVENTS = 10_000
SESSION_ERRORS = 10
BACKGROUND_EVENTS = 50_000  # embedded backend: other sessions' events, 10 per session
MOTO_BACKGROUND_EVENTS = 1_000
CHUNK = 10_000
APPLICATION = "bench-app"
ROUNDS = 5
EVENTS_PER_MESSAGE = (1, 10, 100)
LARGE_BATCH = 100  # SQS messages per invocation: the template's MaxValue

Key = tuple[str, str]  # table, the item's key as canonical JSON


# -- what the requests cost -------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """A table's key attributes and its global indexes: (index key attributes, projection)."""

    keys: tuple[str, ...]
    indexes: dict[str, tuple[tuple[str, ...], dict[str, Any]]]


def shapes(client: Any, tables: list[str]) -> dict[str, Shape]:
    found = {}
    for table in tables:
        described = client.describe_table(TableName=table)["Table"]
        found[table] = Shape(
            tuple(k["AttributeName"] for k in described["KeySchema"]),
            {
                index["IndexName"]: (
                    tuple(k["AttributeName"] for k in index["KeySchema"]),
                    index["Projection"],
                )
                for index in described.get("GlobalSecondaryIndexes", [])
            },
        )
    return found


@dataclass
class Write:
    table: str
    key: Key
    kind: str  # Put, Update, Delete
    item: dict[str, Any] | None  # a Put's new item
    transactional: bool
    before: dict[str, Any] | None = None


class Meter:
    """Write and read units of every DynamoDB request of one client, by what each write touched.

    It keeps an image of every item the client has written since the tables were created (the
    stack's processes all write through that one client), so a write's before-image is known
    without a read; an item an update changed is read back (``raw``, not metered) only while a
    ``phase`` is being metered.
    """

    def __init__(self, raw: Any, tables: dict[str, Shape], classify: Any) -> None:
        self.raw = raw
        self.tables = tables
        self.classify = classify
        self.phase: str | None = None
        self._images: dict[Key, dict[str, Any] | None] = {}
        self._unknown: set[Key] = set()
        self._lock = threading.Lock()
        self.write_units: dict[str, Counter[str]] = defaultdict(Counter)  # phase -> class -> units
        self.index_units: dict[str, Counter[str]] = defaultdict(Counter)
        self.read_units: dict[str, float] = defaultdict(float)
        self.own_seconds: dict[str, float] = defaultdict(float)  # spent in the meter's hooks
        self.requests: dict[str, Counter[str]] = defaultdict(Counter)
        self.items: dict[str, dict[Key, Counter[str]]] = defaultdict(lambda: defaultdict(Counter))

    def attach(self, client: Any) -> None:
        client.meta.events.register("before-parameter-build.dynamodb", self.before)
        client.meta.events.register("after-call.dynamodb", self.after)

    def key(self, table: str, item: dict[str, Any]) -> Key:
        shape = self.tables[table]
        return table, json.dumps([item[name] for name in shape.keys], sort_keys=True)

    def before(self, params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        began = time.perf_counter()
        self._before(params, model, context)
        self._took(began)

    def after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        began = time.perf_counter()
        self._after(parsed, model, context)
        self._took(began)

    def _took(self, began: float) -> None:
        if self.phase is not None:
            with self._lock:
                self.own_seconds[self.phase] += time.perf_counter() - began

    def _before(self, params: dict[str, Any], model: Any, context: dict[str, Any]) -> None:
        writes: list[Write] = []
        name = model.name
        if "TableName" in params and params["TableName"] not in self.tables:
            return  # the keys table: neither seeded nor metered
        if name == "TransactWriteItems":
            for operation in params["TransactItems"]:
                ((kind, body),) = operation.items()
                if kind != "ConditionCheck":
                    item = body.get("Item")
                    key = self.key(body["TableName"], item or body["Key"])
                    writes.append(Write(body["TableName"], key, kind, item, True))
        elif name in ("PutItem", "UpdateItem", "DeleteItem"):
            item = params.get("Item")
            key = self.key(params["TableName"], item or params["Key"])
            writes.append(Write(params["TableName"], key, name[: -len("Item")], item, False))
        elif name == "BatchWriteItem":
            for table, requests in params["RequestItems"].items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        writes.append(Write(table, self.key(table, item), "Put", item, False))
                    else:
                        key = self.key(table, request["DeleteRequest"]["Key"])
                        writes.append(Write(table, key, "Delete", None, False))
        if self.phase is not None:
            for write in writes:
                write.before = self.image(write.key)
        context["bench_meter"] = (self.phase, writes, bool(params.get("ConsistentRead")))

    def _after(self, parsed: dict[str, Any], model: Any, context: dict[str, Any]) -> None:
        phase, writes, consistent = context.pop("bench_meter", (None, [], False))
        failed = "Error" in parsed or bool(parsed.get("UnprocessedItems"))
        for write in writes:
            after: dict[str, Any] | None
            if failed:
                after = write.before
                if phase is None:
                    self._forget(write.key)
                    continue
            elif write.kind == "Delete":
                after = None
            elif write.kind == "Put":
                after = write.item
            elif phase is None:
                self._forget(write.key)
                continue
            else:
                after = self._read(write.key)
            self._images[write.key] = after
            self._unknown.discard(write.key)
            if phase is not None:
                self._charge(phase, write, after, failed)
        if phase is not None:
            with self._lock:
                self.requests[phase][model.name] += 1
                if failed:
                    self.requests[phase]["failed"] += 1
                self.read_units[phase] += _read_units(model.name, parsed, consistent)

    def image(self, key: Key) -> dict[str, Any] | None:
        if key in self._unknown:
            self._images[key] = self._read(key)
            self._unknown.discard(key)
        return self._images.get(key)

    def _forget(self, key: Key) -> None:
        self._images.pop(key, None)
        self._unknown.add(key)

    def _read(self, key: Key) -> dict[str, Any] | None:
        table, text = key
        values = json.loads(text)
        answer = self.raw.get_item(
            TableName=table, Key=dict(zip(self.tables[table].keys, values, strict=True)), ConsistentRead=True
        )
        found: dict[str, Any] | None = answer.get("Item")
        return found

    def _charge(self, phase: str, write: Write, after: dict[str, Any] | None, failed: bool) -> None:
        sizes = [item_bytes(i) for i in (write.before, after, write.item) if i]
        units = max(1, math.ceil(max(sizes, default=0) / 1024)) * (2 if write.transactional else 1)
        index = 0
        for keys, projection in self.tables[write.table].indexes.values():
            old, new = (
                _entry(i, keys, projection, self.tables[write.table].keys) for i in (write.before, after)
            )
            if old and new and all(old[k] == new[k] for k in keys):
                index += 0 if old == new else math.ceil(max(item_bytes(old), item_bytes(new)) / 1024)
            else:
                index += sum(math.ceil(item_bytes(e) / 1024) for e in (old, new) if e)
        kind = self.classify(
            write.table, dict(zip(self.tables[write.table].keys, json.loads(write.key[1]), strict=True))
        )
        with self._lock:
            self.write_units[phase][kind] += units
            self.index_units[phase][kind] += index
            counts = self.items[phase][write.key]
            counts["table units"] += units
            counts["index units"] += index
            counts["transactional" if write.transactional else "plain"] += 1
            counts["transactional units" if write.transactional else "plain units"] += units
            counts["failed"] += failed

    def report(self, phase: str) -> dict[str, Any]:
        table, index = self.write_units[phase], self.index_units[phase]
        return {
            "write_units": sum(table.values()) + sum(index.values()),
            "table_units_by_kind": dict(table),
            "index_units_by_kind": {k: v for k, v in index.items() if v},
            "read_units": self.read_units[phase],
            "requests": dict(self.requests[phase]),
            "meter_s": self.own_seconds[phase],
        }


def _read_units(operation: str, parsed: dict[str, Any], consistent: bool) -> float:
    """A read's units: per 4 KB returned (a Query page's items together, a got item alone),
    half of that when eventually consistent."""
    rate = 1.0 if consistent else 0.5
    if operation == "Query":
        return max(1, math.ceil(sum(item_bytes(i) for i in parsed.get("Items", [])) / 4096)) * rate
    if operation == "GetItem":
        return max(1, math.ceil(item_bytes(parsed.get("Item") or {}) / 4096)) * rate
    if operation == "BatchGetItem":  # the counters' marker reads, consistent
        items = [i for found in parsed.get("Responses", {}).values() for i in found]
        return sum(max(1, math.ceil(item_bytes(i) / 4096)) for i in items) * 1.0
    return 0.0


def _entry(
    item: dict[str, Any] | None,
    keys: tuple[str, ...],
    projection: dict[str, Any],
    table_keys: tuple[str, ...],
) -> dict[str, Any] | None:
    """The index entry of ``item`` (None when the item lacks the index's keys: a sparse index)."""
    if item is None or not all(k in item for k in keys):
        return None
    if projection["ProjectionType"] == "ALL":
        return item
    kept = set(keys) | set(table_keys) | set(projection.get("NonKeyAttributes", []))
    return {k: v for k, v in item.items() if k in kept}


def classify(refs: dict[str, str]) -> Any:
    """What a written item is, by its table and key: for the units by kind."""
    from theeye.aws import layout
    from theeye.aws.ledger import LEDGER_PK, MARKER_PK

    def kind(table: str, item: dict[str, Any]) -> str:
        pk = str(item.get("pk", {}).get("S", ""))
        if table == refs["EventsTable"]:
            return "guard item" if pk.startswith(layout.GUARD_PREFIX) else "event item"
        if table == refs["ErrorsTable"]:
            return "error item"
        if table == refs["CountersTable"]:
            if pk.startswith(layout.session_summary_pk("")):
                return "session summary"
            return {
                LEDGER_PK: "ledger",
                MARKER_PK: "markers",
                layout.CATEGORY_REGISTRY_PK: "category registry",
            }.get(pk, "stats" if pk.startswith("stats#") else "other counters")
        return table

    return kind


# -- the session to erase ---------------------------------------------------------------------


def session_records(round_: int, events: int, start: datetime, session: str = SESSION) -> list[Any]:
    """``events`` events of one session, a second apart from ``start``."""
    from theeye.clock import format_timestamp
    from theeye.events import Event
    from theeye.records import EventRecord

    out = []
    for n in range(events):
        moment = format_timestamp(start + timedelta(seconds=n, microseconds=n))
        event = Event(
            event_id=f"bench-erase-{round_}-{session}-{n:06d}",
            session_id=session,
            category=("page interaction", "form interaction")[n % 2],
            name=("pageview", "cta click", "submit")[n % 3],
            data={"host": "www.example.com", "path": f"/articles/{n % 977}"},
            timestamp=moment,
        )
        out.append(EventRecord(event, APPLICATION, moment, f"bench#{round_}#{n}", event.content_hash()))
    return out


def background_records(events: int, start: datetime) -> list[Any]:
    """Other sessions' events, ten to a session, which an erasure must leave alone."""
    out = []
    for first in range(0, events, 10):
        out += session_records(0, min(10, events - first), start, f"visitor-{first // 10:06d}")
    return out


def error_records(round_: int, records: list[Any]) -> list[Any]:
    """``SESSION_ERRORS`` rejected events of the session, as the processor records them."""
    from theeye.records import ErrorRecord, derive_error_id

    out = []
    for record in records[:SESSION_ERRORS]:
        event = record.event
        out.append(
            ErrorRecord(
                error_id=derive_error_id(event.event_id, "schema_violation", str(round_)),
                type="schema_violation",
                source="processor",
                application_id=APPLICATION,
                received_at=record.received_at,
                event_id=event.event_id,
                details=[
                    {"field": "data.path", "message": f"{event.data['path']!r} is not one of the site's"}
                ],
                payload=event.to_dict(),
                session_id=event.session_id,
            )
        )
    return out


def chunks(items: list[Any], size: int = CHUNK) -> list[list[Any]]:
    return [items[i : i + size] for i in range(0, len(items), size)]


# -- embedded ----------------------------------------------------------------------------------


def embedded(rounds: int) -> dict[str, Any]:
    from theeye.sqlite.backend import SqliteBackend
    from theeye.sqlite.db import unavailable

    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with tempfile.TemporaryDirectory(prefix="theeye-bench-erasure-") as scratch:
        backend = SqliteBackend(Path(scratch) / "theeye.db")
        store = backend.event_store()
        for chunk in chunks(background_records(BACKGROUND_EVENTS, start)):
            store.put_all(chunk)
        runs = []
        for round_ in range(rounds):
            records = session_records(round_, SESSION_EVENTS, start)
            for chunk in chunks(records):
                store.put_all(chunk)
            backend.error_store().put_all(error_records(round_, records))
            before = load_average()
            began = time.perf_counter()
            erasure = backend.eraser().erase(SESSION)
            seconds = time.perf_counter() - began
            runs.append(_run(seconds, erasure, before))
        left = backend.db.read(unavailable("bench"), "SELECT COUNT(*) AS n FROM events", ())
        backend.db.close()
    return {
        "backend": "embedded",
        "session_events": SESSION_EVENTS,
        "session_errors": SESSION_ERRORS,
        "other_events": BACKGROUND_EVENTS,
        "other_events_left": int(left[0]["n"]),
        "runs": runs,
        "median_s": median([r["seconds"] for r in runs]),
    }


def _run(seconds: float, erasure: Any, before: list[float]) -> dict[str, Any]:
    return {
        "seconds": seconds,
        "events_erased": erasure.events_erased,
        "errors_redacted": erasure.errors_redacted,
        "load_before": before,
        "load_after": load_average(),
    }


# -- moto --------------------------------------------------------------------------------------


def _put_items(client: Any, table: str, items: list[dict[str, Any]]) -> None:
    for first in range(0, len(items), 25):
        pending = {table: [{"PutRequest": {"Item": i}} for i in items[first : first + 25]]}
        while pending:
            pending = client.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}


def _store_on_moto(client: Any, backend: Any, records: list[Any], table: str, shards: int) -> None:
    """The session's items as the processor leaves them: event and guard items, the summary."""
    from theeye.aws.events import event_item, guard_item
    from theeye.ledger import MessageTally, SessionTally

    stored_at = records[-1].received_at
    items = []
    for record in records:
        items += [event_item(record, shards, stored_at), guard_item(record)]
    _put_items(client, table, items)
    by_session: dict[str, list[Any]] = defaultdict(list)
    for record in records:
        by_session[record.event.session_id].append(record)
    sessions = {
        sid: SessionTally(len(rs), rs[0].event.timestamp, rs[-1].event.timestamp, frozenset({APPLICATION}))
        for sid, rs in by_session.items()
    }
    key = hashlib.sha256(records[0].event.event_id.encode()).hexdigest()
    listed = list(sessions.items())
    for first in range(0, len(listed), 50):  # 50 summaries to a counting transaction
        part = dict(listed[first : first + 50])
        tally = MessageTally(sum(t.events for t in part.values()), 0, {}, {}, part)
        backend.counters().commit_batch([(f"{key[:56]}{first:08d}", tally)])


def moto(facts: dict[str, Any]) -> dict[str, Any]:
    """One erasure, timed and metered at once: moto takes about a second a transaction (it
    copies the tables for its rollback), so the meter's own time is small beside it (recorded)."""
    import boto3

    from theeye import aws, wiring
    from theeye.config import get_settings
    from theeye_local.embedded_aws import _snapshot_each_table_once

    _snapshot_each_table_once()  # as `make run`'s moto server does: one copy per table, not per item
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)
    with stacks.moto() as stack:
        client = aws.client("dynamodb")
        refs = stack.refs
        raw = boto3.client("dynamodb", region_name=stacks.REGION)
        tables = [refs["EventsTable"], refs["ErrorsTable"], refs["CountersTable"]]
        meter = Meter(raw, shapes(raw, tables), classify(refs))
        meter.attach(client)
        backend = wiring.backend()
        shards = get_settings().index_shards
        _store_on_moto(client, backend, background_records(MOTO_BACKGROUND_EVENTS, start), tables[0], shards)
        records = session_records(0, SESSION_EVENTS, start)
        _store_on_moto(client, backend, records, tables[0], shards)
        backend.error_store().put_all(error_records(0, records))
        meter.phase = "erasure"
        before = load_average()
        began = time.perf_counter()
        erasure = backend.eraser().erase(SESSION)
        seconds = time.perf_counter() - began
        meter.phase = None
        run = _run(seconds, erasure, before)
        left = sum(
            page["Count"] for page in raw.get_paginator("scan").paginate(TableName=tables[0], Select="COUNT")
        )
        summaries = summary_batches(stack, meter, facts["batch_size"])
    return {
        "backend": "moto",
        "session_events": SESSION_EVENTS,
        "session_errors": SESSION_ERRORS,
        "other_events": MOTO_BACKGROUND_EVENTS,
        "other_items_left": left,
        "runs": [run],
        "median_s": seconds,
        "units": meter.report("erasure"),
        "summaries": summaries,
    }


# -- session summaries in a processor batch ------------------------------------------------------


def _request(session: str, events: int, first: int) -> list[dict[str, Any]]:
    briefing = json.loads((ROOT / "events" / "briefing_events.json").read_text())
    now = datetime.now(UTC)
    return [
        dict(
            briefing[(first + n) % 3],
            session_id=session,
            timestamp=(now - timedelta(minutes=5) + timedelta(microseconds=first + n)).isoformat(),
        )
        for n in range(events)
    ]


def _receive(stack: stacks.Stack, count: int) -> list[dict[str, Any]]:
    """``count`` messages, as the event source gathers a batch of them (SQS hands out 10 a call)."""
    messages: list[dict[str, Any]] = []
    while len(messages) < count:
        got = stack.receive(min(10, count - len(messages)))
        if not got:
            raise SystemExit(f"the queue held {len(messages)} messages, not {count}")
        messages += got
    return messages


def summary_batches(stack: stacks.Stack, meter: Meter, template_batch: int) -> list[dict[str, Any]]:
    """One metered processor batch per batch size and events per message."""
    from theeye.aws import layout

    out = []
    counter = 0
    for batch in (template_batch, LARGE_BATCH):
        for per_message in EVENTS_PER_MESSAGE:
            tag = uuid.uuid4().hex[:8]
            once, twice = f"long-{tag}-once", f"long-{tag}-twice"
            for session in (once, twice):  # seen before: their summaries exist
                stack.post(_request(session, per_message, counter), str(uuid.uuid4()))
                counter += per_message
            warm = _receive(stack, 2)
            stack.process(stack.sqs_event(warm))
            stack.delete(warm)
            sessions = [once, twice, twice] + [f"new-{tag}-{n}" for n in range(batch - 3)]
            for session in sessions:
                stack.post(_request(session, per_message, counter), str(uuid.uuid4()))
                counter += per_message
            messages = _receive(stack, batch)
            phase = f"batch {batch} x {per_message}"
            meter.phase = phase
            stack.process(stack.sqs_event(messages))
            meter.phase = None
            stack.delete(messages)

            def item(session: str, phase: str = phase) -> dict[str, Any]:
                key = meter.key(stack.refs["CountersTable"], _summary_key(layout, session))
                return dict(meter.items[phase][key])

            new = [item(s) for s in sessions[3:]]
            report = meter.report(phase)
            out.append(
                {
                    "batch_size": batch,
                    "events_per_message": per_message,
                    "messages": len(messages),
                    "events": len(messages) * per_message,
                    "distinct_sessions": len(set(sessions)),
                    "counting_transactions": report["requests"].get("TransactWriteItems", 0),
                    "one_message": item(once),
                    "two_messages": item(twice),
                    "new_session_mean": {
                        k: sum(n.get(k, 0) for n in new) / len(new)
                        for k in (
                            "table units",
                            "index units",
                            "transactional",
                            "transactional units",
                            "plain",
                            "plain units",
                            "failed",
                        )
                    },
                    "summary_table_units": report["table_units_by_kind"].get("session summary", 0),
                    "summary_index_units": report["index_units_by_kind"].get("session summary", 0),
                    "batch": report,
                }
            )
    return out


def _summary_key(layout: Any, session: str) -> dict[str, Any]:
    return {"pk": {"S": layout.session_summary_pk(session)}, "sk": {"S": layout.SESSION_SUMMARY_SK}}


def measure(rounds: int = ROUNDS) -> dict[str, Any]:
    from theeye.aws import layout

    facts = template_facts()
    embedded_figures = embedded(rounds)
    moto_figures = moto(facts)
    command = "python -m bench.erasure" + (f" --rounds {rounds}" if rounds != ROUNDS else "")
    return stamp(
        command,
        {
            "backends": {"embedded": embedded_figures, "moto": moto_figures},
            "session_start_shards": layout.SESSION_START_SHARDS,
            "template_batch_size": facts["batch_size"],
            "prices": price_list(),
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    options = parser.parse_args()
    print(json.dumps(measure(options.rounds), indent=2))


if __name__ == "__main__":
    main()
