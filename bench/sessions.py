"""``GET /sessions`` page latency on the embedded backend at 100,000 sessions.

    .venv/bin/python -m bench.sessions [--sessions 100000] [--samples 200]

Starts `make run`'s stack (embedded backend, fresh data directory), then seeds its SQLite
file directly through the processor's own writes - ``SqliteEventStore.put_all``, then the
counting (``SqliteCounters.commit_batch``) that keeps the sessions' summaries - in
transactions of ``CHUNK`` events:
``--sessions`` sessions of 1 or 2 events each, their first events spread evenly over the
``SPAN_DAYS`` days before now, written in a shuffled order; each session belongs to one of
``APPLICATIONS`` (by share of sessions, one session in a hundred seen by two of them).

Then each page is timed over HTTP as ``bench.local_load`` times the other routes
(``local_load.sample``: sequential GETs on one keep-alive connection after a warm-up):
the first page newest first over the default 24 hours, a page ``DEEP`` sessions into the
whole listing (its cursor found by walking pages of 1,000 first), and pages filtered by an
application with 15 % and with 1 % of the sessions. p50/p95/p99 of ``--samples`` requests,
the load average before and after each.
"""

from __future__ import annotations

import argparse
import http.client
import json
import random
import sqlite3
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bench.common import load_average, median, percentile, stamp
from bench.local_latency import start
from bench.local_load import get, sample

SESSIONS = 100_000
SAMPLES = 200
SPAN_DAYS = 4
CHUNK = 10_000  # events per put_all (and per counting) transaction while seeding
LIMIT = 100
DEEP = 50_000  # sessions before the deep page
WALK_PAGE = 1000
# application -> its share of sessions, in hundredths (sessions ``n % 100`` below the bound)
APPLICATIONS = (("web", 84), ("ios", 99), ("kiosk", 100))
TWO_APPLICATIONS = 98  # the session ``n % 100 == 98`` is also seen by the web application
COMMON_APP, RARE_APP = "ios", "kiosk"


def application_ids(n: int) -> list[str]:
    rest = n % 100
    own = next(name for name, bound in APPLICATIONS if rest < bound)
    return [own, "web"] if rest == TWO_APPLICATIONS else [own]


def shares(sessions: int) -> dict[str, float]:
    """Each application's share of the seeded sessions."""
    counts: dict[str, int] = {}
    for n in range(sessions):
        for app in application_ids(n):
            counts[app] = counts.get(app, 0) + 1
    return {app: count / sessions for app, count in counts.items()}


def records(n: int, first: datetime, step: timedelta) -> list[Any]:
    """Session ``n``'s events: 1 or 2, thirty seconds apart, from ``first + n * step``."""
    from theeye.clock import format_timestamp
    from theeye.events import Event
    from theeye.records import EventRecord

    began = first + n * step
    apps = application_ids(n)
    out = []
    for k in range(1 + n % 2):
        stamp_ = format_timestamp(began + timedelta(seconds=30 * k))
        event = Event(
            event_id=f"bench-s{n:06d}-{k}",
            session_id=f"visitor-{n:06d}",
            category="page interaction" if k == 0 else "form interaction",
            name="pageview" if k == 0 else "cta click",
            data={"host": "www.example.com", "path": f"/articles/{n % 977}"},
            timestamp=stamp_,
        )
        app = apps[k % len(apps)]
        out.append(EventRecord(event, app, stamp_, f"bench#{n}#{k}", event.content_hash()))
    return out


