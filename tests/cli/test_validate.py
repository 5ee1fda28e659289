"""``theeye validate FILE``: the dry run of ``POST /events/validate`` on a file, offline with the
very same code, or by a running service; exit 0 all valid, 1 some invalid, 2 unreadable."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ingest.logic import Validation, validate
from tests.cli.conftest import make_embedded_stack
from tests.client.fake_api import KEY, FakeApi
from theeye.checks import Rules
from theeye.schemas import SchemaRegistry
from theeye_cli.__main__ import main

ROOT = Path(__file__).parents[2]
HOST = {"host": "www.example.com", "path": "/"}


@pytest.fixture(autouse=True)
def _no_local_stack(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No state file anywhere: offline checks must not need one."""
    monkeypatch.setenv("THEEYE_STATE_FILE", str(tmp_path / "absent.json"))
    monkeypatch.delenv("THEEYE_INGEST_KEY", raising=False)


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi().start()
    yield server
    server.stop()


def event(**changes: Any) -> dict[str, Any]:
    value = {"session_id": "s-1", "category": "page interaction", "name": "pageview", "data": dict(HOST)}
    return {**value, "timestamp": "2021-01-01 09:15:27.243860", **changes}


MIXED = [
    event(event_id="ok-1"),
    event(name="cta click"),
    {"session_id": "", "colour": "red"},
    event(name="submit", category="form interaction", data={**HOST, "form": {"first_name": 1}}),
]


def write(path: Path, value: Any) -> Path:
    path.write_text(value if isinstance(value, str) else json.dumps(value), encoding="utf-8")
    return path


def run(
    *argv: str, stdin: str | None = None, monkeypatch: pytest.MonkeyPatch | None = None
) -> tuple[int, str, str]:
    if stdin is not None:
        assert monkeypatch is not None
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_valid_events_exit_0(tmp_path: Path) -> None:
    code, out, err = run("validate", str(write(tmp_path / "e.json", [event(), event(name="pageview")])))
    assert (code, err) == (0, "")
    assert "2 event(s): 2 valid, 0 invalid - checked offline against" in out


def test_invalid_events_exit_1_with_each_problem_readable(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(write(tmp_path / "e.json", MIXED)))
    assert code == 1
    assert "event 0" not in out  # valid events are not listed
    assert "event 1, id dv1-" in out and "schema_violation  data.element  is required" in out
    assert "event 2, envelope invalid:" in out
    assert "invalid_envelope  colour" in out and "invalid_envelope  session_id" in out
    assert "data.form.first_name" in out
    assert out.rstrip().endswith("(application local-app)")
    assert "4 event(s): 1 valid, 3 invalid" in out


def test_json_is_the_endpoints_answer_from_the_same_code(tmp_path: Path) -> None:
    code, out, _ = run("validate", str(write(tmp_path / "e.json", MIXED)), "--json", "--app", "shop")
    # the verdicts here do not depend on the time: the endpoint's answer at any time is the same
    endpoint = validate(
        json.dumps(MIXED).encode(),
        application_id="shop",
        received_at="2026-11-23T10:00:00.000000Z",
        validation=Validation(SchemaRegistry.from_directory(ROOT / "schemas"), Rules()),
    )
    assert code == 1
    assert json.loads(out) == endpoint.to_response()


