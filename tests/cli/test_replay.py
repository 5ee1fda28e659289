"""``theeye errors replay``: the dry run, the confirmation, and the replay, as the API does it."""

from __future__ import annotations

import json
from pathlib import Path

from processor.logic import Processor, Rules, commit, process_message
from tests.cli.conftest import Cli
from theeye.events import Event
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.schemas import SchemaRegistry

ROOT = Path(__file__).parents[2]
RECEIVED = "2026-11-23T10:00:00.000000Z"
PAGEVIEW = "page_interaction.pageview.json"
RANGE = ("--from", "2026-11-23", "--to", "2026-11-24")


def seed(cli: Cli, strict: Path) -> None:
    """Two pageviews recorded as schema violations by a schema that also requires ``plan``."""
    backend = cli.target.backend()
    schemas = SchemaRegistry.from_directory(strict)
    p = Processor(backend.event_store(), backend.error_store(), backend.counters(), schemas, Rules())
    events = [
        Event(f"ev-{n}", "s-1", "page interaction", "pageview", {"host": "h", "path": "/"}, RECEIVED)
        for n in range(2)
    ]
    body = QueueMessage(
        Origin("app-1", "key-1", RECEIVED, "req-1"), [QueuedEvent(i, e) for i, e in enumerate(events)]
    ).to_body()
    commit(p, [process_message(body, p)])


def strict_schemas(directory: Path) -> Path:
    directory.mkdir()
    schema = json.loads((ROOT / "schemas" / PAGEVIEW).read_text())
    schema["required"] = ["host", "path", "plan"]
    (directory / PAGEVIEW).write_text(json.dumps(schema))
    return directory


def test_a_dry_run_then_a_replay_queue_each_event_once(cli: Cli, tmp_path: Path) -> None:
    seed(cli, strict_schemas(tmp_path / "strict"))
    dry = cli.run("--json", "errors", "replay", "--type", "schema_violation", *RANGE, "--dry-run")
    assert dry.code == 0, dry.err
    assert dry.json() == {"matched": 2, "replayable": 2, "replayed": 0, "still_invalid": []}
    refused = cli.run("errors", "replay", "--type", "schema_violation", *RANGE)  # not a terminal
    assert refused.code == 2 and "--yes" in refused.err
    done = cli.run("--json", "errors", "replay", "--type", "schema_violation", *RANGE, "--yes")
    assert done.code == 0, done.err
    assert done.json()["replayed"] == 2
    assert cli.run("--json", "status").json()["replayed"] == 2
    again = cli.run("--json", "errors", "replay", "--type", "schema_violation", *RANGE, "--yes")
    assert again.json()["matched"] == 0


def test_the_schemas_the_replay_judges_by_are_given(cli: Cli, tmp_path: Path) -> None:
    strict = strict_schemas(tmp_path / "strict")
    seed(cli, strict)
    still = cli.run(
        "--json",
        "errors",
        "replay",
        "--type",
        "schema_violation",
        *RANGE,
        "--dry-run",
        "--schemas",
        str(strict),
    )
    assert still.code == 0, still.err
    assert (still.json()["replayable"], len(still.json()["still_invalid"])) == (0, 2)
    table = cli.run(
        "errors", "replay", "--type", "schema_violation", *RANGE, "--dry-run", "--schemas", str(strict)
    )
    assert ("still invalid" in table.out and "data.plan" in table.out) or "plan" in table.out
