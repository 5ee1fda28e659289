"""Shared pieces of the benchmark harness: paths, the machine and date a section records, percentiles."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
# What ``bench.cost`` bills DynamoDB write units for, as docs/performance.json records them.
GUARD, ITEM, INDEX_ENTRIES = "guard item", "event item", "index entries"
COUNTING, ERRORS = "counting (ledger, stats, registry)", "errors"
WRITE_KINDS = (GUARD, ITEM, INDEX_ENTRIES, COUNTING, ERRORS)
for entry in (str(ROOT), str(ROOT / "functions")):
    if entry not in sys.path:
        sys.path.insert(0, entry)


def machine() -> dict[str, Any]:
    """The facts of this machine a figure depends on, recorded beside it in docs/performance.json:
    ``cores`` is what this process may run on (its CPU affinity), ``cpu_count`` what the machine has."""
    return {
        "arch": platform.machine(),
        "cores": len(os.sched_getaffinity(0)),
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "system": platform.system(),
    }


def describe_machine(facts: Mapping[str, Any]) -> str:
    """``x86_64, 2 cores, Python 3.11.7, Linux`` from recorded facts (the machine's total when it
    has more cores than the benchmark could use)."""
    cores = f"{facts['cores']} cores"
    total = facts.get("cpu_count")
    if total and total != facts["cores"]:
        cores += f" of {total}"
    return f"{facts['arch']}, {cores}, Python {facts['python']}, {facts['system']}"


def load_average() -> list[float]:
    """The machine's 1-, 5- and 15-minute load averages, recorded beside a figure: other work on
    the same cores (another test run) slows what is measured, and shows here."""
    return [round(value, 2) for value in os.getloadavg()]


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def stamp(command: str, figures: dict[str, Any]) -> dict[str, Any]:
    """A section of docs/performance.json: the command that measured it, this machine, today, then
    the figures. Sections are measured at different times, so each carries its own."""
    return {"command": command, "machine": machine(), "date": today(), **figures}


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
