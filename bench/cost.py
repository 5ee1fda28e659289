"""AWS work per 1,000 events and dollars per million events, counted at the boto3 layer.

    .venv/bin/python -m bench.cost

Events flow through the real handlers in-process - ingest, the SQS event source (batch size
10), the processor - against moto, while every DynamoDB and SQS call is counted:

* DynamoDB write units from the real item sizes (1 per KB per item, each index entry again,
  transactions twice, failed conditional writes still cost their unit), read units for reads;
* SQS requests in billed 64 KiB chunks: sends, the event source's receives and batch deletes;
* Lambda invocations and GB-seconds from the measured handler durations at the template's
  memory (512 MB, arm64); API Gateway requests; log bytes written.

Scenarios: clients sending 1 event per request and 100 per request, and, for comparison, a
naive design (one SQS message and one processor invocation per event, an unsharded category
index plus a time index, no guard item) computed from the same item sizes.
"""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import time
import uuid
from collections import Counter
from typing import Any

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")

from bench import prices
from bench.common import ROOT, machine
from bench.cpu import Context
from bench.processor_cost import item_bytes

BRIEFING = json.loads((ROOT / "events" / "briefing_events.json").read_text())
MEMORY_GB = 0.5
EVENTS = 1000


class Meter:
    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.write_units = 0.0
        self.read_units = 0.0
        self.sqs_requests = 0

    def before(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        name = model.name
        self.calls[f"{model.service_model.service_name}.{name}"] += 1
        if name == "PutItem":
            self.write_units += _units(params["Item"], indexed="cat_pk" in params["Item"])
        elif name == "UpdateItem":
            self.write_units += 1
        elif name == "TransactWriteItems":
            self.write_units += 2 * sum(
                _units(op["Put"]["Item"]) if "Put" in op else 1 for op in params["TransactItems"]
            )
        elif name in ("GetItem",):
            self.read_units += 0.5
        elif name == "BatchGetItem":
            self.read_units += 0.5 * sum(len(v["Keys"]) for v in params["RequestItems"].values())
        elif name == "SendMessage":
            self.sqs_requests += math.ceil(len(params["MessageBody"].encode()) / 65536)
        elif name == "DeleteMessageBatch":
            self.sqs_requests += 1

    def after(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        if model.name == "ReceiveMessage":
            size = sum(len(m.get("Body", "").encode()) for m in parsed.get("Messages", []))
            self.sqs_requests += max(1, math.ceil(size / 65536))


def _units(item: dict[str, Any], indexed: bool = False) -> float:
    units = math.ceil(item_bytes(item) / 1024)
    return units * (2 if indexed else 1)


def run(per_request: int) -> dict[str, Any]:
    import boto3
    from moto import mock_aws

    from ingest import handler as ingest_handler
    from processor import handler as processor_handler
    from theeye import aws, wiring
    from theeye.aws.keys import DynamoKeyStore
    from theeye.config import get_settings
    from theeye.keys import new_api_key
    from theeye_local.lambdas import function_environment
    from theeye_local.resources import create_resources

    os.environ.update(
        AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1"
    )
    os.environ.pop("AWS_ENDPOINT_URL", None)
    with mock_aws():
        refs = create_resources(boto3.session.Session(region_name="us-east-1"))
        for function_id in ("IngestFunction", "ProcessorFunction"):
            os.environ.update(function_environment(function_id, refs))
        wiring.install(None)  # the AWS backend, here on moto
        for cached in (
            get_settings,
            aws.client,
            ingest_handler.dependencies,
            processor_handler.dependencies,
        ):
            cached.cache_clear()
        wiring.reset()  # a new default backend from these settings and clients
        raw, record = new_api_key("bench", ["ingest"])
        DynamoKeyStore(refs["ApiKeysTable"]).put(record)
        meter = Meter()
        for service in ("dynamodb", "sqs"):
            aws.client(service).meta.events.register(f"before-parameter-build.{service}", meter.before)
            aws.client(service).meta.events.register(f"after-call.{service}", meter.after)
        logs = io.StringIO()
        durations: dict[str, float] = Counter()
        invocations: Counter[str] = Counter()
        request = json.loads((ROOT / "events" / "apigw_post_events_batch.json").read_text())
        request["headers"]["authorization"] = f"Bearer {raw}"
        from theeye.observability import logger

        previous = logger.registered_handler.setStream(logs)  # type: ignore[attr-defined]
        with contextlib.redirect_stdout(logs):
            for start in range(0, EVENTS, per_request):
                events = [
                    dict(
                        BRIEFING[n % 3],
                        session_id=f"visitor-{n % 50}",
                        timestamp=f"2026-11-23T09:{n // 60 % 60:02d}:{n % 60:02d}.{n:06d}Z",
                    )
                    for n in range(start, start + per_request)
                ]
                request["body"] = json.dumps(events)
                request["requestContext"]["requestId"] = str(uuid.uuid4())
                began = time.perf_counter()
                answer = ingest_handler.lambda_handler(request, Context())
                durations["ingest"] += time.perf_counter() - began
                invocations["ingest"] += 1
                assert answer["statusCode"] == 202, answer
            sqs = aws.client("sqs")
            while True:
                got = sqs.receive_message(
                    QueueUrl=refs["EventsQueue"], MaxNumberOfMessages=10, AttributeNames=["All"]
                )
                messages = got.get("Messages", [])
                if not messages:
                    break
                records = [
                    {
                        "messageId": m["MessageId"],
                        "receiptHandle": m["ReceiptHandle"],
                        "body": m["Body"],
                        "attributes": m.get("Attributes", {}),
                        "messageAttributes": {},
                        "eventSource": "aws:sqs",
                    }
                    for m in messages
                ]
                began = time.perf_counter()
                response = processor_handler.lambda_handler({"Records": records}, Context())
                durations["processor"] += time.perf_counter() - began
                invocations["processor"] += 1
                assert not response["batchItemFailures"], response
                sqs.delete_message_batch(
                    QueueUrl=refs["EventsQueue"],
                    Entries=[
                        {"Id": str(i), "ReceiptHandle": m["ReceiptHandle"]} for i, m in enumerate(messages)
                    ],
                )
        logger.registered_handler.setStream(previous)  # type: ignore[attr-defined]
        meter.sqs_requests -= 1  # the final empty receive belongs to idle polling, counted below
        return {
            "per_request": per_request,
            "api_requests": invocations["ingest"],
            "invocations": dict(invocations),
            "gb_seconds": {k: v * MEMORY_GB for k, v in durations.items()},
            "sqs_requests": meter.sqs_requests,
            "write_units": meter.write_units,
            "read_units": meter.read_units,
            "log_bytes": len(logs.getvalue().encode()),
            "calls": dict(meter.calls),
        }


def dollars(work: dict[str, Any]) -> dict[str, float]:
    """Dollars per million events, by service, for the work of ``EVENTS`` events."""
    scale = 1_000_000 / EVENTS
    invocations = sum(work["invocations"].values())
    gb_seconds = sum(work["gb_seconds"].values())
    return {
        "API Gateway": work["api_requests"] * scale * prices.HTTP_API_PER_MILLION_REQUESTS / 1e6,
        "Lambda requests": invocations * scale * prices.LAMBDA_PER_MILLION_REQUESTS / 1e6,
        "Lambda compute": gb_seconds * scale * prices.LAMBDA_ARM_PER_GB_SECOND,
        "SQS": work["sqs_requests"] * scale * prices.SQS_PER_MILLION_REQUESTS / 1e6,
        "DynamoDB writes": work["write_units"] * scale * prices.DYNAMODB_PER_MILLION_WRITE_UNITS / 1e6,
        "DynamoDB reads": work["read_units"] * scale * prices.DYNAMODB_PER_MILLION_READ_UNITS / 1e6,
        "CloudWatch Logs": work["log_bytes"] * scale / 1e9 * prices.LOGS_PER_GB_INGESTED,
    }


def naive(measured_single: dict[str, Any]) -> dict[str, Any]:
    """The naive design, from the measured 1-event-per-request run's item sizes and durations."""
    event_units = 1  # a ~500-byte item: 1 WRU, then one per index
    per_event_gb_s = measured_single["gb_seconds"]["ingest"] / EVENTS
    processor_gb_s = measured_single["gb_seconds"]["processor"] / measured_single["invocations"]["processor"]
    return {
        "per_request": 1,
        "api_requests": EVENTS,
        "invocations": {"ingest": EVENTS, "processor": EVENTS},
        "gb_seconds": {"ingest": per_event_gb_s * EVENTS, "processor": processor_gb_s * EVENTS},
        "sqs_requests": EVENTS * 3,  # send, receive, delete per event
        "write_units": EVENTS * event_units * 3,  # item + category index + time index
        "read_units": measured_single["read_units"],
        "log_bytes": measured_single["log_bytes"] * 2,
        "calls": {},
    }


def measure() -> dict[str, Any]:
    single = run(1)
    hundred = run(100)
    scenarios = {
        "1 event per request": single,
        "100 events per request": hundred,
        "naive, 1 per request": naive(single),
    }
    return {
        "machine": machine(),
        "prices": f"{prices.REGION} list prices read {prices.PRICES_DATE}",
        "scenarios": {
            name: {"work": work, "dollars_per_million": dollars(work)} for name, work in scenarios.items()
        },
    }


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
