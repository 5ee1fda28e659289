"""What ``make run`` prints, and where the functions' own log lines go.

The terminal: the keys and addresses on start, then one short line per request (method, path,
status, milliseconds), and the functions' warnings and errors as sentences - never their JSON.
The JSON log records and EMF metrics are in ``logs/<function>.jsonl`` beside the state file;
``THEEYE_LOG=json`` copies them to the terminal as well.

Each stack here is its own (the shared ones serve other tests, whose requests would be in
their terminal too).
"""

from __future__ import annotations

import json
import re
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.local_stack import (
    LocalStackHandle,
    Response,
    start_stack,
    stop_stack,
)
from tests.support import eventually
from theeye_local.function_logs import log_file, logs_dir

LONGEST_LINE = 160
REQUEST_LINE = re.compile(
    r"^\d\d:\d\d:\d\d (?P<method>[A-Z]+) (?P<path>/\S*) -> (?P<status>\d{3}) \(\d+\.\d ms\)$"
)


def utc_now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def wait_for(condition: Callable[[], bool], what: str, stack: LocalStackHandle) -> None:
    try:
        eventually(what, condition, interval=0.1)
    except AssertionError as timed_out:
        pytest.fail(f"{timed_out}\n{stack.log_tail()}")


def records(path: Path) -> list[dict[str, Any]]:
    """Every line of a function's log, each parsed as the JSON object it must be."""
    if not path.exists():
        return []
    parsed = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(isinstance(record, dict) for record in parsed)
    return parsed


def event(session_id: str, **fields: Any) -> dict[str, Any]:
    return {
        "session_id": session_id,
        "category": "page",
        "name": "view",
        "data": {},
        "timestamp": utc_now(),
        **fields,
    }


def post_event(stack: LocalStackHandle, session_id: str) -> Response:
    answer = stack.request(
        "POST", "/events", body=event(session_id), headers={"Authorization": f"Bearer {stack.ingest_key}"}
    )
    assert answer.status == 202, answer.body
    return answer


class Traffic:
    """Requests sent, remembered as (method, path, status) to compare with the terminal."""

    def __init__(self, stack: LocalStackHandle) -> None:
        self.stack = stack
        self.sent: Counter[tuple[str, str, str]] = Counter()

    def send(self, method: str, path: str, key: str | None, body: Any = None) -> Response:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        answer = self.stack.request(method, path, body=body, headers=headers)
        self.sent[(method, path.split("?", 1)[0], str(answer.status))] += 1
        return answer


@pytest.fixture(scope="module")
def plain_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[LocalStackHandle, Traffic, str]:
    """A stack that served good, bad and query requests, and has been stopped (its terminal complete)."""
    stack = start_stack(tmp_path_factory.mktemp("terminal"), THEEYE_BACKEND="embedded")
    traffic = Traffic(stack)
    session = f"terminal-{uuid.uuid4().hex[:8]}"
    ingest, query = stack.ingest_key, stack.query_key
    try:
        for number in range(8):
            assert (
                traffic.send("POST", "/events", ingest, event(session, event_id=f"{session}-{number}")).status
                == 202
            )
        for _ in range(3):
            assert traffic.send("POST", "/events", ingest, b'{"session_id": ').status == 400
        assert traffic.send("POST", "/events", "eye_not-a-key", event(session)).status == 401
        assert (
            traffic.send("POST", "/events", ingest, event(session, timestamp="2099-01-01T00:00:00Z")).status
            == 202
        )
        assert traffic.send("GET", "/events?limit=abc", query).status == 400
        assert traffic.send("GET", "/nowhere", query).status == 404
        assert traffic.send("GET", "/errors", query).status == 200
        processor_log = log_file(logs_dir(stack.state_file), "processor")

        def all_processed() -> bool:
            stored = sum(
                r.get("stored", 0) for r in records(processor_log) if r.get("message") == "message processed"
            )
            return stored == 8

        wait_for(all_processed, "the processor logged the 8 events stored", stack)
        assert traffic.send("GET", f"/sessions/{session}/events", query).status == 200
    finally:
        assert stop_stack(stack) == 0
    return stack, traffic, stack.log_file.read_text(encoding="utf-8")


