"""``theeye schemas check``: what deploying a directory of schemas would change, before deploying it.

For every event type whose schema is added, removed or changed between the directory and what
the target serves (``GET /schemas``):

* whether the change is additive or breaking, with the reasons (``theeye_cli.schema_compat``);
* for a type that has a schema in the directory: how many of its stored events of the last N
  days the new schema would reject, with up to three examples (read with ``POST /sql``, page by
  page in ``event_time``, ``event_id`` order), and how many of its recorded ``schema_violation``
  errors of those days the new schema would accept, which a replay would store (``GET /errors``,
  through every page). Both are judged by the processor's own validation
  (``theeye.schemas.SchemaRegistry``).

Everything is read through the API with a query key, so one code path serves every target.
Exit codes: 0 nothing breaking and no stored event rejected; 1 otherwise; 2 it cannot run
(unreadable directory or schema, target unreachable, key refused, no ``POST /sql``).
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final, Literal
from urllib.parse import quote, urlencode, urlsplit

from theeye.clock import format_timestamp, parse_timestamp
from theeye.events import compact_json
from theeye.schemas import EventType, SchemaFileError, SchemaRegistry, check_schema
from theeye_cli.output import fields
from theeye_cli.schema_compat import ADDITIVE, BREAKING, Reason, compare, compatibility, same

CANNOT_RUN_EXIT: Final = 2
DEFAULT_DAYS: Final = 7
EXAMPLES: Final = 3
SQL_PAGE_ROWS: Final = 10_000  # POST /sql's max_rows ceiling (docs/API.md)
ERROR_PAGE: Final = 1000  # GET /errors' largest limit
SCHEMA_VIOLATION: Final = "schema_violation"
# Long statements on AWS answer 202 and are polled (GET /sql/{query_id}) this long at most.
SQL_WAIT_SECONDS: Final = 600.0
Change = Literal["added", "removed", "changed"]
# What an event of a type without a schema meets: UNKNOWN_EVENT_TYPES of the target.
UnknownEventTypes = Literal["accept", "reject"]
ANY_OBJECT: Final = {"type": "object"}  # the envelope's only rule for data


class CannotRun(Exception):
    """The check cannot be made (exit 2): the message says why."""


# -- the API, read with a query key -----------------------------------------------------------


@dataclass
class Api:
    """The target's HTTP API (plain ``urllib``, as ``theeye validate`` talks to it)."""

    url: str
    key: str
    timeout: float = 60.0

    def __post_init__(self) -> None:
        if urlsplit(self.url).scheme not in ("http", "https"):
            raise CannotRun(f"the API URL must be http:// or https://, not {self.url!r}")
        self.url = self.url.rstrip("/")

    def get(self, path: str, query: Mapping[str, Any] | None = None) -> tuple[int, Any]:
        suffix = f"?{urlencode({k: v for k, v in (query or {}).items() if v is not None})}" if query else ""
        return self._call("GET", path + suffix, None)

    def post(self, path: str, body: Any) -> tuple[int, Any]:
        return self._call("POST", path, compact_json(body).encode("utf-8"))

    def _call(self, method: str, path: str, data: bytes | None) -> tuple[int, Any]:
        endpoint = self.url + path
        request = urllib.request.Request(  # noqa: S310 - http(s) only, checked on creation
            endpoint,
            data=data,
            method=method,
            headers={"Authorization": f"Bearer {self.key}", "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # noqa: S310
                status, body = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, body = error.code, error.read()
        except (urllib.error.URLError, OSError) as exc:
            raise CannotRun(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}") from None
        try:
            answer = json.loads(body) if body else None
        except ValueError:
            raise CannotRun(f"{method} {endpoint} answered {status} with a body that is not JSON") from None
        if status in (401, 403):
            raise CannotRun(f"{method} {endpoint} answered {status} ({_reason(answer)}): give a query key")
        return status, answer


def _reason(answer: Any) -> str:
    """The contract's error body as ``code: message``."""
    try:
        error = answer["error"]
        return f"{error['code']}: {error['message']}"
    except (KeyError, TypeError):
        return "no error body"


def served_schemas(api: Api) -> dict[EventType, dict[str, Any]]:
    status, answer = api.get("/schemas")
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
        raise CannotRun(f"GET {api.url}/schemas answered {status} ({_reason(answer)})")
    return {(str(i["category"]), str(i["name"])): i["schema"] for i in answer["items"]}


def stored_events(
    api: Api, event_type: EventType, since: datetime, *, page_rows: int | None = None
) -> Iterator[tuple[str, Any]]:
    """``(event_id, data)`` of every stored event of the type with ``event_time >= since``, read
    with ``POST /sql`` in pages of ``page_rows`` ordered by ``event_time`` then ``event_id``."""
    category, name = event_type
    page_rows = page_rows or SQL_PAGE_ROWS
    after: tuple[str, str] | None = None
    while True:
        where = [
            f"category = {sql_text(category)}",
            f"name = {sql_text(name)}",
            f"event_time >= {sql_time(since)}",
        ]
        if after is not None:
            moment, event_id = after
            where.append(
                f"(event_time > {moment} OR (event_time = {moment} AND event_id > {sql_text(event_id)}))"
            )
        # Values are literals quoted by sql_text/sql_time; the statement is read-only and the
        # service refuses anything but a SELECT over events anyway.
        statement = (
            "SELECT event_id, event_time, data FROM events WHERE "  # noqa: S608
            + " AND ".join(where)
            + f" ORDER BY event_time, event_id LIMIT {page_rows}"
        )
        answer = run_sql(api, statement, page_rows)
        rows = answer["rows"]
        for event_id, _, data in rows:
            yield str(event_id), _json(data)
        if not rows or (len(rows) < page_rows and not answer.get("truncated")):
            return
        last_id, last_time, _ = rows[-1]
        try:
            after = (sql_time(parse_timestamp(str(last_time))), str(last_id))
        except ValueError:
            raise CannotRun(f"POST /sql answered an event_time that is not a time: {last_time!r}") from None


def run_sql(api: Api, statement: str, max_rows: int) -> dict[str, Any]:
    """One statement through ``POST /sql``; a ``202`` (a long query on AWS) is polled through
    ``GET /sql/{query_id}`` until it answers."""
    status, answer = api.post("/sql", {"sql": statement, "max_rows": max_rows})
    waited, pause = 0.0, 0.5
    while status == 202 and isinstance(answer, dict) and answer.get("query_id"):
        if waited >= SQL_WAIT_SECONDS:
            raise CannotRun(f"POST /sql still running after {int(waited)} s (query {answer['query_id']})")
        time.sleep(pause)  # the service's own pace: Athena answers in seconds
        waited += pause
        pause = min(pause * 2, 5.0)
        status, answer = api.get(f"/sql/{quote(str(answer['query_id']), safe='')}")
    if status in (404, 405):
        raise CannotRun(
            f"the target has no POST /sql ({api.url} answered {status}): stored events can only be "
            "checked on a stack with SQL over events (v1.2)"
        )
    if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("rows"), list):
        raise CannotRun(f"POST {api.url}/sql answered {status} ({_reason(answer)})")
    return answer


def recorded_violations(api: Api, since: datetime, until: datetime) -> Iterator[dict[str, Any]]:
    """Every ``schema_violation`` error received in ``[since, until)``, through every page."""
    query: dict[str, Any] = {
        "type": SCHEMA_VIOLATION,
        "from": format_timestamp(since),
        "to": format_timestamp(until),
        "limit": ERROR_PAGE,
        "order": "asc",
    }
    while True:
        status, answer = api.get("/errors", query)
        if status != 200 or not isinstance(answer, dict) or not isinstance(answer.get("items"), list):
            raise CannotRun(f"GET {api.url}/errors answered {status} ({_reason(answer)})")
        yield from answer["items"]
        cursor = answer.get("next_cursor")
        if not cursor:
            return
        query = {**query, "cursor": cursor}


def sql_text(value: str) -> str:
    """A string literal of Athena's (Trino) SQL: single quotes, doubled inside."""
    return "'" + value.replace("'", "''") + "'"


def sql_time(moment: datetime) -> str:
    """A timestamp literal (UTC, microseconds) both Athena and DuckDB read."""
    return "TIMESTAMP '" + format_timestamp(moment).replace("T", " ").removesuffix("Z") + "'"


def _json(data: Any) -> Any:
    if isinstance(data, str):
        try:
            return json.loads(data)
        except ValueError:
            return data
    return data


# -- the check ----------------------------------------------------------------------------------


@dataclass
class EventCheck:
    checked: int = 0
    rejected: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class ErrorCheck:
    recorded: int = 0
    accepted: int = 0
    examples: list[str] = field(default_factory=list)  # error ids a replay would store


@dataclass
class TypeChange:
    event_type: EventType
    change: Change
    reasons: list[Reason]
    events: EventCheck | None = None
    errors: ErrorCheck | None = None

    @property
    def compatibility(self) -> str:
        return compatibility(self.reasons)

    def view(self) -> dict[str, Any]:
        category, name = self.event_type
        return {
            "category": category,
            "name": name,
            "change": self.change,
            "compatibility": self.compatibility,
            "reasons": [{"field": r.field, "message": r.message} for r in self.reasons],
            "events": None if self.events is None else vars(self.events),
            "errors": None if self.errors is None else vars(self.errors),
        }


@dataclass
class Report:
    schemas_dir: Path
    target: str
    since: datetime
    until: datetime
    days: int
    unknown_event_types: UnknownEventTypes
    changes: list[TypeChange]
    unchanged: int

    @property
    def ok(self) -> bool:
        return not any(
            c.compatibility == BREAKING or (c.events is not None and c.events.rejected) for c in self.changes
        )

    def view(self) -> dict[str, Any]:
        return {
            "schemas": str(self.schemas_dir),
            "target": self.target,
            "from": format_timestamp(self.since),
            "to": format_timestamp(self.until),
            "days": self.days,
            "unknown_event_types": self.unknown_event_types,
            "changes": [c.view() for c in self.changes],
            "unchanged": self.unchanged,
            "ok": self.ok,
        }


def load_directory(directory: Path) -> SchemaRegistry:
    """The schemas of ``directory``, each a valid draft-07 schema the processor can compile."""
    if not directory.is_dir():
        raise CannotRun(f"no schemas directory at {directory} (choose one with --schemas DIR)")
    try:
        registry = SchemaRegistry.from_directory(directory)
        for (category, name), schema in registry.schemas.items():
            try:
                check_schema(schema)
            except SchemaFileError as exc:
                raise SchemaFileError(f"the schema of {category!r} / {name!r} is not valid: {exc}") from None
        registry.compile_all()
    except SchemaFileError as exc:
        raise CannotRun(f"{directory}: {exc}") from None
    if not registry.schemas:
        raise CannotRun(f"{directory} holds no schema (*.json with x-event-type)")
    return registry


def classify(
    old: Mapping[EventType, Any], new: Mapping[EventType, Any], unknown_event_types: UnknownEventTypes
) -> tuple[list[TypeChange], int]:
    """Every type added, removed or changed from ``old`` (served) to ``new`` (the directory), and
    how many are unchanged. A type without a schema meets ``UNKNOWN_EVENT_TYPES``: accepted, its
    data is any object; rejected, nothing of it is stored."""
    changes: list[TypeChange] = []
    unchanged = 0
    for event_type in sorted(set(old) | set(new)):
        if event_type not in old:
            before: Any = ANY_OBJECT if unknown_event_types == "accept" else False
            reasons = compare(before, new[event_type])
            changes.append(TypeChange(event_type, "added", reasons))
        elif event_type not in new:
            if unknown_event_types == "accept":
                reasons = []
            else:
                reasons = [Reason("data", "no schema any more: every event of the type is refused")]
            changes.append(TypeChange(event_type, "removed", reasons))
        elif same(old[event_type], new[event_type]):
            unchanged += 1
        else:
            changes.append(TypeChange(event_type, "changed", compare(old[event_type], new[event_type])))
    return changes, unchanged


def check(
    api: Api,
    directory: Path,
    *,
    days: int,
    now: datetime,
    unknown_event_types: UnknownEventTypes,
    target: str,
) -> Report:
    registry = load_directory(directory)
    served = served_schemas(api)
    changes, unchanged = classify(served, registry.schemas, unknown_event_types)
    since = now - timedelta(days=days)
    judged = [c for c in changes if c.change != "removed"]
    for change in judged:
        change.events = _replay_events(api, registry, change.event_type, since)
    if judged:
        _count_violations(api, registry, judged, since, now)
    return Report(directory, target, since, now, days, unknown_event_types, changes, unchanged)


def _replay_events(api: Api, registry: SchemaRegistry, event_type: EventType, since: datetime) -> EventCheck:
    found = EventCheck()
    for event_id, data in stored_events(api, event_type, since):
        found.checked += 1
        problems = registry.validate(event_type, data)
        if problems:
            found.rejected += 1
            if len(found.examples) < EXAMPLES:
                errors = [{"field": p.field, "message": p.message} for p in problems]
                found.examples.append({"event_id": event_id, "errors": errors})
    return found


def _count_violations(
    api: Api, registry: SchemaRegistry, changes: list[TypeChange], since: datetime, until: datetime
) -> None:
    """Each type's recorded schema violations that still hold their event, and those the new
    schema accepts (a replay takes errors neither erased nor already replayed)."""
    counted = {c.event_type: ErrorCheck() for c in changes}
    for error in recorded_violations(api, since, until):
        payload = error.get("payload")
        if error.get("erased") or error.get("replayed") or not isinstance(payload, dict):
            continue
        event_type = (payload.get("category"), payload.get("name"))
        tally = counted.get(event_type)  # type: ignore[arg-type]
        if tally is None:
            continue
        tally.recorded += 1
        if not registry.validate(event_type, payload.get("data")):  # type: ignore[arg-type]
            tally.accepted += 1
            if len(tally.examples) < EXAMPLES:
                tally.examples.append(str(error.get("error_id")))
    for change in changes:
        change.errors = counted[change.event_type]


# -- what people read ---------------------------------------------------------------------------


def render(report: Report) -> str:
    blocks: list[str] = []
    for change in report.changes:
        category, name = change.event_type
        verdict = "BREAKING" if change.compatibility == BREAKING else ADDITIVE
        lines = [f"{category} / {name}: {change.change}, {verdict}"]
        lines += [f"  {reason}" for reason in change.reasons]
        if change.compatibility == ADDITIVE and change.change == "changed" and not change.reasons:
            lines.append("  every payload the served schema accepts, this one accepts")
        if change.events is not None:
            found = change.events
            lines.append(
                f"  stored events since {_day(report.since)}: {found.rejected} of {found.checked} "
                "would be rejected" + (", e.g." if found.examples else "")
            )
            for example in found.examples:
                problems = "; ".join(f"{e['field']} {e['message']}" for e in example["errors"])
                lines.append(f"    {example['event_id']}: {problems}")
        if change.errors is not None:
            errors = change.errors
            lines.append(
                f"  recorded schema_violation errors: {errors.accepted} of {errors.recorded} would now be "
                "accepted (what a replay would store)"
            )
        blocks.append("\n".join(lines))
    counts: defaultdict[str, int] = defaultdict(int)
    for change in report.changes:
        counts[change.change] += 1
    breaking = sum(c.compatibility == BREAKING for c in report.changes)
    rejected = sum(c.events.rejected for c in report.changes if c.events is not None)
    summary = fields(
        [
            ("schemas", str(report.schemas_dir)),
            ("compared with", report.target),
            (
                "types",
                f"{counts['changed']} changed, {counts['added']} added, {counts['removed']} removed, "
                f"{report.unchanged} unchanged",
            ),
            ("breaking", breaking),
            ("events rejected", f"{rejected} (stored since {_day(report.since)}, {report.days} day(s))"),
            ("unknown types", f"{report.unknown_event_types}ed (UNKNOWN_EVENT_TYPES, --unknown-event-types)"),
            ("verdict", "safe to deploy" if report.ok else "NOT safe to deploy as it is"),
        ]
    )
    if not report.changes:
        blocks.append("no event type's schema differs from the served one")
    return "\n\n".join([*blocks, summary])


def _day(moment: datetime) -> str:
    return format_timestamp(moment)[:19].replace("T", " ") + "Z"
