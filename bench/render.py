"""docs/PERFORMANCE.md and the README's performance paragraph, rendered from docs/performance.json.

Every function here is pure: a figure, a verdict or a fact about the machine on these pages is
read or computed from the results they are given (each section of which names the command,
date and machine it was measured with), never typed. The constants below are goals and model
inputs (a load, a traffic mix, a partition limit), each named where it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from bench.common import COUNTING, GUARD, INDEX_ENTRIES, ITEM, describe_machine

# The goals of the project on the benchmark machine.
COLD_START_TARGET_MS = 300.0
CPU_TARGETS_US = {  # our own CPU per event, by bench.cpu label
    "ingest, 1-event request": 1000.0,
    "ingest, 100-event request": 50.0,
    "processor, SQS batch of 10 x 100 (handler)": 100.0,
}
COST_TARGET = 2.00  # dollars per million events at 100 events per request
BATCHED = "100 events per request"
SINGLE = "1 event per request"
# The goals of the embedded backend on this machine (the load generator on the same cores).
GOALS = {
    "single_rps": 450.0,  # single-event POST /events at 8 connections
    "single_p99_ms": 50.0,
    "stored_per_s": 2000.0,  # batches of 100 from 8 senders, end to end
    "query_p50_ms": 50.0,
    "query_p95_ms": 150.0,
    "walk_s": 5.0,  # 20,000 events in pages of 1,000
    "ready_s": 3.0,
    "sessions_p50_ms": 50.0,  # GET /sessions, a page of 100 at 100,000 sessions
    "segment_share": 0.9,  # /v1/batch stores at least this share of POST /events' events/s
}
# Model inputs.
LOAD_EVENTS_PER_S = 100  # the sustained load of docs/DATA_MODEL.md ("Hot partitions")
MONTHS_KEPT = (1, 3, 12)
DAYS_PER_MONTH = 365.25 / 12
PARTITION_WRITE_UNITS_PER_S = 1000  # DynamoDB's limit per partition (docs/DATA_MODEL.md)
CATEGORY_SHARE, SESSION_SHARE = 0.8, 0.05  # the skewed mix of docs/DATA_MODEL.md
SCALE_RATES = (100, 1_000, 10_000)
HOT_SESSION_RATE = 10_000  # events/s of the hot-session model (one session has SESSION_SHARE of them)

README_START = "<!-- performance: written by `python -m bench.run` from docs/performance.json -->"
README_END = "<!-- /performance -->"


def mark(ok: bool) -> str:
    return "met" if ok else "**missed**"


def measured(section: Mapping[str, Any]) -> str:
    """Which command measured a section, when and where: the first line of its text."""
    return f"Measured by `{section['command']}` on {section['date']}, {describe_machine(section['machine'])}."


def percent(part: float, whole: float) -> str:
    return f"{100 * part / whole:.0f} %"


# -- cold start and the tracer ----------------------------------------------------------------


def cold_start_section(cold: Mapping[str, Any], tracer: Mapping[str, Any] | None) -> list[str]:
    out = [
        f"## Cold start (median of {cold['runs']} fresh processes; target {COLD_START_TARGET_MS:.0f} ms)",
        "",
        measured(cold),
        "Import of the handler module plus its first invocation against moto's",
        "server on 127.0.0.1 (client creation and first calls included).",
        "",
        "| function | import ms | first invocation ms | total ms | target |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, figures in cold["functions"].items():
        out.append(
            f"| {name} | {figures['import_ms']:.0f} | {figures['first_invoke_ms']:.0f} | "
            f"{figures['total_ms']:.0f} | {mark(figures['total_ms'] <= COLD_START_TARGET_MS)} |"
        )
    out.append("")
    if tracer is None:
        return out
    out += ["### What the X-Ray SDK would add", ""]
    if tracer.get("skipped"):
        return [*out, measured(tracer), f"Not measured: {tracer['skipped']}.", ""]
    low, high = tracer["tracer_ms_range"]
    return [
        *out,
        measured(tracer),
        f"Powertools' `Tracer` (aws-xray-sdk {tracer['xray_sdk']}) imported and",
        "constructed with tracing on, in a fresh process that has loaded boto3 and Powertools' Logger and",
        f"Metrics: **{tracer['tracer_ms']:.0f} ms** (median of {tracer['runs']}; {low:.0f} to {high:.0f} ms) that every",
        "cold start of every function would add, before any traced call. `theeye.observability` does",
        "without it; X-Ray's active tracing (template.yaml) records each invocation without the SDK.",
        "",
    ]


# -- CPU and the processor through its handler --------------------------------------------------


def cpu_section(cpu: Mapping[str, Any]) -> list[str]:
    out = [
        "## Our own CPU per event (AWS answered in memory)",
        "",
        measured(cpu),
        f"Median of {cpu['rounds']} rounds of `time.process_time`, every AWS call",
        "answered by the in-memory backend; the handlers' log lines and metrics go to a buffer.",
        "",
        "| path | CPU per event | target | |",
        "| --- | --- | --- | --- |",
    ]
    for name, micros in cpu["cpu_us_per_event"].items():
        limit = CPU_TARGETS_US.get(name)
        target = f"{limit:.0f} µs" if limit else "-"
        out.append(f"| {name} | {micros:.1f} µs | {target} | {mark(micros <= limit) if limit else ''} |")
    return [*out, ""]


BACKEND_NOTES = {
    "embedded": "embedded (SQLite file, WAL, every commit fsynced)",
    "moto": "moto (the AWS backend on moto, in this process)",
}


def processor_section(processor: Mapping[str, Any], cpu: Mapping[str, Any]) -> list[str]:
    backends = processor["backends"]
    messages, per_message = processor["messages_per_invocation"], processor["events_per_message"]
    events = messages * per_message
    out = [
        "## The processor through its handler, per backend",
        "",
        measured(processor),
        f"Each round, {messages} requests of {per_message} new events go through",
        f"the ingest handler (not timed) and their {messages} queued messages reach",
        "`processor.handler.lambda_handler` as one SQS event: Powertools' BatchProcessor, parsing, schema",
        "validation, the guard and event writes, the batch's ledger commit, log lines and metrics; the",
        f"ledger must show all {events:,} events stored. Median of {processor['rounds']} rounds, after one untimed round.",
        "",
        f"| backend | CPU per event | wall time per event | one invocation ({events:,} events) | log bytes per event |",
        "| --- | --- | --- | --- | --- |",
    ]
    for name, b in backends.items():
        out.append(
            f"| {BACKEND_NOTES.get(name, name)} | {b['cpu_us_per_event']:,.1f} µs | {b['wall_us_per_event']:,.1f} µs"
            f" | {b['invocation_ms']:,.0f} ms | {b['log_bytes_per_event']:.1f} B |"
        )
    out += [
        "",
        "CPU is this process's, every thread: SQLite's engine on the embedded backend, the emulator on moto.",
    ]
    own = cpu["cpu_us_per_event"].get(_processor_label(cpu))
    if own is not None and "embedded" in backends:
        embedded = backends["embedded"]["cpu_us_per_event"]
        out.append(
            f"Our own code's {own:.1f} µs (the in-memory figure above) is {percent(own, embedded)} of the"
            f" embedded backend's {embedded:.1f} µs."
        )
    return [*out, ""]


def _processor_label(cpu: Mapping[str, Any]) -> str:
    return str(next(name for name in cpu["cpu_us_per_event"] if name.startswith("processor")))


# -- cost ---------------------------------------------------------------------------------------


def total(scenario: Mapping[str, Any]) -> float:
    return float(sum(scenario["dollars_per_million"].values()))


def per_event(work: Mapping[str, Any], kind: str, events: int) -> float:
    return float(work["write_units_by_kind"][kind]) / events


def counting_calls(work: Mapping[str, Any]) -> int:
    calls = work["calls"]
    return int(calls.get("dynamodb.UpdateItem", 0) + calls.get("dynamodb.TransactWriteItems", 0))


def cost_section(cost: Mapping[str, Any]) -> list[str]:
    prices, facts, events = cost["prices"], cost["template"], cost["events"]
    scenarios = cost["scenarios"]
    columns = list(next(iter(scenarios.values()))["dollars_per_million"])
    memory = sorted(set(facts["memory_mb"].values()))
    out = [
        f"## AWS work and dollars per million events ({prices['REGION']}, list prices read {prices['PRICES_DATE']})",
        "",
        measured(cost),
        f"{events:,} events through the real handlers (ingest, an SQS event source",
        f"with batches of {facts['batch_size']}, the processor) against moto, every DynamoDB and SQS call counted at",
        "the boto3 layer; Lambda GB-seconds are the handlers' durations on moto at the template's",
        f"{' / '.join(str(m) for m in memory)} MB ({', '.join(facts['architectures'])}); logs are the handlers' lines and metrics",
        "plus the HTTP API's access log line. Storage is billed per month kept: next section.",
        f"Target: at most ${COST_TARGET:.2f} per million events at {BATCHED}.",
        "",
        "| scenario | " + " | ".join(columns) + " | **total** |",
        "| --- | " + " | ".join("---" for _ in columns) + " | --- |",
    ]
    for name, scenario in scenarios.items():
        d = scenario["dollars_per_million"]
        label = f"{name} *(modelled, not measured)*" if scenario.get("modelled") else name
        out.append(
            f"| {label} | " + " | ".join(f"${d[c]:.3f}" for c in columns) + f" | **${total(scenario):.3f}** |"
        )
    hundred, single = scenarios[BATCHED], scenarios[SINGLE]
    work, sizes = hundred["work"], hundred["work"]["storage"]
    units = work["write_units"] / events
    guard, item, index, counting = (
        per_event(work, k, events) for k in (GUARD, ITEM, INDEX_ENTRIES, COUNTING)
    )
    write_price = prices["DYNAMODB_PER_MILLION_WRITE_UNITS"]
    largest = max(hundred["dollars_per_million"].items(), key=lambda kv: kv[1])
    out += [
        "",
        f"At {BATCHED}: {units:.2f} write units per event: {guard:.0f} for the guard item",
        f"({sizes['guard_item_bytes']:.0f} bytes), {item:.0f} for the event item ({sizes['event_item_bytes']:.0f} bytes)"
        f" and {index:.0f} for its index entries ({indexes(sizes)}),",
        f"{counting:.2f} for the counting writes (ledger, stats, registry: {counting_calls(work)} calls for {events:,} events)"
        f" - target {mark(total(hundred) <= COST_TARGET)} (${total(hundred):.3f}).",
        f"Where the cost goes: {percent(largest[1], total(hundred))} to {largest[0]}. Cutting further: drop the guard item",
        f"when clients never reuse ids with other content (-{guard:.0f} WRU per event, -${guard * write_price:.3f} per million),",
        "store `data` compressed so large events stay under 1 KB, or keep events in DynamoDB for a short TTL",
        "and archive to S3 for analysis (storage: next section).",
        *_single_sentence(single, hundred, events),
        "",
    ]
    for name, scenario in scenarios.items():
        if scenario.get("modelled"):
            out += [
                f"The *{name}* row is a model, not a measurement: {'; '.join(scenario['modelled'])}.",
                f"It comes to ${total(scenario):.2f} per million events, against ${total(hundred):.2f} measured at {BATCHED}.",
                "",
            ]
    return out


def _single_sentence(single: Mapping[str, Any], hundred: Mapping[str, Any], events: int) -> list[str]:
    """How much more one event per request costs, and which services grow most."""
    growth = sorted(
        (
            (name, single["dollars_per_million"][name] - value)
            for name, value in hundred["dollars_per_million"].items()
        ),
        key=lambda kv: -kv[1],
    )[:3]
    parts = []
    for name, more in growth:
        text = f"{name} +${more:.2f}"
        if name == "DynamoDB writes":
            text += (
                f" (counting writes {per_event(single['work'], COUNTING, events):.2f} WRU per event instead of"
                f" {per_event(hundred['work'], COUNTING, events):.2f})"
            )
        parts.append(text)
    return [
        f"With {SINGLE} a million events cost ${total(single):.2f}, {total(single) / total(hundred):.1f} times as much;",
        f"what grows most: {', '.join(parts)}. Send batches.",
    ]


# -- storage ------------------------------------------------------------------------------------


def storage_per_million(cost: Mapping[str, Any]) -> dict[str, float]:
    """Dollars per month that a million events (at 100 per request) are kept, by what is stored."""
    prices, facts = cost["prices"], cost["template"]
    work = cost["scenarios"][BATCHED]["work"]
    sizes, events = work["storage"], cost["events"]
    gb = 1e6 / prices["DYNAMODB_BYTES_PER_GB"]
    pitr = prices["DYNAMODB_PITR_PER_GB_MONTH"] if facts["point_in_time_recovery"].get("EventsTable") else 0.0
    archived = (work["log_bytes_gzip6"] + cost_archive_overhead(cost, work)) / events
    return {
        "DynamoDB table": sizes["table_bytes_per_event"] * gb * prices["DYNAMODB_STORAGE_PER_GB_MONTH"],
        "global index entries": sizes["index_bytes_per_event"] * gb * prices["DYNAMODB_STORAGE_PER_GB_MONTH"],
        "point-in-time recovery, EventsTable": sizes["table_bytes_per_event"] * gb * pitr,
        "CloudWatch Logs, archived": archived
        * 1e6
        / prices["LOGS_BYTES_PER_GB"]
        * prices["LOGS_STORAGE_PER_GB_MONTH"],
    }


def cost_archive_overhead(cost: Mapping[str, Any], work: Mapping[str, Any]) -> float:
    """The metadata CloudWatch Logs archives with every log event (``bench.cost``)."""
    return float(work["log_events"]) * float(cost["archive_bytes_per_log_event"])


def indexes(sizes: Mapping[str, Any]) -> str:
    """The events table's global indexes and what each projects."""
    return ", ".join(f"{name}: projection {kind}" for name, kind in sizes["index_projections"].items())


