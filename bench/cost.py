"""AWS work per 1,000 events and dollars per million events, counted at the boto3 layer, and the
bytes a stored event occupies.

    .venv/bin/python -m bench.cost

Events flow through the real handlers in-process - ingest, the SQS event source (batches of the
template's ``ProcessorBatchSize``), the processor - against moto (``bench.stacks.moto``), while
every DynamoDB and SQS call is counted:

* DynamoDB write units from the real item sizes (1 per KB per item, each index entry again,
  transactions twice, failed conditional writes still cost their unit), by what was written
  (guard, event item, index entry, counting writes); read units for reads;
* SQS requests in billed 64 KiB chunks: sends, the event source's receives and batch deletes;
* Lambda invocations and GB-seconds from the measured handler durations at the template's
  memory; API Gateway requests;
* CloudWatch Logs: the bytes and lines the handlers write (log lines, EMF metrics) plus the
  HTTP API's access log line per request (the template's format, filled with the request's
  values); gzip level 6 of them, as CloudWatch Logs archives them;
* storage: after the run, every item of the events table read back from moto and sized with
  DynamoDB's rules (``item_bytes``), its index entries by the index's projection, plus the
  100 bytes of overhead DynamoDB bills per item and per index entry.

Scenarios: clients sending 1 event per request and 100 per request, and, for comparison, a
naive design, modelled (not measured) from the measured run of 1 event per request: see
``NAIVE_MODEL``.
"""

from __future__ import annotations

import gzip
import json
import math
import re
import statistics
import time
import uuid
from collections import Counter
from typing import Any

from bench import prices, stacks
from bench.common import COUNTING, ERRORS, GUARD, INDEX_ENTRIES, ITEM, WRITE_KINDS, stamp

EVENTS = 1000
STORAGE_OVERHEAD_BYTES = 100  # DynamoDB bills this much per item and per index entry for storage
ARCHIVE_BYTES_PER_LOG_EVENT = 26  # CloudWatch Logs adds this metadata per log event when it archives
NAIVE_MODEL = [
    "one SQS message and one processor invocation per event (send, receive, delete: 3 SQS requests)",
    "each event written once as an item plus an unsharded category index and a time index, no guard item",
    "no ledger, stats or registry writes",
    "Lambda GB-seconds, reads and log bytes per event as measured with 1 event per request",
]


def item_bytes(item: dict[str, Any]) -> int:
    """DynamoDB's item size: for each attribute, its name's bytes plus its value's (strings: UTF-8
    bytes; numbers: 1 byte per two significant digits plus 1; string sets: each member)."""
    size = 0
    for name, value in item.items():
        size += len(name.encode())
        if "S" in value:
            size += len(value["S"].encode())
        elif "N" in value:
            digits = value["N"].lstrip("-").replace(".", "").strip("0") or "0"
            size += math.ceil(len(digits) / 2) + 1
        elif "SS" in value:
            size += sum(len(member.encode()) for member in value["SS"])
        elif "BOOL" in value or "NULL" in value:
            size += 1
    return size


class Meter:
    """Counts every DynamoDB and SQS call, and the write units each write is billed."""

    def __init__(self, events_table: str, errors_table: str) -> None:
        self.events_table = events_table
        self.errors_table = errors_table
        self.calls: Counter[str] = Counter()
        self.write_units: Counter[str] = Counter(dict.fromkeys(WRITE_KINDS, 0))
        self.read_units = 0.0
        self.sqs_requests = 0

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        self.calls[f"{model.service_model.service_name}.{name}"] += 1
        if name == "PutItem":
            self.put(params["TableName"], params["Item"])
        elif name == "UpdateItem":
            self.write_units[COUNTING] += 1
        elif name == "TransactWriteItems":
            self.write_units[COUNTING] += 2 * sum(
                _units(op["Put"]["Item"]) if "Put" in op else 1 for op in params["TransactItems"]
            )
        elif name == "GetItem":
            self.read_units += 0.5
        elif name == "BatchGetItem":
            self.read_units += 0.5 * sum(len(v["Keys"]) for v in params["RequestItems"].values())
        elif name == "SendMessage":
            self.sqs_requests += math.ceil(len(params["MessageBody"].encode()) / 65536)
        elif name == "DeleteMessageBatch":
            self.sqs_requests += 1

    def put(self, table: str, item: dict[str, Any]) -> None:
        units = _units(item)
        if table == self.errors_table:
            self.write_units[ERRORS] += units * 3  # the item and its two index entries
        elif "cat_pk" in item:
            self.write_units[ITEM] += units
            self.write_units[INDEX_ENTRIES] += units  # ByCategory projects ALL: the same size again
        elif table == self.events_table:
            self.write_units[GUARD] += units
        else:
            self.write_units[COUNTING] += units

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "ReceiveMessage":
            size = sum(len(m.get("Body", "").encode()) for m in parsed.get("Messages", []))
            self.sqs_requests += max(1, math.ceil(size / 65536))


def _units(item: dict[str, Any]) -> int:
    return math.ceil(item_bytes(item) / 1024)


