"""Injected AWS faults for chaos runs: ``THEEYE_FAULTS="dynamodb.PutItem=0.05,sqs.SendMessage=0.1"``.

Set in the environment of ``python -m theeye_local``, it reaches every function worker, which
makes the named share of those requests fail the way AWS fails them (DynamoDB throttling, SQS
unavailable), at the boto3 layer, before the request leaves the process; the SDK's retries
apply as they would on AWS. Development only.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from botocore.awsrequest import AWSResponse

ERRORS = {
    "dynamodb": ("ProvisionedThroughputExceededException", 400),
    "sqs": ("ServiceUnavailable", 503),
}


@dataclass
class _Fault:
    """Answers a share of requests with an AWS error before they are sent. Hooked on
    ``before-send``, so the SDK's own retry policy sees the error and retries as it would."""

    share: float
    code: str
    status: int
    rng: random.Random = field(default_factory=random.Random)

    def __call__(self, request: Any, **_: Any) -> AWSResponse | None:
        if self.rng.random() >= self.share:
            return None
        body = json.dumps({"__type": self.code, "message": "injected by THEEYE_FAULTS"}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0", "x-amzn-query-error": f"{self.code};Sender"}
        return AWSResponse(request.url, self.status, headers, _Raw(body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self._body = body

    def stream(self, **_: Any) -> Iterator[bytes]:
        yield self._body


def parse(spec: str) -> dict[tuple[str, str], float]:
    """``"dynamodb.PutItem=0.05"`` -> ``{("dynamodb", "PutItem"): 0.05}``; ValueError when malformed."""
    faults: dict[tuple[str, str], float] = {}
    for part in filter(None, (p.strip() for p in spec.split(","))):
        name, _, share = part.partition("=")
        service, _, operation = name.partition(".")
        if service not in ERRORS or not operation or not 0 <= float(share) <= 1:
            raise ValueError(
                f"THEEYE_FAULTS: {part!r} is not service.Operation=share (service: dynamodb, sqs)"
            )
        faults[(service, operation)] = float(share)
    return faults


def install(spec: str) -> None:
    """Register the faults on the functions' shared boto3 clients (``theeye.aws``)."""
    from theeye import aws

    for (service, operation), share in parse(spec).items():
        code, status = ERRORS[service]
        aws.client(service).meta.events.register(
            f"before-send.{service}.{operation}", _Fault(share, code, status)
        )
