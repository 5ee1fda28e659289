"""docs/PERFORMANCE.md and the README's performance paragraph, rendered from docs/performance.json.

The words are in ``bench/templates`` (one Jinja template a section); the figures they show are
read or computed here from the results they are given (each section of which names the command,
date and machine it was measured with), never typed. Every function is pure. The constants
below are goals and model inputs (a load, a traffic mix, a partition limit), each named where
it is used.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from pathlib import Path
from typing import Any

import jinja2

from bench.common import COUNTING, GUARD, INDEX_ENTRIES, ITEM, describe_machine

# The goals of the project on the benchmark machine.
COLD_START_TARGET_MS = 300.0
CONTEXT_COLD_START_TARGET_MS = 50.0  # CPU that event context may add to ingest's cold start
CPU_TARGETS_US = {  # our own CPU per event, by bench.cpu label
    "ingest, 1-event request": 1000.0,
    "ingest, 100-event request": 50.0,
    "processor, SQS batch of 10 x 100 (handler)": 100.0,
    "event context added to an ingested event": 30.0,
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
    "insights_p50_ms": 1000.0,  # each kind of POST /insights at 1,000,000 events, DuckDB over the local lake
}
# The goals of SQL over every event on the embedded backend (bench.lake): p50 of each kind of
# statement at a million stored events, the feeder, and the contract's freshness ("within 10 seconds").
SQL_GOALS_MS = {"count": 100.0, "group_by": 300.0, "funnel": 1000.0}
FRESHNESS_GOAL_S = 10.0
KEEP_PACE_SHARE = 0.95  # the writer must store this share of the steady rate for the run to count
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


def load(before: list[float], after: list[float]) -> str:
    """The 1-, 5- and 15-minute load averages recorded before and after a figure."""
    return f"{' / '.join(f'{v:.2f}' for v in before)} → {' / '.join(f'{v:.2f}' for v in after)}"


TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=False,  # noqa: S701 - Markdown, not HTML
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
TEMPLATES.filters["fmt"] = format
TEMPLATES.globals.update(
    mark=mark, measured=measured, percent=percent, load=load, describe_machine=describe_machine
)


def page(name: str, **context: Any) -> str:
    """The text of ``templates/<name>.md.j2`` with ``context``."""
    return TEMPLATES.get_template(f"{name}.md.j2").render(context)


# -- cold start and the tracer ----------------------------------------------------------------


def cold_start_section(cold: Mapping[str, Any], tracer: Mapping[str, Any] | None) -> str:
    return page(
        "cold_start",
        cold=cold,
        tracer=tracer,
        target=COLD_START_TARGET_MS,
        context_target=CONTEXT_COLD_START_TARGET_MS,
    )


# -- the runtime layer ------------------------------------------------------------------------


def layer_section(layer: Mapping[str, Any]) -> str:
    base_name = next(iter(layer["layers"]))  # the first row is the layer without event context
    return page("layer", layer=layer, base_name=base_name, base=layer["layers"][base_name]["bytes"])


# -- CPU and the processor through its handler --------------------------------------------------


def cpu_section(cpu: Mapping[str, Any]) -> str:
    return page("cpu", cpu=cpu, targets=CPU_TARGETS_US)


BACKEND_NOTES = {
    "embedded": "embedded (SQLite file, WAL, every commit fsynced)",
    "moto": "moto (the AWS backend on moto, in this process)",
}


def processor_section(processor: Mapping[str, Any], cpu: Mapping[str, Any]) -> str:
    backends = processor["backends"]
    messages, per_message = processor["messages_per_invocation"], processor["events_per_message"]
    own = cpu["cpu_us_per_event"].get(_processor_label(cpu))
    return page(
        "processor",
        processor=processor,
        messages=messages,
        per_message=per_message,
        events=messages * per_message,
        backend_notes=BACKEND_NOTES,
        own=own if "embedded" in backends else None,
        embedded=backends["embedded"]["cpu_us_per_event"] if "embedded" in backends else None,
    )


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


def cost_section(cost: Mapping[str, Any]) -> str:
    prices, facts, events = cost["prices"], cost["template"], cost["events"]
    scenarios = cost["scenarios"]
    hundred, single = scenarios[BATCHED], scenarios[SINGLE]
    work = hundred["work"]
    guard, item, index, counting = (
        per_event(work, k, events) for k in (GUARD, ITEM, INDEX_ENTRIES, COUNTING)
    )
    totals = {name: total(scenario) for name, scenario in scenarios.items()}
    return page(
        "cost",
        cost=cost,
        prices=prices,
        facts=facts,
        events=events,
        scenarios=scenarios,
        columns=list(next(iter(scenarios.values()))["dollars_per_million"]),
        memory=sorted(set(facts["memory_mb"].values())),
        target=COST_TARGET,
        batched=BATCHED,
        single=SINGLE,
        totals=totals,
        sizes=work["storage"],
        units=work["write_units"] / events,
        guard=guard,
        item=item,
        index=index,
        counting=counting,
        counting_calls=counting_calls(work),
        indexes=indexes,
        largest=max(hundred["dollars_per_million"].items(), key=lambda kv: kv[1]),
        guard_dollars=guard * prices["DYNAMODB_PER_MILLION_WRITE_UNITS"],
        ratio=totals[SINGLE] / totals[BATCHED],
        growth=_growth(single, hundred, events),
    )


def _growth(single: Mapping[str, Any], hundred: Mapping[str, Any], events: int) -> list[dict[str, Any]]:
    """The three services whose cost grows most with one event per request, and by how much."""
    growth = sorted(
        (
            (name, single["dollars_per_million"][name] - value)
            for name, value in hundred["dollars_per_million"].items()
        ),
        key=lambda kv: -kv[1],
    )[:3]
    return [
        {
            "name": name,
            "more": more,
            "single": per_event(single["work"], COUNTING, events),
            "batched": per_event(hundred["work"], COUNTING, events),
        }
        for name, more in growth
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


def storage_section(cost: Mapping[str, Any]) -> str:
    prices, facts = cost["prices"], cost["template"]
    work = cost["scenarios"][BATCHED]["work"]
    sizes, events = work["storage"], cost["events"]
    rates = storage_per_million(cost)
    by_source = work["log_bytes_by_source"]
    archived = (work["log_bytes_gzip6"] + cost_archive_overhead(cost, work)) / events
    per_month = LOAD_EVENTS_PER_S * 86_400 * DAYS_PER_MONTH
    gb = prices["DYNAMODB_BYTES_PER_GB"]
    dynamo_rate = sum(v for k, v in rates.items() if not k.startswith("CloudWatch"))
    rows = [
        {
            **row,
            "events_millions": row["events"] / 1e6,
            "stored_gb": row["events"]
            * (sizes["table_bytes_per_event"] + sizes["index_bytes_per_event"])
            / gb,
            "table_and_index": row["table"] + row["index"],
            "bill": row["storage"] + row["requests"],
        }
        for row in monthly_rows(cost)
    ]
    growth = dynamo_rate * per_month / 1e6
    return page(
        "storage",
        cost=cost,
        prices=prices,
        facts=facts,
        sizes=sizes,
        batched=BATCHED,
        indexes=indexes,
        pitr_tables=[t for t, on in facts["point_in_time_recovery"].items() if on],
        logs={
            "all": work["log_bytes"] / events,
            **{source: by_source[source] / events for source in ("ingest", "processor", "access log")},
        },
        archived=archived,
        rates=rates,
        gigabytes={
            "DynamoDB table": sizes["table_bytes_per_event"] * 1e6 / gb,
            "global index entries": sizes["index_bytes_per_event"] * 1e6 / gb,
            "point-in-time recovery, EventsTable": sizes["table_bytes_per_event"] * 1e6 / gb,
            "CloudWatch Logs, archived": archived * 1e6 / prices["LOGS_BYTES_PER_GB"],
        },
        dynamo_rate=dynamo_rate,
        retention=facts["event_retention_days"],
        load_events_per_s=LOAD_EVENTS_PER_S,
        millions_a_month=per_month / 1e6,
        rows=rows,
        growth=growth,
        break_even_months=None if facts["event_retention_days"] else rows[0]["requests"] / growth,
    )


# -- the local stack ----------------------------------------------------------------------------


def _missed(value: float, goal: float, below: bool) -> bool:
    return not (value <= goal if below else value >= goal)


def _cells(
    backends: Mapping[str, Any], cell: Callable[[Mapping[str, Any]], dict[str, Any]]
) -> list[dict[str, Any] | None]:
    """``cell`` of each backend; None where its run failed before that figure."""
    cells: list[dict[str, Any] | None] = []
    for b in backends.values():
        try:
            cells.append(cell(b))
        except (KeyError, IndexError, TypeError):
            cells.append(None)
    return cells


def _single_cell(b: Mapping[str, Any], index: int, connections: int) -> dict[str, Any]:
    r = b["single"][index]
    judged = connections == 8 and b["backend"] == "embedded"
    return {
        "requests_per_s": r["requests_per_s"],
        "p50_ms": r["p50_ms"],
        "p99_ms": r["p99_ms"],
        "missed_rps": judged and _missed(r["requests_per_s"], GOALS["single_rps"], False),
        "missed_p99": judged and _missed(r["p99_ms"], GOALS["single_p99_ms"], True),
        "non_202": r["non_202"],
        "socket_errors": r["socket_errors"],
        "all_stored": r["stored"] == r["accepted"] and r["balanced"],
    }


def _batch_cell(b: Mapping[str, Any]) -> dict[str, Any]:
    r = b["batch"]
    cell = {
        key: r[key]
        for key in (
            "events",
            "accepted_per_s",
            "stored_per_s",
            "p50_ms",
            "p99_ms",
            "exactly_once",
            "balanced",
        )
    }
    cell["not_stored"] = r["events"] - r["stored"]
    if cell["not_stored"]:
        cell.update(dead_lettered=r["dead_lettered"], dead_letter_queue=r["dead_letter_queue"])
    cell["missed"] = b["backend"] == "embedded" and _missed(r["stored_per_s"], GOALS["stored_per_s"], False)
    return cell


def _query_cell(b: Mapping[str, Any], label: str) -> dict[str, Any]:
    r = b["query"]["latency"][label]
    judged = b["backend"] == "embedded"
    return {
        "p50_ms": r["p50_ms"],
        "p95_ms": r["p95_ms"],
        "events": b["query"]["events"],
        "missed_p50": judged and _missed(r["p50_ms"], GOALS["query_p50_ms"], True),
        "missed_p95": judged and _missed(r["p95_ms"], GOALS["query_p95_ms"], True),
    }


def _walk_cell(b: Mapping[str, Any]) -> dict[str, Any]:
    w = b["query"]["walk"]
    missed = b["backend"] == "embedded" and _missed(w["seconds"], GOALS["walk_s"], True)
    return {"events": w["events"], "page": w["page"], "seconds": w["seconds"], "missed": missed}


def _ready_cell(b: Mapping[str, Any]) -> dict[str, Any]:
    missed = b["backend"] == "embedded" and _missed(b["ready_s"], GOALS["ready_s"], True)
    return {"ready_s": b["ready_s"], "missed": missed}


def _disk_cell(b: Mapping[str, Any]) -> dict[str, Any]:
    if not b["bytes_per_event"]:
        return {"bytes_per_event": None}
    return {
        "bytes_per_event": b["bytes_per_event"],
        "disk_mb": b["disk_bytes"] / 1e6,
        "stored_total": b["stored_total"],
    }


def local_load_section(load: Mapping[str, Any], cpu: Mapping[str, Any]) -> str:
    """The local stack on both backends, side by side, with the goals and our own CPU per event."""
    backends = load["backends"]
    cpu_us = cpu["cpu_us_per_event"]
    ingest_us = cpu_us["ingest, 1-event request"]
    batch_us = cpu_us["ingest, 100-event request"] + cpu_us[_processor_label(cpu)]
    cores = load["machine"]["cores"]
    embedded = backends.get("embedded", {})
    eight = next((r for r in embedded.get("single", []) if r["connections"] == 8), None)
    rows: list[dict[str, Any]] = []
    for index, first in enumerate(next(iter(backends.values()))["single"]):
        connections = first["connections"]
        rows.append(
            {
                "kind": "single",
                "connections": connections,
                "seconds": first["seconds"],
                "cells": _cells(backends, partial(_single_cell, index=index, connections=connections)),
            }
        )
    shape = next((b["batch"] for b in backends.values() if "batch" in b), None)
    rows.append({"kind": "batch", "shape": shape, "cells": _cells(backends, _batch_cell)})
    measured_queries = [b["query"]["latency"] for b in backends.values() if "query" in b]
    for label in measured_queries[0] if measured_queries else []:
        rows.append(
            {"kind": "query", "label": label, "cells": _cells(backends, partial(_query_cell, label=label))}
        )
    for kind, cell in (("walk", _walk_cell), ("ready", _ready_cell), ("disk", _disk_cell)):
        rows.append({"kind": kind, "cells": _cells(backends, cell)})
    balanced, unbalanced = _balance(backends)
    return page(
        "local_load",
        load=load,
        goals=GOALS,
        names=list(backends),
        senders=sorted({b["batch"]["senders"] for b in backends.values() if "batch" in b}),
        ingest_us=ingest_us,
        batch_us=batch_us,
        cores=cores,
        single_limit=cores * 1e6 / ingest_us,
        batch_limit=cores * 1e6 / batch_us,
        reach=(
            {"single": eight["requests_per_s"], "stored": embedded["batch"]["stored_per_s"]}
            if eight is not None and "batch" in embedded
            else None
        ),
        rows=rows,
        balanced=balanced,
        unbalanced=unbalanced,
        failures=[(name, b["failed"]) for name, b in backends.items() if b.get("failed")],
    )


def _balance(backends: Mapping[str, Any]) -> tuple[list[str], list[str]]:
    """The runs that ended with the ledger balanced and those that did not, from each run's own
    ``balanced``."""
    balanced: list[str] = []
    unbalanced: list[str] = []
    for name, b in backends.items():
        runs = [(f"{r['connections']} connection(s)", r["balanced"]) for r in b.get("single", [])]
        if "batch" in b:
            runs.append(("batches", b["batch"]["balanced"]))
        for run, ok in runs:
            (balanced if ok else unbalanced).append(f"{name} {run}")
    return balanced, unbalanced


# -- sessions and erasure -------------------------------------------------------------------------


def sessions_section(sessions: Mapping[str, Any]) -> str:
    pages, limit = sessions["pages"], sessions["limit"]
    goal = GOALS["sessions_p50_ms"]
    slowest_label, slowest = max(pages.items(), key=lambda kv: kv[1]["p50_ms"])
    return page(
        "sessions",
        sessions=sessions,
        seeded=sessions["seeded"],
        limit=limit,
        goal=goal,
        samples=sorted({p["samples"] for p in pages.values()}),
        slowest_label=slowest_label,
        slowest=slowest,
        missed=[label for label, p in pages.items() if p["p50_ms"] >= goal],
        reads=[(app, share, limit / share) for app, share in sessions["applications"].items()],
        unfiltered=limit + 1,
    )


def erasure_section(erasure: Mapping[str, Any]) -> str:
    backends, prices = erasure["backends"], erasure["prices"]
    moto = backends["moto"]
    units = moto["units"]
    rows = []
    for name, b in backends.items():
        runs = b["runs"]
        times = sorted(r["seconds"] for r in runs)
        rows.append(
            {
                "name": name,
                "erased": sorted({r["events_erased"] for r in runs}),
                "redacted": sorted({r["errors_redacted"] for r in runs}),
                "runs": len(runs),
                "median_s": b["median_s"],
                "fastest": times[0],
                "slowest": times[-1],
                "meter_s": None if len(runs) > 1 else b["units"]["meter_s"],
                "load_before": runs[0]["load_before"],
                "load_after": runs[-1]["load_after"],
                "left": b["other_events_left"] if name == "embedded" else b["other_items_left"],
                "other_events": b["other_events"],
            }
        )
    table, index = units["table_units_by_kind"], units["index_units_by_kind"]
    write_price = prices["DYNAMODB_PER_MILLION_WRITE_UNITS"]
    requests = units["requests"]
    erased = moto["runs"][0]["events_erased"]
    transactions = requests.get("TransactWriteItems", 0)
    return page(
        "erasure",
        erasure=erasure,
        embedded=backends["embedded"],
        moto=moto,
        prices=prices,
        backend_notes=BACKEND_NOTES,
        rows=rows,
        kinds=list(dict.fromkeys([*table, *index])),
        table=table,
        index=index,
        table_total=sum(table.values()),
        index_total=sum(index.values()),
        write_units=units["write_units"],
        units_per_event=units["write_units"] / erased,
        write_price=write_price,
        write_dollars=units["write_units"] * write_price / 1e6,
        read_units=units["read_units"],
        read_dollars=units["read_units"] * prices["DYNAMODB_PER_MILLION_READ_UNITS"] / 1e6,
        requests=requests,
        transactions=transactions,
        events_per_transaction=erased / transactions,
    )


def insights_section(insights: Mapping[str, Any]) -> str:
    goal = GOALS["insights_p50_ms"]
    timed = insights["insights"]
    slowest_label, slowest = max(timed.items(), key=lambda kv: kv[1]["p50_ms"])
    return page(
        "insights",
        insights=insights,
        lake=insights["lake"],
        goal=goal,
        samples=sorted({t["samples"] for t in timed.values()}),
        slowest_label=slowest_label,
        slowest=slowest,
        missed=[label for label, t in timed.items() if t["p50_ms"] >= goal],
        cores=insights["machine"]["cores"],
        busiest=max(max(t["load_before"][0], t["load_after"][0]) for t in timed.values()),
    )


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


def summaries_section(erasure: Mapping[str, Any]) -> str:
    summaries = erasure["backends"]["moto"]["summaries"]
    shards, limit = erasure["session_start_shards"], PARTITION_WRITE_UNITS_PER_S
    chosen = next(s for s in summaries if s["batch_size"] == erasure["template_batch_size"])
    rows = hot_session_rows(summaries, shards)
    fails = [r for r in rows if r["units_per_s"] >= limit]
    return page(
        "summaries",
        erasure=erasure,
        summaries=[
            (s, (s["summary_table_units"] + s["summary_index_units"]) / s["events"]) for s in summaries
        ],
        chosen=chosen,
        one=chosen["one_message"],
        apart=[r for r in rows if r["per_message"]],
        hot_rate=HOT_SESSION_RATE,
        session_share=SESSION_SHARE,
        hot_session_events=SESSION_SHARE * HOT_SESSION_RATE,
        other_share=1 - SESSION_SHARE,
        limit=limit,
        shards=shards,
        rows=rows,
        holds=[r for r in rows if r["units_per_s"] < limit],
        fails=fails,
        fails_up_to=[(r, HOT_SESSION_RATE * limit / r["units_per_s"]) for r in fails],
        over_index=[r for r in rows if r["index_partition_units_per_s"] >= limit],
    )


# -- scale --------------------------------------------------------------------------------------


def scale_section(cost: Mapping[str, Any]) -> str:
    work, events = cost["scenarios"][BATCHED]["work"], cost["events"]
    units = work["write_units"] / events
    item_units, index_units = per_event(work, ITEM, events), per_event(work, INDEX_ENTRIES, events)
    shards = cost["template"]["index_shards"]
    limit = PARTITION_WRITE_UNITS_PER_S
    rows = []
    for rate in SCALE_RATES:
        session = SESSION_SHARE * rate * item_units
        shard = CATEGORY_SHARE * rate / shards * index_units
        rows.append(
            {
                "rate": rate,
                "table_units": rate * units,
                "session": session,
                "shard": shard,
                "fits": max(session, shard) < limit,
            }
        )
    return page(
        "scale",
        units=units,
        batched=BATCHED,
        limit=limit,
        category_share=CATEGORY_SHARE,
        session_share=SESSION_SHARE,
        shards=shards,
        rows=rows,
        category_rate=limit * shards / (CATEGORY_SHARE * index_units),
        doubled_shards=2 * shards,
        session_rate=limit / (SESSION_SHARE * item_units),
    )


# -- the Segment-compatible routes ---------------------------------------------------------------


def segment_section(segment: Mapping[str, Any]) -> str:
    routes = segment["routes"]
    (base_label, base), (v1_label, v1) = routes.items()
    goal = GOALS["segment_share"]
    return page(
        "segment",
        segment=segment,
        base_label=base_label,
        base=base,
        v1_label=v1_label,
        v1=v1,
        goal=goal,
        tolerance=1 - goal,
        share=v1["stored_per_s"] / base["stored_per_s"],
        accepted_share=v1["accepted_per_s"] / base["accepted_per_s"],
        runs=[
            (number + 1, label, route["rounds"][number])
            for number in range(segment["rounds"])
            for label, route in routes.items()
        ],
    )


# -- SQL over every event ------------------------------------------------------------------------


def lag_thirds(steady: Mapping[str, Any]) -> tuple[float, float]:
    """The feeder's mean lag (changes logged, not yet applied) in the first and in the last
    third of the load."""
    seconds = steady["seconds"]
    first = [n for t, n in steady["lag"] if t <= seconds / 3]
    last = [n for t, n in steady["lag"] if 2 * seconds / 3 <= t <= seconds]
    return sum(first) / max(len(first), 1), sum(last) / max(len(last), 1)


def keeps_up(steady: Mapping[str, Any], batch: int) -> bool | None:
    """Whether the feeder kept up with the steady load: its mean lag in the last third of the
    load no larger than in the first, one batch of slack; None when the writer did not reach
    ``KEEP_PACE_SHARE`` of the rate (the run says nothing about the feeder)."""
    if steady["stored_per_s"] < KEEP_PACE_SHARE * steady["rate"]:
        return None
    first, last = lag_thirds(steady)
    return last <= first + batch


def lake_section(lake: Mapping[str, Any]) -> str:
    events = lake["stored"]["events"]
    disk, backlog, steady, fresh = lake["disk"], lake["backlog"], lake["steady"], lake["freshness"]
    per_million = 1e6 / events
    statements = [
        {
            "label": label,
            "result": result,
            "handler": lake["handler"][label],
            "goal": SQL_GOALS_MS[result["kind"]],
            "checked": lake["answers_checked"][label],
            "per_day": lake["one_file_per_day"]["statements"][label],
        }
        for label, result in lake["statements"].items()
    ]
    funnel = next(label for label, r in lake["statements"].items() if r["kind"] == "funnel")
    freshness = [
        ("stored one at a time, idle store → in a snapshot (manifest)", fresh["snapshot"], fresh),
        ("stored one at a time, idle store → counted by an answer of the engine", fresh["sql"], fresh),
        (
            f"during the steady load (offered {steady['rate']:,}, stored {steady['stored_per_s']:,.0f}"
            " events/s) → in a snapshot",
            steady["freshness"],
            steady,
        ),
    ]
    return page(
        "lake",
        lake=lake,
        events=events,
        statements=statements,
        funnel_label=funnel,
        funnel_sql=lake["sql"][funnel],
        funnel_rows=lake["statements"][funnel]["rows"][0],
        backlog=backlog,
        steady=steady,
        keeps=keeps_up(steady, backlog["batch"]),
        thirds=lag_thirds(steady),
        pace_share=KEEP_PACE_SHARE,
        freshness=freshness,
        freshness_goal=FRESHNESS_GOAL_S,
        disk=disk,
        per_million=per_million,
        ratio=disk["database_bytes"] / disk["lake_data_bytes"],
    )


# -- the pages ----------------------------------------------------------------------------------


# -- the lake on AWS ------------------------------------------------------------------------------


def lake_dollars(lake: Mapping[str, Any]) -> dict[str, float]:
    """Dollars per million events (Firehose, a month of S3) and for the typical query over a month
    of events at ``LOAD_EVENTS_PER_S``, from ``bench.lake_cost``'s figures and recorded prices."""
    prices = lake["prices"]
    month_events = LOAD_EVENTS_PER_S * 86_400 * DAYS_PER_MONTH
    minimum = float(prices["ATHENA_MINIMUM_BYTES_PER_QUERY"])
    scanned = max(float(lake["query_bytes_per_event"]) * month_events, minimum)
    per_tb = float(prices["ATHENA_PER_TB_SCANNED"]) / float(prices["ATHENA_BYTES_PER_TB"])
    return {
        "firehose": float(lake["billed_bytes_per_event"])
        * 1e6
        / prices["FIREHOSE_BYTES_PER_GB"]
        * prices["FIREHOSE_DIRECT_PUT_PER_GB"],
        "s3": float(lake["parquet_bytes_per_event"])
        * 1e6
        / prices["S3_BYTES_PER_GB"]
        * prices["S3_STANDARD_PER_GB_MONTH"],
        "month_events": month_events,
        "scanned": scanned,
        "query": scanned * per_tb,
        "minimum": minimum * per_tb,
        "star": max(float(lake["parquet_bytes_per_event"]) * month_events, minimum) * per_tb,
    }


