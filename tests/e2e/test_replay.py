"""Error replay end to end on the embedded stack of ``make run``: events recorded as schema
violations by a too-strict schema, the stack restarted on a relaxed one (``SCHEMAS_DIR``), a dry
run, the replay, each event stored once, the ledger balanced, a second replay finding nothing,
and concurrent replays storing each event once. (The moto backend keeps no data across a restart;
its ports are held to the same claims by tests/contract/test_error_replay.py.)"""

from __future__ import annotations

import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_stack import ADMIN_KEY, LocalStackHandle, start_stack, stop_stack
from tests.e2e.test_pipeline import get, post
from tests.support import eventually

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).parents[2]
PAGEVIEW = "page_interaction.pageview.json"


def schemas(directory: Path, *, strict: bool) -> Path:
    """The repository's schemas; the pageview's also requiring ``plan`` when ``strict``."""
    shutil.copytree(ROOT / "schemas", directory, dirs_exist_ok=True)
    schema = json.loads((directory / PAGEVIEW).read_text())
    schema["required"] = ["host", "path", "plan"] if strict else ["host", "path"]
    (directory / PAGEVIEW).write_text(json.dumps(schema))
    return directory


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("replay-stack")


def replay(stack: LocalStackHandle, **body: Any) -> dict[str, Any]:
    answer = stack.request(
        "POST",
        "/errors/replay",
        body={"type": "schema_violation", **body},
        headers={"Authorization": f"Bearer {ADMIN_KEY}"},
    )
    assert answer.status == 200, answer.body
    return dict(answer.json())


def every_call(stack: LocalStackHandle, **body: Any) -> dict[str, int]:
    """A whole replay: each call, its ``next`` followed; the counts added up."""
    total = {"matched": 0, "replayable": 0, "replayed": 0}
    answer = replay(stack, **body)
    while True:
        for name in total:
            total[name] += answer[name]
        if answer["next"] is None:
            return total
        answer = replay(stack, **body, cursor=answer["next"])


def balanced_and_idle(stack: LocalStackHandle) -> dict[str, Any] | None:
    status = get(stack, "/status")
    return status if status["balanced"] and status["queued"] == 0 else None


@pytest.fixture(scope="module")
def recorded(workdir: Path) -> Iterator[tuple[LocalStackHandle, str, list[str]]]:
    """A session of 6 pageviews without ``plan``, recorded as errors by the strict schema; then
    the stack restarted on the same data with the relaxed schema."""
    strict = start_stack(workdir, SCHEMAS_DIR=str(schemas(workdir / "strict", strict=True)))
    session = f"replay-{uuid.uuid4()}"
    events = [
        {
            "session_id": session,
            "category": "page interaction",
            "name": "pageview",
            "data": {"host": "h", "path": f"/{n}"},
            "timestamp": "2021-01-01T09:15:27Z",
            "context": {"locale": "en-GB"},
        }
        for n in range(6)
    ]
    ids = post(strict, events)["event_ids"]
    eventually("6 schema violations recorded", lambda: balanced_and_idle(strict))
    stop_stack(strict)
    relaxed = start_stack(workdir, SCHEMAS_DIR=str(schemas(workdir / "relaxed", strict=False)))
    yield relaxed, session, ids
    stop_stack(relaxed)


def test_a_replay_stores_each_recorded_event_once_and_the_ledger_balances(
    recorded: tuple[LocalStackHandle, str, list[str]],
) -> None:
    stack, session, ids = recorded
    before = get(stack, "/status")
    errors = get(stack, "/errors", type="schema_violation", replayed="false")["items"]
    assert {e["event_id"] for e in errors} >= set(ids)

    dry = every_call(stack, dry_run=True)
    assert dry == {"matched": 6, "replayable": 6, "replayed": 0}
    assert get(stack, "/status")["replayed"] == before["replayed"]

    # two replays at once: each event queued once, each error marked once
    answers: list[dict[str, int]] = []
    threads = [threading.Thread(target=lambda: answers.append(every_call(stack))) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(a["replayed"] for a in answers) == 6

    def stored() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = get(stack, "/events", session_id=session)["items"]
        return items if len(items) >= 6 else None

    events = eventually("the 6 replayed events stored", stored)
    assert sorted(e["event_id"] for e in events) == sorted(ids)
    assert all(e["context"].get("locale") == "en-GB" for e in events)
    ledger = eventually("the ledger balanced with nothing queued", lambda: balanced_and_idle(stack))
    assert ledger["replayed"] == before["replayed"] + 6
    assert ledger["stored"] == before["stored"] + 6 and ledger["duplicates"] == before["duplicates"]

    # a second replay finds nothing; every error shows its replay
    assert every_call(stack) == {"matched": 0, "replayable": 0, "replayed": 0}
    marked = get(stack, "/errors", type="schema_violation", replayed="true")["items"]
    assert sorted(e["replayed"]["event_id"] for e in marked) == sorted(ids)
    assert get(stack, "/status")["stored"] == ledger["stored"]
