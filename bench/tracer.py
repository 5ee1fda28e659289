"""What Powertools' Tracer (the X-Ray SDK) would add to every cold start: the reason
theeye/observability.py does without it.

    .venv/bin/python -m bench.tracer [--runs 10]

A fresh interpreter, as a Lambda container has it once our modules are loaded (boto3 and
Powertools' Logger and Metrics imported, a DynamoDB client made), then times importing
``Tracer`` and constructing it with tracing on: the X-Ray SDK imported and botocore patched,
which is what ``tracer = Tracer()`` in ``theeye.observability`` would cost at every cold start.
Median of ``--runs`` processes. The first traced call's own overhead is not included.

The X-Ray SDK is not one of the functions' dependencies (layers/runtime/requirements.txt);
when it is not installed here the section says so instead of a figure.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import os
import subprocess
import sys
from typing import Any

from bench.common import ROOT, median, stamp

PROBE = r"""
import json, time
import boto3
from aws_lambda_powertools import Logger, Metrics
boto3.session.Session().client("dynamodb")
started = time.perf_counter()
from aws_lambda_powertools import Tracer
tracer = Tracer()
took = time.perf_counter() - started
assert not tracer.disabled, "tracing is off: the SDK was not loaded"
print(json.dumps({"tracer_ms": took * 1000}))
"""


def installed() -> str | None:
    try:
        return importlib.metadata.version("aws-xray-sdk")
    except importlib.metadata.PackageNotFoundError:
        return None


def measure(runs: int) -> dict[str, Any]:
    command = f"python -m bench.tracer --runs {runs}"
    version = installed()
    if version is None:
        return stamp(command, {"runs": 0, "skipped": "aws-xray-sdk is not installed in this environment"})
    environment = {k: v for k, v in os.environ.items() if not k.startswith("POWERTOOLS_")}
    environment.update(
        AWS_LAMBDA_FUNCTION_NAME="bench",
        LAMBDA_TASK_ROOT=str(ROOT / "functions"),  # Tracer is on only inside a function
        POWERTOOLS_SERVICE_NAME="bench",
        AWS_DEFAULT_REGION="us-east-1",
    )
    samples = []
    for _ in range(runs):
        done = subprocess.run(
            [sys.executable, "-c", PROBE],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        samples.append(json.loads(done.stdout.strip().splitlines()[-1])["tracer_ms"])
    return stamp(
        command,
        {
            "runs": runs,
            "xray_sdk": version,
            "powertools": importlib.metadata.version("aws-lambda-powertools"),
            "tracer_ms": median(samples),
            "tracer_ms_range": [min(samples), max(samples)],
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    print(json.dumps(measure(parser.parse_args().runs), indent=2))


if __name__ == "__main__":
    main()
