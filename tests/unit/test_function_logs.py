"""The functions' log files and what the terminal is told of them (theeye_local.function_logs)."""

from __future__ import annotations

import contextlib
import json
import logging
import multiprocessing
import os
import warnings
from collections.abc import Iterator
from pathlib import Path

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from theeye_local.function_logs import (
    SENTENCE_LIMIT,
    FunctionLog,
    describe,
    log_file,
    logs_dir,
    metric_summary,
    read_records,
    record_time,
)
from theeye_local.settings import LocalSettings


@pytest.fixture
def terminal(tmp_path: Path) -> Iterator[tuple[int, int, Path, Path]]:
    """Two files standing in for the terminal's stdout and stderr: (out fd, err fd, out, err)."""
    out, err = tmp_path / "stdout", tmp_path / "stderr"
    out_fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    err_fd = os.open(err, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
    yield out_fd, err_fd, out, err
    os.close(out_fd)
    os.close(err_fd)


def lines_of(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


@contextlib.contextmanager
def redirected_stdout(log: FunctionLog) -> Iterator[None]:
    """``sys.stdout`` is the function's log inside the block, as in a worker process."""
    stream = log.stream()
    with contextlib.redirect_stdout(stream):
        yield
    stream.flush()


def powertools_logger(log: FunctionLog) -> Logger:
    """A logger as the functions make one (theeye.observability), printing into ``log``."""
    handler = logging.StreamHandler(log.stream())
    return Logger(service="processor", logger_handler=handler)


def test_the_logs_live_beside_the_state_file_one_file_per_function(tmp_path: Path) -> None:
    settings = LocalSettings(state_file=tmp_path / "state" / "local.json")

    assert settings.logs_path == tmp_path / "state" / "logs" == logs_dir(settings.state_path)
    assert settings.log_path("IngestFunction") == tmp_path / "state" / "logs" / "ingest.jsonl"
    assert settings.log_path("EventStatsFunction").name == "event_stats.jsonl"


def test_theeye_log_json_is_the_only_other_format() -> None:
    assert not LocalSettings.from_environ({}).log_json
    assert LocalSettings.from_environ({"THEEYE_LOG": "json"}).log_json
    assert not LocalSettings.from_environ({"THEEYE_LOG": "text"}).log_json
    with pytest.raises(ValueError, match="THEEYE_LOG='yaml'"):
        LocalSettings.from_environ({"THEEYE_LOG": "yaml"})


def test_json_lines_go_to_the_file_and_only_warnings_reach_the_terminal_as_sentences(
    tmp_path: Path, terminal: tuple[int, int, Path, Path]
) -> None:
    out_fd, err_fd, out, err = terminal
    log = FunctionLog(
        log_file(tmp_path, "processor"), terminal_json=False, json_fd=out_fd, sentence_fd=err_fd
    )
    logger = powertools_logger(log)

    logger.info("message processed", extra={"stored": 1})
    logger.warning("messages failed and will be retried", extra={"failed": 2})
    try:
        raise OSError("database or disk is full")
    except OSError:
        logger.exception("could not count the batch; its messages will be retried")

    records = [json.loads(line) for line in lines_of(log.path)]
    assert [r["message"] for r in records] == [
        "message processed",
        "messages failed and will be retried",
        "could not count the batch; its messages will be retried",
    ]
    assert lines_of(out) == []
    told = lines_of(err)
    assert len(told) == 2
    assert told[0].endswith(" WARNING processor: messages failed and will be retried (failed=2)")
    assert told[1].endswith(
        " ERROR processor: could not count the batch; its messages will be retried: "
        "OSError: database or disk is full"
    )
    assert not any(line.lstrip().startswith("{") for line in told)


def test_theeye_log_json_copies_every_line_to_the_terminal(
    tmp_path: Path, terminal: tuple[int, int, Path, Path]
) -> None:
    out_fd, err_fd, out, _ = terminal
    log = FunctionLog(log_file(tmp_path, "ingest"), terminal_json=True, json_fd=out_fd, sentence_fd=err_fd)
    metrics = Metrics(namespace="TheEye", service="ingest")

    with redirected_stdout(log):
        metrics.add_metric(name="EventsAccepted", unit=MetricUnit.Count, value=3)
        metrics.flush_metrics()

    assert lines_of(out) == lines_of(log.path)
    (line,) = lines_of(out)
    assert "EventsAccepted=3" in metric_summary(json.loads(line)).split()


def test_a_line_that_is_not_json_is_wrapped_so_the_file_stays_json_lines(tmp_path: Path) -> None:
    log = FunctionLog(log_file(tmp_path, "query"), terminal_json=False)

    with redirected_stdout(log):
        print("a stray print", end="")
        print(" finished later")

    (line,) = lines_of(log.path)
    record = json.loads(line)
    assert (record["message"], record["level"], record["service"]) == (
        "a stray print finished later",
        "INFO",
        "query",
    )
    assert record_time(record) is not None


def test_python_warnings_go_to_the_file_only(tmp_path: Path, terminal: tuple[int, int, Path, Path]) -> None:
    out_fd, err_fd, out, err = terminal
    log = FunctionLog(log_file(tmp_path, "query"), terminal_json=False, json_fd=out_fd, sentence_fd=err_fd)

    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.showwarning = log.python_warning
        warnings.warn("No application metrics to publish", UserWarning, stacklevel=1)

    (record,) = [json.loads(line) for line in lines_of(log.path)]
    assert record["level"] == "WARNING"
    assert record["message"] == "UserWarning: No application metrics to publish"
    assert lines_of(out) == lines_of(err) == []


def test_a_sentence_is_short_whatever_the_record_carries() -> None:
    record = {
        "level": "ERROR",
        "message": "message moved to the dead-letter queue",
        "service": "processor",
        "function_arn": "arn:aws:lambda:us-east-1:123456789012:function:theeye-local-ProcessorFunction",
        "message_id": "m-" + "9" * 300,
        "events": 2,
    }

    text = describe(record)

    assert text.startswith("ERROR processor: message moved to the dead-letter queue (message_id=m-999")
    assert "function_arn" not in text
    assert len(text) <= SENTENCE_LIMIT + 40  # each value is cut; the terminal cuts the line too


def test_a_line_still_being_written_is_left_for_the_next_read(tmp_path: Path) -> None:
    path = tmp_path / "ingest.jsonl"
    path.write_text('{"message": "one"}\n{"message": "tw', encoding="utf-8")

    first, offset = read_records(path, "ingest")
    with path.open("a", encoding="utf-8") as stream:
        stream.write('o"}\n')
    second, _ = read_records(path, "ingest", offset)

    assert [e.record["message"] for e in first + second if e.record] == ["one", "two"]


def _append_lines(path: str, writer: int, count: int) -> None:
    log = FunctionLog(Path(path), terminal_json=False)
    with redirected_stdout(log):
        for number in range(count):
            # lines from 30 bytes to ~9 KB: longer than the text and buffered layers' buffers
            print(json.dumps({"writer": writer, "number": number, "pad": "x" * (number % 7) * 1300}))


def test_several_processes_append_whole_lines(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "processor.jsonl"
    context = multiprocessing.get_context("spawn")
    writers = [context.Process(target=_append_lines, args=(str(path), n, 300)) for n in range(4)]
    for process in writers:
        process.start()
    for process in writers:
        process.join(120)
        assert process.exitcode == 0

    records = [json.loads(line) for line in lines_of(path)]
    assert len(records) == 4 * 300
    for writer in range(4):
        assert [r["number"] for r in records if r["writer"] == writer] == list(range(300))
