"""The functions' own output: one JSON Lines file per function, and sentences for people.

What a Lambda function prints goes to CloudWatch Logs on AWS: Powertools' JSON log records and
the EMF metric lines. Locally it goes to ``<state file's folder>/logs/<function>.jsonl``
(``.theeye/logs/ingest.jsonl``...), one file per function, every worker process of it
appending: the file is opened with ``O_APPEND`` and each line is written by one ``write``, so
lines of several processes never interleave. A line a function prints that is not JSON is
wrapped in a record of its own, so every line of a file is a JSON object.

The terminal gets only what a person needs from these lines: a record at WARNING or above
becomes one sentence (``WARNING processor: messages failed and will be retried (failed=2)``).
With ``THEEYE_LOG=json`` every line is also copied to the terminal as it is.

:func:`read_records`, :func:`describe` and :func:`metric_summary` are what ``theeye --local
logs`` reads and prints with.
"""

from __future__ import annotations

import io
import json
import os
import time
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, TextIO

LOGS_FOLDER: Final = "logs"
SUFFIX: Final = ".jsonl"
LOUD_LEVELS: Final = frozenset({"WARNING", "ERROR", "CRITICAL"})
LEVELS: Final = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
SENTENCE_LIMIT: Final = 160  # characters of a terminal sentence, "…" included
VALUE_LIMIT: Final = 60  # characters of one field's value in a sentence
# What Powertools puts in every record (and the Lambda context it injects): not news.
STANDARD_KEYS: Final = frozenset(
    {
        "level",
        "location",
        "message",
        "timestamp",
        "service",
        "cold_start",
        "function_name",
        "function_memory_size",
        "function_arn",
        "function_request_id",
        "correlation_id",
        "xray_trace_id",
        "sampling_rate",
        "exception",
        "exception_name",
        "stack_trace",
    }
)


def logs_dir(state_path: Path) -> Path:
    """Where the functions' logs live: a ``logs`` folder beside the stack's state file."""
    return state_path.parent / LOGS_FOLDER


def log_file(folder: Path, function: str) -> Path:
    return folder / f"{function}{SUFFIX}"


class FunctionLog:
    """The writing end in a worker process: the function's file, and the terminal's share.

    ``terminal_json`` copies every line to ``json_fd`` (the terminal's stdout) as well;
    records at WARNING or above are told as a sentence on ``sentence_fd`` (its stderr).
    """

    def __init__(self, path: Path, *, terminal_json: bool, json_fd: int = 1, sentence_fd: int = 2) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self.function = path.name.removesuffix(SUFFIX)
        self.terminal_json = terminal_json
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o600)
        self._json_fd = json_fd
        self._sentence_fd = sentence_fd

    def line(self, text: str) -> None:
        """One line the function printed (without its newline)."""
        record = _as_record(text)
        if record is None:
            record = self._record("INFO", text, stream="stdout")
            text = json.dumps(record, ensure_ascii=False)
        self._write(text, record, tell=True)

    def record(self, level: str, message: str, *, tell: bool = True, **fields: Any) -> None:
        """A record of the runtime's own (a handler's crash, a Python warning), in the same file."""
        record = self._record(level, message, **fields)
        self._write(json.dumps(record, ensure_ascii=False, default=str), record, tell=tell)

    def python_warning(
        self,
        message: Warning | str,
        category: type[Warning],
        filename: str,
        lineno: int,
        file: TextIO | None = None,
        line: str | None = None,
    ) -> None:
        """``warnings.showwarning``: a library's notice to developers goes to the file only."""
        self.record(
            "WARNING",
            f"{category.__name__}: {message}",
            tell=False,
            location=f"{filename}:{lineno}",
            logger="py.warnings",
        )

    def stream(self) -> TextIO:
        """A text stream for ``sys.stdout``: whole lines go to :meth:`line`."""
        return io.TextIOWrapper(io.BufferedWriter(_LineSplitter(self)), encoding="utf-8", line_buffering=True)

    def install(self) -> None:
        """Make this log the worker's ``sys.stdout`` (Powertools' logger and metrics print there)."""
        import sys

        sys.stdout = self.stream()
        warnings.showwarning = self.python_warning

    def _record(self, level: str, message: str, **fields: Any) -> dict[str, Any]:
        now = datetime.now(UTC)
        stamp = now.strftime("%Y-%m-%d %H:%M:%S,") + f"{now.microsecond // 1000:03d}+0000"
        return {"level": level, "message": message, "timestamp": stamp, "service": self.function, **fields}

    def _write(self, text: str, record: Mapping[str, Any] | None, *, tell: bool) -> None:
        data = (text + "\n").encode("utf-8", errors="replace")
        _write_all(self._fd, data)
        if self.terminal_json:
            _write_all(self._json_fd, data)
        if tell and record is not None and str(record.get("level", "")).upper() in LOUD_LEVELS:
            sentence = f"{time.strftime('%H:%M:%S')} {describe(record, function=self.function)}"
            _write_all(self._sentence_fd, (shorten(sentence, SENTENCE_LIMIT) + "\n").encode("utf-8"))


