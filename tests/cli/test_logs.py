"""``theeye --local logs``: the functions' log files read by a person.

The files are written as a worker writes them (theeye_local.function_logs.FunctionLog), with
the records Powertools and the EMF metrics produce; no stack runs.
"""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from theeye_cli import logs
from theeye_cli.__main__ import main
from theeye_local.function_logs import log_file, logs_dir

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_SECONDS = 60.0


def record(moment: str, service: str, level: str, message: str, **fields: Any) -> dict[str, Any]:
    return {
        "level": level,
        "location": "handler:12",
        "message": message,
        "timestamp": f"2026-12-06 {moment},000+0000",
        "service": service,
        "cold_start": False,
        "function_name": f"theeye-local-{service.title()}Function",
        "function_request_id": f"lambda-{service}-{moment}",
        "xray_trace_id": "1-00000000-000000000000000000000000",
        **fields,
    }


def metric(moment: str, service: str, **values: float) -> dict[str, Any]:
    seconds = time_of(moment)
    return {
        "_aws": {
            "Timestamp": int(seconds * 1000),
            "CloudWatchMetrics": [
                {"Namespace": "TheEye", "Dimensions": [["service"]], "Metrics": [{"Name": n} for n in values]}
            ],
        },
        "service": service,
        **{name: [value] for name, value in values.items()},
    }


