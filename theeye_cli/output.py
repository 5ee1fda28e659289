"""Plain-text tables for people, JSON for scripts, and the small formatting helpers both share."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from theeye.clock import parse_timestamp

_RELATIVE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    """Columns padded to their widest cell; ``None`` shows as ``-``."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        widths = [max(w, len(c)) for w, c in zip(widths, row, strict=True)]
    lines = [_line(headers, widths), _line(["-" * w for w in widths], widths)]
    lines += [_line(row, widths) for row in cells]
    return "\n".join(lines)


def fields(pairs: Iterable[tuple[str, Any]]) -> str:
    """``name: value`` lines with the values aligned."""
    listed = [(name, _cell(value)) for name, value in pairs]
    width = max((len(name) for name, _ in listed), default=0)
    return "\n".join(f"{name + ':':<{width + 1}} {value}" for name, value in listed)


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, (list, tuple, set, frozenset)):
        return ",".join(str(v) for v in value) or "-"
    return str(value).replace("\n", " ")


def _line(values: Sequence[str], widths: Sequence[int]) -> str:
    return "  ".join(f"{v:<{w}}" for v, w in zip(values, widths, strict=True)).rstrip()


def write_json(stream: TextIO, value: Any) -> None:
    stream.write(json.dumps(value, indent=2, sort_keys=True, default=str) + "\n")


def age(seconds: float | None) -> str:
    """``2d 3h``, ``5m 10s``, ``12s``; ``unknown`` for None."""
    if seconds is None:
        return "unknown"
    total = max(0, int(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    return f"{secs}s"


def parse_since(text: str, now: datetime | None = None) -> datetime:
    """A point in time: ISO-8601 (no zone means UTC) or an age such as ``30m``, ``2h``, ``7d``."""
    moment = now or datetime.now(UTC)
    relative = _RELATIVE.match(text)
    if relative:
        return moment - timedelta(**{_UNITS[relative.group(2)]: int(relative.group(1))})
    try:
        return parse_timestamp(text)
    except ValueError as exc:
        raise ValueError(f"{exc}; or give an age such as 30m, 12h, 7d") from None


def millis_to_iso(value: str | int | None) -> str | None:
    """An SQS epoch-milliseconds attribute as ISO-8601 UTC."""
    if value in (None, ""):
        return None
    moment = datetime.fromtimestamp(int(value) / 1000, UTC)
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
