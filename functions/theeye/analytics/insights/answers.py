"""An insight's answer made from the rows of its SQL (``theeye.analytics.insights.queries``):
every bucket listed, zeros included; series and items in the contract's order; rates and
medians as numbers, ``null`` where there is nothing to measure.

Engines hand values back typed (DuckDB) or as text (Athena's results), so each value is read
by what it must be.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Final

from theeye.analytics.insights.buckets import bucket_start, bucket_starts, bucket_text
from theeye.analytics.insights.queries import KEPT
from theeye.analytics.insights.request import (
    FunnelRequest,
    Insight,
    SessionsRequest,
    TopRequest,
    TrendsRequest,
)

OTHER_SERIES: Final = "$other"
MICROSECONDS: Final = 1_000_000

Rows = Sequence[Sequence[Any]]


def _records(columns: Sequence[str], rows: Rows) -> list[dict[str, Any]]:
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _int(value: Any) -> int:
    return 0 if value is None else int(float(value)) if isinstance(value, str) else int(value)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _time(value: Any) -> datetime | None:
    if value is None or isinstance(value, datetime):
        return value.replace(tzinfo=None) if isinstance(value, datetime) else None
    return datetime.fromisoformat(str(value).replace("Z", "")).replace(tzinfo=None)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def _ratio(part: int, whole: int) -> float:
    return part / whole if whole else 0.0


def _seconds(microseconds: Any) -> float | None:
    value = _float(microseconds)
    return None if value is None else value / MICROSECONDS


def trends_answer(insight: Insight, columns: Sequence[str], rows: Rows) -> dict[str, Any]:
    request = insight.request
    assert isinstance(request, TrendsRequest)
    buckets = bucket_starts(request.interval, insight.start, insight.end)
    series: dict[tuple[bool, str | None], dict[str, Any]] = {}
    if request.breakdown is None:
        series[(True, None)] = {"total": 0, "points": {}}
    for record in _records(columns, rows):
        key = (_int(record["kept"]) == KEPT, _text(record["breakdown"]))
        entry = series.setdefault(key, {"total": 0, "points": {}})
        moment = _time(record["t"])
        if moment is None:
            entry["total"] = _int(record["value"])
        else:
            entry["points"][bucket_start(request.interval, moment)] = _int(record["value"])

    def order(key: tuple[bool, str | None]) -> tuple[bool, int, bool, str]:
        kept, breakdown = key
        return (not kept, -series[key]["total"], breakdown is None, breakdown or "")

    return {
        "kind": "trends",
        "interval": request.interval,
        "series": [
            {
                "breakdown": key[1] if key[0] else OTHER_SERIES,
                "total": series[key]["total"],
                "points": [
                    {"t": bucket_text(moment), "value": series[key]["points"].get(moment, 0)}
                    for moment in buckets
                ],
            }
            for key in sorted(series, key=order)
        ],
    }


def top_answer(insight: Insight, columns: Sequence[str], rows: Rows) -> dict[str, Any]:
    request = insight.request
    assert isinstance(request, TopRequest)
    items, other = [], {"events": 0, "sessions": 0}
    for record in sorted(_records(columns, rows), key=lambda r: (r["place"] is None, _int(r["place"]))):
        counts = {"events": _int(record["events"]), "sessions": _int(record["sessions"])}
        if record["place"] is None:
            other = counts
        else:
            items.append({"value": _text(record["value"]), **counts})
    return {"kind": "top", "field": request.field, "items": items, "other": other}


def sessions_answer(insight: Insight, columns: Sequence[str], rows: Rows) -> dict[str, Any]:
    request = insight.request
    assert isinstance(request, SessionsRequest)
    found: dict[datetime, dict[str, Any]] = {}
    for record in _records(columns, rows):
        moment = _time(record["t"])
        assert moment is not None
        sessions = _int(record["sessions"])
        found[bucket_start(request.interval, moment)] = {
            "sessions": sessions,
            "bounce_rate": _int(record["bounced"]) / sessions,
            "median_duration_seconds": _seconds(record["median_duration_us"]),
            "median_events": _float(record["median_events"]),
        }
    empty = {"sessions": 0, "bounce_rate": None, "median_duration_seconds": None, "median_events": None}
    return {
        "kind": "sessions",
        "points": [
            {"t": bucket_text(moment), **found.get(moment, empty)}
            for moment in bucket_starts(request.interval, insight.start, insight.end)
        ],
    }


def funnel_answer(insight: Insight, columns: Sequence[str], rows: Rows) -> dict[str, Any]:
    request = insight.request
    assert isinstance(request, FunnelRequest)
    record = _records(columns, rows)[0] if rows else {}
    reached = [_int(record.get(f"reached_{k}")) for k in range(1, len(request.steps) + 1)]
    return {
        "kind": "funnel",
        "steps": [
            {
                "category": step.category,
                "name": step.name,
                "sessions": sessions,
                "conversion": _ratio(sessions, reached[0]),
                "from_previous": 1.0 if k == 0 else _ratio(sessions, reached[k - 1]),
            }
            for k, (step, sessions) in enumerate(zip(request.steps, reached, strict=True))
        ],
        "median_seconds_to_convert": _seconds(record.get("median_us")),
    }


def insight_answer(insight: Insight, columns: Sequence[str], rows: Rows) -> dict[str, Any]:
    """The answer to ``insight`` from its SQL's result."""
    shapers = {
        "trends": trends_answer,
        "funnel": funnel_answer,
        "top": top_answer,
        "sessions": sessions_answer,
    }
    return shapers[insight.request.kind](insight, columns, rows)