def time_of(moment: str) -> float:
    return datetime.strptime(f"2026-12-06 {moment}", "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC).timestamp()


def append(path: Path, *lines: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as stream:
        for line in lines:
            stream.write(json.dumps(line) + "\n")


@pytest.fixture
def state_file(tmp_path: Path) -> Path:
    """A stopped local stack's folder: the state file and two functions' logs."""
    state = tmp_path / ".theeye" / "local.json"
    state.parent.mkdir()
    state.write_text(json.dumps({"backend": "embedded", "pid": 999999999}), encoding="utf-8")
    folder = logs_dir(state)
    append(
        log_file(folder, "ingest"),
        record("10:00:01", "ingest", "INFO", "events queued", accepted=2, correlation_id="apigw-1"),
        metric("10:00:01", "ingest", EventsAccepted=2),
        record(
            "10:00:05",
            "ingest",
            "WARNING",
            "request failed",
            code="service_unavailable",
            correlation_id="apigw-3",
        ),
    )
    append(
        log_file(folder, "processor"),
        record("10:00:02", "processor", "INFO", "message processed", message_id="m-1", stored=2),
        metric("10:00:02", "processor", EventsStored=2.0, MessagesFailed=0.0),
        record(
            "10:00:03",
            "processor",
            "ERROR",
            "could not count the batch; its messages will be retried",
            exception='Traceback (most recent call last):\n  File "x.py"\nOSError: disk full',
            exception_name="OSError",
        ),
    )
    return state


def run(*argv: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = main(list(argv), out=out, err=err)
    return code, out.getvalue(), err.getvalue()


def test_every_function_merged_in_time_order_one_readable_line_each(state_file: Path) -> None:
    code, out, _ = run("--state", str(state_file), "logs")

    assert code == 0
    assert out.splitlines() == [
        "2026-12-06 10:00:01.000  ingest     INFO    events queued (accepted=2)",
        "2026-12-06 10:00:02.000  processor  INFO    message processed (message_id=m-1, stored=2)",
        "2026-12-06 10:00:03.000  processor  ERROR   could not count the batch; its messages will be retried: "
        "OSError: disk full",
        "2026-12-06 10:00:05.000  ingest     WARNING request failed (code=service_unavailable)",
    ]


def test_metric_lines_are_shown_compactly_when_asked(state_file: Path) -> None:
    _, out, _ = run("--state", str(state_file), "logs", "--metrics")

    assert "2026-12-06 10:00:01.000  ingest     METRIC  EventsAccepted=2" in out.splitlines()
    assert "2026-12-06 10:00:02.000  processor  METRIC  EventsStored=2 MessagesFailed=0" in out.splitlines()
    assert "_aws" not in out


def test_function_level_and_request_filters(state_file: Path) -> None:
    _, only_processor, _ = run("--state", str(state_file), "logs", "--function", "processor")
    _, warnings, _ = run("--state", str(state_file), "logs", "--level", "warning")
    _, by_gateway_id, _ = run("--state", str(state_file), "logs", "--request-id", "apigw-3")
    _, by_lambda_id, _ = run("--state", str(state_file), "logs", "--request-id", "lambda-processor-10:00:02")

    assert {line.split()[2] for line in only_processor.splitlines()} == {"processor"}
    assert [line.split()[3] for line in warnings.splitlines()] == ["ERROR", "WARNING"]
    assert [line.split()[4] for line in by_gateway_id.splitlines()] == ["request"]
    assert [line.split()[4] for line in by_lambda_id.splitlines()] == ["message"]


def test_json_prints_the_lines_as_stored(state_file: Path) -> None:
    _, out, _ = run("--state", str(state_file), "logs", "--json", "--level", "ERROR")

    (line,) = out.splitlines()
    assert json.loads(line)["exception_name"] == "OSError"


def test_unknown_function_missing_folder_and_deployed_stacks_are_one_line(
    state_file: Path, tmp_path: Path
) -> None:
    unknown = run("--state", str(state_file), "logs", "--function", "nope")
    nothing = run("--state", str(tmp_path / "elsewhere" / "local.json"), "logs")
    deployed = run("--stack", "prod", "logs")

    assert unknown[0] == 1 and "no log of nope" in unknown[2] and "ingest, processor" in unknown[2]
    assert nothing[0] == 1 and "no logs at" in nothing[2]
    assert deployed[0] == 2 and "CloudWatch" in deployed[2]


class Lines:
    """A thread-safe text sink that can be waited on."""

    def __init__(self) -> None:
        self._text = io.StringIO()
        self._lock = threading.Lock()

    def write(self, text: str) -> int:
        with self._lock:
            return self._text.write(text)

    def flush(self) -> None:
        pass

    def lines(self) -> list[str]:
        with self._lock:
            return self._text.getvalue().splitlines()


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"not within {DEADLINE_SECONDS:.0f} s: {what}"
        time.sleep(0.05)


def test_follow_prints_what_is_appended_and_a_new_functions_file(state_file: Path) -> None:
    folder = logs_dir(state_file)
    sink = Lines()
    stop = threading.Event()
    reader = logs.Reader(folder, logs.Selection())
    following = threading.Thread(
        target=logs.follow, args=(reader, sink), kwargs={"as_json": False, "stop": stop, "poll": 0.05}
    )
    following.start()
    try:
        wait_for(lambda: len(sink.lines()) == 4, "the lines already there")
        append(log_file(folder, "ingest"), record("10:01:00", "ingest", "INFO", "events queued", accepted=1))
        append(log_file(folder, "admin"), record("10:01:01", "admin", "INFO", "session erased", events=3))
        wait_for(lambda: len(sink.lines()) == 6, "the appended lines")
    finally:
        stop.set()
        following.join(DEADLINE_SECONDS)

    assert sink.lines()[4:] == [
        "2026-12-06 10:01:00.000  ingest     INFO    events queued (accepted=1)",
        "2026-12-06 10:01:01.000  admin      INFO    session erased (events=3)",
    ]


def test_follow_ends_with_ctrl_c_and_exit_status_0(state_file: Path) -> None:
    child = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "theeye_cli",
            "--state",
            str(state_file),
            "logs",
            "--follow",
            "--level",
            "ERROR",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert child.stdout is not None
        first = child.stdout.readline().decode()  # blocks until the existing ERROR line is printed
        assert "could not count the batch" in first
        append(
            log_file(logs_dir(state_file), "processor"),
            record("10:02:00", "processor", "ERROR", "message moved to the dead-letter queue", events=1),
        )
        second = child.stdout.readline().decode()
        assert "message moved to the dead-letter queue (events=1)" in second
        child.send_signal(signal.SIGINT)
        assert child.wait(DEADLINE_SECONDS) == 0
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.stderr is not None and child.stderr.read() == b""
