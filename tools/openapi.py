"""Write the generated OpenAPI document to docs/openapi.json (``make openapi``).

The query function serves the document at ``GET /openapi.json``: ``query.docs.openapi_document``
builds it from the query app's own routes and from the declared shapes of the ingest and admin
routes (``theeye.api_models``). ``tests/unit/test_openapi.py`` fails when the committed copy
drifts from it, or when it and template.yaml disagree on the routes.
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
