"""``GET /health``: 200 ``{"status": "ok"}`` while the store takes writes, 503 ``degraded`` with
the store's reason while it cannot, and 200 again once it can."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from query.handler import lambda_handler as query_handler
from tests.support import LambdaContext
from theeye import wiring
from theeye_local.memory import MemoryBackend

ROOT = Path(__file__).parents[2]


@pytest.fixture
def backend() -> Iterator[MemoryBackend]:
    chosen = MemoryBackend()
    wiring.install(chosen)
    yield chosen
    wiring.install(None)


def health() -> tuple[int, Any]:
    event = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
    answer = query_handler(event, LambdaContext())
    return answer["statusCode"], json.loads(answer["body"])


def test_health_follows_whether_the_store_takes_writes(backend: MemoryBackend) -> None:
    assert health() == (200, {"status": "ok"})

    backend.health.problem = "the disk holding the data directory is full (no room for 4 MiB more)"
    assert health() == (
        503,
        {
            "status": "degraded",
            "reason": "the disk holding the data directory is full (no room for 4 MiB more)",
        },
    )

    backend.health.problem = None
    assert health() == (200, {"status": "ok"})
