"""``POST /insights`` and ``GET /insights/{query_id}``: an insight's statement run by the SQL
engine of ``POST /sql`` (the same table, freshness and limits), its rows shaped into the answer.

The generated statement goes through ``SqlEngine.run`` like an analyst's: every insight's SQL
passes ``theeye.analytics.sql.check`` (``tests/unit/test_insights_route.py`` holds each kind to
it), so the engines need no second entry, and a bug of the generator meets the same walls.
``max_rows`` is the most rows the insight's statement can answer (``Insight.max_rows``), so no
answer is ever cut. A statement still running (Athena after 20 s) answers ``SqlRunning`` with
an insight query id (``theeye.analytics.insights.query_ids``) that brings the request back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from theeye.analytics.engine import SqlAnswer, SqlEngine, SqlRunning
from theeye.analytics.insights.answers import insight_answer
from theeye.analytics.insights.queries import insight_sql
from theeye.analytics.insights.query_ids import InsightQueryIds
from theeye.analytics.insights.request import Insight, parse_insight

# The shaped answer, or the insight still running.
InsightAnswer = dict[str, Any] | SqlRunning


@dataclass(frozen=True)
class InsightQueries:
    engine: Callable[[], SqlEngine]
    ids: InsightQueryIds
    now: Callable[[], datetime]

    def ask(self, body: Any) -> InsightAnswer:
        """The answer to the insight ``body`` asks for (``InvalidInsight`` when it is malformed)."""
        insight = parse_insight(body, self.now())
        return self._shaped(insight, self.engine().run(insight_sql(insight), insight.max_rows))

    def result(self, query_id: str) -> InsightAnswer:
        """The answer of an insight that was running: still running, shaped, or its error."""
        engine_query_id, insight = self.ids.read(query_id, self.now())
        return self._shaped(insight, self.engine().result(engine_query_id), query_id)

    def _shaped(self, insight: Insight, answer: SqlAnswer, query_id: str | None = None) -> InsightAnswer:
        if isinstance(answer, SqlRunning):
            return SqlRunning(query_id or self.ids.make(answer.query_id, insight))
        return insight_answer(insight, [column.name for column in answer.columns], answer.rows)