def seed(database: Path, sessions: int, now: datetime) -> dict[str, Any]:
    """Write the sessions' events into the stack's file; what was written and how long it took."""
    from theeye.ledger import MessageTally, SessionTally, merge_sessions, message_key
    from theeye.sqlite.counters import SqliteCounters
    from theeye.sqlite.db import Database
    from theeye.sqlite.events import SqliteEventStore

    def store(chunk: list[Any]) -> None:
        """Write one chunk's events, then count them as the processor counts a message."""
        events.put_all(chunk)
        sessions: dict[str, SessionTally] = {}
        for record in chunk:
            of_event = SessionTally.of_event(record.event.timestamp, record.application_id)
            merge_sessions(sessions, {record.event.session_id: of_event})
        tally = MessageTally(len(chunk), 0, {}, {}, sessions)
        counters.commit_batch([(message_key(chunk[0].origin), tally)])

    first = now - timedelta(days=SPAN_DAYS)
    step = timedelta(days=SPAN_DAYS) / sessions
    order = list(range(sessions))
    random.Random(7).shuffle(order)
    db = Database(database)
    events, counters = SqliteEventStore(db), SqliteCounters(db)
    began = time.perf_counter()
    pending: list[Any] = []
    for n in order:
        pending += records(n, first, step)
        if len(pending) >= CHUNK:
            store(pending)
            pending = []
    if pending:
        store(pending)
    seconds = time.perf_counter() - began
    db.close()
    with sqlite3.connect(database, timeout=30) as connection:
        counted = connection.execute("SELECT COUNT(*), SUM(events) FROM sessions").fetchone()
    return {
        "sessions": int(counted[0]),
        "events": int(counted[1]),
        "seconds": seconds,
        "span_days": SPAN_DAYS,
        "first": first.isoformat(),
        "chunk": CHUNK,
    }


def deep_cursor(port: int, path: str, depth: int, connection: http.client.HTTPConnection) -> str:
    """The cursor after the first ``depth`` sessions of the listing ``path`` (pages of 1,000)."""
    walked, cursor = 0, None
    while walked < depth:
        query = {"limit": min(WALK_PAGE, depth - walked), **({"cursor": cursor} if cursor else {})}
        page = get(port, f"{path}&{urlencode(query)}", connection)
        walked += len(page["items"])
        cursor = page["next_cursor"]
        if not cursor:
            raise SystemExit(f"the listing ended after {walked} sessions, before {depth}")
    return str(cursor)


def measure(sessions: int = SESSIONS, samples: int = SAMPLES) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="theeye-bench-sessions-") as scratch:
        stack, _ = start(Path(scratch), 1)
        port, state = stack.port, stack.state
        try:
            now = datetime.now(UTC).replace(microsecond=0)
            seeded = seed(Path(state["database"]), sessions, now)
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
            everything = urlencode(
                {"from": seeded["first"], "to": (now + timedelta(hours=1)).isoformat(), "order": "desc"}
            )
            depth = min(DEEP, sessions // 2)
            deep = deep_cursor(port, f"/sessions?{everything}", depth, connection)
            pages = {
                "first page, newest first, last 24 h": f"/sessions?order=desc&limit={LIMIT}",
                f"page after {depth:,} sessions (cursor), {SPAN_DAYS} days, newest first": (
                    f"/sessions?{everything}&{urlencode({'limit': LIMIT, 'cursor': deep})}"
                ),
                f"application_id with {100 * shares(sessions)[COMMON_APP]:.0f} % of sessions, last 24 h": (
                    f"/sessions?application_id={COMMON_APP}&order=desc&limit={LIMIT}"
                ),
                f"application_id with {100 * shares(sessions)[RARE_APP]:.0f} % of sessions, last 24 h": (
                    f"/sessions?application_id={RARE_APP}&order=desc&limit={LIMIT}"
                ),
            }
            results: dict[str, Any] = {}
            for label, path in pages.items():
                items = len(get(port, path, connection)["items"])
                before = load_average()
                timings = sample(port, path, connection, samples)
                results[label] = {
                    "items": items,
                    "samples": len(timings),
                    "p50_ms": median(timings),
                    "p95_ms": percentile(timings, 0.95),
                    "p99_ms": percentile(timings, 0.99),
                    "load_before": before,
                    "load_after": load_average(),
                }
            connection.close()
        finally:
            stack.stop()
    command = "python -m bench.sessions" + (f" --sessions {sessions}" if sessions != SESSIONS else "")
    command += f" --samples {samples}" if samples != SAMPLES else ""
    return stamp(
        command,
        {
            "backend": "embedded",
            "seeded": seeded,
            "limit": LIMIT,
            "deep": depth,
            "applications": shares(sessions),
            "pages": results,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=SESSIONS)
    parser.add_argument("--samples", type=int, default=SAMPLES)
    options = parser.parse_args()
    print(json.dumps(measure(options.sessions, options.samples), indent=2))


if __name__ == "__main__":
    main()
