"""``theeye errors``: recorded errors, through the same use case as ``GET /errors``.

``query.logic.ErrorQueries`` reads the backend's ``ErrorReader`` (the error indexes, never a
Scan), so the CLI and the API can never disagree about which errors a window holds.
``errors stats`` walks the window's pages once and counts by type and application.
``errors reshard`` moves errors written in the old 16-shard ``ByTime`` layout to the
partitions the reader visits (``theeye_cli.reshard``; AWS and moto only: the embedded SQLite
backend has no shards).
"""

from __future__ import annotations

import json
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Final

from query.logic import MAX_DAYS, ErrorQueries
from theeye.clock import format_timestamp
from theeye.errors import NotFound
from theeye.ports import ErrorFilter, View
from theeye_cli.output import fields, table
from theeye_cli.reshard import Checkpoint, Resharder, days_back, days_held
from theeye_cli.target import Target


@dataclass(frozen=True)
class Window:
    """``[since, until)``."""

    since: datetime
    until: datetime

    @property
    def lower(self) -> str:
        return format_timestamp(self.since)

    @property
    def upper(self) -> str:
        return format_timestamp(self.until)

    def check(self) -> None:
        if self.until - self.since > timedelta(days=MAX_DAYS):
            raise ValueError(f"a window may span at most {MAX_DAYS} days")


def list_errors(
    target: Target, window: Window, where: ErrorFilter, *, limit: int, page_size: int = 1000
) -> list[View]:
    """Up to ``limit`` errors of the window, newest first, as operators see them, page after page."""
    queries = ErrorQueries(target.backend().error_reader())
    found: list[View] = []
    after: str | None = None
    while len(found) < limit:
        wanted = min(page_size, limit - len(found))
        page = queries.list(
            where,
            start=window.since,
            end=window.until,
            limit=wanted,
            order="desc",
            after=after,
            now=window.until,
        )
        found += page.items
        if page.position is None:
            break
        after = page.position
    return found


def get_error(target: Target, error_id: str) -> View:
    view = target.backend().error_reader().get(error_id)
    if view is None:
        raise NotFound(f"no error with id {error_id}")
    return view


def error_stats(target: Target, *, window: Window) -> dict[str, Any]:
    """Errors of the window counted by type and by application."""
    everything = list_errors(target, window, ErrorFilter(), limit=2**63)
    pairs: Counter[tuple[str, str]] = Counter(
        (str(v.get("type") or "?"), str(v.get("application_id") or "?")) for v in everything
    )
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


NO_SHARDS: Final = (
    "the embedded (SQLite) backend keeps errors in one table without shards: nothing to reshard"
)


def reshard(
    target: Target,
    *,
    days: int | None = None,
    dry_run: bool = False,
    today: date | None = None,
    checkpoint: Checkpoint | None = None,
) -> dict[str, Any]:
    """Move the errors of the last ``days`` days (default: the target's ``ErrorRetentionDays``
    plus ``TTL_LAG_DAYS``) out of the old ``ByTime`` shards; raises ``ReshardInterrupted``."""
    if target.embedded:
        return {"applies": False, "reason": NO_SHARDS}
    today = today or datetime.now(UTC).date()
    span = days_held(today, target.error_retention_days) if days is None else days_back(today, days)
    with ThreadPoolExecutor(max_workers=16, thread_name_prefix="reshard") as pool:
        resharder = Resharder(target.client("dynamodb"), target.errors_table, pool)
        result = resharder.run(span, dry_run=dry_run, checkpoint=checkpoint)
    return {"applies": True, "table": target.errors_table, **result.view()}


def render_reshard(view: dict[str, Any]) -> str:
    if not view["applies"]:
        return f"Nothing to do: {view['reason']}."
    head = (
        f"Errors table {view['table']}, {view['first_day']} to {view['last_day']}: "
        f"{view['partitions']} old ByTime partitions queried."
    )
    pairs: list[tuple[str, Any]] = [("found in old shards", view["found"])]
    if view["dry_run"]:
        return "\n".join([head, fields(pairs), "Dry run: nothing was moved."])
    pairs += [("moved", view["moved"]), ("already there", view["already_there"]), ("gone", view["gone"])]
    return "\n".join([head, fields(pairs)])


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
