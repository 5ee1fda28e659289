"""docs/ENRICHMENT.md's comparison is what ``docs/enrichment.json`` says, rendered by
``bench.enrichment``, never typed by hand."""

from __future__ import annotations

import json
from pathlib import Path

from bench.enrichment import render

ROOT = Path(__file__).parents[2]


def test_the_enrichment_comparison_is_the_rendering_of_its_measured_results() -> None:
    measured = json.loads((ROOT / "docs" / "enrichment.json").read_text())
    page = (ROOT / "docs" / "ENRICHMENT.md").read_text(encoding="utf-8")

    assert render(measured).rstrip() in page, "run: python -m bench.enrichment --render"
    assert measured["date"] in page
