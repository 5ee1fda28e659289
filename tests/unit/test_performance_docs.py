"""The README's performance paragraph is what ``docs/performance.json`` says, never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

from bench.run import README_END, README_START, readme_summary

ROOT = Path(__file__).parents[2]


def test_the_readme_paragraph_is_computed_from_the_measured_results() -> None:
    results = json.loads((ROOT / "docs" / "performance.json").read_text())
    readme = (ROOT / "README.md").read_text()
    start, end = readme.index(README_START), readme.index(README_END) + len(README_END)

    assert readme[start:end] == readme_summary(results), "run: python -m bench.run --readme"
