"""Shared pieces of the benchmark harness: paths, machine description, percentiles."""

from __future__ import annotations

import math
import os
import platform
import statistics
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for entry in (str(ROOT), str(ROOT / "functions")):
    if entry not in sys.path:
        sys.path.insert(0, entry)


def machine() -> str:
    cores = len(os.sched_getaffinity(0))
    return f"{platform.machine()}, {cores} cores, Python {platform.python_version()}, {platform.system()}"


def today() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d")


def percentile(values: Sequence[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(fraction * len(ordered)) - 1))]


def median(values: Sequence[float]) -> float:
    return statistics.median(values)
