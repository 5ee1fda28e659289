"""The committed ``snippet/theeye.min.js`` is built from the committed ``theeye.js`` and stays small."""

from __future__ import annotations

import gzip
import hashlib
import re
from pathlib import Path

SNIPPET = Path(__file__).resolve().parents[2] / "snippet"
MIN_BYTES_BUDGET = 5 * 1024
GZIP_BYTES_BUDGET = 2560


def test_the_minified_snippet_was_built_from_the_current_source() -> None:
    digest = hashlib.sha256((SNIPPET / "theeye.js").read_bytes()).hexdigest()[:16]
    banner = (SNIPPET / "theeye.min.js").read_text().splitlines()[0]
    built_from = re.search(r"sha256:([0-9a-f]{16})", banner)
    assert built_from is not None, banner
    assert built_from.group(1) == digest, (
        "theeye.js changed: rebuild with `cd snippet && npm ci && npm run build`"
    )


def test_the_minified_snippet_stays_small() -> None:
    minified = (SNIPPET / "theeye.min.js").read_bytes()
    assert len(minified) <= MIN_BYTES_BUDGET
    assert len(gzip.compress(minified, 9)) <= GZIP_BYTES_BUDGET
