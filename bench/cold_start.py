"""Cold start per function: a fresh interpreter imports the handler and serves its first
invocation; the time from just before the import to the first answer, median of N.

    .venv/bin/python -m bench.cold_start [--runs 10]

The first invocation runs against an embedded AWS (moto server on 127.0.0.1) started once
for all runs, so client creation and the first calls are included, but moto's own start is not.
Interpreter start-up itself (which Lambda's runtime pays before our code) is reported apart.

Each fresh interpreter imports only what a function in Lambda could: the distributions of the
runtime layer (layers/runtime/requirements.txt with their own requirements), those the Lambda
runtime brings (boto3 with its own) and the project's code. The venv holds more (PyYAML, moto,
pytest, ...), and a library that imports an optional package when it is installed (ua-parser
imports PyYAML) would otherwise be measured paying for an import the function never makes; every
other top-level module of the venv raises ``ModuleNotFoundError`` in the probe (``absent_from_layer``).

What event context adds to the ingest function's cold start is measured apart, as CPU time: the
ingest function of this tree serving a first request whose events carry a context (user agent,
address, page with a campaign, referrer), against the ingest function of ``CONTEXT_BEFORE`` (the
last commit without event context, its tree read from git) serving the same events without it.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, median, stamp

PROBE = r"""
import json, sys, time
handler_path, event_path, absent = sys.argv[1], sys.argv[2], frozenset(json.loads(sys.argv[3]))
class NotInTheLayer:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r} (not in the runtime layer)", name=name)
        return None
sys.meta_path.insert(0, NotInTheLayer())
started, started_cpu = time.perf_counter(), time.process_time()
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
done, done_cpu = time.perf_counter(), time.process_time()
print(json.dumps({"import_ms": (imported - started) * 1000, "first_invoke_ms": (done - imported) * 1000,
                  "cpu_ms": (done_cpu - started_cpu) * 1000}))
"""


LAYER_REQUIREMENTS = ROOT / "layers" / "runtime" / "requirements.txt"
LAMBDA_RUNTIME = ("boto3",)  # what the python3.11 runtime brings besides the standard library
PROJECT = ("theeye", "theeye-client")  # this repository's own distributions (editable installs)


def absent_from_layer() -> list[str]:
    """Top-level modules installed in this venv that a function in Lambda cannot import: those of
    distributions that neither the runtime layer's requirements (and theirs, transitively), nor
    the Lambda runtime, nor this project bring."""
    from importlib import metadata

    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    lines = (line.split("#", 1)[0].strip() for line in LAYER_REQUIREMENTS.read_text().splitlines())
    wanted = [Requirement(line).name for line in lines if line] + list(LAMBDA_RUNTIME)
    shipped = {canonicalize_name(name) for name in PROJECT}
    while wanted:
        name = canonicalize_name(wanted.pop())
        if name in shipped:
            continue
        shipped.add(name)
        for text in metadata.requires(name) or []:
            requirement = Requirement(text)
            if requirement.marker is None or requirement.marker.evaluate({"extra": ""}):
                wanted.append(requirement.name)
    return sorted(
        module
        for module, distributions in metadata.packages_distributions().items()
        if not any(canonicalize_name(distribution) in shipped for distribution in distributions)
    )


CONTEXT_BEFORE = "b511269"  # the last commit without event context
# What a browser's events carry (docs/API.md, "Event context and enrichment").
CONTEXT = {
    "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36",
    "ip": "81.2.69.160",
    "page": {
        "url": "https://www.example.com/pricing?utm_source=newsletter&utm_medium=email&utm_campaign=spring",
        "referrer": "https://www.google.com/",
        "title": "Pricing",
    },
    "locale": "en-GB",
    "timezone": "Europe/London",
    "screen": {"width": 1920, "height": 1080},
}


def environment(
    refs: dict[str, str], endpoint: str, function_id: str, functions: Path = ROOT / "functions"
) -> dict[str, str]:
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
            "PYTHONPATH": str(functions),
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
                samples = cold_starts(handler, event_file, environment(refs, endpoint, function_id), runs)
                results[function_id] = {
                    "import_ms": median([s["import_ms"] for s in samples]),
                    "first_invoke_ms": median([s["first_invoke_ms"] for s in samples]),
                    "total_ms": median([s["import_ms"] + s["first_invoke_ms"] for s in samples]),
                }
            context = context_growth(refs, endpoint, Path(scratch), runs)
        return stamp(
            f"python -m bench.cold_start --runs {runs}",
            {"functions": results, "runs": runs, "event_context": context},
        )
    finally:
        server.stop()


def cold_starts(handler: str, event_file: Path, env: dict[str, str], runs: int) -> list[dict[str, float]]:
    """``runs`` fresh interpreters each importing ``handler`` and serving ``event_file``."""
    samples = []
    absent = json.dumps(absent_from_layer())
    for _ in range(runs):
        out = subprocess.run(
            [sys.executable, "-c", PROBE, handler, str(event_file), absent],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=ROOT,
        )
        samples.append(json.loads(out.stdout.strip().splitlines()[-1]))
    return samples


def context_growth(refs: dict[str, str], endpoint: str, scratch: Path, runs: int) -> dict[str, Any]:
    """CPU of the ingest function's cold start on a batch of events with a context (this tree),
    on the same events with nothing to enrich (this tree: no context, no User-Agent, no source
    address) and without a context (the tree of ``CONTEXT_BEFORE``), median of ``runs`` each."""
    archive = subprocess.run(
        ["git", "archive", CONTEXT_BEFORE, "functions"], cwd=ROOT, capture_output=True, check=True
    ).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tree:
        tree.extractall(scratch / "before", filter="data")
    request = json.loads((ROOT / "events" / "apigw_post_events_batch.json").read_text())
    plain = scratch / "without_context.json"
    plain.write_text(json.dumps(request))
    bare = scratch / "nothing_to_enrich.json"  # no context, no User-Agent, no source address
    bare.write_text(
        json.dumps(
            {
                **request,
                "headers": {k: v for k, v in request["headers"].items() if k != "user-agent"},
                "requestContext": {
                    **request["requestContext"],
                    "http": {**request["requestContext"]["http"], "sourceIp": ""},
                },
            }
        )
    )
    enriched = scratch / "with_context.json"
    events = [{**event, "context": CONTEXT} for event in json.loads(request["body"])]
    enriched.write_text(json.dumps({**request, "body": json.dumps(events)}))
    handler = "ingest.handler.lambda_handler"
    before = cold_starts(
        handler, plain, environment(refs, endpoint, "IngestFunction", scratch / "before" / "functions"), runs
    )
    here = environment(refs, endpoint, "IngestFunction")
    unenriched = cold_starts(handler, bare, here, runs)
    after = cold_starts(handler, enriched, here, runs)
    return {
        "before_commit": CONTEXT_BEFORE,
        "events": len(events),
        "before_cpu_ms": median([s["cpu_ms"] for s in before]),
        "nothing_to_enrich_cpu_ms": median([s["cpu_ms"] for s in unenriched]),
        "after_cpu_ms": median([s["cpu_ms"] for s in after]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    print(json.dumps(measure(args.runs), indent=2))


if __name__ == "__main__":
    main()
