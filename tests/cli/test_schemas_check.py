"""``theeye schemas check``: a schema change judged before it is deployed, against what the
target stores. The target is a local stack's state file naming a fake of the query routes
(``tests/cli/fake_query_api.py``: the query function's own ``/schemas`` and ``/errors`` code, and
``POST /sql`` as the contract describes it)."""

from __future__ import annotations

import io
import json
import shutil
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http.server import HTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Result, make_embedded_stack
from tests.cli.fake_query_api import QUERY_KEY, FakeQueryApi
from theeye.clock import format_timestamp
from theeye.records import ErrorRecord, derive_error_id
from theeye.sqlite.backend import SqliteBackend
from theeye_cli import schema_check
from theeye_cli.__main__ import main

ROOT = Path(__file__).parents[2]
PAGEVIEW = ("page interaction", "pageview")
SUBMIT = ("form interaction", "submit")
NOW = datetime.now(UTC)


@dataclass
class Stack:
    api: FakeQueryApi
    store: SqliteBackend
    state_file: Path
    served: Path
    new: Path

    def run(self, *argv: str) -> Result:
        out, err = io.StringIO(), io.StringIO()
        code = main(
            ["--state", str(self.state_file), "schemas", "check", "--schemas", str(self.new), *argv],
            out=out,
            err=err,
        )
        return Result(code, out.getvalue(), err.getvalue())

    def edit(self, file: str, change: Any) -> None:
        """Change one schema of the new directory: ``change(schema)`` edits it in place."""
        path = self.new / file
        schema = json.loads(path.read_text(encoding="utf-8"))
        change(schema)
        path.write_text(json.dumps(schema), encoding="utf-8")

    def store_event(
        self, event_type: tuple[str, str], data: Any, *, age: timedelta, event_id: str = ""
    ) -> str:
        event_id = event_id or f"ev-{uuid.uuid4().hex[:10]}"
        self.api.add(event_id, *event_type, NOW - age, data)
        return event_id

    def record_violation(
        self,
        event_type: tuple[str, str],
        data: Any,
        *,
        age: timedelta = timedelta(hours=1),
        erased: bool = False,
    ) -> str:
        received = format_timestamp(NOW - age)
        error_id = derive_error_id("schema_violation", received, uuid.uuid4().hex)
        category, name = event_type
        payload = {
            "session_id": "s-1",
            "category": category,
            "name": name,
            "data": data,
            "timestamp": received,
        }
        self.store.error_store().put(
            ErrorRecord(
                error_id=error_id,
                type="schema_violation",
                source="processor",
                application_id="shop",
                received_at=received,
                event_id=f"ev-{uuid.uuid4().hex[:8]}",
                details=[{"field": "data", "message": "does not match"}],
                payload=payload,
                session_id="s-erased" if erased else "s-1",
            )
        )
        return error_id


@pytest.fixture
def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    monkeypatch.delenv("THEEYE_QUERY_KEY", raising=False)
    served, new = tmp_path / "served", tmp_path / "new"
    for directory in (served, new):
        directory.mkdir()
        for path in (ROOT / "schemas").glob("*.json"):
            shutil.copy(path, directory / path.name)
    database = tmp_path / "data" / "theeye.db"
    api = FakeQueryApi(served, database)
    state_file, store = make_embedded_stack(tmp_path, query_key=QUERY_KEY)
    api.start()
    state = json.loads(state_file.read_text())
    state_file.write_text(json.dumps({**state, "api_url": api.url}))
    yield Stack(api, store, state_file, served, new)
    api.stop()
    store.db.close()


HOST = {"host": "www.example.com", "path": "/"}


