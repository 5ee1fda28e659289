"""``POST /insights`` latency on the local engine at 1,000,000 stored events (the goal is
``bench.render.GOALS["insights_p50_ms"]``).

    .venv/bin/python -m bench.insights [--events 1000000] [--samples 20]

Writes a local lake of ``--events`` shop events over 30 days through the lake's own writer
(``bench.insights_lake``), then answers each insight below through the route's own use case
(``InsightQueries.ask``: the request parsed, its SQL written and checked, run by ``DuckDbEngine``
over ``LocalLake.snapshot()`` with the engine's own threads and memory limit, the rows shaped),
every one over the whole 30 days, so each reads every event. Each insight is answered twice to
warm up, then ``--samples`` times in a row; p50 and p95 of those, the load average before and
after each.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Final

from bench import insights_lake
from bench.common import load_average, median, percentile, stamp
from theeye.analytics.duckdb_engine import THREADS, DuckDbEngine
from theeye.analytics.insights.query_ids import InsightQueryIds
from theeye.analytics.insights.service import InsightQueries
from theeye.analytics.sql import check

EVENTS: Final = 1_000_000
SAMPLES: Final = 20
WARM_UP: Final = 2
END: Final = datetime(2026, 12, 1, tzinfo=UTC)
COMMAND: Final = "python -m bench.insights"


def requests(end: datetime = END) -> dict[str, dict[str, Any]]:
    """The insights timed, by label: each kind over the lake's whole span."""
    span = {
        "from": (end - timedelta(days=insights_lake.SPAN_DAYS)).isoformat().replace("+00:00", "Z"),
        "to": end.isoformat().replace("+00:00", "Z"),
    }
    return {
        "trends: events per day by page_path": {
            "kind": "trends", "interval": "day", "breakdown": "page_path", **span,
        },
        "trends: sessions per hour, search referrals": {
            "kind": "trends", "interval": "hour", "measure": "sessions",
            "where": [{"field": "referrer_medium", "op": "eq", "value": "search"}], **span,
        },
        "funnel: pageview of /pricing, cta click, submit": {
            "kind": "funnel",
            "steps": [
                {"category": "page interaction", "name": "pageview",
                 "where": [{"field": "data.path", "op": "eq", "value": "/pricing"}]},
                {"category": "page interaction", "name": "cta click"},
                {"category": "form interaction", "name": "submit"},
            ],
            **span,
        },
        "top: page_path by sessions": {"kind": "top", "field": "page_path", "measure": "sessions", **span},
        "sessions: per day": {"kind": "sessions", "interval": "day", **span},
    }  # fmt: skip


def time_insight(queries: InsightQueries, body: Mapping[str, Any], samples: int) -> dict[str, Any]:
    """``samples`` answers of ``body`` after the warm-up: their p50 / p95 and the load around them."""
    for _ in range(WARM_UP):
        answer = queries.ask(body)
    before = load_average()
    times = []
    for _ in range(samples):
        started = time.perf_counter()
        answer = queries.ask(body)
        times.append((time.perf_counter() - started) * 1000)
    assert isinstance(answer, dict), answer  # the local engine answers at once
    return {
        "samples": samples,
        "p50_ms": round(median(times), 1),
        "p95_ms": round(percentile(times, 0.95), 1),
        "load_before": before,
        "load_after": load_average(),
        "answer_bytes": len(json.dumps(answer, separators=(",", ":"))),
    }


def measure(events: int = EVENTS, samples: int = SAMPLES, directory: Path | None = None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="theeye-insights-bench-") as scratch:
        where = directory or Path(scratch) / "lake"
        started = time.monotonic()
        lake = insights_lake.build(where, events, END)
        built = time.monotonic() - started
        snapshot = lake.snapshot()
        counted = DuckDbEngine(lake.snapshot).execute(check("SELECT count(*) FROM events"), 1)
        (count,) = counted.rows[0]
        queries = InsightQueries(lambda: DuckDbEngine(lake.snapshot), InsightQueryIds(b"bench"), lambda: END)
        timed = {label: time_insight(queries, body, samples) for label, body in requests().items()}
        lake_bytes = sum(Path(path).stat().st_size for path in snapshot.files)
    return stamp(
        f"{COMMAND} --events {events} --samples {samples}",
        {
            "lake": {
                "events": count,
                "sessions_days": insights_lake.SPAN_DAYS,
                "files": len(snapshot.files),
                "bytes": lake_bytes,
                "build_s": round(built, 1),
            },
            "engine_threads": THREADS,
            "insights": timed,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    args = parser.parse_args()
    print(json.dumps(measure(args.events, args.samples), indent=2))


if __name__ == "__main__":
    main()
