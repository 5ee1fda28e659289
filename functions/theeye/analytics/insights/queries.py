# ruff: noqa: S608 -- the statements are assembled from fixed text, column names from the
# table's own list, data paths of the checked grammar, numbers, and every user value as a
# literal rendered by sqlglot (``fields.literal``); no user text reaches them unescaped.
"""The SQL of each insight, in Athena's (Trino) dialect over the ``events`` table.

The heavy lifting stays in the engine: grouping, ranking, distinct sessions, medians (exact:
the middle rows by ``row_number()``) and the funnel's sequences (one window pass per step).
Every answer is a handful of rows; ``theeye.analytics.insights.answers`` shapes them.

Conditions are null-safe: ``eq``, ``in`` and ``contains`` hold only for an event that has the
field; ``neq`` and ``not_in`` hold for an event without it too (their negation).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Final

from theeye.analytics.insights.fields import Field, identifier, literal, parse_field
from theeye.analytics.insights.request import (
    Condition,
    FunnelRequest,
    Insight,
    SessionsRequest,
    TopRequest,
    TrendsRequest,
)
from theeye.analytics.table import TABLE

# The series of trends past `limit`, and the rows of top past it, as the SQL marks them.
KEPT: Final = 1
OTHER: Final = 0

EVENT_TIME: Final = identifier("event_time")
SESSION_ID: Final = identifier("session_id")
EVENT_ID: Final = identifier("event_id")


def timestamp(moment: datetime) -> str:
    return f"TIMESTAMP {literal(moment.strftime('%Y-%m-%d %H:%M:%S.%f'))}"


def _equals(field: Field, value: str | int | float | bool) -> str:
    """The field equals ``value``: a number equals a data value that reads as the same number."""
    if field.is_data and isinstance(value, int | float) and not isinstance(value, bool):
        return f"try_cast({field.sql()} AS double) = CAST({literal(float(value))} AS double)"
    if field.is_data and isinstance(value, bool):
        value = "true" if value else "false"
    return f"{field.sql()} = {literal(value)}"


def condition(item: Condition) -> str:
    field = item.target()
    if item.op == "exists":
        return f"({field.sql()} IS {'NULL' if item.value is False else 'NOT NULL'})"
    if item.op == "contains":
        return f"coalesce(strpos({field.sql()}, {literal(item.value)}) > 0, false)"
    values = item.value if item.op in ("in", "not_in") else [item.value]
    holds = f"coalesce({' OR '.join(f'({_equals(field, value)})' for value in values)}, false)"
    return f"(NOT {holds})" if item.op in ("neq", "not_in") else holds


def conditions(where: Sequence[Condition]) -> list[str]:
    return [condition(item) for item in where]


def _all(parts: Sequence[str]) -> str:
    return " AND ".join(f"({part})" for part in parts) if parts else "true"


def _scope(insight: Insight, end: datetime | None = None) -> list[str]:
    """Events in the range (to ``end`` when given), bots left out unless asked for."""
    parts = [
        f"{EVENT_TIME} >= {timestamp(insight.start)}",
        f"{EVENT_TIME} < {timestamp(end or insight.end)}",
    ]
    if not insight.request.include_bots:
        parts.append(f"NOT coalesce({identifier('bot')}, false)")
    return parts


def _measure(measure: str) -> str:
    return "count(*)" if measure == "events" else f"count(DISTINCT {SESSION_ID})"


def _middle(rank: str, count: str) -> str:
    """The row is a middle one of ``count`` ordered rows (one when odd, two when even)."""
    return f"2 * {rank} >= {count} AND 2 * {rank} <= {count} + 2"


def trends_sql(insight: Insight) -> str:
    """Rows ``(kept, breakdown, t, value)``: one per series and bucket with events, and one
    per series with ``t`` null holding its total. ``kept`` is 0 for the one series of the values
    past ``limit``."""
    request = insight.request
    assert isinstance(request, TrendsRequest)
    trunc = f"date_trunc({literal(request.interval)}, {EVENT_TIME})"
    where = _all(_scope(insight) + conditions(request.where))
    measure = _measure(request.measure)
    if request.breakdown is None:
        return (
            f"WITH matched AS (SELECT {trunc} AS t, {SESSION_ID} FROM {TABLE} WHERE {where})\n"
            f"SELECT {KEPT} AS kept, CAST(NULL AS varchar) AS breakdown, t, {measure} AS value\n"
            "FROM matched GROUP BY GROUPING SETS ((t), ())"
        )
    value = parse_field(request.breakdown).text_sql()
    return (
        f"WITH matched AS (SELECT {trunc} AS t, {value} AS b, {SESSION_ID} FROM {TABLE} WHERE {where}),\n"
        f"totals AS (SELECT b, {measure} AS total FROM matched GROUP BY b),\n"
        "ranked AS (SELECT b, row_number() OVER (ORDER BY total DESC, b ASC NULLS LAST) AS place"
        " FROM totals),\n"
        f"marked AS (SELECT CASE WHEN r.place <= {request.limit} THEN {KEPT} ELSE {OTHER} END AS kept,"
        f" CASE WHEN r.place <= {request.limit} THEN m.b END AS breakdown, m.t, m.{SESSION_ID}"
        " FROM matched m JOIN ranked r ON m.b IS NOT DISTINCT FROM r.b)\n"
        f"SELECT kept, breakdown, t, {measure} AS value FROM marked\n"
        "GROUP BY GROUPING SETS ((kept, breakdown, t), (kept, breakdown))"
    )


def top_sql(insight: Insight) -> str:
    """Rows ``(place, value, events, sessions)``: the first ``limit`` values, then one row
    with ``place`` null for the values past them."""
    request = insight.request
    assert isinstance(request, TopRequest)
    value = parse_field(request.field).text_sql()
    where = _all(_scope(insight) + conditions(request.where))
    order = "events DESC" if request.measure == "events" else "sessions DESC"
    return (
        f"WITH matched AS (SELECT {value} AS v, {SESSION_ID} FROM {TABLE} WHERE {where}),\n"
        "counted AS (SELECT v, count(*) AS events, count(DISTINCT "
        f"{SESSION_ID}) AS sessions FROM matched WHERE v IS NOT NULL GROUP BY v),\n"
        f"ranked AS (SELECT v, events, sessions, row_number() OVER (ORDER BY {order}, v ASC) AS place"
        " FROM counted)\n"
        f"SELECT place, v AS value, events, sessions FROM ranked WHERE place <= {request.limit}\n"
        "UNION ALL\n"
        f"SELECT NULL, NULL, count(*), count(DISTINCT m.{SESSION_ID})"
        f" FROM matched m JOIN ranked r ON m.v = r.v WHERE r.place > {request.limit}"
    )


def sessions_sql(insight: Insight) -> str:
    """Rows ``(t, sessions, bounced, median_duration_us, median_events)`` per bucket with
    sessions. A session is measured over all its events in the range; it counts when one of
    them matches, in the bucket of the first that does."""
    request = insight.request
    assert isinstance(request, SessionsRequest)
    matches = _all(conditions(request.where))
    return (
        f"WITH scoped AS (SELECT {SESSION_ID}, {EVENT_TIME},"
        f" CASE WHEN {matches} THEN {EVENT_TIME} END AS hit FROM {TABLE} WHERE {_all(_scope(insight))}),\n"
        f"measured AS (SELECT date_trunc({literal(request.interval)}, min(hit)) AS t, count(*) AS n,"
        f" round((to_unixtime(max({EVENT_TIME})) - to_unixtime(min({EVENT_TIME}))) * 1000000) AS duration"
        f" FROM scoped GROUP BY {SESSION_ID} HAVING count(hit) > 0),\n"
        "ranked AS (SELECT t, n, duration,"
        " row_number() OVER (PARTITION BY t ORDER BY duration) AS by_duration,"
        " row_number() OVER (PARTITION BY t ORDER BY n) AS by_events,"
        " count(*) OVER (PARTITION BY t) AS c FROM measured)\n"
        "SELECT t, count(*) AS sessions, sum(CASE WHEN n = 1 THEN 1 ELSE 0 END) AS bounced,"
        f" avg(CASE WHEN {_middle('by_duration', 'c')} THEN duration END) AS median_duration_us,"
        f" avg(CASE WHEN {_middle('by_events', 'c')} THEN n END) AS median_events\n"
        "FROM ranked GROUP BY t"
    )


def funnel_sql(insight: Insight) -> str:
    """One row ``(reached_1, …, reached_n, median_us)``.

    Events are taken in order (``event_time``, then ``event_id``). ``start_k`` of an event that
    matches step k is the latest first-step time of the sequences that end at it: the greatest
    ``start_{k-1}`` among the session's earlier events, when the event is no later than
    ``window_seconds`` after it. The latest start gives both the sequence that fits the window
    if any does and the session's shortest one, so a session reaches step k when some event has
    ``start_k``, and its time to convert is the least ``event_time - start_n``.
    """
    request = insight.request
    assert isinstance(request, FunnelRequest)
    steps = range(1, len(request.steps) + 1)
    matches = []
    for k, step in zip(steps, request.steps, strict=True):
        parts = [
            f"{identifier('category')} = {literal(step.category)}",
            f"{identifier('name')} = {literal(step.name)}",
            *conditions(step.where),
        ]
        if k == 1:
            parts.append(f"{EVENT_TIME} < {timestamp(insight.end)}")
        matches.append(f"coalesce({_all(parts)}, false) AS m{k}")
    where = _all(
        _scope(insight, insight.end + timedelta(seconds=request.window_seconds)) + conditions(request.where)
    )
    any_step = " OR ".join(f"m{k}" for k in steps)
    order = f"PARTITION BY {SESSION_ID} ORDER BY {EVENT_TIME}, {EVENT_ID}"
    ctes = [
        f"flagged AS (SELECT {SESSION_ID}, {EVENT_ID}, {EVENT_TIME}, {', '.join(matches)}"
        f" FROM {TABLE} WHERE {where})",
        f"s1 AS (SELECT *, CASE WHEN m1 THEN {EVENT_TIME} END AS start_1 FROM flagged WHERE {any_step})",
    ]
    for k in steps[1:]:
        ctes.append(
            f"s{k} AS (SELECT *, CASE WHEN m{k} AND {EVENT_TIME} <= p{k} + INTERVAL"
            f" {literal(str(request.window_seconds))} SECOND THEN p{k} END AS start_{k}"
            f" FROM (SELECT *, max(start_{k - 1}) OVER ({order}"
            f" ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS p{k} FROM s{k - 1}) AS w{k})"
        )
    last = len(request.steps)
    reached = ", ".join(f"max(CASE WHEN start_{k} IS NOT NULL THEN 1 ELSE 0 END) AS r{k}" for k in steps)
    ctes.append(
        f"sessions AS (SELECT {reached}, min(round((to_unixtime({EVENT_TIME})"
        f" - to_unixtime(start_{last})) * 1000000)) AS d FROM s{last} GROUP BY {SESSION_ID})"
    )
    ctes.append(
        "ranked AS (SELECT *, row_number() OVER (ORDER BY d ASC NULLS LAST) AS place,"
        " count(d) OVER () AS c FROM sessions)"
    )
    sums = ", ".join(f"coalesce(sum(r{k}), 0) AS reached_{k}" for k in steps)
    return (
        "WITH " + ",\n".join(ctes) + "\n"
        f"SELECT {sums}, avg(CASE WHEN d IS NOT NULL AND {_middle('place', 'c')} THEN d END)"
        " AS median_us FROM ranked"
    )


def insight_sql(insight: Insight) -> str:
    """The one statement that answers ``insight``."""
    builders = {"trends": trends_sql, "funnel": funnel_sql, "top": top_sql, "sessions": sessions_sql}
    return builders[insight.request.kind](insight)
