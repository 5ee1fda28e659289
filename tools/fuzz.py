"""Fuzz the running API from its own OpenAPI document (`make check`).

Starts the local stack, then runs schemathesis twice against `/openapi.json`: the query routes
with a query key, `POST /events` with an ingest key. The checks: no 5xx, and every answer
matches the documented status codes and schemas. Exits non-zero on any failure.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.local_latency import INGEST_KEY, QUERY_KEY, start, stop

SCHEMATHESIS = ROOT / ".venv-check" / "bin" / "st"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def fuzz(port: int, key: str, *selection: str, examples: int) -> int:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"http://127.0.0.1:{port}/openapi.json",
        "--header",
        f"Authorization: Bearer {key}",
        "--checks",
        CHECKS,
        "--max-examples",
        str(examples),
        "--phases",
        "examples,coverage,fuzzing",
        "--seed",
        "20261123",
        *selection,
    ]
    return subprocess.run(command, cwd=ROOT, check=False).returncode


def main() -> int:
    examples = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    with tempfile.TemporaryDirectory() as scratch:
        process, port, _ = start(Path(scratch), 1)
        try:
            queries = fuzz(port, QUERY_KEY, "--exclude-method", "POST", examples=examples)
            ingest = fuzz(port, INGEST_KEY, "--include-method", "POST", examples=examples)
        finally:
            stop(process)
    return 1 if queries or ingest else 0


if __name__ == "__main__":
    raise SystemExit(main())
