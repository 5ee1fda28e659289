"""docs/PERFORMANCE.md and the README's performance paragraph are what ``docs/performance.json``
says, rendered by ``bench.render``, never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

from bench.render import README_END, README_START, readme_summary, render

ROOT = Path(__file__).parents[2]
RERENDER = "run: python -m bench.run --render"


def results() -> dict[str, object]:
    loaded: dict[str, object] = json.loads((ROOT / "docs" / "performance.json").read_text())
    return loaded


def test_the_readme_paragraph_is_computed_from_the_measured_results() -> None:
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)

    assert readme[start:end] == readme_summary(results()), RERENDER


def test_the_performance_page_is_the_rendering_of_the_measured_results() -> None:
    page = (ROOT / "docs" / "PERFORMANCE.md").read_text(encoding="utf-8")

    assert page == render(results()), RERENDER