def test_a_breaking_change_is_caught_with_the_stored_events_it_would_reject(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given pageviews of the last days, most without a title, and a new schema that requires one
    monkeypatch.setattr(schema_check, "SQL_PAGE_ROWS", 2)  # several pages of POST /sql
    same_time = timedelta(days=1)
    untitled = [stack.store_event(PAGEVIEW, HOST, age=same_time, event_id=f"ev-{n}") for n in range(3)]
    untitled.append(stack.store_event(PAGEVIEW, {"path": "/"}, age=timedelta(days=2)))
    titled = [stack.store_event(PAGEVIEW, {**HOST, "title": "Home"}, age=timedelta(hours=n)) for n in (1, 2)]
    stack.store_event(PAGEVIEW, HOST, age=timedelta(days=9))  # older than --days
    stack.store_event(SUBMIT, {**HOST, "form": {}}, age=timedelta(hours=1))  # another type
    stack.edit("page_interaction.pageview.json", lambda s: s["required"].append("title"))

    # When the change is checked
    result = stack.run()
    report = stack.run("--json").json()

    # Then it is breaking, with the reason and the count of stored events it would reject
    assert result.code == 1, result.err
    assert "page interaction / pageview: changed, BREAKING" in result.out
    assert "data.title: newly required" in result.out
    assert "4 of 6 would be rejected, e.g." in result.out
    assert "NOT safe to deploy" in result.out
    (change,) = report["changes"]
    assert (change["change"], change["compatibility"]) == ("changed", "breaking")
    assert change["events"]["checked"] == len(untitled) + len(titled)
    assert change["events"]["rejected"] == len(untitled)
    assert len(change["events"]["examples"]) == 3
    assert {e["event_id"] for e in change["events"]["examples"]} <= set(untitled)
    assert {"field": "data.title", "message": "is required"} in change["events"]["examples"][0]["errors"]
    assert report["ok"] is False
    pages = [r for r in stack.api.sql_requests() if "pageview" in r["sql"]]
    assert len(pages) >= 3 and all(p["max_rows"] == 2 for p in pages)


def test_an_additive_change_counts_the_recorded_errors_a_replay_would_store(
    stack: Stack, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given forms refused because a value was a number, one refused for a missing form, one erased
    monkeypatch.setattr(schema_check, "ERROR_PAGE", 2)  # several pages of GET /errors
    numbers = [stack.record_violation(SUBMIT, {**HOST, "form": {"age": n}}) for n in range(3)]
    stack.record_violation(SUBMIT, HOST)
    stack.record_violation(SUBMIT, {**HOST, "form": {"age": 9}}, erased=True)
    stack.store.eraser().erase("s-erased")
    stack.record_violation(SUBMIT, {**HOST, "form": {"age": 1}}, age=timedelta(days=10))  # too old
    stack.record_violation(PAGEVIEW, {"host": 1})  # another type
    stack.store_event(SUBMIT, {**HOST, "form": {"name": "Ada"}}, age=timedelta(hours=3))
    # and a new schema that takes numbers too
    stack.edit(
        "form_interaction.submit.json",
        lambda s: s["properties"]["form"].update(additionalProperties={"type": ["string", "number"]}),
    )

    # When the change is checked
    result = stack.run()
    report = stack.run("--json").json()

    # Then it is additive, nothing stored is rejected, and the numbers' errors would be replayable
    assert result.code == 0, (result.out, result.err)
    assert "form interaction / submit: changed, additive" in result.out
    assert "0 of 1 would be rejected" in result.out
    (change,) = report["changes"]
    assert change["compatibility"] == "additive" and change["reasons"] == []
    errors = change["errors"]
    assert (errors["recorded"], errors["accepted"]) == (len(numbers) + 1, len(numbers))
    assert sorted(errors["examples"]) == sorted(numbers)
    assert f"{len(numbers)} of {len(numbers) + 1} would now be accepted" in result.out
    assert report["ok"] is True
    pages = [q for method, path, q in stack.api.requests if (method, path) == ("GET", "/errors")]
    assert len(pages) >= 3 and all(p["type"] == "schema_violation" for p in pages)


def test_unchanged_schemas_exit_0(stack: Stack) -> None:
    result = stack.run()
    assert result.code == 0, result.err
    assert "no event type's schema differs from the served one" in result.out
    assert stack.api.sql_requests() == []


def test_added_and_removed_types(stack: Stack) -> None:
    # Given a new type whose events were stored unchecked, one of them without the new field
    (stack.new / "page_interaction.cta_click.json").unlink()
    added = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "x-event-type": {"category": "shop's", "name": "view"},
        "type": "object",
        "required": ["sku"],
        "properties": {"sku": {"type": "string"}},
    }
    (stack.new / "shop.view.json").write_text(json.dumps(added), encoding="utf-8")
    stack.store_event(("shop's", "view"), {"sku": "a-1"}, age=timedelta(hours=1))
    missing = stack.store_event(("shop's", "view"), {}, age=timedelta(hours=2))

    report = stack.run("--json")

    assert report.code == 1
    changes = {(c["category"], c["name"]): c for c in report.json()["changes"]}
    assert changes[("page interaction", "cta click")]["change"] == "removed"
    assert changes[("page interaction", "cta click")]["compatibility"] == "additive"  # stored unchecked
    shop = changes[("shop's", "view")]
    assert (shop["change"], shop["compatibility"]) == ("added", "breaking")
    assert shop["events"]["rejected"] == 1 and shop["events"]["examples"][0]["event_id"] == missing
    refused = stack.run("--json", "--unknown-event-types", "reject").json()["changes"]
    verdicts = {(c["category"], c["name"]): c["compatibility"] for c in refused}
    assert verdicts == {("page interaction", "cta click"): "breaking", ("shop's", "view"): "additive"}


def test_cannot_run_without_post_sql(stack: Stack) -> None:
    stack.api.sql = False
    stack.edit("page_interaction.pageview.json", lambda s: s["required"].append("title"))
    result = stack.run()
    assert result.code == 2
    assert "no POST /sql" in result.err


@pytest.mark.parametrize(
    ("damage", "said"),
    [
        (lambda new: (new / "broken.json").write_text("{", encoding="utf-8"), "not readable JSON"),
        (
            lambda new: (new / "bad.json").write_text(
                json.dumps({"x-event-type": {"category": "c", "name": "n"}, "type": "objekt"}),
                encoding="utf-8",
            ),
            "is not valid",
        ),
        (lambda new: shutil.rmtree(new), "no schemas directory"),
    ],
    ids=["not JSON", "not a schema", "no directory"],
)
def test_cannot_run_with_a_bad_directory(stack: Stack, damage: Any, said: str) -> None:
    damage(stack.new)
    result = stack.run()
    assert result.code == 2
    assert said in result.err


def test_cannot_run_when_the_target_does_not_answer_or_refuses_the_key(stack: Stack) -> None:
    refused = stack.run("--key", "eye_wrong")
    assert refused.code == 2 and "401" in refused.err
    url = stack.api.url
    stack.api.stop()
    unreachable = stack.run("--url", url)
    assert unreachable.code == 2 and "cannot reach" in unreachable.err


def test_the_real_query_function_answers_the_checks_statements(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The statements and paging of the check, run by the query function itself over DuckDB."""
    # Given the query function serving the repository's schemas, stored pageviews in a lake
    # (read in pages of one row)
    from query import handler
    from tests.cli.test_sql import _Bridge
    from tests.sql_lake import event, lake
    from theeye import wiring
    from theeye.analytics import engine
    from theeye.analytics.duckdb_engine import DuckDbEngine
    from theeye.config import get_settings
    from theeye.keys import new_api_key
    from theeye_local.memory import MemoryBackend

    monkeypatch.setenv("SCHEMAS_DIR", str(ROOT / "schemas"))
    monkeypatch.delenv("THEEYE_QUERY_KEY", raising=False)
    monkeypatch.setattr(schema_check, "SQL_PAGE_ROWS", 1)
    backend = MemoryBackend()
    backend.keys().put(new_api_key("operators", ["query"], raw_key=QUERY_KEY)[1])
    wiring.install(backend)
    get_settings.cache_clear()
    handler.dependencies.cache_clear()

    def pageview(number: int, data: Any, age: timedelta) -> dict[str, Any]:
        return event(
            number, category=PAGEVIEW[0], name=PAGEVIEW[1], data=data, timestamp=format_timestamp(NOW - age)
        )

    hour = timedelta(hours=1)
    stored = [
        pageview(0, HOST, hour),  # two at the same instant: paging goes on by event_id
        pageview(1, {"path": "/"}, hour),
        pageview(2, {**HOST, "title": "T"}, timedelta(hours=2)),
        pageview(3, {"path": "/"}, timedelta(days=3)),
        pageview(4, HOST, timedelta(days=9)),  # older than --days
    ]
    snapshot = lake(tmp_path / "lake", stored)
    engine.install(DuckDbEngine(lambda: snapshot))
    server = HTTPServer(("127.0.0.1", 0), _Bridge)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    new = tmp_path / "new"
    shutil.copytree(ROOT / "schemas", new)
    schema = json.loads((new / "page_interaction.pageview.json").read_text())
    schema["properties"]["host"]["maxLength"] = 3  # tightened: every host stored is longer
    (new / "page_interaction.pageview.json").write_text(json.dumps(schema))
    try:
        # When the change is checked through the real routes
        out, err = io.StringIO(), io.StringIO()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        code = main(
            ["schemas", "check", "--schemas", str(new), "--url", url, "--key", QUERY_KEY, "--json"],
            out=out,
            err=err,
        )
    finally:
        server.shutdown()
        server.server_close()
        engine.install(None)
        wiring.install(None)
        get_settings.cache_clear()
        handler.dependencies.cache_clear()

    # Then every stored pageview of the last 7 days was read, page by page, and judged
    assert code == 1, err.getvalue()
    (change,) = json.loads(out.getvalue())["changes"]
    assert change["reasons"] == [{"field": "data.host", "message": "maxLength tightened to 3 (was 253)"}]
    assert change["events"]["checked"] == 4
    assert change["events"]["rejected"] == 4  # too long a host, or none (required)
    assert [e["event_id"] for e in change["events"]["examples"]] == [
        "ev-0003",
        "ev-0002",
        "ev-0000",
    ]  # oldest first
    assert change["errors"] == {"recorded": 0, "accepted": 0, "examples": []}