def test_a_single_event_and_json_lines_are_read_too(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert run("validate", str(write(tmp_path / "one.json", event())))[0] == 0
    lines = "\n".join(json.dumps(e) for e in MIXED[:2]) + "\n\n"
    code, out, _ = run("validate", str(write(tmp_path / "e.jsonl", lines)))
    assert code == 1 and "event 1 (line 2), id dv1-" in out
    code, out, _ = run("validate", "-", "--json", stdin=json.dumps([event()]), monkeypatch=monkeypatch)
    assert code == 0 and json.loads(out)["valid"] == 1


def test_future_timestamps_are_judged_now_with_the_skew_asked_for(tmp_path: Path) -> None:
    soon = (datetime.now(UTC) + timedelta(minutes=10)).isoformat()
    path = write(tmp_path / "e.json", [event(timestamp=soon)])
    code, out, _ = run("validate", str(path))
    assert code == 1 and "future_timestamp  timestamp" in out
    assert run("validate", str(path), "--max-clock-skew", "3600")[0] == 0


def test_unknown_types_are_invalid_only_when_rejected(tmp_path: Path) -> None:
    path = write(tmp_path / "e.json", [event(name="hover")])
    assert run("validate", str(path))[0] == 0
    code, out, _ = run("validate", str(path), "--unknown-event-types", "reject")
    assert code == 1 and "unknown_event_type  category" in out


def test_another_schemas_directory_can_be_chosen(tmp_path: Path) -> None:
    schemas = tmp_path / "schemas"
    schemas.mkdir()
    hover = {
        "$schema": "http://json-schema.org/draft-07/schema#",
        "x-event-type": {"category": "page interaction", "name": "hover"},
        "type": "object",
        "required": ["element"],
    }
    write(schemas / "hover.json", hover)
    path = write(tmp_path / "e.json", [event(name="hover")])
    code, out, _ = run("validate", str(path), "--schemas", str(schemas))
    assert code == 1 and "schema_violation  data.element  is required" in out
    assert run("validate", str(path), "--schemas", str(tmp_path / "none"))[0] == 2


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "cannot read"),
        ("", "is empty"),
        ("{nope", "is not JSON"),
        ('{"a": 1}\n{nope\n', "line 2: not JSON"),
        ("[]", "empty array"),
        ("5", "holds an integer"),
        (b"\xff\xfe{}", "cannot read"),
        ('{"session_id": "s\\ud800"}', "is not JSON: unpaired surrogate \\ud800"),
        ('{"a": 1}\n{"b": "\\udc00"}\n', "line 2: not JSON (unpaired surrogate \\udc00)"),
        ('{"n": NaN}', "is not JSON: NaN is not valid JSON"),
    ],
    ids=[
        "missing",
        "empty",
        "not-json",
        "bad-line",
        "empty-array",
        "number",
        "not-utf8",
        "lone-surrogate",
        "lone-surrogate-line",
        "nan",
    ],
)
def test_a_file_that_cannot_be_read_as_events_exits_2(
    tmp_path: Path, content: str | bytes | None, message: str
) -> None:
    path = tmp_path / "e.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        write(path, content)
    code, out, err = run("validate", str(path))
    assert (code, out) == (2, "")
    assert message in err


# -- by a running service ------------------------------------------------------------------------


def test_a_service_judges_the_same_file_the_same_way(tmp_path: Path, api: FakeApi) -> None:
    path = str(write(tmp_path / "e.json", MIXED))
    code, out, _ = run("validate", path, "--url", api.url, "--key", KEY, "--json")
    offline = json.loads(run("validate", path, "--json", "--app", "fake-app")[1])
    assert code == 1
    assert json.loads(out) == offline
    (request,) = api.posts()
    assert (request.path, request.headers["authorization"]) == ("/events/validate", f"Bearer {KEY}")
    assert api.deliveries == []


def test_a_big_file_is_sent_in_requests_within_the_limits(tmp_path: Path, api: FakeApi) -> None:
    events = [event(event_id=f"e-{n}") for n in range(501)]
    code, out, _ = run(
        "validate", str(write(tmp_path / "e.json", events)), "--url", api.url, "--key", KEY, "--json"
    )
    answer = json.loads(out)
    assert (code, answer["valid"], answer["invalid"]) == (0, 501, 0)
    assert [r["index"] for r in answer["results"]] == list(range(501))
    assert [len(r.events()) for r in api.posts()] == [500, 1]


def test_a_refused_key_or_an_unreachable_service_exits_1(tmp_path: Path, api: FakeApi) -> None:
    path = str(write(tmp_path / "e.json", [event()]))
    code, _, err = run("validate", path, "--url", api.url, "--key", "eye_wrong")
    assert code == 1 and "401" in err and "unauthorized" in err
    code, _, err = run("validate", path, "--url", "http://127.0.0.1:9", "--key", KEY)
    assert code == 1 and "cannot reach" in err
    code, _, err = run("validate", path, "--url", api.url)
    assert code == 2 and "ingest key" in err


def test_the_local_stack_is_reached_with_its_own_url_and_key(
    tmp_path: Path, api: FakeApi, monkeypatch: pytest.MonkeyPatch
) -> None:
    state_file, backend = make_embedded_stack(tmp_path, api_url=api.url, ingest_key=KEY)
    try:
        path = str(write(tmp_path / "e.json", [event()]))
        code, out, err = run("--local", "--state", str(state_file), "validate", path)
        assert (code, err) == (0, ""), err
        assert f"checked by {api.url}/events/validate" in out
        assert len(api.posts()) == 1
    finally:
        backend.db.close()