def months_of(days: int) -> float:
    return days / DAYS_PER_MONTH


def monthly_rows(cost: Mapping[str, Any]) -> list[dict[str, float]]:
    """The storage bill in month ``m`` at ``LOAD_EVENTS_PER_S``: everything kept so far, logs only
    for ``LogRetentionDays``, events for ``EventRetentionDays`` (0: forever)."""
    facts = cost["template"]
    per_month = LOAD_EVENTS_PER_S * 86_400 * DAYS_PER_MONTH
    rates = storage_per_million(cost)
    requests = total(cost["scenarios"][BATCHED]) * per_month / 1e6
    kept_days = facts["event_retention_days"]
    rows = []
    for months in MONTHS_KEPT:
        events_kept = per_month * (min(months, months_of(kept_days)) if kept_days else months)
        logs_kept = per_month * min(months, months_of(facts["log_retention_days"]))
        dynamo = sum(v for k, v in rates.items() if not k.startswith("CloudWatch")) * events_kept / 1e6
        logs = rates["CloudWatch Logs, archived"] * logs_kept / 1e6
        rows.append(
            {
                "months": months,
                "events": events_kept,
                "table": rates["DynamoDB table"] * events_kept / 1e6,
                "index": rates["global index entries"] * events_kept / 1e6,
                "pitr": rates["point-in-time recovery, EventsTable"] * events_kept / 1e6,
                "logs": logs,
                "storage": dynamo + logs,
                "requests": requests,
            }
        )
    return rows


