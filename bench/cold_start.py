"""Cold start per function: a fresh interpreter imports the handler and serves its first
invocation; the time from just before the import to the first answer, median of N.

    .venv/bin/python -m bench.cold_start [--runs 10]

The first invocation runs against an embedded AWS (moto server on 127.0.0.1) started once
for all runs, so client creation and the first calls are included, but moto's own start is not.
Interpreter start-up itself (which Lambda's runtime pays before our code) is reported apart.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, stamp

PROBE = r"""
import json, sys, time
started = time.perf_counter()
handler_path, event_path = sys.argv[1], sys.argv[2]
module_name, function_name = handler_path.rsplit(".", 1)
import importlib
module = importlib.import_module(module_name)
imported = time.perf_counter()
class Context:
    function_name = "bench"; function_version = "$LATEST"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:bench"
    aws_request_id = "00000000-0000-0000-0000-000000000000"; log_group_name = "/aws/lambda/bench"; log_stream_name = "s"
    def get_remaining_time_in_millis(self): return 30000
event = json.load(open(event_path))
getattr(module, function_name)(event, Context())
done = time.perf_counter()
print(json.dumps({"import_ms": (imported - started) * 1000, "first_invoke_ms": (done - imported) * 1000}))
"""


def environment(refs: dict[str, str], endpoint: str, function_id: str) -> dict[str, str]:
    from theeye_local.lambdas import function_environment

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(function_environment(function_id, refs))
    env.update(
        {
            "AWS_ENDPOINT_URL": endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_DEFAULT_REGION": "us-east-1",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "PYTHONPATH": str(ROOT / "functions"),
        }
    )
    return env


def measure(runs: int) -> dict[str, Any]:
    import boto3
    from moto.server import ThreadedMotoServer

    from theeye.aws.keys import DynamoKeyStore
    from theeye.keys import new_api_key
    from theeye_local.resources import create_resources

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        session = boto3.session.Session(
            aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1"
        )
        refs = create_resources(session, endpoint_url=endpoint)
        os.environ.update(
            AWS_ENDPOINT_URL=endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing"
        )
        os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
        raw, record = new_api_key(
            "bench", ["ingest", "query"], raw_key="eye_sample-ingest-key-for-tests-and-sam-local-0001"
        )
        DynamoKeyStore(refs["ApiKeysTable"]).put(record)
        query_event = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
        query_event["rawPath"] = query_event["requestContext"]["http"]["path"] = "/events"
        query_event["headers"]["authorization"] = f"Bearer {raw}"
        query_event["queryStringParameters"] = {"session_id": "s-1"}
        with tempfile.TemporaryDirectory() as scratch:
            query_path = Path(scratch) / "query.json"
            query_path.write_text(json.dumps(query_event))
            cases = {
                "IngestFunction": (
                    "ingest.handler.lambda_handler",
                    ROOT / "events" / "apigw_post_events_batch.json",
                ),
                "ProcessorFunction": (
                    "processor.handler.lambda_handler",
                    ROOT / "events" / "sqs_valid_batch.json",
                ),
                "QueryFunction": ("query.handler.lambda_handler", query_path),
            }
            results: dict[str, Any] = {}
            for function_id, (handler, event_file) in cases.items():
                env = environment(refs, endpoint, function_id)
                samples = []
                for _ in range(runs):
                    out = subprocess.run(
                        [sys.executable, "-c", PROBE, handler, str(event_file)],
                        env=env,
                        capture_output=True,
                        text=True,
                        check=True,
                        cwd=ROOT,
                    )
                    samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
                results[function_id] = {
                    "import_ms": median([s["import_ms"] for s in samples]),
                    "first_invoke_ms": median([s["first_invoke_ms"] for s in samples]),
                    "total_ms": median([s["import_ms"] + s["first_invoke_ms"] for s in samples]),
                }
        return stamp(f"python -m bench.cold_start --runs {runs}", {"functions": results, "runs": runs})
    finally:
        server.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
