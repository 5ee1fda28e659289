"""The local lake of `make run`'s embedded stack: fed from the store by the stack's own feeder,
it holds exactly the stored events (the ledger's ``stored - erased``), and an erased session's
rows and payload bytes leave every file of the data directory (docs/API.md, "SQL over every
event": Exact, Fresh, Erasure)."""

from __future__ import annotations

import secrets
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.e2e.ledger import settled
from tests.e2e.local_stack import LocalStackHandle
from tests.e2e.test_pipeline import iso, post
from tests.e2e.test_sessions_and_erasure import erase
from tests.support import eventually
from theeye.analytics.local_lake import LocalLake
from theeye.analytics.table import Snapshot

pytestmark = pytest.mark.e2e


def lake_rows(lake: LocalLake) -> list[tuple[str, str]]:
    """(event_id, session_id) of every row of the lake now."""

    def read(snapshot: Snapshot) -> list[tuple[str, str]]:
        if not snapshot.files:
            return []
        query = "SELECT event_id, session_id FROM read_parquet(?) ORDER BY event_id"
        return [(r[0], r[1]) for r in duckdb.connect().execute(query, [list(snapshot.files)]).fetchall()]

    return lake.read(read)


def holding(data_dir: Path, secret: bytes) -> list[str]:
    return sorted(
        str(p.relative_to(data_dir)) for p in data_dir.rglob("*") if p.is_file() and secret in p.read_bytes()
    )


def test_the_lake_holds_every_stored_event_once_and_no_erased_byte(local_stack: LocalStackHandle) -> None:
    assert local_stack.state["lake_directory"] == str(local_stack.data_dir / "lake")
    lake = LocalLake(local_stack.state["lake_directory"])
    secret = "erase-me-" + secrets.token_hex(16)
    tag = uuid.uuid4().hex[:8]
    gone, kept = f"lake-gone-{tag}", f"lake-kept-{tag}"
    start = datetime(2022, 5, 1, 8, tzinfo=UTC) + timedelta(days=uuid.uuid4().int % 300)

    def event(session: str, n: int, **data: Any) -> dict[str, Any]:
        at = start + timedelta(hours=n * 7)  # over several days: several partitions
        return {
            "session_id": session,
            "category": "shop",
            "name": "view",
            "data": {"n": n, **data},
            "timestamp": iso(at),
            "event_id": f"{session}-{n}",
        }

    batch = [event(gone, n, note=f"{secret}-{n}") for n in range(12)] + [event(kept, n) for n in range(12)]
    post(local_stack, batch)
    post(local_stack, batch[:5])  # a duplicate delivery: no second row

    def exact() -> dict[str, Any] | None:
        ledger = settled(local_stack)
        rows = lake_rows(lake)
        ours = {session for _, session in rows} >= {gone, kept}
        return ledger if ours and len(rows) == ledger["stored"] - ledger["erased"] else None

    eventually("the lake to hold every stored event once", exact)
    assert len({event_id for event_id, _ in lake_rows(lake)}) == len(lake_rows(lake))
    assert any(name.startswith("lake/") for name in holding(local_stack.data_dir, secret.encode()))

    answer = erase(local_stack, gone)
    assert answer.status == 200, answer.body

    def erased() -> bool:
        ledger = settled(local_stack)
        rows = lake_rows(lake)
        sessions = {session for _, session in rows}
        return gone not in sessions and kept in sessions and len(rows) == ledger["stored"] - ledger["erased"]

    eventually("the erased session's rows to leave the lake", erased)
    eventually(
        "no file under the data directory to hold the erased payload",
        lambda: holding(local_stack.data_dir, secret.encode()) == [],
    )