def storage_section(cost: Mapping[str, Any]) -> list[str]:
    prices, facts = cost["prices"], cost["template"]
    work = cost["scenarios"][BATCHED]["work"]
    sizes, events = work["storage"], cost["events"]
    rates = storage_per_million(cost)
    pitr_tables = [t for t, on in facts["point_in_time_recovery"].items() if on]
    by_source = work["log_bytes_by_source"]
    archived = (work["log_bytes_gzip6"] + cost_archive_overhead(cost, work)) / events
    per_month = LOAD_EVENTS_PER_S * 86_400 * DAYS_PER_MONTH
    gb = prices["DYNAMODB_BYTES_PER_GB"]
    retention = facts["event_retention_days"]
    out = [
        f"## Storage: dollars per month kept ({prices['REGION']}, prices entered {prices['STORAGE_PRICES_DATE']})",
        "",
        f"From the cost run above, at {BATCHED}: every item the handlers",
        "wrote to the events table, read back from moto and sized with DynamoDB's rules (attribute names and",
        f"values, plus {sizes['overhead_bytes']} bytes per item and per index entry). A stored event takes"
        f" {sizes['table_bytes_per_event']:.0f} bytes in the table",
        f"(event item {sizes['event_item_bytes']:.0f} B, guard item {sizes['guard_item_bytes']:.0f} B, each with its overhead) and"
        f" {sizes['index_bytes_per_event']:.0f} bytes in its index entries ({indexes(sizes)}).",
        f"The template turns point-in-time recovery on for {', '.join(pitr_tables)}: billed on each table's size",
        "with its local secondary indexes, not its global ones (index entries are not billed for backups).",
        f"Logs: {work['log_bytes'] / events:.1f} bytes per event (ingest {by_source['ingest'] / events:.1f}, processor"
        f" {by_source['processor'] / events:.1f}, access log {by_source['access log'] / events:.1f}), archived as"
        f" {archived:.1f} bytes",
        f"(gzip level 6 plus {cost['archive_bytes_per_log_event']} bytes per log event) and kept"
        f" `LogRetentionDays` = {facts['log_retention_days']} days.",
        "",
        "| a million events | GB | $ per month kept |",
        "| --- | --- | --- |",
    ]
    bytes_per_event = {
        "DynamoDB table": sizes["table_bytes_per_event"] * 1e6 / gb,
        "global index entries": sizes["index_bytes_per_event"] * 1e6 / gb,
        "point-in-time recovery, EventsTable": sizes["table_bytes_per_event"] * 1e6 / gb,
        "CloudWatch Logs, archived": archived * 1e6 / prices["LOGS_BYTES_PER_GB"],
    }
    labels = {
        "DynamoDB table": "DynamoDB table (event and guard items)",
        "CloudWatch Logs, archived": f"CloudWatch Logs, archived (kept {facts['log_retention_days']} days)",
    }
    for name, dollars in rates.items():
        out.append(f"| {labels.get(name, name)} | {bytes_per_event[name]:.3f} | ${dollars:.3f} |")
    dynamo_rate = sum(v for k, v in rates.items() if not k.startswith("CloudWatch"))
    out += [
        f"| **total, events in DynamoDB** | | **${dynamo_rate:.3f}** |",
        "",
        (
            f"`EventRetentionDays` is {retention}: events are kept forever, so the storage bill grows every month."
            if not retention
            else f"`EventRetentionDays` is {retention}: events expire after {retention} days, and storage stops growing then."
        ),
        f"At {LOAD_EVENTS_PER_S} events/s on average (the sustained load of docs/DATA_MODEL.md), {per_month / 1e6:,.0f}"
        f" million events a month, {BATCHED}:",
        "",
        "| after | events kept | table + index GB | table + index | point-in-time recovery | logs kept | storage a month | requests a month | **that month's bill** |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for row in monthly_rows(cost):
        stored_gb = row["events"] * (sizes["table_bytes_per_event"] + sizes["index_bytes_per_event"]) / gb
        out.append(
            f"| {row['months']:.0f} month{'s' if row['months'] != 1 else ''} | {row['events'] / 1e6:,.0f} million"
            f" | {stored_gb:,.0f} | ${row['table'] + row['index']:,.2f} | ${row['pitr']:,.2f} | ${row['logs']:,.2f}"
            f" | ${row['storage']:,.2f} | ${row['requests']:,.2f} | **${row['storage'] + row['requests']:,.2f}** |"
        )
    first = monthly_rows(cost)[0]
    if not retention:
        growth = dynamo_rate * per_month / 1e6
        out += [
            "",
            f"Each month of events kept adds ${growth:,.2f} a month; after {first['requests'] / growth:.1f} months of"
            " events the storage costs as much a month as the requests that brought them.",
        ]
    out += [
        "Left out: the counters table (ledger shards, per-message markers that expire, per-minute stats), the",
        "errors table (errors expire after `ErrorRetentionDays`), their point-in-time recovery, Lambda's own",
        f"START/END/REPORT log lines, and the free tier ({prices['DYNAMODB_FREE_STORAGE_GB']} GB of DynamoDB storage a month).",
        "",
    ]
    return out


# -- the local stack ----------------------------------------------------------------------------


def local_load_section(load: Mapping[str, Any], cpu: Mapping[str, Any]) -> list[str]:
    """The local stack on both backends, side by side, with the goals and our own CPU per event."""
    backends = load["backends"]
    names = list(backends)
    cpu_us = cpu["cpu_us_per_event"]
    ingest_us = cpu_us["ingest, 1-event request"]
    batch_us = cpu_us["ingest, 100-event request"] + cpu_us[_processor_label(cpu)]
    cores = load["machine"]["cores"]
    single_limit, batch_limit = cores * 1e6 / ingest_us, cores * 1e6 / batch_us
    senders = {b["batch"]["senders"] for b in backends.values() if "batch" in b}
    out = [
        "## The local stack under load: embedded backend and moto side by side",
        "",
        measured(load),
        "`make run`'s stack from a fresh data directory, the load generator on the",
        f"same cores (`wrk` for single events; {', '.join(str(s) for s in sorted(senders))} Python senders for batches).",
        f"Our own CPU per event (above) sets the limit: {ingest_us:.0f} µs per single-event request is at most",
        f"{single_limit:,.0f} requests/s on {cores} cores, {batch_us:.0f} µs per batched event (ingest + processor)",
        f"at most {batch_limit:,.0f} events/s.",
    ]
    embedded = backends.get("embedded", {})
    eight = next((r for r in embedded.get("single", []) if r["connections"] == 8), None)
    if eight is not None and "batch" in embedded:
        out += [
            f"The embedded backend reaches {percent(eight['requests_per_s'], single_limit)} of the first (8 connections) and"
            f" {percent(embedded['batch']['stored_per_s'], batch_limit)} of the second;",
            "the rest of the time is spent outside our handlers (the HTTP front, the hand-over to worker",
            "processes, the JSON of the Lambda events, the backend), which this bench does not break down.",
        ]
    out += [
        "",
        "| measurement | goal (embedded) | " + " | ".join(names) + " |",
        "| --- | --- | " + " | ".join("---" for _ in names) + " |",
    ]

    def row(label: str, goal: str, cell: Callable[[Mapping[str, Any]], str]) -> None:
        def safe(b: Mapping[str, Any]) -> str:
            try:
                return str(cell(b))
            except (KeyError, IndexError, TypeError):
                return "not measured (failed earlier)"

        out.append(f"| {label} | {goal} | " + " | ".join(safe(backends[n]) for n in names) + " |")

    def verdict(value: float, goal: float, below: bool) -> str:
        return "" if (value <= goal if below else value >= goal) else " (**missed**)"

    for index, first in enumerate(next(iter(backends.values()))["single"]):
        connections = first["connections"]
        goal = (
            f"≥ {GOALS['single_rps']:.0f} req/s, p99 < {GOALS['single_p99_ms']:.0f} ms"
            if connections == 8
            else "-"
        )

        def single(b: Mapping[str, Any], i: int = index, c: int = connections) -> str:
            r = b["single"][i]
            text = f"{r['requests_per_s']:.0f} req/s, p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
            if c == 8 and b["backend"] == "embedded":
                text += verdict(r["requests_per_s"], GOALS["single_rps"], False)
                text += verdict(r["p99_ms"], GOALS["single_p99_ms"], True)
            if r["non_202"] or r["socket_errors"]:
                text += f"; {r['non_202']} not 202, socket errors {r['socket_errors'] or 0}"
            return text + f"; all stored: {r['stored'] == r['accepted'] and r['balanced']}"

        row(f"single-event `POST /events`, {connections} connection(s), {first['seconds']} s", goal, single)

    def batch(b: Mapping[str, Any]) -> str:
        r = b["batch"]
        text = (
            f"{r['events']:,} events: accepted {r['accepted_per_s']:,.0f}/s, **stored {r['stored_per_s']:,.0f}/s**"
            f" (POST p50 {r['p50_ms']:.0f} ms, p99 {r['p99_ms']:.0f} ms); exactly once: {r['exactly_once']},"
            f" balanced: {r['balanced']}"
        )
        if r["stored"] != r["events"]:
            text += (
                f"; **{r['events'] - r['stored']:,} not stored**: {r['dead_lettered']:,} events counted dead-lettered,"
                f" {r['dead_letter_queue']:,} messages in the dead-letter queue"
            )
        return text + (
            verdict(r["stored_per_s"], GOALS["stored_per_s"], False) if b["backend"] == "embedded" else ""
        )

    shape = next((b["batch"] for b in backends.values() if "batch" in b), None)
    batch_label = (
        f"batches of {shape['per_request']} from {shape['senders']} senders, end to end"
        if shape
        else "batches"
    )
    row(batch_label, f"≥ {GOALS['stored_per_s']:,.0f} stored/s", batch)
    measured_queries = [b["query"]["latency"] for b in backends.values() if "query" in b]
    for label in measured_queries[0] if measured_queries else []:

        def query(b: Mapping[str, Any], label: str = label) -> str:
            r = b["query"]["latency"][label]
            text = f"p50 {r['p50_ms']:.1f} ms, p95 {r['p95_ms']:.1f} ms at {b['query']['events']:,} events"
            if b["backend"] == "embedded":
                text += verdict(r["p50_ms"], GOALS["query_p50_ms"], True) + verdict(
                    r["p95_ms"], GOALS["query_p95_ms"], True
                )
            return text

        row(label, f"p50 < {GOALS['query_p50_ms']:.0f} ms, p95 < {GOALS['query_p95_ms']:.0f} ms", query)

    def walk(b: Mapping[str, Any]) -> str:
        w = b["query"]["walk"]
        text = f"{w['events']:,} events in pages of {w['page']:,}: {w['seconds']:.2f} s"
        return text + (verdict(w["seconds"], GOALS["walk_s"], True) if b["backend"] == "embedded" else "")

    row("walking one category", f"20,000 in < {GOALS['walk_s']:.0f} s", walk)
    row(
        "`make run` to `/health` 200 (venv in place, median of 3)",
        f"< {GOALS['ready_s']:.0f} s",
        lambda b: (
            f"{b['ready_s']:.2f} s"
            + (verdict(b["ready_s"], GOALS["ready_s"], True) if b["backend"] == "embedded" else "")
        ),
    )
    row(
        "bytes on disk per stored event",
        "-",
        lambda b: (
            f"{b['bytes_per_event']:,.0f} B ({b['disk_bytes'] / 1e6:,.1f} MB for {b['stored_total']:,} events)"
            if b["bytes_per_event"]
            else "in memory"
        ),
    )
    out += _balance_sentences(backends)
    for name in names:
        if backends[name].get("failed"):
            out += ["", f"**{name}: the run failed** - {backends[name]['failed']}"]
    out.append("")
    return out


def _balance_sentences(backends: Mapping[str, Any]) -> list[str]:
    """Which runs ended with the ledger balanced, from each run's own ``balanced``."""
    balanced: list[str] = []
    unbalanced: list[str] = []
    for name, b in backends.items():
        runs = [(f"{r['connections']} connection(s)", r["balanced"]) for r in b.get("single", [])]
        if "batch" in b:
            runs.append(("batches", b["batch"]["balanced"]))
        for run, ok in runs:
            (balanced if ok else unbalanced).append(f"{name} {run}")
    if not unbalanced:
        return ["", f"Every run ended with the ledger balanced ({len(balanced)} runs)."]
    return [
        "",
        f"Ended balanced: {', '.join(balanced) or 'none'}. **Not balanced**: {', '.join(unbalanced)}.",
    ]


# -- sessions and erasure -------------------------------------------------------------------------


def load(before: list[float], after: list[float]) -> str:
    """The 1-, 5- and 15-minute load averages recorded before and after a figure."""
    return f"{' / '.join(f'{v:.2f}' for v in before)} → {' / '.join(f'{v:.2f}' for v in after)}"


def sessions_section(sessions: Mapping[str, Any]) -> list[str]:
    seeded, pages, limit = sessions["seeded"], sessions["pages"], sessions["limit"]
    goal = GOALS["sessions_p50_ms"]
    samples = {p["samples"] for p in pages.values()}
    out = [
        f"## `GET /sessions` at {seeded['sessions']:,} sessions (embedded backend; goal p50 < {goal:.0f} ms)",
        "",
        measured(sessions),
        "`make run`'s stack from a fresh data directory, its SQLite file seeded through `SqliteEventStore.put_all`",
        "(the processor's own write, which keeps each session's summary in the events' transaction):",
        f"{seeded['sessions']:,} sessions of {seeded['events']:,} events, first events spread over the {seeded['span_days']} days"
        f" before the run, in transactions of {seeded['chunk']:,} events ({seeded['seconds']:.0f} s).",
        f"Applications by share of sessions: {', '.join(f'{a} {percent(v, 1)}' for a, v in sessions['applications'].items())}.",
        f"Each page (limit {limit}) is timed over HTTP as the local stack's other routes are:"
        f" {', '.join(str(n) for n in sorted(samples))} sequential requests",
        "on one keep-alive connection after a warm-up. Load average: 1 / 5 / 15 minutes,",
        "before → after the page's requests.",
        "",
        f"| page | items | p50 | p95 | p99 | load average | p50 < {goal:.0f} ms |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, page in pages.items():
        out.append(
            f"| {label} | {page['items']} | {page['p50_ms']:.1f} ms | {page['p95_ms']:.1f} ms | {page['p99_ms']:.1f} ms"
            f" | {load(page['load_before'], page['load_after'])} | {mark(page['p50_ms'] < goal)} |"
        )
    slowest_label, slowest = max(pages.items(), key=lambda kv: kv[1]["p50_ms"])
    missed = [label for label, page in pages.items() if page["p50_ms"] >= goal]
    verdict = (
        f"Every page meets the goal; the slowest p50 is {slowest['p50_ms']:.1f} ms ({slowest_label}),"
        f" {percent(slowest['p50_ms'], goal)} of it."
        if not missed
        else f"**Missed** by: {', '.join(missed)}."
    )
    reads = ", ".join(
        f"{app} ({percent(share, 1)}) about {limit / share:,.0f}"
        for app, share in sessions["applications"].items()
    )
    return [
        *out,
        "",
        verdict,
        "An application filter is tested summary by summary in listing order, so a filtered page reads about",
        f"{limit} / share summaries to find {limit}: {reads}; an unfiltered page reads {limit + 1}.",
        "",
    ]


def erasure_section(erasure: Mapping[str, Any]) -> list[str]:
    backends, prices = erasure["backends"], erasure["prices"]
    embedded, moto = backends["embedded"], backends["moto"]
    units = moto["units"]
    out = [
        f"## Erasing one session of {embedded['session_events']:,} events (`Eraser.erase`)",
        "",
        measured(erasure),
        f"Embedded: a fresh SQLite file holding {embedded['other_events']:,} events of other sessions; in each of"
        f" {len(embedded['runs'])} rounds the session's",
        f"{embedded['session_events']:,} events and {embedded['session_errors']} errors are stored, then `SqliteEraser.erase`"
        " is timed (one transaction).",
        "moto: the AWS code path on moto in this process, the tables from template.yaml, moto's transactions",
        "patched as `make run`'s moto server patches them (one rollback copy per table, not per item); the",
        f"session's items, {moto['session_errors']} errors and its summary written next to {moto['other_events']:,} other"
        " events, then one `DynamoEraser.erase`",
        "timed and metered at once. Its time is **moto's, not AWS's**: moto copies the tables for every transaction.",
        "",
        "| backend | events erased | errors redacted | wall time | load average | other sessions' data left |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for name, b in backends.items():
        runs = b["runs"]
        times = sorted(r["seconds"] for r in runs)
        wall = (
            f"median {b['median_s']:.2f} s of {len(runs)} ({times[0]:.2f} to {times[-1]:.2f} s)"
            if len(runs) > 1
            else f"{b['median_s']:,.1f} s (one run; the meter's own {b['units']['meter_s']:.1f} s included)"
        )
        if name == "embedded":
            left = f"{b['other_events_left']:,} of {b['other_events']:,} events"
        else:
            left = f"{b['other_items_left']:,} items for {b['other_events']:,} events (event + guard)"
        erased = {r["events_erased"] for r in runs}
        redacted = {r["errors_redacted"] for r in runs}
        out.append(
            f"| {BACKEND_NOTES.get(name, name) if name == 'embedded' else 'moto (AWS code path; moto time)'}"
            f" | {', '.join(f'{e:,}' for e in sorted(erased))} | {', '.join(str(e) for e in sorted(redacted))}"
            f" | {wall} | {load(runs[0]['load_before'], runs[-1]['load_after'])} | {left} |"
        )
    table, index = units["table_units_by_kind"], units["index_units_by_kind"]
    kinds = list(dict.fromkeys([*table, *index]))
    out += [
        "",
        "DynamoDB units of that erasure, counted from its requests (`bench.erasure.Meter`: each written item sized",
        "before and after; 1 unit per KB, twice in a transaction; an index entry removed or changed 1 unit per KB):",
        "",
        "| item | table write units | index write units |",
        "| --- | --- | --- |",
    ]
    for kind in kinds:
        out.append(f"| {kind} | {table.get(kind, 0):,} | {index.get(kind, 0):,} |")
    write_price = prices["DYNAMODB_PER_MILLION_WRITE_UNITS"]
    read_price = prices["DYNAMODB_PER_MILLION_READ_UNITS"]
    total_units = units["write_units"]
    requests = units["requests"]
    erased = moto["runs"][0]["events_erased"]
    transactions = requests.get("TransactWriteItems", 0)
    out += [
        f"| **total** | **{sum(table.values()):,}** | **{sum(index.values()):,}** |",
        "",
        f"{total_units:,} write units, {total_units / erased:.1f} per event erased: **${total_units * write_price / 1e6:.4f}**"
        f" an erasure at ${write_price} per million on-demand write units ({prices['REGION']}, read {prices['PRICES_DATE']}),",
        f"plus {units['read_units']:,.1f} read units (${units['read_units'] * read_price / 1e6:.5f}) for its Query pages."
        f" Requests: {transactions} transactions"
        f" ({erased / transactions:.1f} events each),",
        f"{requests.get('Query', 0)} Query pages, {requests.get('UpdateItem', 0)} error redactions,"
        f" {requests.get('DeleteItem', 0)} summary delete; {requests.get('failed', 0)} failed.",
        "",
    ]
    return out


def hot_session_rows(summaries: list[Mapping[str, Any]], shards: int) -> list[dict[str, Any]]:
    """Per measured batch shape, at ``HOT_SESSION_RATE`` events/s with one session carrying
    ``SESSION_SHARE`` of them, its messages mixed at random into full batches: the writes and
    write units a second on that session's summary item, and on each BySessionStart partition
    of the day. A batch's units for the session are the measured ones: with one of its messages
    (``one_message``) and with two (``two_messages``), the difference being what each further
    message adds."""
    rows = []
    for s in summaries:
        batch, per_message = s["batch_size"], s["events_per_message"]
        batches_per_s = HOT_SESSION_RATE / per_message / batch
        holding = 1 - (1 - SESSION_SHARE) ** batch  # a batch holds at least one hot message
        further = batch * SESSION_SHARE - holding  # hot messages beyond the first, per batch
        shape = (s["one_message"], s["two_messages"], batches_per_s, holding, further)
        rows.append(
            {
                "batch_size": batch,
                "events_per_message": per_message,
                "batches_per_s": batches_per_s,
                "holding": holding,
                "writes_per_s": _per_second("transactional", *shape) + _per_second("plain", *shape),
                "units_per_s": _per_second("table units", *shape),
                "index_partition_units_per_s": batches_per_s * s["summary_index_units"] / shards,
                "per_message": s["counting_transactions"] > 1,
            }
        )
    return rows


def _per_second(
    key: str,
    one: Mapping[str, Any],
    two: Mapping[str, Any],
    batches_per_s: float,
    holding: float,
    further: float,
) -> float:
    """``key``'s count a second: the one-message figure for each batch holding the session, and
    what a second message added for each further message."""
    first = float(one.get(key, 0))
    return batches_per_s * (first * holding + (float(two.get(key, 0)) - first) * further)


def summaries_section(erasure: Mapping[str, Any]) -> list[str]:
    summaries = erasure["backends"]["moto"]["summaries"]
    shards, limit = erasure["session_start_shards"], PARTITION_WRITE_UNITS_PER_S
    template = next(s for s in summaries if s["batch_size"] == erasure["template_batch_size"])
    one = template["one_message"]
    out = [
        "## Session summaries on DynamoDB: write units per processor batch, and the hot session",
        "",
        f"From the same run (`{erasure['command']}`, moto): one processor batch per batch size and events per message,",
        "through the real ingest and processor handlers, every DynamoDB request counted as above. Each message",
        "holds one session's events; in each batch one session seen before has one message, another two, the",
        "rest are new sessions.",
        "",
        "| messages per batch | events per message | counting transactions | summary units, 1 message (table + index) |"
        " 2 messages | new session | summaries in the batch (table + index) | whole batch | summaries per event |",
        "| --- | --- | --- | --- | --- | --- | --- | --- | --- |",
    ]

    def pair(item: Mapping[str, Any]) -> str:
        return f"{item['table units']:g} + {item['index units']:g}"

    for s in summaries:
        summary = s["summary_table_units"] + s["summary_index_units"]
        out.append(
            f"| {s['batch_size']} | {s['events_per_message']} | {s['counting_transactions']} | {pair(s['one_message'])}"
            f" | {pair(s['two_messages'])} | {pair(s['new_session_mean'])}"
            f" | {s['summary_table_units']:,} + {s['summary_index_units']:,} | {s['batch']['write_units']:,}"
            f" | {summary / s['events']:.2f} |"
        )
    out += [
        "",
        f"Per session in a batch of {template['batch_size']} (1 event per message): {one['transactional']} update in the"
        f" counting transaction ({one.get('transactional units', 0)} write units) and {one['plain']} conditional updates of"
        f" its first and last event ({one.get('plain units', 0)} units, {one['failed']} failing its condition and billed"
        " all the same),",
        f"plus {one['index units']} index write units: each change to a summary listed in BySessionStart rewrites its index entry.",
    ]
    rows = hot_session_rows(summaries, shards)
    apart = [r for r in rows if r["per_message"]]
    if apart:
        shapes = ", ".join(f"{r['batch_size']} x {r['events_per_message']}" for r in apart)
        out.append(
            f"Batches of {shapes} (messages x events) need more than one transaction's 100 items, so the processor"
            " counts them message by message: a session is written once per message, not once per batch."
        )
    out += [
        "",
        f"### One hot session at {HOT_SESSION_RATE:,} events/s",
        "",
        f"One session carries {percent(SESSION_SHARE, 1)} of {HOT_SESSION_RATE:,} events/s ({SESSION_SHARE * HOT_SESSION_RATE:,.0f} events/s);"
        " every message carries the same number of events and",
        "messages mix at random into full batches, so a batch of b messages holds the hot session with probability",
        f"1 - {1 - SESSION_SHARE:.2f}^b. Its summary is one item, in one partition: DynamoDB allows {limit:,} write units/s.",
        f"The day's sessions share {shards} BySessionStart partitions (its last column, every session's index writes).",
        "",
        "| messages per batch | events per message | batches/s | batches holding the hot session | writes/s on its summary"
        f" | write units/s on it | within {limit:,} | each BySessionStart partition of the day |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        out.append(
            f"| {r['batch_size']} | {r['events_per_message']} | {r['batches_per_s']:,.0f} | {percent(r['holding'], 1)}"
            f" | {r['writes_per_s']:,.0f} | {r['units_per_s']:,.0f} | {'yes' if r['units_per_s'] < limit else '**no**'}"
            f" | {r['index_partition_units_per_s']:,.0f}{'' if r['index_partition_units_per_s'] < limit else ' (**over**)'} |"
        )
    holds = [r for r in rows if r["units_per_s"] < limit]
    fails = [r for r in rows if r["units_per_s"] >= limit]

    def shapes_of(found: list[dict[str, Any]]) -> str:
        return ", ".join(
            f"{r['batch_size']} x {r['events_per_message']} ({r['units_per_s']:,.0f} WCU/s)" for r in found
        )

    over_index = [r for r in rows if r["index_partition_units_per_s"] >= limit]
    out += [
        "",
        (
            f"The hot summary item stays within {limit:,} write units/s at {shapes_of(holds)}"
            if holds
            else "It never holds"
        )
        + (f"; it does **not** at {shapes_of(fails)}." if fails else "."),
    ]
    if fails:
        out.append(
            "Beyond the limit DynamoDB throttles that item's writes: the counting transaction is retried with"
            " backoff, then the batch fails and is delivered again. The hot item holds up to "
            + ", ".join(
                f"{HOT_SESSION_RATE * limit / r['units_per_s']:,.0f} events/s at {r['batch_size']} x {r['events_per_message']}"
                for r in fails
            )
            + " (the hot session still carrying its share)."
        )
    if over_index:
        out.append(
            f"Every session's index writes also exceed {limit:,} per BySessionStart partition at "
            + ", ".join(
                f"{r['batch_size']} x {r['events_per_message']} ({r['index_partition_units_per_s']:,.0f})"
                for r in over_index
            )
            + ": an index partition holds many summaries, so DynamoDB can split a hot one between them"
            " (adaptive capacity); one item it cannot split."
        )
    return [*out, ""]


# -- scale --------------------------------------------------------------------------------------


def scale_section(cost: Mapping[str, Any]) -> list[str]:
    work, events = cost["scenarios"][BATCHED]["work"], cost["events"]
    units = work["write_units"] / events
    item_units, index_units = per_event(work, ITEM, events), per_event(work, INDEX_ENTRIES, events)
    shards = cost["template"]["index_shards"]
    limit = PARTITION_WRITE_UNITS_PER_S
    out = [
        "## Scale on paper",
        "",
        f"From the measured {units:.2f} write units per event ({BATCHED}); DynamoDB allows {limit:,}",
        f"write units/s per partition. Skewed mix: one category takes {CATEGORY_SHARE:.0%} of events, one session"
        f" {SESSION_SHARE:.0%}; `IndexShards` = {shards}.",
        "",
        f"| events/s | table write units/s | hottest session partition | each ByCategory shard ({shards}) | within limits |",
        "| --- | --- | --- | --- | --- |",
    ]
    for rate in SCALE_RATES:
        session = SESSION_SHARE * rate * item_units
        shard = CATEGORY_SHARE * rate / shards * index_units
        fits = "yes" if max(session, shard) < limit else "no: raise IndexShards"
        out.append(f"| {rate:,} | {rate * units:,.0f} | {session:,.0f} | {shard:,.0f} | {fits} |")
    category_rate = limit * shards / (CATEGORY_SHARE * index_units)
    session_rate = limit / (SESSION_SHARE * item_units)
    return [
        *out,
        "",
        f"At {category_rate:,.0f} events/s the hot category reaches {limit:,} writes/s per shard: raise `IndexShards`"
        f" to {2 * shards} before",
        f"that. A single session would need {session_rate:,.0f} events/s to exhaust its partition. See docs/DATA_MODEL.md.",
        "",
    ]


# -- the pages ----------------------------------------------------------------------------------


# -- the Segment-compatible routes ---------------------------------------------------------------


def segment_section(segment: Mapping[str, Any]) -> list[str]:
    routes = segment["routes"]
    (base_label, base), (v1_label, v1) = routes.items()
    goal = GOALS["segment_share"]
    share = v1["stored_per_s"] / base["stored_per_s"]
    accepted_share = v1["accepted_per_s"] / base["accepted_per_s"]
    out = [
        f"## `{v1_label}` against `{base_label}` (embedded backend; goal: within {percent(1 - goal, 1)} of its events/s)",
        "",
        measured(segment),
        f"`make run`'s stack from a fresh data directory; {segment['rounds']} rounds, each sending {segment['events']:,}"
        f" new events through `{base['path']}` and then as many through `{v1['path']}`,",
        f"{segment['per_request']} events per request from {segment['senders']} senders on keep-alive connections,"
        " each run timed until the ledger shows nothing queued.",
        f"The same events: on `{v1['path']}` each is the `track` message the mapping turns into it (with a"
        " `messageId`, the library's `context` and the batch's `sentAt`, HTTP Basic),",
        "so its stored event also holds `data.segment`. Medians of the rounds:",
        "",
        "| route | bytes per request | accepted/s | stored/s end to end | p50 | p99 | exactly once, balanced |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for label, route in routes.items():
        out.append(
            f"| `{label}` | {route['body_bytes']:,} | {route['accepted_per_s']:,.0f} | {route['stored_per_s']:,.0f}"
            f" | {route['p50_ms']:.1f} ms | {route['p99_ms']:.1f} ms | {'yes' if route['exactly_once'] else '**no**'} |"
        )
    out += [
        "",
        "| round | route | accepted/s | stored/s | load average |",
        "| --- | --- | --- | --- | --- |",
    ]
    for number in range(segment["rounds"]):
        for label, route in routes.items():
            run = route["rounds"][number]
            out.append(
                f"| {number + 1} | `{label}` | {run['accepted_per_s']:,.0f} | {run['stored_per_s']:,.0f}"
                f" | {load(run['load_before'], run['load_after'])} |"
            )
    verdict = (
        f"`{v1_label}` stores {percent(share, 1)} of the events/s of `{base_label}`"
        f" ({v1['stored_per_s']:,.0f} against {base['stored_per_s']:,.0f}): the goal of at least"
        f" {percent(goal, 1)} is {mark(share >= goal)}."
    )
    return [
        *out,
        "",
        verdict,
        f"Accepted/s: {percent(accepted_share, 1)} ({v1['accepted_per_s']:,.0f} against {base['accepted_per_s']:,.0f});"
        f" a request on `{v1['path']}` is {percent(v1['body_bytes'], base['body_bytes'])} of the bytes of one on"
        f" `{base['path']}`.",
        "",
    ]


def render(results: Mapping[str, Any]) -> str:
    """docs/PERFORMANCE.md from docs/performance.json."""
    out = [
        "# Performance and cost",
        "",
        "Written by `python -m bench.run` from docs/performance.json (`make bench` measures every section;",
        "`--only` some of them; `--render` rewrites this page from the file). Each section names the command,",
        "date and machine it was measured with. Cold start and cost run the AWS code paths against moto, an",
        "emulator written in Python: their unit counts (requests, write and read units, invocations, bytes)",
        "are what the code does on AWS, their times are the emulator's. The processor and the local stack are",
        "measured on both backends: the embedded one (SQLite, the default of `make run`) and moto.",
        "",
        *cold_start_section(results["cold_start"], results.get("tracer")),
        *cpu_section(results["cpu"]),
        *processor_section(results["processor"], results["cpu"]),
        *cost_section(results["cost"]),
        *storage_section(results["cost"]),
        *local_load_section(results["local_load"], results["cpu"]),
        *(sessions_section(results["sessions"]) if "sessions" in results else []),
        *(erasure_section(results["erasure"]) if "erasure" in results else []),
        *(summaries_section(results["erasure"]) if "erasure" in results else []),
        *(segment_section(results["segment"]) if "segment" in results else []),
        *scale_section(results["cost"]),
    ]
    return "\n".join(out)


def readme_summary(results: Mapping[str, Any]) -> str:
    """The README's performance paragraph, every figure from ``docs/performance.json``."""
    cost = results["cost"]
    scenarios = cost["scenarios"]
    hundred, single = scenarios[BATCHED], scenarios[SINGLE]
    units = hundred["work"]["write_units"] / cost["events"]
    cpu_us = results["cpu"]["cpu_us_per_event"]
    processor = results["processor"]["backends"]
    load = results["local_load"]
    growth = (
        sum(v for k, v in storage_per_million(cost).items() if not k.startswith("CloudWatch"))
        * LOAD_EVENTS_PER_S
        * 86_400
        * DAYS_PER_MONTH
        / 1e6
    )
    kept = cost["template"]["event_retention_days"]
    lines = [
        f"Measured by `make bench` on {describe_machine(load['machine'])} (each figure's command, date, machine",
        "and misses in [docs/PERFORMANCE.md](docs/PERFORMANCE.md)):",
        f"**${total(hundred):.2f} per million events** at {BATCHED} on AWS list prices",
        f"({units:.1f} DynamoDB write units per event; ${total(single):.2f} when every request carries one event),",
        f"plus storage: at {LOAD_EVENTS_PER_S} events/s each month of events kept adds ${growth:,.0f} a month"
        + (" (`EventRetentionDays` 0 keeps them forever);" if not kept else f" for {kept} days;"),
        f"our own CPU is {cpu_us['ingest, 100-event request']:.0f} µs per event at ingest and",
        f"{cpu_us[_processor_label(results['cpu'])]:.0f} µs in the processor's handler"
        + (
            f" ({processor['embedded']['wall_us_per_event']:.0f} µs of wall time on the embedded backend)."
            if "embedded" in processor
            else "."
        ),
    ]
    for name, label in (("embedded", "On the embedded backend"), ("moto", "On moto")):
        if name not in load["backends"]:
            continue
        b = load["backends"][name]
        eight = next((r for r in b["single"] if r["connections"] == 8), None)
        if eight is None or "batch" not in b:
            lines.append(f"{label} the load run failed: {b.get('failed')}.")
            continue
        lines.append(
            f"{label} `make run` takes {eight['requests_per_s']:,.0f} single-event requests/s at 8 connections"
            f" (p99 {eight['p99_ms']:.0f} ms) and stores {b['batch']['stored_per_s']:,.0f} events/s end to end"
            f" in batches of {b['batch']['per_request']}."
        )
    return "\n".join([README_START, *lines, README_END])


def with_readme(readme: str, results: Mapping[str, Any]) -> str:
    """``readme`` with its performance paragraph rendered from ``results``."""
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    return readme[:start] + readme_summary(results) + readme[end:]
