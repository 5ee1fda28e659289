"""``bench.insights`` at a tiny scale: the lake it writes, every insight answered through the
route's use case, and the section ``bench.render`` makes of its figures (no speed is asserted)."""

from __future__ import annotations

from pathlib import Path

from bench import insights, insights_lake
from bench.render import insights_section


def test_the_bench_answers_every_insight_over_its_lake_and_renders(tmp_path: Path) -> None:
    result = insights.measure(events=3_000, samples=1, directory=tmp_path / "lake")
    assert result["command"] == "python -m bench.insights --events 3000 --samples 1"
    assert result["lake"]["events"] == 3_000 and result["lake"]["files"] >= 1
    assert list(result["insights"]) == list(insights.requests())
    for timed in result["insights"].values():
        assert timed["samples"] == 1 and timed["answer_bytes"] > 0
        assert len(timed["load_before"]) == len(timed["load_after"]) == 3
    section = insights_section(result)
    assert section.startswith("## `POST /insights` at 3,000 events")
    assert all(label in section for label in result["insights"])


def test_the_lake_is_whole_sessions_of_realistic_events() -> None:
    events = list(insights_lake.sessions(2_000, insights.END))
    assert len(events) == len({e["event_id"] for e in events}) == 2_000
    assert {e["name"] for e in events} == {"pageview", "cta click", "submit"}
    bots = {e["session_id"] for e in events if e["context"].get("bot")}
    assert 0 < len(bots) < len({e["session_id"] for e in events}) / 10
    assert all(e["timestamp"] < "2026-12-01" for e in events)