def test_one_short_line_per_request_and_no_json_in_the_terminal(
    plain_run: tuple[LocalStackHandle, Traffic, str],
) -> None:
    _, traffic, terminal = plain_run
    lines = terminal.splitlines()

    requests = [m for m in map(REQUEST_LINE.match, lines) if m]
    shown = Counter((m["method"], m["path"], m["status"]) for m in requests if m["path"] != "/health")

    assert shown == traffic.sent
    assert [line for line in lines if line.lstrip().startswith(("{", "["))] == []
    assert [line for line in lines if len(line) > LONGEST_LINE] == []
    assert "Traceback" not in terminal


def test_the_terminal_starts_with_the_keys_and_addresses(
    plain_run: tuple[LocalStackHandle, Traffic, str],
) -> None:
    stack, _, terminal = plain_run

    for value in (stack.base_url, stack.ingest_key, stack.query_key, str(logs_dir(stack.state_file))):
        assert value in terminal


def test_the_functions_json_lines_and_metrics_are_in_their_files(
    plain_run: tuple[LocalStackHandle, Traffic, str],
) -> None:
    stack, _, _ = plain_run
    folder = logs_dir(stack.state_file)

    ingest, processor, query = (records(log_file(folder, name)) for name in ("ingest", "processor", "query"))

    assert sum(r.get("accepted", 0) for r in ingest if r.get("message") == "events queued") == 9
    assert sum(sum(r.get("EventsAccepted", [])) for r in ingest if "_aws" in r) == 9
    assert any(r.get("message") == "request rejected" for r in ingest)
    assert sum(sum(r.get("EventsStored", [])) for r in processor if "_aws" in r) == 8
    assert any(r.get("type") == "future_timestamp" for r in processor)
    assert any("_aws" in r and "Requests" in r for r in query)
    assert {r.get("service") for r in ingest + processor + query if "_aws" not in r} == {
        "ingest",
        "processor",
        "query",
    }


@pytest.fixture(scope="module")
def json_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """THEEYE_LOG=json, and a store that refuses every write of the processor (injected), so
    every message fails and is dead-lettered on its second delivery."""
    stack = start_stack(
        tmp_path_factory.mktemp("terminal-json"),
        THEEYE_BACKEND="embedded",
        THEEYE_LOG="json",
        THEEYE_FAULTS="event_store.put_all=sticky:1",
        THEEYE_PARAMETER_OVERRIDES="MaxReceiveCount=3",
    )
    yield stack
    stop_stack(stack)


def test_theeye_log_json_streams_the_functions_lines_to_the_terminal_too(
    json_stack: LocalStackHandle,
) -> None:
    answer = post_event(json_stack, "json-terminal")
    request_id = answer.headers["Apigw-Requestid"]

    def queued_line() -> str | None:
        for line in json_stack.log_file.read_text(encoding="utf-8").splitlines():
            if line.startswith("{") and request_id in line and '"events queued"' in line:
                return line
        return None

    wait_for(lambda: queued_line() is not None, "the ingest record in the terminal", json_stack)
    line = queued_line()
    assert line is not None and json.loads(line)["correlation_id"] == request_id
    ingest_log = log_file(logs_dir(json_stack.state_file), "ingest").read_text(encoding="utf-8")
    assert line in ingest_log.splitlines()


def test_a_processor_failure_and_a_dead_letter_are_sentences(json_stack: LocalStackHandle) -> None:
    post_event(json_stack, "dead-letter")

    def sentences() -> list[str]:
        return [
            line
            for line in json_stack.log_file.read_text(encoding="utf-8").splitlines()
            if re.match(r"^\d\d:\d\d:\d\d (WARNING|ERROR) processor: ", line)
        ]

    wait_for(
        lambda: any("message moved to the dead-letter queue" in line for line in sentences()),
        "the dead letter told in a sentence",
        json_stack,
    )
    told = sentences()
    assert any(
        re.search(r" WARNING processor: messages failed and will be retried \(failed=\d+\)$", line)
        for line in told
    )
    assert all(len(line) <= LONGEST_LINE for line in told)