def template_facts() -> dict[str, Any]:
    """What the cost model takes from template.yaml: a plain deploy's parameter defaults, the
    functions' memory and architecture, which tables keep point-in-time recovery, the access
    log's format."""
    from theeye_local.template import load_template

    template = load_template()
    defaults = {name: spec.get("Default") for name, spec in template.parameters.items()}
    functions = {fid: template.properties(fid) for fid in stacks.FUNCTIONS}
    tables = {lid: template.properties(lid) for lid, _ in template.of_type("AWS::DynamoDB::Table")}
    return {
        "memory_mb": {fid: int(p["MemorySize"]) for fid, p in functions.items()},
        "architectures": sorted({a for p in functions.values() for a in p["Architectures"]}),
        "batch_size": int(defaults["ProcessorBatchSize"]),
        "index_shards": int(defaults["IndexShards"]),
        "event_retention_days": int(defaults["EventRetentionDays"]),
        "log_retention_days": int(defaults["LogRetentionDays"]),
        "point_in_time_recovery": {
            lid: bool((p.get("PointInTimeRecoverySpecification") or {}).get("PointInTimeRecoveryEnabled"))
            for lid, p in tables.items()
        },
        "access_log_format": str(template.properties("HttpApi")["AccessLogSettings"]["Format"]),
    }


def access_log_line(
    log_format: str, request: dict[str, Any], answer: dict[str, Any], latency_ms: float
) -> str:
    """The HTTP API's access log line for one request: the template's format with the request's
    values (a variable without a value is logged as ``-``, as API Gateway does)."""
    context = request["requestContext"]
    values = {
        "requestId": context["requestId"],
        "identity.sourceIp": context["http"]["sourceIp"],
        "httpMethod": context["http"]["method"],
        "path": context["http"]["path"],
        "status": str(answer["statusCode"]),
        "responseLatency": str(round(latency_ms)),
        "responseLength": str(len(str(answer.get("body", "")).encode())),
    }
    return re.sub(r"\$context\.([A-Za-z.]+)", lambda m: values.get(m.group(1), "-"), log_format)


class Logs:
    """What CloudWatch Logs would ingest, by source: bytes and log events (lines)."""

    def __init__(self) -> None:
        self.text: dict[str, list[str]] = {"ingest": [], "processor": [], "access log": []}

    def add(self, source: str, text: str) -> None:
        self.text[source].append(text if text.endswith("\n") or not text else text + "\n")

    def figures(self) -> dict[str, Any]:
        everything = "".join("".join(parts) for parts in self.text.values())
        return {
            "log_bytes": len(everything.encode()),
            "log_bytes_by_source": {k: len("".join(v).encode()) for k, v in self.text.items()},
            "log_events": everything.count("\n"),
            "log_bytes_gzip6": len(gzip.compress(everything.encode(), compresslevel=6)),
        }


def stored_sizes(stack: stacks.Stack, client: Any) -> dict[str, Any]:
    """Every item of the events table, read back, sized; its index entries by their projection."""
    table = stack.refs["EventsTable"]
    described = client.describe_table(TableName=table)["Table"]
    table_keys = {k["AttributeName"] for k in described["KeySchema"]}
    items: list[dict[str, Any]] = []
    for page in client.get_paginator("scan").paginate(TableName=table):
        items += page["Items"]
    events = [i for i in items if "event_id" in i and "content_hash" not in i]
    guards = [i for i in items if "content_hash" in i]
    index_bytes = 0
    projections = {}
    for index in described.get("GlobalSecondaryIndexes", []):
        projections[index["IndexName"]] = index["Projection"]["ProjectionType"]
        keys = {k["AttributeName"] for k in index["KeySchema"]}
        for item in items:
            if keys <= item.keys():
                index_bytes += _entry_bytes(item, index["Projection"], table_keys | keys)
                index_bytes += STORAGE_OVERHEAD_BYTES
    return {
        "events": len(events),
        "event_item_bytes": statistics.mean(item_bytes(i) for i in events),
        "guard_item_bytes": statistics.mean(item_bytes(i) for i in guards),
        "table_bytes_per_event": sum(item_bytes(i) + STORAGE_OVERHEAD_BYTES for i in items) / len(events),
        "index_bytes_per_event": index_bytes / len(events),
        "overhead_bytes": STORAGE_OVERHEAD_BYTES,
        "index_projections": projections,
    }


def _entry_bytes(item: dict[str, Any], projection: dict[str, Any], keys: set[str]) -> int:
    kind = projection["ProjectionType"]
    if kind == "ALL":
        return item_bytes(item)
    kept = keys | set(projection.get("NonKeyAttributes", []) if kind == "INCLUDE" else [])
    return item_bytes({k: v for k, v in item.items() if k in kept})


