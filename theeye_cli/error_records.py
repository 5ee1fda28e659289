"""``theeye errors``: the error store, read through its indexes (never a Scan).

Partitions are the ones the query function reads (``theeye.layout``): ``ByType`` is one
partition per type and day, ``ByTime`` one per day and shard. A list is a newest-first merge
of them (``theeye.paging.merge_pages``); the counts of ``errors stats`` read every ``ByTime``
partition of the window once. The query function's ``ErrorQueries`` does the same for
``GET /errors`` with cursors and both orders; it lives in the query function's package, which
is not installed with the domain code, so the few lines that pick the partitions are here too.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from theeye import layout
from theeye.clock import format_timestamp
from theeye.errors import NotFound
from theeye.paging import Fetch, Item, merge_pages
from theeye.reader import DynamoReader, Partition
from theeye_cli.output import fields, table
from theeye_cli.target import Target

READ_THREADS = 8
MAX_WINDOW_DAYS = 400


@dataclass(frozen=True)
class Window:
    """``[since, until)`` as sort-key bounds (``received_at#error_id``)."""

    since: datetime
    until: datetime

    @property
    def lower(self) -> str:
        return format_timestamp(self.since)

    @property
    def upper(self) -> str:
        # "ts#id" <= "until" exactly when ts < until: an inclusive bound makes ``until`` exclusive.
        return format_timestamp(self.until)

    def days(self) -> list[str]:
        """The UTC days the window touches, newest first."""
        if self.until - self.since > timedelta(days=MAX_WINDOW_DAYS):
            raise ValueError(f"a window may span at most {MAX_WINDOW_DAYS} days")
        day, first = self.until.date(), self.since.date()
        days = []
        while day >= first:
            days.append(day.isoformat())
            day -= timedelta(days=1)
        return days


def _time_partitions(target: Target, day: str, lower: str, upper: str) -> list[Partition]:
    return [
        Partition(
            target.errors_table,
            layout.ERRORS_TIME_INDEX,
            "time_pk",
            layout.error_time_pk(day, shard),
            lower,
            upper,
        )
        for shard in range(target.index_shards)
    ]


def list_errors(
    target: Target,
    *,
    window: Window,
    error_type: str | None,
    source: str | None,
    application_id: str | None,
    limit: int,
) -> list[Item]:
    """Up to ``limit`` errors of the window, newest first."""
    reader = DynamoReader(target.client("dynamodb"))
    filters = {k: v for k, v in (("source", source), ("application_id", application_id)) if v is not None}
    found: list[Item] = []
    after: str | None = None
    with ThreadPoolExecutor(max_workers=READ_THREADS) as executor:
        while len(found) < limit:
            wanted = limit - len(found)
            upper = min(window.upper, after) if after else window.upper
            groups = _groups(target, reader, window, upper, error_type, filters, wanted)
            page = merge_pages(groups, limit=wanted, descending=True, after=after, executor=executor)
            found += page.items
            if page.position is None:
                break
            after = page.position
    return found


def _groups(
    target: Target,
    reader: DynamoReader,
    window: Window,
    upper: str,
    error_type: str | None,
    filters: dict[str, str],
    wanted: int,
) -> Iterator[Sequence[Fetch]]:
    for day in window.days():
        if error_type is not None:
            type_pk = layout.error_type_pk(error_type, day)
            partitions = [
                Partition(
                    target.errors_table, layout.ERRORS_TYPE_INDEX, "type_pk", type_pk, window.lower, upper
                )
            ]
        else:
            partitions = _time_partitions(target, day, window.lower, upper)
        page_size = min(1000, max(10, 2 * -(-wanted // len(partitions)) + 1))
        yield [reader.fetcher(p, descending=True, page_size=page_size, filters=filters) for p in partitions]


def get_error(target: Target, error_id: str) -> Item:
    item = DynamoReader(target.client("dynamodb")).get(target.errors_table, {"error_id": error_id})
    if item is None:
        raise NotFound(f"no error with id {error_id}")
    return item


def error_stats(target: Target, *, window: Window) -> dict[str, Any]:
    """Errors of the window counted by type and by application (every ByTime partition, once)."""
    reader = DynamoReader(target.client("dynamodb"))
    partitions = [
        p for day in window.days() for p in _time_partitions(target, day, window.lower, window.upper)
    ]
    with ThreadPoolExecutor(max_workers=READ_THREADS) as executor:
        counted = list(executor.map(lambda p: _count(reader, p), partitions))
    pairs: Counter[tuple[str, str]] = Counter()
    for partial in counted:
        pairs.update(partial)
    by_type: Counter[str] = Counter()
    by_application: Counter[str] = Counter()
    for (error_type, application), n in pairs.items():
        by_type[error_type] += n
        by_application[application] += n
    return {
        "since": window.lower,
        "until": window.upper,
        "total": sum(pairs.values()),
        "by_type": dict(by_type.most_common()),
        "by_application": dict(by_application.most_common()),
        "by_type_and_application": [
            {"type": t, "application_id": a, "count": n}
            for (t, a), n in sorted(pairs.items(), key=lambda pair: (-pair[1], pair[0]))
        ],
    }


def _count(reader: DynamoReader, partition: Partition) -> Counter[tuple[str, str]]:
    fetch = reader.fetcher(partition, descending=False, page_size=1000)
    counts: Counter[tuple[str, str]] = Counter()
    token = None
    while True:
        items, continuation = fetch(token)
        counts.update((str(i.get("type", "?")), str(i.get("application_id", "?"))) for i in items)
        if continuation is None:
            return counts
        token = continuation[1]


def error_view(item: Item) -> dict[str, Any]:
    """An error as operators see it: what ``GET /errors`` shows, plus the key and the request."""
    return {
        "error_id": item["error_id"],
        "type": item.get("type"),
        "source": item.get("source"),
        "application_id": item.get("application_id"),
        "received_at": item.get("received_at"),
        "event_id": item.get("event_id"),
        "key_id": item.get("key_id") or None,
        "request_id": item.get("request_id") or None,
        "details": _json(item.get("details"), []),
        "payload": _json(item.get("payload"), None),
    }


def _json(text: Any, default: Any) -> Any:
    if text is None:
        return default
    try:
        return json.loads(str(text))
    except ValueError:
        return text


def render_list(views: list[dict[str, Any]], window: Window) -> str:
    if not views:
        return f"No errors between {window.lower} and {window.upper}."
    rows = [
        (
            v["received_at"],
            v["error_id"],
            v["type"],
            v["source"],
            v["application_id"],
            v["event_id"],
            _first_detail(v["details"]),
        )
        for v in views
    ]
    headers = ("RECEIVED", "ERROR ID", "TYPE", "SOURCE", "APPLICATION", "EVENT ID", "FIRST DETAIL")
    return table(headers, rows)


def _first_detail(details: Any) -> str:
    if not isinstance(details, list) or not details:
        return ""
    first = details[0]
    text = f"{first.get('field', '')}: {first.get('message', '')}" if isinstance(first, dict) else str(first)
    text = text[:77] + "..." if len(text) > 80 else text
    return text + (f" (+{len(details) - 1} more)" if len(details) > 1 else "")


def render_one(view: dict[str, Any]) -> str:
    head = fields(
        (name, view[name])
        for name in (
            "error_id",
            "type",
            "source",
            "application_id",
            "received_at",
            "event_id",
            "key_id",
            "request_id",
        )
    )
    details = view["details"] if isinstance(view["details"], list) else [view["details"]]
    detail_rows = [
        (d.get("field"), d.get("message")) if isinstance(d, dict) else (None, str(d)) for d in details
    ]
    parts = [head, "", "details:"]
    parts.append(table(("FIELD", "MESSAGE"), detail_rows) if detail_rows else "  (none)")
    payload = view["payload"]
    shown = payload if isinstance(payload, str) else json.dumps(payload, indent=2, sort_keys=True)
    parts += ["", "payload (as sent, cut to 32 KiB):", shown]
    return "\n".join(parts)


def render_stats(stats: dict[str, Any]) -> str:
    lines = [f"Errors received from {stats['since']} to {stats['until']}: {stats['total']}"]
    if not stats["total"]:
        return lines[0]
    lines += ["", table(("TYPE", "COUNT"), list(stats["by_type"].items()))]
    lines += ["", table(("APPLICATION", "COUNT"), list(stats["by_application"].items()))]
    rows = [(r["type"], r["application_id"], r["count"]) for r in stats["by_type_and_application"]]
    lines += ["", table(("TYPE", "APPLICATION", "COUNT"), rows)]
    return "\n".join(lines)
