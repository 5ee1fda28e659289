"""docs/ANALYTICS.md says what is true: every example statement runs, as written (Athena's SQL),
on the local engine over a known set of events and answers what the question expects; its
table of columns is ``theeye.analytics.table.COLUMNS``."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from theeye.analytics.duckdb_engine import DuckDbEngine
from theeye.analytics.local_lake import LocalLake
from theeye.analytics.table import COLUMNS, CONTEXT_COLUMNS, row_of
from theeye.ports import LakeUpsert

DOC = Path(__file__).parents[2] / "docs" / "ANALYTICS.md"
HEADING = re.compile(r"^#### (.+)$")

# (session, minute after 09:00 on 2026-12-01, category, name, data, context)
PAGEVIEW = ("page interaction", "pageview")
SUBMIT = ("form interaction", "submit")
NEWSLETTER = {
    "campaign": {"source": "mailer", "medium": "email", "name": "newsletter"},
    "referrer": {"medium": "email"},
}
SEARCH = {"referrer": {"medium": "search", "source": "Google", "host": "www.google.com"}}


def browser(family: str) -> dict[str, Any]:
    return {"browser": {"family": family, "version": "1.0"}}


SESSIONS: dict[str, dict[str, Any]] = {
    "s-news-pro": {"country": "DE", "bot": False, **browser("Chrome"), **NEWSLETTER},
    "s-search": {"country": "FR", "bot": False, **browser("Firefox"), **SEARCH},
    "s-news-free": {"country": "DE", "bot": False, **browser("Chrome"), **NEWSLETTER},
    "s-bot": {"country": "US", "bot": True, **browser("Googlebot")},
    "s-direct": {"country": "US", "bot": False, **browser("Safari")},
    "s-late": {"country": "FR", "bot": False, **browser("Firefox"), **SEARCH},
}
EVENTS: list[tuple[str, int, tuple[str, str], dict[str, Any]]] = [
    ("s-news-pro", 0, PAGEVIEW, {"path": "/"}),
    ("s-news-pro", 2, PAGEVIEW, {"path": "/pricing"}),
    ("s-news-pro", 5, SUBMIT, {"path": "/signup", "form": {"plan": "pro"}}),
    ("s-search", 60, PAGEVIEW, {"path": "/"}),
    ("s-search", 61, PAGEVIEW, {"path": "/pricing"}),
    ("s-news-free", 90, PAGEVIEW, {"path": "/"}),
    ("s-news-free", 100, SUBMIT, {"path": "/signup", "form": {"plan": "free"}}),
    ("s-news-free", 101, SUBMIT, {"path": "/contact", "form": {"topic": "sales"}}),
    ("s-bot", 120, PAGEVIEW, {"path": "/"}),
    ("s-bot", 120, PAGEVIEW, {"path": "/pricing"}),
    ("s-direct", 135, PAGEVIEW, {"path": "/pricing"}),
    ("s-late", 150, PAGEVIEW, {"path": "/"}),
    ("s-late", 200, SUBMIT, {"path": "/signup", "form": {"plan": "pro"}}),  # 50 minutes later: no conversion
]
EXPECTED: dict[str, list[list[Any]]] = {
    "Top pages": [["/", 4, 4], ["/pricing", 3, 3]],
    "Conversion from pageview to signup (a funnel)": [[6, 2, 0.333]],
    "Sessions from the newsletter campaign": [[2]],
    "Bot share": [[round(2 / 13, 3)]],
    "Browsers by sessions": [["Chrome", 2], ["Firefox", 2], ["Safari", 1]],
    "Events per hour": [
        ["2026-12-01T09:00:00.000000Z", 3],
        ["2026-12-01T10:00:00.000000Z", 5],
        ["2026-12-01T11:00:00.000000Z", 4],
        ["2026-12-01T12:00:00.000000Z", 1],
    ],
    "Referrer mediums": [["(direct)", 2], ["email", 2], ["search", 2]],
    "Countries": [["DE", 6, 2], ["FR", 4, 2], ["US", 3, 2]],
    "Median session length": [[300, 5]],  # 0, 60, 300, 660 and 3000 s; the bot left out
    "Plans chosen at signup (a field of `data`)": [["pro", 2], ["free", 1]],
    "Event types": [["page interaction", "pageview", 9], ["form interaction", "submit", 4]],
}


def examples() -> list[tuple[str, str]]:
    """(heading, statement) of every ```sql block under the "Example questions" headings."""
    found: list[tuple[str, str]] = []
    heading: str | None = None
    lines = iter(DOC.read_text(encoding="utf-8").splitlines())
    for line in lines:
        if match := HEADING.match(line):
            heading = match.group(1)
        elif line.strip() == "```sql":
            assert heading is not None, "an SQL block without a question above it"
            found.append((heading, "\n".join(_until_fence(lines))))
    return found


def _until_fence(lines: Iterator[str]) -> Iterator[str]:
    for line in lines:
        if line.strip() == "```":
            return
        yield line


def view(
    number: int, session: str, minute: int, kind: tuple[str, str], data: dict[str, Any]
) -> dict[str, Any]:
    hour, minute = divmod(minute, 60)
    moment = f"2026-12-01T{9 + hour:02}:{minute:02}:00.000000Z"
    context = dict(SESSIONS[session])
    if kind == PAGEVIEW:
        context["page"] = {"path": data["path"], "host": "www.example.com"}
    return {
        "event_id": f"ev-{number:03}",
        "session_id": session,
        "application_id": "web",
        "category": kind[0],
        "name": kind[1],
        "data": {"host": "www.example.com", **data},
        "timestamp": moment,
        "received_at": moment,
        "context": context,
    }


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DuckDbEngine]:
    lake = LocalLake(tmp_path_factory.mktemp("analytics-docs") / "lake")
    rows = [row_of(view(n, *event)) for n, event in enumerate(EVENTS)]
    lake.apply([LakeUpsert(n, row) for n, row in enumerate(rows)])
    yield DuckDbEngine(lake.snapshot)
    lake.close()


def test_the_doc_asks_at_least_ten_questions_each_with_a_known_answer() -> None:
    headings = [heading for heading, _ in examples()]
    assert len(headings) >= 10
    assert len(set(headings)) == len(headings)
    assert set(headings) == set(EXPECTED)


@pytest.mark.parametrize(("question", "statement"), examples(), ids=[h for h, _ in examples()])
def test_every_example_runs_on_the_local_engine_and_answers_the_question(
    engine: DuckDbEngine, question: str, statement: str
) -> None:
    answer = engine.run(statement, 1000)

    assert [list(row) for row in answer.rows] == EXPECTED[question]  # type: ignore[union-attr]


def test_the_columns_table_is_the_tables_columns() -> None:
    text = DOC.read_text(encoding="utf-8")
    documented = re.findall(r"^\| `(\w+)` \| (\w+) \| (.+) \|$", text, flags=re.MULTILINE)

    assert [(name, type_) for name, type_, _ in documented] == [(c.name, c.type) for c in COLUMNS]
    for (_, _, origin), column in zip(documented, COLUMNS, strict=True):
        if column in CONTEXT_COLUMNS:
            assert origin == "`context." + ".".join(column.context_path) + "`"
