"""Integration fixtures: the real handlers, in-process, against moto AWS built from template.yaml.

IAM is enforced: each handler run through ``tests.integration.functions`` signs its requests
with its own function's role, translated from template.yaml; setup and read-back are an admin's.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core import enable_iam_authentication

from tests.integration.enforcement import EnforcementLog, enforce_resources
from tests.integration.functions import FunctionRoles, create_function_roles, installed
from tests.support import LambdaContext, fake_aws_credentials
from theeye.config import get_settings
from theeye_local.lambdas import function_environment
from theeye_local.resources import create_resources

ROOT = Path(__file__).parents[2]
EVENTS = ROOT / "events"
SAMPLE_INGEST_KEY = "eye_sample-ingest-key-for-tests-and-sam-local-0001"


@dataclass
class Aws:
    refs: dict[str, str]
    session: boto3.session.Session  # the admin's: setup and read-back
    functions: FunctionRoles  # the functions' roles, and what each was allowed to do
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)

    def client(self, service: str) -> Any:
        """The admin's client for ``service`` (one per service: making one costs 0.1 s)."""
        if service not in self._clients:
            self._clients[service] = self.session.client(service)
        return self._clients[service]

    def drain(self, queue: str = "EventsQueue") -> list[dict[str, Any]]:
        """Every message waiting in a queue (received and deleted)."""
        sqs = self.client("sqs")
        found: list[dict[str, Any]] = []
        while True:
            got = sqs.receive_message(
                QueueUrl=self.refs[queue], MaxNumberOfMessages=10, AttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return found
            for message in got:
                sqs.delete_message(QueueUrl=self.refs[queue], ReceiptHandle=message["ReceiptHandle"])
            found.extend(got)


def sample(name: str) -> Any:
    """A file of events/: an API Gateway or SQS event (an object), or events (a list)."""
    return json.loads((EVENTS / name).read_text())


def clear_caches() -> None:
    from admin import handler as admin_handler
    from ingest import handler as ingest_handler
    from processor import handler as processor_handler
    from query import handler as query_handler
    from theeye import aws, wiring

    get_settings.cache_clear()
    aws.client.cache_clear()
    wiring.reset()

    ingest_handler.dependencies.cache_clear()
    processor_handler.dependencies.cache_clear()
    query_handler.dependencies.cache_clear()
    admin_handler.dependencies.cache_clear()
    admin_handler.replay.cache_clear()


@pytest.fixture
def aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[Aws]:
    """Moto AWS with every table and queue of template.yaml, the functions' environment, their
    roles, and IAM enforced on every request (resources included, see tests.integration.enforcement)."""
    fake_aws_credentials(monkeypatch)
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        refs = create_resources(session)
        # The union of the functions' environments, exactly as template.yaml gives them
        # (POWERTOOLS_SERVICE_NAME differs per function and is read at import: left out).
        env: dict[str, str] = {}
        for function_id in ("IngestFunction", "ProcessorFunction", "QueryFunction", "AdminFunction"):
            env.update(function_environment(function_id, refs))
        env.pop("POWERTOOLS_SERVICE_NAME", None)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        clear_caches()
        log = EnforcementLog()
        functions = create_function_roles(session, refs, log)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", functions.nobody.access_key)
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", functions.nobody.secret_key)
        enforce_resources(monkeypatch, log)
        with enable_iam_authentication(), installed(functions):
            yield Aws(refs, functions.admin, functions)
        clear_caches()
        beyond = functions.used_beyond_the_template()
        assert not beyond, f"allowed by no statement of template.yaml, only by a managed policy: {beyond}"


@pytest.fixture
def ingest_key(aws: Aws) -> str:
    """The key the sample API Gateway events present, registered with scope ingest."""
    from theeye.aws.keys import DynamoKeyStore
    from theeye.keys import new_api_key

    raw, record = new_api_key("sample-app", ["ingest"], raw_key=SAMPLE_INGEST_KEY)
    DynamoKeyStore(aws.refs["ApiKeysTable"], aws.client("dynamodb")).put(record)
    return raw


@pytest.fixture
def lambda_context() -> Any:
    return LambdaContext()