def lake_cost_section(lake: Mapping[str, Any]) -> str:
    return page("lake_cost", lake=lake, prices=lake["prices"], load=LOAD_EVENTS_PER_S, **lake_dollars(lake))


def render(results: Mapping[str, Any]) -> str:
    """docs/PERFORMANCE.md from docs/performance.json."""
    sections = [
        page("page"),
        cold_start_section(results["cold_start"], results.get("tracer")),
        cpu_section(results["cpu"]),
        processor_section(results["processor"], results["cpu"]),
        cost_section(results["cost"]),
        storage_section(results["cost"]),
        local_load_section(results["local_load"], results["cpu"]),
    ]
    if "sessions" in results:
        sections.append(sessions_section(results["sessions"]))
    if "erasure" in results:
        sections += [erasure_section(results["erasure"]), summaries_section(results["erasure"])]
    if "segment" in results:
        sections.append(segment_section(results["segment"]))
    if "layer" in results:
        sections.append(layer_section(results["layer"]))
    if "lake_cost" in results:
        sections.append(lake_cost_section(results["lake_cost"]))
    if "insights" in results:
        sections.append(insights_section(results["insights"]))
    if "lake" in results:
        sections.append(lake_section(results["lake"]))
    sections.append(scale_section(results["cost"]))
    return "\n".join(sections)


