"""One contract suite per port, run against every implementation of ``theeye.ports.Backend``.

``memory`` is the in-memory backend the unit tests use; ``aws`` is the DynamoDB/SQS backend on
moto, its tables and queues created from ``template.yaml``'s own definitions; ``sqlite`` is the
embedded backend on a fresh database file. A behaviour a
suite here pins down is a behaviour the backends cannot disagree on.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tests.support import fake_aws_credentials
from theeye.aws.backend import AwsBackend
from theeye.config import Settings
from theeye.ports import Backend
from theeye.sqlite.backend import SqliteBackend
from theeye_local.memory import MemoryBackend
from theeye_local.resources import create_resources

BACKENDS = ("memory", "aws", "sqlite")


def aws_backend(monkeypatch: pytest.MonkeyPatch) -> Iterator[Backend]:
    fake_aws_credentials(monkeypatch)
    with mock_aws():
        session = boto3.session.Session(region_name="us-east-1")
        refs = create_resources(session)
        settings = Settings(
            events_table=refs["EventsTable"],
            errors_table=refs["ErrorsTable"],
            keys_table=refs["ApiKeysTable"],
            counters_table=refs["CountersTable"],
            queue_url=refs["EventsQueue"],
            dlq_url=refs["DeadLetterQueue"],
            cursor_secret_arn=refs["CursorSecret"],
        )

        @cache
        def client(service: str) -> Any:
            return session.client(service)

        yield AwsBackend(settings, client=client)


@pytest.fixture(params=BACKENDS)
def backend(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> Iterator[Backend]:
    if request.param == "memory":
        yield MemoryBackend()
    elif request.param == "sqlite":
        sqlite = SqliteBackend(tmp_path / "theeye.db")
        yield sqlite
        sqlite.db.close()
    else:
        yield from aws_backend(monkeypatch)
