"""``theeye validate FILE``: what the pipeline would make of a file of events, before sending them.

The file holds one event, a JSON array of events, or JSON Lines (one event per line).

* Offline (the default) the events are judged by the very code of ``POST /events/validate``
  (``theeye.checks.dry_run``: the envelope with ``sent_at``'s correction, then the processor's
  rules) against a schemas directory (the repository's ``schemas/`` unless ``--schemas``), as
  if the application ``--app`` sent them now. No service, no network.
* Online (``--url``, or the API of the ``--local``/``--stack`` target) they are sent to
  ``POST /events/validate`` with an ingest key, in requests within the API's limits (500 events,
  1 MiB), and the answers are joined: the service's own schemas and rules judge them. One
  attempt per request: a refused or failed request is reported (exit 1), not retried.

Either way the answer has the endpoint's shape (``--json`` prints it). Exit codes: 0 when every
event is valid, 1 when one is not (or the service could not answer), 2 when the file (or the
schemas directory) cannot be read as events.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

from theeye import strict_json
from theeye.checks import Rules, dry_run
from theeye.clock import format_timestamp, utc_now
from theeye.events import MAX_BODY_BYTES, MAX_EVENTS_PER_REQUEST, compact_json
from theeye.json_types import described
from theeye.schemas import SchemaFileError, SchemaRegistry
from theeye_cli.output import table

REPOSITORY_SCHEMAS: Final = Path(__file__).resolve().parents[1] / "schemas"
LOCAL_APPLICATION: Final = "local-app"  # the application of the local stack's ingest key
UNREADABLE_EXIT: Final = 2


class UnreadableInput(Exception):
    """The file, or the schemas directory, cannot be read as what it should hold (exit 2)."""


class ServiceError(Exception):
    """The service did not check the events: unreachable, key refused, request refused (exit 1)."""


@dataclass
class Events:
    """The events of a file, and where each one is in it (for the report)."""

    items: list[Any]
    lines: list[int] | None = None  # JSON Lines: the line of each event


def read_events(text: str, name: str) -> Events:
    """One event, an array of events, or JSON Lines; ``UnreadableInput`` for anything else."""
    if not text.strip():
        raise UnreadableInput(f"{name} is empty: expected an event, an array of events or JSON Lines")
    try:
        whole = strict_json.loads(text)
    except ValueError as exc:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) < 2:
            raise UnreadableInput(f"{name} is not JSON: {exc}") from None
        return _json_lines(lines, name)
    if isinstance(whole, dict):
        return Events([whole])
    if isinstance(whole, list):
        if not whole:
            raise UnreadableInput(f"{name} holds an empty array: no event to check")
        return Events(whole)
    raise UnreadableInput(f"{name} holds {described(whole)}: expected an event or an array of events")


def _json_lines(lines: list[tuple[int, str]], name: str) -> Events:
    items: list[Any] = []
    for number, line in lines:
        try:
            items.append(strict_json.loads(line))
        except ValueError as exc:
            raise UnreadableInput(f"{name}, line {number}: not JSON ({exc})") from None
    return Events(items, [number for number, _ in lines])


def load_schemas(directory: Path) -> SchemaRegistry:
    if not directory.is_dir():
        raise UnreadableInput(f"no schemas directory at {directory} (choose one with --schemas DIR)")
    try:
        schemas = SchemaRegistry.from_directory(directory)
        schemas.compile_all()
    except SchemaFileError as exc:
        raise UnreadableInput(f"{directory}: {exc}") from None
    if not schemas.schemas:
        raise UnreadableInput(f"{directory} holds no schema (*.json with x-event-type)")
    return schemas


# -- the two ways of judging ---------------------------------------------------------------------


@dataclass
class Report:
    """The endpoint's answer (``valid``, ``invalid``, ``results``) and how it was reached."""

    answer: dict[str, Any]
    how: str  # "offline against schemas/ at ...", "by http://..."
    lines: list[int] | None = field(default=None)

    @property
    def ok(self) -> bool:
        return int(self.answer["invalid"]) == 0


