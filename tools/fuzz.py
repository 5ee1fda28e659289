"""Fuzz the running API from its own OpenAPI document (`make check`).

Starts the local stack, then runs schemathesis twice against `/openapi.json`: the query routes
with a query key, `POST /events` with an ingest key. The checks: no 5xx, and every answer
matches the documented status codes and schemas. Exits non-zero on any failure.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import tempfile
from pathlib import Path

from theeye_local.launcher import LocalStack

ROOT = Path(__file__).resolve().parents[1]

SCHEMATHESIS = ROOT / ".venv-check" / "bin" / "st"
CHECKS = "not_a_server_error,status_code_conformance,response_schema_conformance,content_type_conformance"


def fuzz(stack: LocalStack, key: str, *selection: str, examples: int) -> int:
    command = [
        str(SCHEMATHESIS),
        "run",
        f"{stack.base_url}/openapi.json",
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
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("examples", nargs="?", type=int, default=50, help="schemathesis' --max-examples")
    examples = parser.parse_args().examples
    with tempfile.TemporaryDirectory() as scratch:
        stack = LocalStack(Path(scratch), {"THEEYE_FRESH": "1"}, shell=os.environ)
        stack.start()
        try:
            queries = fuzz(stack, stack.query_key, "--exclude-method", "POST", examples=examples)
            ingest = fuzz(stack, stack.ingest_key, "--include-method", "POST", examples=examples)
        finally:
            stack.stop()
    return 1 if queries or ingest else 0


if __name__ == "__main__":
    raise SystemExit(main())