def run(per_request: int, facts: dict[str, Any]) -> dict[str, Any]:
    import boto3

    from theeye import aws

    with stacks.moto() as stack, stacks.Output() as output:
        meter = Meter(stack.refs["EventsTable"], stack.refs["ErrorsTable"])
        for service in ("dynamodb", "sqs"):
            aws.client(service).meta.events.register(f"before-parameter-build.{service}", meter.before)
            aws.client(service).meta.events.register(f"after-call.{service}", meter.after)
        logs = Logs()
        durations = dict.fromkeys(stacks.FUNCTIONS, 0.0)
        invocations: Counter[str] = Counter()
        for start in range(0, EVENTS, per_request):
            request_id = str(uuid.uuid4())
            output.take()
            began = time.perf_counter()
            answer = stack.post(stacks.briefing_events(start, per_request, ""), request_id)
            took = time.perf_counter() - began
            durations["IngestFunction"] += took
            invocations["IngestFunction"] += 1
            logs.add("ingest", output.take())
            request = {"requestContext": {**stacks.POST_EVENTS["requestContext"], "requestId": request_id}}
            logs.add("access log", access_log_line(facts["access_log_format"], request, answer, took * 1000))
        while messages := stack.receive(facts["batch_size"]):
            began = time.perf_counter()
            stack.process(stack.sqs_event(messages))
            durations["ProcessorFunction"] += time.perf_counter() - began
            invocations["ProcessorFunction"] += 1
            logs.add("processor", output.take())
            stack.delete(messages)
        meter.sqs_requests -= 1  # the final empty receive belongs to idle polling, not to these events
        sizes = stored_sizes(stack, boto3.client("dynamodb", region_name=stacks.REGION))  # not metered
        assert sizes["events"] == EVENTS, sizes
        return {
            "per_request": per_request,
            "api_requests": invocations["IngestFunction"],
            "invocations": dict(invocations),
            "gb_seconds": {k: v * facts["memory_mb"][k] / 1024 for k, v in durations.items()},
            "sqs_requests": meter.sqs_requests,
            "write_units": sum(meter.write_units.values()),
            "write_units_by_kind": dict(meter.write_units),
            "read_units": meter.read_units,
            **logs.figures(),
            "calls": dict(meter.calls),
            "storage": sizes,
        }


def dollars(work: dict[str, Any]) -> dict[str, float]:
    """Dollars per million events, by service, for the work of ``EVENTS`` events (storage apart:
    it is billed per month kept, see ``storage_per_million``)."""
    scale = 1_000_000 / EVENTS
    invocations = sum(work["invocations"].values())
    gb_seconds = sum(work["gb_seconds"].values())
    return {
        "API Gateway": work["api_requests"] * scale * prices.HTTP_API_PER_MILLION_REQUESTS / 1e6,
        "Lambda requests": invocations * scale * prices.LAMBDA_PER_MILLION_REQUESTS / 1e6,
        "Lambda compute": gb_seconds * scale * prices.LAMBDA_ARM_PER_GB_SECOND,
        "SQS": work["sqs_requests"] * scale * prices.SQS_PER_MILLION_REQUESTS / 1e6,
        "DynamoDB writes": work["write_units"] * scale * prices.DYNAMODB_PER_MILLION_WRITE_UNITS / 1e6,
        "DynamoDB reads": work["read_units"] * scale * prices.DYNAMODB_PER_MILLION_READ_UNITS / 1e6,
        "CloudWatch Logs": work["log_bytes"] * scale / prices.LOGS_BYTES_PER_GB * prices.LOGS_PER_GB_INGESTED,
    }


def naive(measured_single: dict[str, Any]) -> dict[str, Any]:
    """The naive design of ``NAIVE_MODEL``: modelled from the measured 1-event-per-request run,
    its event item size included; nothing of it runs."""
    storage = measured_single["storage"]
    event_units = math.ceil(storage["event_item_bytes"] / 1024)
    return {
        "per_request": 1,
        "api_requests": EVENTS,
        "invocations": {"IngestFunction": EVENTS, "ProcessorFunction": EVENTS},
        "gb_seconds": dict(measured_single["gb_seconds"]),
        "sqs_requests": EVENTS * 3,
        "write_units": EVENTS * event_units * 3,
        "read_units": measured_single["read_units"],
        "log_bytes": measured_single["log_bytes"],
        "calls": {},
    }


def price_list() -> dict[str, Any]:
    """Every price the figures use, recorded beside them so the pages render from the JSON alone."""
    return {
        name: getattr(prices, name) for name in dir(prices) if name.isupper() and not name.startswith("_")
    }


def measure() -> dict[str, Any]:
    facts = template_facts()
    assert facts["architectures"] == ["arm64"], "prices.LAMBDA_ARM_PER_GB_SECOND is the arm64 price"
    single = run(1, facts)
    hundred = run(100, facts)
    scenarios: dict[str, dict[str, Any]] = {
        "1 event per request": {"work": single},
        "100 events per request": {"work": hundred},
        "naive design, 1 per request": {"work": naive(single), "modelled": NAIVE_MODEL},
    }
    for scenario in scenarios.values():
        scenario["dollars_per_million"] = dollars(scenario["work"])
    return stamp(
        "python -m bench.cost",
        {
            "events": EVENTS,
            "archive_bytes_per_log_event": ARCHIVE_BYTES_PER_LOG_EVENT,
            "template": facts,
            "prices": price_list(),
            "scenarios": scenarios,
        },
    )


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