class _LineSplitter(io.RawIOBase):
    """Bytes in, complete lines out to a :class:`FunctionLog` (a partial line waits for its end)."""

    def __init__(self, log: FunctionLog) -> None:
        self._log = log
        self._pending = b""

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        lines = (self._pending + chunk).split(b"\n")
        self._pending = lines.pop()
        for line in lines:
            self._log.line(line.decode("utf-8", errors="replace"))
        return len(chunk)

    def close(self) -> None:
        if self._pending:
            self._log.line(self._pending.decode("utf-8", errors="replace"))
            self._pending = b""
        super().close()


def _write_all(fd: int, data: bytes) -> None:
    """One ``write`` (a regular file opened with O_APPEND takes the line whole); a short write
    (a full disk, a pipe) is finished rather than lost."""
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def _as_record(text: str) -> dict[str, Any] | None:
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


# -- reading ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Entry:
    """One line of a function's log: the parsed record (or None if it is not JSON) and its text."""

    function: str
    text: str
    record: dict[str, Any] | None

    @property
    def is_metric(self) -> bool:
        return self.record is not None and "_aws" in self.record

    @property
    def level(self) -> str:
        if self.record is None:
            return "INFO"
        return str(self.record.get("level") or "INFO").upper()

    @property
    def moment(self) -> datetime | None:
        return record_time(self.record) if self.record is not None else None

    def request_ids(self) -> set[str]:
        if self.record is None:
            return set()
        return {str(self.record[k]) for k in ("function_request_id", "correlation_id") if self.record.get(k)}


def read_records(path: Path, function: str, offset: int = 0) -> tuple[list[Entry], int]:
    """The complete lines of ``path`` from byte ``offset``, and the offset after the last one
    (a line still being written is left for the next read)."""
    with path.open("rb") as stream:
        stream.seek(offset)
        data = stream.read()
    end = data.rfind(b"\n") + 1
    entries = []
    for raw in data[:end].splitlines():
        text = raw.decode("utf-8", errors="replace")
        if text.strip():
            entries.append(Entry(function, text, _as_record(text)))
    return entries, offset + end


def record_time(record: Mapping[str, Any]) -> datetime | None:
    """When a record was written: Powertools' ``timestamp`` or an EMF line's ``_aws.Timestamp``."""
    emf = record.get("_aws")
    if isinstance(emf, Mapping) and isinstance(emf.get("Timestamp"), int | float):
        return datetime.fromtimestamp(emf["Timestamp"] / 1000, UTC)
    stamp = record.get("timestamp")
    if not isinstance(stamp, str):
        return None
    for shape in ("%Y-%m-%d %H:%M:%S,%f%z", "%Y-%m-%dT%H:%M:%S.%f%z", "%Y-%m-%d %H:%M:%S%z"):
        try:
            return datetime.strptime(stamp, shape).astimezone(UTC)
        except ValueError:
            continue
    return None


def describe(record: Mapping[str, Any], *, function: str | None = None) -> str:
    """A record as the terminal tells it: ``WARNING processor: <sentence>``."""
    level = str(record.get("level") or "INFO").upper()
    who = function or str(record.get("service") or "?")
    return f"{who}: {sentence(record)}" if level == "INFO" else f"{level} {who}: {sentence(record)}"


def sentence(record: Mapping[str, Any], *, limit: int = VALUE_LIMIT) -> str:
    """The message, the exception's last line and the record's own fields: ``message: Error: why (key=value, ...)``."""
    text = str(record.get("message", "")).strip() or "(no message)"
    exception = _exception_line(record)
    if exception:
        text = f"{text}: {exception}"
    fields = [
        f"{key}={shorten(_plain(value), limit)}"
        for key, value in record.items()
        if key not in STANDARD_KEYS and value not in (None, "", [], {})
    ]
    return f"{text} ({', '.join(fields)})" if fields else text


def metric_summary(record: Mapping[str, Any]) -> str:
    """An EMF line in a few words: ``EventsAccepted=1 ColdStart=1``."""
    names: list[str] = []
    for definition in record.get("_aws", {}).get("CloudWatchMetrics", []):
        names += [str(metric.get("Name")) for metric in definition.get("Metrics", [])]
    values = []
    for name in names:
        value = record.get(name)
        total = sum(value) if isinstance(value, list) else value
        values.append(f"{name}={_number(total)}")
    return " ".join(values)


def shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _exception_line(record: Mapping[str, Any]) -> str:
    """The last line of a logged traceback (``Type: message``), or the exception's name."""
    trace = record.get("exception")
    if isinstance(trace, str) and trace.strip():
        return trace.strip().splitlines()[-1].strip()
    name = record.get("exception_name")
    return str(name) if name else ""


def _plain(value: Any) -> str:
    if isinstance(value, str):
        return value.replace("\n", " ")
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)


def _number(value: Any) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def iter_files(folder: Path, functions: list[str] | None = None) -> Iterator[tuple[str, Path]]:
    """``(function, path)`` of every log in ``folder`` (or of the named functions), sorted by name."""
    for path in sorted(folder.glob(f"*{SUFFIX}")):
        name = path.name.removesuffix(SUFFIX)
        if functions is None or name in functions:
            yield name, path
