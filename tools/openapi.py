"""Write the generated OpenAPI document to docs/openapi.json (``make openapi``).

The document is generated from the typed route definitions of the ingest and query functions
(``query.docs.openapi_document`` of the query app); a test fails when the committed copy drifts
from it.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET = ROOT / "docs" / "openapi.json"


def render() -> str:
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    sys.path[:0] = [str(ROOT / "functions")]
    from query.docs import openapi_document
    from query.handler import app

    return json.dumps(openapi_document(app), indent=2, sort_keys=True) + "\n"


if __name__ == "__main__":
    TARGET.write_text(render(), encoding="utf-8")
    print(f"wrote {TARGET.relative_to(ROOT)}")
