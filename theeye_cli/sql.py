"""``theeye sql``: one statement sent to ``POST /sql`` of a running service (plain ``urllib``: the
CLI does not depend on the client package), its result printed as a table, JSON or CSV. A
statement still running on Athena (``202``) is asked for again at ``GET /sql/{query_id}``
until it has finished."""

from __future__ import annotations

import csv
import io
import json
import time
import urllib.error
import urllib.request
from typing import Any, Final
from urllib.parse import quote, urlsplit

from theeye_cli.output import table

POLL_SECONDS: Final = 2.0


class SqlFailed(Exception):
    """The service refused the statement or could not be reached; the message says which."""


def run(url: str, key: str, statement: str, *, max_rows: int, timeout: float = 60.0) -> dict[str, Any]:
    """The result of ``statement``, waiting for it while the service says it is running."""
    status, answer = _call(url, "/sql", key, {"sql": statement, "max_rows": max_rows}, timeout)
    while status == 202:
        time.sleep(POLL_SECONDS)
        status, answer = _call(url, f"/sql/{quote(str(answer['query_id']), safe='')}", key, None, timeout)
    return answer


def render(answer: dict[str, Any]) -> str:
    """The rows under their column names, then one line: how many, whether cut, as of when."""
    names = [column["name"] for column in answer["columns"]]
    rows = [[_text(value) for value in row] for row in answer["rows"]]
    count = len(rows)
    cut = f", truncated at max_rows {count}" if answer.get("truncated") else ""
    footer = (
        f"({count} row{'s' if count != 1 else ''}{cut}; as of {answer['as_of']}, "
        f"{answer['engine']}, {answer['elapsed_ms']} ms)"
    )
    return f"{table(names, rows)}\n{footer}"


def render_csv(answer: dict[str, Any]) -> str:
    """A header line of column names, then one line per row; null is an empty field."""
    stream = io.StringIO()
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(column["name"] for column in answer["columns"])
    writer.writerows([_text(value) if value is not None else "" for value in row] for row in answer["rows"])
    return stream.getvalue()


def _text(value: Any) -> Any:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, dict)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return value


def _call(url: str, path: str, key: str, body: Any, timeout: float) -> tuple[int, dict[str, Any]]:
    endpoint = url.rstrip("/") + path
    if urlsplit(endpoint).scheme not in ("http", "https"):
        raise SqlFailed(f"--url must be an http:// or https:// URL, not {url!r}")
    request = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        endpoint,
        data=None if body is None else json.dumps(body).encode("utf-8"),
        method="GET" if body is None else "POST",
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - as above
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        raise SqlFailed(f"{_reason(error.code, error.read())}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise SqlFailed(f"cannot reach {endpoint}: {getattr(exc, 'reason', exc)}") from None
    try:
        answer = json.loads(raw)
    except ValueError:
        raise SqlFailed(f"{endpoint} answered {status} without JSON") from None
    if not isinstance(answer, dict):
        raise SqlFailed(f"{endpoint} answered {status} with {type(answer).__name__}")
    return status, answer


def _reason(status: int, raw: bytes) -> str:
    """``invalid_sql: only one statement may be sent …`` from the contract's error body."""
    try:
        error = json.loads(raw)["error"]
        return f"{error['code']}: {error['message']}"
    except (ValueError, KeyError, TypeError):
        return f"the service answered {status}"
