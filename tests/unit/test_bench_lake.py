"""``bench.lake`` at a small scale: every step runs (store, feeder on a backlog, statements through
the engine and the handler, freshness and a steady load with the feeder in its own process), each
statement answers what was counted while the events were made, and the section renders. Nothing
here depends on how fast anything was."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench import lake, render


def test_every_step_runs_and_each_statement_answers_what_was_stored(tmp_path: Path) -> None:
    result = lake.measure(
        600,
        1,
        0.4,
        handler_rounds=1,
        freshness_samples=2,
        sql_freshness_samples=1,
        scratch=tmp_path,
    )

    assert result["stored"]["events"] >= 600 and result["backlog"]["changes"] == result["stored"]["events"]
    assert all(result["answers_checked"].values()), result["expected"]
    assert result["expected"]["count(*) of every event"] == [[result["stored"]["events"]]]
    assert result["disk"]["lake_data_bytes"] > 0 and result["disk"]["database_bytes"] > 0
    assert result["freshness"]["snapshot"]["samples"] == 2 and result["freshness"]["sql"]["samples"] == 1
    assert result["steady"]["events"] >= lake.LOAD_CHUNK and result["steady"]["freshness"]["samples"] >= 1
    assert "SQL over every event" in render.lake_section(result)
    assert not list(tmp_path.iterdir())  # the scratch store and lake are gone


def test_the_funnel_counts_each_step_after_the_one_before_in_a_session() -> None:
    # Given sessions made with the bench's generator
    events = lake.Events("t", datetime(2026, 1, 1, tzinfo=UTC), timedelta(days=1), 300)
    made = [events.session(n) for n in range(300)]

    # When the funnel is counted by hand from the records, step by step in time order
    reached = [0, 0, 0]
    for session in made:
        if session[0].event.context["bot"]:
            continue
        at = 0
        for record in sorted(session, key=lambda r: r.event.timestamp):
            e = record.event
            if lake.funnel_step(e.category, e.name, e.context["page"]["path"]) == at + 1:
                at += 1
        for step in range(at):
            reached[step] += 1

    # Then the generator's own count agrees, and each step keeps fewer sessions than the one before
    assert events.funnel == reached
    assert reached[0] > reached[1] > reached[2] > 0
