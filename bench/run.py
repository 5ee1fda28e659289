"""`make bench`: measure the benchmarks into docs/performance.json, then render docs/PERFORMANCE.md
and the README's performance paragraph from that file.

    .venv/bin/python -m bench.run [--quick] [--only SECTION ...]
    .venv/bin/python -m bench.run --render

Measuring and rendering are apart: each section of the JSON holds its figures with the command,
machine and date that measured them, and ``bench.render`` computes every sentence of the pages
from the JSON alone. ``--only`` measures some sections again and keeps the others as measured;
``--render`` measures nothing (a unit test checks the committed pages against the JSON).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
from collections.abc import Callable
from typing import Any

from bench import render
from bench.common import ROOT

TARGET = ROOT / "docs" / "PERFORMANCE.md"
RESULTS = ROOT / "docs" / "performance.json"
README = ROOT / "README.md"


def _cold_start(quick: bool) -> dict[str, Any]:
    from bench import cold_start

    return cold_start.measure(3 if quick else 10)


def _tracer(quick: bool) -> dict[str, Any]:
    from bench import tracer

    return tracer.measure(3 if quick else 10)


def _cpu(quick: bool) -> dict[str, Any]:
    from bench import cpu

    return cpu.measure(3 if quick else 7)


def _processor(quick: bool) -> dict[str, Any]:
    from bench import processor_handler

    return processor_handler.measure(3 if quick else 10)


def _cost(quick: bool) -> dict[str, Any]:
    from bench import cost

    return cost.measure()


def _local_load(quick: bool) -> dict[str, Any]:
    from bench import local_load

    return local_load.measure(5 if quick else 20)


def _sessions(quick: bool) -> dict[str, Any]:
    from bench import sessions

    return sessions.measure(samples=50 if quick else sessions.SAMPLES)


def _erasure(quick: bool) -> dict[str, Any]:
    from bench import erasure

    return erasure.measure(2 if quick else erasure.ROUNDS)


def _segment(quick: bool) -> dict[str, Any]:
    from bench import segment

    return segment.measure(2_000 if quick else segment.EVENTS, 1 if quick else segment.ROUNDS)


def _layer(quick: bool) -> dict[str, Any]:
    from bench import layer

    return layer.measure()


def _lake_cost(quick: bool) -> dict[str, Any]:
    from bench import lake_cost

    return lake_cost.measure(600 if quick else lake_cost.EVENTS)


def _insights(quick: bool) -> dict[str, Any]:
    from bench import insights

    return insights.measure(samples=3 if quick else insights.SAMPLES)


def _lake(quick: bool) -> dict[str, Any]:
    from bench import lake

    if quick:
        return lake.measure(100_000, 3, 5.0)
    return lake.measure()


# Section of docs/performance.json -> how to measure it (quick: fewer repetitions, a smoke run).
SECTIONS: dict[str, Callable[[bool], dict[str, Any]]] = {
    "cold_start": _cold_start,
    "tracer": _tracer,
    "cpu": _cpu,
    "processor": _processor,
    "cost": _cost,
    "local_load": _local_load,
    "sessions": _sessions,
    "erasure": _erasure,
    "segment": _segment,
    "layer": _layer,
    "lake_cost": _lake_cost,
    "insights": _insights,
    "lake": _lake,
}


def quiet(call: Callable[[bool], dict[str, Any]], quick: bool) -> dict[str, Any]:
    with contextlib.redirect_stdout(io.StringIO()):
        return call(quick)


def measure(sections: list[str], quick: bool, previous: dict[str, Any]) -> dict[str, Any]:
    """``previous`` with ``sections`` measured again, in the order of ``SECTIONS``."""
    results = dict(previous)
    for name in SECTIONS:
        if name in sections:
            print(f"measuring {name}", flush=True)
            results[name] = quiet(SECTIONS[name], quick)
    return {name: results[name] for name in SECTIONS if name in results}


def write_pages(results: dict[str, Any]) -> None:
    TARGET.write_text(render.render(results), encoding="utf-8")
    README.write_text(render.with_readme(README.read_text(encoding="utf-8"), results), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repetitions (for a smoke run)")
    parser.add_argument(
        "--only", action="append", choices=tuple(SECTIONS), help="measure this section again, keep the others"
    )
    parser.add_argument(
        "--render", action="store_true", help="measure nothing: rewrite the pages from docs/performance.json"
    )
    args = parser.parse_args()
    if not args.render:
        previous = json.loads(RESULTS.read_text()) if args.only else {}
        results = measure(args.only or list(SECTIONS), args.quick, previous)
        RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    write_pages(json.loads(RESULTS.read_text()))
    print(f"wrote {TARGET.relative_to(ROOT)} and the README's paragraph from {RESULTS.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
