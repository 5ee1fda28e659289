"""``theeye --local logs``: the local stack's function logs (``.theeye/logs/<function>.jsonl``).

Each line is told as ``time  function  LEVEL  message (key=value, ...)``, every function's
file merged in time order. EMF metric lines are skipped unless ``--metrics`` asks for them
(then one line each: ``METRIC  EventsAccepted=1``); ``--json`` prints the lines as stored.
``--follow`` then keeps reading what the functions append, until Ctrl-C.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Final, TextIO

from theeye_local.function_logs import LEVELS, Entry, iter_files, metric_summary, read_records, sentence

FOLLOW_POLL_SECONDS: Final = 0.25
_EARLIEST: Final = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Selection:
    """Which lines to show: ``level`` is the lowest level shown (``WARNING`` shows ERROR too)."""

    functions: list[str] | None = None
    level: str | None = None
    request_id: str | None = None
    metrics: bool = False

    def wants(self, entry: Entry) -> bool:
        if self.request_id is not None and self.request_id not in entry.request_ids():
            return False
        if entry.is_metric:
            return self.metrics
        if self.level is not None:
            return _rank(entry.level) >= _rank(self.level)
        return True


@dataclass
class Reader:
    """The log files of one folder, read from where the last read stopped."""

    folder: Path
    selection: Selection
    offsets: dict[Path, int] = field(default_factory=dict)

    def missing_functions(self) -> list[str]:
        present = {name for name, _ in iter_files(self.folder)}
        return [name for name in self.selection.functions or [] if name not in present]

    def known_functions(self) -> list[str]:
        return [name for name, _ in iter_files(self.folder)]

    def read_new(self) -> list[Entry]:
        """Every line appended since the last read, wanted by the selection, in time order."""
        entries: list[Entry] = []
        for function, path in iter_files(self.folder, self.selection.functions):
            offset = self.offsets.get(path, 0)
            try:
                if path.stat().st_size < offset:
                    offset = 0  # the file was emptied or replaced: read it from the start
                found, self.offsets[path] = read_records(path, function, offset)
            except FileNotFoundError:
                self.offsets.pop(path, None)
                continue
            entries += [entry for entry in found if self.selection.wants(entry)]
        return sorted(entries, key=lambda entry: entry.moment or _EARLIEST)


def render(entry: Entry) -> str:
    moment = entry.moment
    when = moment.strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] if moment is not None else "-"
    if entry.is_metric:
        level, text = "METRIC", metric_summary(entry.record or {})
    elif entry.record is None:
        level, text = "INFO", entry.text
    else:
        level, text = entry.level, sentence(entry.record)
    return f"{when}  {entry.function:<10} {level:<7} {text}"


def show(reader: Reader, out: TextIO, *, as_json: bool) -> int:
    """Print what is there now; the number of lines printed."""
    return _print(reader.read_new(), out, as_json=as_json)


def follow(
    reader: Reader, out: TextIO, *, as_json: bool, stop: threading.Event, poll: float = FOLLOW_POLL_SECONDS
) -> None:
    """Print what is there, then what is appended, until ``stop`` is set (Ctrl-C in the CLI)."""
    show(reader, out, as_json=as_json)
    while not stop.wait(poll):
        _print(reader.read_new(), out, as_json=as_json)


def _print(entries: Iterable[Entry], out: TextIO, *, as_json: bool) -> int:
    count = 0
    for entry in entries:
        out.write((entry.text if as_json else render(entry)) + "\n")
        count += 1
    out.flush()
    return count


def _rank(level: str) -> int:
    return LEVELS.index(level) if level in LEVELS else LEVELS.index("INFO")
