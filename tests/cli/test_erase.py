"""``theeye erase --session``: a session's events, summary and error payloads, as the API erases them."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest

from processor.logic import Processor, Rules, commit, process_message
from tests.cli.conftest import Cli
from theeye.events import Event
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.ports import ErrorFilter, Window
from theeye.schemas import SchemaRegistry

SCHEMAS = SchemaRegistry.from_directory(Path(__file__).parents[2] / "schemas")
RECEIVED = "2026-11-23T10:00:00.000000Z"


def seed(cli: Cli, session: str) -> None:
    backend = cli.target.backend()
    p = Processor(backend.event_store(), backend.error_store(), backend.counters(), SCHEMAS, Rules())
    events = [
        Event("ev-1", session, "shop", "view", {"sku": "A"}, "2026-11-23T09:00:00.000000Z"),
        Event("ev-2", session, "shop", "view", {"sku": "B"}, "2026-11-23T09:01:00.000000Z"),
        Event("ev-3", session, "page interaction", "pageview", {"host": 1}, "2026-11-23T09:02:00.000000Z"),
    ]
    body = QueueMessage(
        Origin("app-1", "key-1", RECEIVED, "req-1"), [QueuedEvent(i, e) for i, e in enumerate(events)]
    ).to_body()
    commit(p, [process_message(body, p)])


def test_erase_with_yes_deletes_the_events_and_redacts_the_errors(cli: Cli) -> None:
    seed(cli, "subject 1")
    result = cli.run("--json", "erase", "--session", "subject 1", "--yes")
    assert result.code == 0, result.err
    assert result.json() == {"session_id": "subject 1", "events_erased": 2, "errors_redacted": 1}
    backend = cli.target.backend()
    page = backend.event_reader().by_session(
        "subject 1", Window(None, None, False, None), category=None, name=None, limit=10
    )
    assert page.items == []
    errors = Window(datetime(2026, 11, 23, tzinfo=UTC), datetime(2026, 11, 24, tzinfo=UTC), True, None)
    [error] = backend.error_reader().page(errors, ErrorFilter(), limit=10).items
    assert error["payload"] is None and error["erased"] is True
    status = cli.run("--json", "status").json()
    assert (status["stored"], status["erased"], status["balanced"]) == (2, 2, True)
    again = cli.run("erase", "--session", "subject 1", "--yes")
    assert again.code == 0 and "events deleted:  0" in again.out


def test_erase_asks_at_a_terminal_and_refuses_without_one(cli: Cli, monkeypatch: pytest.MonkeyPatch) -> None:
    seed(cli, "s-2")
    refused = cli.run("erase", "--session", "s-2")  # stdin is not a terminal under pytest
    assert refused.code == 2 and "--yes" in refused.err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    declined = cli.run("erase", "--session", "s-2")
    assert declined.code == 1 and "nothing erased" in declined.err
    monkeypatch.setattr("sys.stdin", Terminal("y\n"))
    confirmed = cli.run("--json", "erase", "--session", "s-2")
    assert confirmed.code == 0, confirmed.err
    assert confirmed.json()["events_erased"] == 2


def test_a_session_id_over_the_limit_is_bad_usage(cli: Cli) -> None:
    result = cli.run("erase", "--session", "x" * 129, "--yes")
    assert result.code == 2


def test_keys_can_be_created_with_the_admin_scope(cli: Cli) -> None:
    result = cli.run("--json", "keys", "create", "--app", "dpo", "--scope", "admin")
    assert result.code == 0, result.err
    assert result.json()["scopes"] == ["admin"]