def readme_summary(results: Mapping[str, Any]) -> str:
    """The README's performance paragraph, every figure from ``docs/performance.json``."""
    cost = results["cost"]
    scenarios = cost["scenarios"]
    processor = results["processor"]["backends"]
    load = results["local_load"]
    growth = (
        sum(v for k, v in storage_per_million(cost).items() if not k.startswith("CloudWatch"))
        * LOAD_EVENTS_PER_S
        * 86_400
        * DAYS_PER_MONTH
        / 1e6
    )
    backends = []
    for name, label in (("embedded", "On the embedded backend"), ("moto", "On moto")):
        if name in load["backends"]:
            b = load["backends"][name]
            backends.append((label, b, next((r for r in b["single"] if r["connections"] == 8), None)))
    return page(
        "readme",
        start=README_START,
        end=README_END,
        load=load,
        batched=BATCHED,
        single=SINGLE,
        totals={name: total(scenario) for name, scenario in scenarios.items()},
        units=scenarios[BATCHED]["work"]["write_units"] / cost["events"],
        load_events_per_s=LOAD_EVENTS_PER_S,
        growth=growth,
        kept=cost["template"]["event_retention_days"],
        cpu_us=results["cpu"]["cpu_us_per_event"],
        processor_us=results["cpu"]["cpu_us_per_event"][_processor_label(results["cpu"])],
        embedded_wall=processor["embedded"]["wall_us_per_event"] if "embedded" in processor else None,
        backends=backends,
    )


def with_readme(readme: str, results: Mapping[str, Any]) -> str:
    """``readme`` with its performance paragraph rendered from ``results``."""
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)
    return readme[:start] + readme_summary(results) + readme[end:]