def offline(events: Events, schemas_dir: Path, rules: Rules, application_id: str) -> Report:
    """The checks of ``POST /events/validate``, here and now."""
    schemas = load_schemas(schemas_dir)
    now = format_timestamp(utc_now())
    report = dry_run(
        events.items, application_id=application_id, received_at=now, schemas=schemas, rules=rules
    )
    how = f"offline against {schemas_dir} at {now} (application {application_id})"
    return Report(report.to_response(), how, events.lines)


def online(events: Events, url: str, key: str, *, timeout: float = 30.0) -> Report:
    """``POST /events/validate`` of a running service, in requests within its limits (plain
    ``urllib``: the CLI does not depend on the client package); ``ServiceError`` when it does not
    answer with a report."""
    answer: dict[str, Any] = {"valid": 0, "invalid": 0, "results": []}
    offset = 0
    for chunk in batches(events.items):
        part = _post(url, key, chunk, timeout)
        answer["valid"] += part["valid"]
        answer["invalid"] += part["invalid"]
        answer["results"] += [{**r, "index": offset + r["index"]} for r in part["results"]]
        offset += len(chunk)
    return Report(answer, f"by {_endpoint(url)}", events.lines)


def _endpoint(url: str) -> str:
    return url.rstrip("/") + "/events/validate"


def _post(url: str, key: str, events: list[Any], timeout: float) -> dict[str, Any]:
    endpoint = _endpoint(url)
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise ServiceError(f"--url must be an http:// or https:// URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        endpoint,
        data=compact_json(events).encode("utf-8"),
        method="POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            body = response.read()
    except urllib.error.HTTPError as error:
        raise ServiceError(f"{endpoint} answered {error.code}: {_reason(error.read())}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise ServiceError(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}") from None
    try:
        answer = json.loads(body)
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise ValueError("no results")
        return answer
    except ValueError:
        raise ServiceError(f"{endpoint} did not answer with a report") from None


def _reason(body: bytes) -> str:
    """The contract's error body as ``code: message``, else the start of the text."""
    try:
        error = json.loads(body)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return body[:200].decode("utf-8", errors="replace").strip() or "no body"


def batches(items: Sequence[Any]) -> list[list[Any]]:
    """Consecutive runs of at most 500 items whose JSON array is at most 1 MiB (an item over it
    alone goes alone, and the service answers 413 for it)."""
    found: list[list[Any]] = []
    current: list[Any] = []
    size = 2  # the brackets
    for item in items:
        extra = len(compact_json(item).encode("utf-8")) + (1 if current else 0)
        if current and (len(current) == MAX_EVENTS_PER_REQUEST or size + extra > MAX_BODY_BYTES):
            found.append(current)
            current, size, extra = [], 2, extra - 1
        current.append(item)
        size += extra
    if current:
        found.append(current)
    return found


# -- what people read ----------------------------------------------------------------------------


def render(report: Report) -> str:
    results = report.answer["results"]
    blocks: list[str] = []
    for result in results:
        if result["valid"]:
            continue
        where = f"event {result['index']}"
        if report.lines is not None:
            where += f" (line {report.lines[result['index']]})"
        identity = f"id {result['event_id']}" if result["event_id"] else "envelope invalid"
        rows = [(e["type"], e["field"], e["message"]) for e in result["errors"]]
        problems = table(("TYPE", "FIELD", "MESSAGE"), rows)
        blocks.append(f"{where}, {identity}:\n" + "\n".join(f"  {line}" for line in problems.splitlines()))
    valid, invalid = report.answer["valid"], report.answer["invalid"]
    summary = f"{len(results)} event(s): {valid} valid, {invalid} invalid - checked {report.how}"
    return "\n\n".join([*blocks, summary])
