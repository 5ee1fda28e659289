"""Insights (docs/API.md, "Insights"): trends, funnels, top values and sessions, each one SQL
statement over the ``events`` table in Athena's dialect, run by whatever engine ``execute``
reaches (Athena on AWS, DuckDB locally), its few rows shaped into the answer.

``request`` reads and checks the JSON, ``fields`` names what can be filtered and broken down,
``queries`` writes the SQL, ``answers`` shapes the rows, ``buckets`` lists the time buckets.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any

from theeye.analytics.insights.answers import insight_answer
from theeye.analytics.insights.queries import insight_sql
from theeye.analytics.insights.request import Insight, parse_insight

# Runs one statement in Athena's dialect; answers the result's column names and rows.
Execute = Callable[[str], tuple[Sequence[str], Sequence[Sequence[Any]]]]

__all__ = ["Execute", "Insight", "answer_insight", "insight_answer", "insight_sql", "parse_insight"]


def answer_insight(body: Any, execute: Execute, now: datetime) -> dict[str, Any]:
    """The answer to the insight ``body`` asks for (``InvalidInsight`` when it is malformed)."""
    insight = parse_insight(body, now)
    columns, rows = execute(insight_sql(insight))
    return insight_answer(insight, columns, rows)
