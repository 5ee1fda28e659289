"""SQL over every event on the embedded backend: statements at 1,000,000 stored events, the lake
feeder's throughput and whether it keeps up with a steady load, how soon a stored event can be
queried, and the lake's bytes on disk.

    .venv/bin/python -m bench.lake [--events 1000000] [--runs 20] [--load-seconds 30]

1. **Store.** ``--events`` events of ``SPAN_DAYS`` days (the days before the run) are written
   into a fresh SQLite store through the processor's own write, ``SqliteEventStore.put_all``, in
   transactions of ``FILL_CHUNK`` (each also writes its change-log rows). Sessions of 5 to 20
   events, in the order they began, each with one context (browser and OS, country, referrer,
   a campaign for some, one in ten a bot) and a page per pageview; events of four categories
   and twelve names (``KINDS``). What a statement must answer is counted as they are made.
2. **Feeder on a backlog.** The lake was started before the store was filled (the feeder's
   first step on the empty store), so the whole fill waits in the change log; the real feeder
   (``theeye_local.lake_feeder.LakeFeeder``, batches of its ``BATCH``) applies it step after
   step, as its thread does while steps come back full: events/s.
   Then the lake at rest: the feeder's tidying step (each day's small files merged into one,
   which it does once nothing was fed for ``TIDY_AFTER_SECONDS``), timed.
3. **Bytes on disk** of the lake's Parquet files and of ``theeye.db`` (after a WAL checkpoint).
4. **Statements** through the engine path ``DuckDbEngine.run`` (check, translate, DuckDB over
   the snapshot): ``--runs`` times each after one warm-up (p50, p95), then ``HANDLER_ROUNDS``
   times through the query function's handler (``POST /sql``, in this process), and ``--runs``
   times over the same rows rewritten as one file per day (what the number of files costs).
   Each answer is checked against the counts made while storing.
5. **Freshness and a steady load**, with the feeder as the local stack runs it: its thread, at
   its own poll interval, in another process (as the stack's feeder is apart from the workers
   that store). Single events are stored at random moments, each timed from its commit to the
   first manifest whose checkpoint holds it (``FRESHNESS_SAMPLES``) and to the first
   ``POST /sql`` answer that counts it (``SQL_FRESHNESS_SAMPLES``). Then ``LOAD_RATE`` events/s
   are stored for ``--load-seconds`` in transactions of ``LOAD_CHUNK`` (``BulkStore``: the rows
   ``put_all`` writes, with the store's statements, made before the load), each transaction timed
   to the manifest that holds it, and the feeder's lag (changes logged but not in the lake)
   sampled every ``LAG_SAMPLE_SECONDS``.

The load average (1 / 5 / 15 minutes) is recorded before and after each step: the machine is
shared, and what else runs on its cores shows there.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import sqlite3
import statistics
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Final

from bench.common import ROOT, load_average, median, percentile, stamp
from bench.stacks import Context, Output  # first: it sets what the handlers read at import

EVENTS: Final = 1_000_000
RUNS: Final = 20
LOAD_SECONDS: Final = 30.0
SPAN_DAYS: Final = 30
FILL_CHUNK: Final = 10_000  # events per put_all while filling the store
HANDLER_ROUNDS: Final = 5
FRESHNESS_SAMPLES: Final = 40
SQL_FRESHNESS_SAMPLES: Final = 10
FRESHNESS_GAP_SECONDS: Final = 0.5  # at most this long, at random, between two single events
WATCH_SECONDS: Final = 0.002  # how often the manifest is read while waiting for an event
LOAD_RATE: Final = 5_000  # events/s stored during the steady load
LOAD_CHUNK: Final = 500  # events per put_all during the load
LAG_SAMPLE_SECONDS: Final = 0.25
CATCH_UP_LIMIT_SECONDS: Final = 300.0
APPLICATION: Final = "web"
QUERY_KEY: Final = "eye_bench-query-key-for-the-sql-over-every-event-01"

# -- what is stored --------------------------------------------------------------------------

PAGE, FORM, COMMERCE, MEDIA = "page interaction", "form interaction", "commerce", "media"
PRICING = "/pricing"
# (category, name, weight) of a human's event; a bot's are pageviews only.
KINDS: Final = (
    (PAGE, "pageview", 52),
    (PAGE, "scroll", 10),
    (PAGE, "cta click", 7),
    (MEDIA, "video play", 4),
    (MEDIA, "video complete", 2),
    (COMMERCE, "product viewed", 7),
    (COMMERCE, "add to cart", 3),
    (COMMERCE, "purchase", 1),
    (FORM, "form started", 4),
    (FORM, "signup started", 5),
    (FORM, "signup completed", 3),
    (FORM, "newsletter subscribed", 2),
)
PAGES: Final = (
    ("/", "Home", 20),
    (PRICING, "Pricing", 12),
    ("/features", "Features", 10),
    ("/docs", "Documentation", 8),
    ("/signup", "Sign up", 6),
    ("/checkout", "Checkout", 4),
    ("/blog", "Blog", 40),  # /blog/post-<n>
)
BLOG_POSTS: Final = 200
BROWSERS: Final = (
    ("Chrome", "120.0", "Windows", "10", "desktop", 45),
    ("Safari", "17.2", "iOS", "17.2", "mobile", 20),
    ("Chrome", "120.0", "Android", "14", "mobile", 15),
    ("Firefox", "121.0", "Windows", "10", "desktop", 8),
    ("Edge", "120.0", "Windows", "11", "desktop", 7),
    ("Safari", "17.2", "Mac OS X", "14.2", "desktop", 5),
)
BOTS: Final = (("Googlebot", "2.1"), ("bingbot", "2.0"), ("AhrefsBot", "7.0"))
BOT_SHARE: Final = 0.10
REFERRERS: Final = (  # host, medium, source, weight; no referrer: None
    (None, None, None, 40),
    ("www.google.com", "search", "Google", 30),
    ("www.bing.com", "search", "Bing", 5),
    ("www.facebook.com", "social", "Facebook", 10),
    ("t.co", "social", "Twitter", 5),
    ("news.example.org", "unknown", None, 10),
)
CAMPAIGNS: Final = (  # source, medium, name
    ("newsletter", "email", "spring-sale"),
    ("google", "cpc", "brand"),
    ("facebook", "paid-social", "retargeting"),
)
CAMPAIGN_SHARE: Final = 0.2
COUNTRIES: Final = (("US", "en-US", "America/New_York"), ("DE", "de-DE", "Europe/Berlin"),
                    ("FR", "fr-FR", "Europe/Paris"), ("GB", "en-GB", "Europe/London"),
                    ("IN", "en-IN", "Asia/Kolkata"), ("BR", "pt-BR", "America/Sao_Paulo"))  # fmt: skip
SESSION_EVENTS: Final = (5, 20)
EVENT_GAP_SECONDS: Final = (2, 90)


def _weighted(generator: random.Random, choices: tuple[tuple[Any, ...], ...]) -> tuple[Any, ...]:
    return generator.choices(choices, weights=[c[-1] for c in choices])[0]


class Events:
    """A deterministic stream of sessions' events (``EventRecord``), each session in time order,
    the sessions in the order they began: ``sessions`` spread evenly from ``first`` over
    ``span`` (more follow at the same pace). For the sessions made so far it counts what a
    statement must answer: events, pageview names, the funnel's sessions."""

    def __init__(self, prefix: str, first: datetime, span: timedelta, sessions: int, seed: int = 7) -> None:
        self.prefix = prefix
        self.first = first
        self.step = span / max(sessions, 1)
        self.made_sessions = 0
        self.random = random.Random(seed)
        self.events = 0
        self.page_names: dict[str, int] = {}
        self.page_sessions: dict[str, set[str]] = {}
        self.funnel = [0, 0, 0]  # human sessions that viewed /pricing, then started, then completed signup

    def records(self, limit: int) -> Iterator[Any]:
        """Whole sessions until at least ``limit`` events (the last session may pass it)."""
        made = 0
        number = 0
        while made < limit:
            session = self.session(number)
            made += len(session)
            number += 1
            yield from session

    def session(self, number: int) -> list[Any]:
        from theeye.clock import format_timestamp
        from theeye.events import Event
        from theeye.records import EventRecord

        r = self.random
        self.made_sessions += 1
        session_id = f"{self.prefix}-s{number:07d}"
        bot = r.random() < BOT_SHARE
        context = self._context(bot)
        moment = self.first + number * self.step + timedelta(seconds=r.uniform(0, 30))
        out: list[Any] = []
        funnel_at = 0  # the funnel steps this session reached, in order
        for k in range(r.randint(*SESSION_EVENTS)):
            moment += timedelta(seconds=r.uniform(*EVENT_GAP_SECONDS))
            category, name, _ = (PAGE, "pageview", 0) if bot else _weighted(r, KINDS)
            path, title, _ = _weighted(r, PAGES)
            if path == "/blog":
                post = r.randrange(BLOG_POSTS)
                path, title = f"/blog/post-{post}", f"Post {post}"
            event_context = dict(context)
            event_context["page"] = {
                "url": f"https://www.example.com{path}",
                "host": "www.example.com",
                "path": path,
                "title": title,
            }
            data: dict[str, Any] = {"host": "www.example.com", "path": path}
            if category == COMMERCE:
                data.update(product=f"sku-{r.randrange(500):03d}", price=round(r.uniform(5, 300), 2))
            elif category == MEDIA:
                data.update(video=f"intro-{r.randrange(12)}", seconds=r.randrange(600))
            stamp_ = format_timestamp(moment)
            event = Event(
                event_id=f"{self.prefix}-{number:07d}-{k:02d}",
                session_id=session_id,
                category=category,
                name=name,
                data=data,
                timestamp=stamp_,
                context=event_context,
            )
            received = format_timestamp(moment + timedelta(milliseconds=r.randrange(50, 900)))
            origin = f"{self.prefix}#{number}#{k}"
            out.append(EventRecord(event, APPLICATION, received, origin, event.content_hash()))
            self.events += 1
            if category == PAGE:
                self.page_names[name] = self.page_names.get(name, 0) + 1
                self.page_sessions.setdefault(name, set()).add(session_id)
            if not bot:
                step = funnel_step(category, name, path)
                if step == funnel_at + 1:
                    funnel_at = step
        for reached in range(funnel_at):
            self.funnel[reached] += 1
        return out

    def _context(self, bot: bool) -> dict[str, Any]:
        r = self.random
        country, locale, timezone = r.choice(COUNTRIES)
        context: dict[str, Any] = {
            "ip": f"198.51.{r.randrange(256)}.0",
            "country": country,
            "locale": locale,
            "timezone": timezone,
            "bot": bot,
        }
        if bot:
            family, version = r.choice(BOTS)
            context.update(
                user_agent=f"Mozilla/5.0 (compatible; {family}/{version})",
                browser={"family": family, "version": version},
                device="bot",
            )
            return context
        family, version, system, system_version, device, _ = _weighted(r, BROWSERS)
        context.update(
            user_agent=f"Mozilla/5.0 ({system} {system_version}) {family}/{version}",
            browser={"family": family, "version": version},
            os={"family": system, "version": system_version},
            device=device,
        )
        host, medium, source, _ = _weighted(r, REFERRERS)
        if host:
            context["referrer"] = {"host": host, "medium": medium, **({"source": source} if source else {})}
        if r.random() < CAMPAIGN_SHARE:
            source, medium, name = r.choice(CAMPAIGNS)
            context["campaign"] = {"source": source, "medium": medium, "name": name}
        return context


def funnel_step(category: str, name: str, path: str) -> int:
    """Which step of the funnel an event is (0: none)."""
    if (category, name, path) == (PAGE, "pageview", PRICING):
        return 1
    return {(FORM, "signup started"): 2, (FORM, "signup completed"): 3}.get((category, name), 0)


# -- the statements, as an analyst writes them in Athena's dialect --------------------------

COUNT: Final = "SELECT count(*) AS events FROM events"
GROUP_BY: Final = """
SELECT name, count(*) AS events, count(DISTINCT session_id) AS sessions
FROM events
WHERE category = 'page interaction'
GROUP BY name
ORDER BY events DESC
"""
# Sessions of people (no bots) that viewed /pricing, then started a signup after that view,
# then completed one after that start: each step's first time after the step before.
FUNNEL: Final = """
WITH steps AS (
  SELECT session_id, event_time,
         CASE
           WHEN category = 'page interaction' AND name = 'pageview' AND page_path = '/pricing' THEN 1
           WHEN category = 'form interaction' AND name = 'signup started' THEN 2
           WHEN category = 'form interaction' AND name = 'signup completed' THEN 3
         END AS step
  FROM events
  WHERE bot = false
),
viewed AS (
  SELECT session_id, min(event_time) AS at FROM steps WHERE step = 1 GROUP BY session_id
),
started AS (
  SELECT s.session_id, min(s.event_time) AS at
  FROM steps AS s JOIN viewed AS v ON s.session_id = v.session_id AND s.event_time > v.at
  WHERE s.step = 2
  GROUP BY s.session_id
),
completed AS (
  SELECT s.session_id, min(s.event_time) AS at
  FROM steps AS s JOIN started AS t ON s.session_id = t.session_id AND s.event_time > t.at
  WHERE s.step = 3
  GROUP BY s.session_id
)
SELECT count(v.session_id) AS viewed_pricing,
       count(t.session_id) AS started_signup,
       count(c.session_id) AS completed_signup
FROM viewed AS v
LEFT JOIN started AS t ON t.session_id = v.session_id
LEFT JOIN completed AS c ON c.session_id = v.session_id
"""
STATEMENTS: Final = {
    "count(*) of every event": COUNT,
    "GROUP BY name over the category 'page interaction', with distinct sessions": GROUP_BY,
    "three-step funnel (self-joins over a CASE of the steps)": FUNNEL,
}
# Which goal (bench.render's) each statement is held to, by label.
STATEMENT_KINDS: Final = dict(zip(STATEMENTS, ("count", "group_by", "funnel"), strict=True))


def expected(events: Events) -> dict[str, list[list[Any]]]:
    """Each statement's rows, from the counts made while storing."""
    page = sorted(events.page_names.items(), key=lambda kv: -kv[1])
    return {
        "count": [[events.events]],
        "group_by": [[name, n, len(events.page_sessions[name])] for name, n in page],
        "funnel": [list(events.funnel)],
    }


# -- the steps --------------------------------------------------------------------------------


def fill(store: Any, events: Events, count: int) -> float:
    """Store ``count`` events of ``events`` in transactions of ``FILL_CHUNK``; the seconds taken."""
    began = time.perf_counter()
    chunk: list[Any] = []
    for record in events.records(count):
        chunk.append(record)
        if len(chunk) == FILL_CHUNK:
            store.put_all(chunk)
            chunk = []
    if chunk:
        store.put_all(chunk)
    return time.perf_counter() - began


@dataclass
class BulkStore:
    """The rows ``SqliteEventStore.put_all`` writes for new events (the guard, the event, its
    change-log row), with the store's own statements, each as one ``executemany`` of rows made
    beforehand (``prepare``): the steady load's writer, so that on two shared cores the writer's
    Python does not limit the rate the feeder is offered."""

    db: Any

    def prepare(self, records: list[Any]) -> tuple[list[tuple[Any, ...]], ...]:
        from theeye.events import compact_json
        from theeye.ports import event_position
        from theeye.sqlite.changes import STORED

        guards: list[tuple[Any, ...]] = []
        rows: list[tuple[Any, ...]] = []
        logged: list[tuple[Any, ...]] = []
        for record in records:
            event = record.event
            position = event_position(event.timestamp, event.event_id)
            guards.append((event.event_id, record.content_hash, record.origin, position, record.expires_at))
            rows.append(
                (
                    position,
                    event.event_id,
                    record.application_id,
                    event.session_id,
                    event.category,
                    event.name,
                    compact_json(event.data),
                    event.timestamp,
                    None,
                    record.received_at,
                    record.received_at,
                    record.expires_at,
                    compact_json(event.context) if event.context else None,
                )
            )
            logged.append((STORED, position, None, None))
        return guards, rows, logged

    def put_prepared(self, prepared: tuple[list[tuple[Any, ...]], ...]) -> None:
        from theeye.sqlite import changes, events
        from theeye.sqlite.db import retryable

        guards, rows, logged = prepared
        with self.db.write(retryable("event store")) as connection:
            connection.executemany(events._INSERT_GUARD, guards)
            connection.executemany(events._INSERT_EVENT, rows)
            connection.executemany(changes._RECORD, logged)


def drain(feeder: Any) -> tuple[float, int]:
    """Step the feeder until it has nothing left; the seconds and the steps taken."""
    began = time.perf_counter()
    steps = 1
    while feeder.step():
        steps += 1
    return time.perf_counter() - began, steps


def disk(database: Path, lake: Path) -> dict[str, int]:
    """Bytes of the lake's data files (those its manifest names), of the whole lake folder, and
    of ``theeye.db`` after a WAL checkpoint, with the free pages it holds (the pruned change log)."""
    from theeye.analytics.local_lake import LocalLake

    manifest = LocalLake(lake).manifest()
    with sqlite3.connect(database, timeout=60) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        (page_size,) = connection.execute("PRAGMA page_size").fetchone()
        (free,) = connection.execute("PRAGMA freelist_count").fetchone()
    connection.close()
    files = [p for p in lake.rglob("*") if p.is_file()]
    store_files = [p for p in database.parent.glob(database.name + "*") if p.is_file()]
    return {
        "lake_data_bytes": sum((lake / f.path).stat().st_size for f in manifest.files),
        "lake_data_files": len(manifest.files),
        "lake_bytes": sum(p.stat().st_size for p in files),
        "database_bytes": sum(p.stat().st_size for p in store_files),
        "database_free_bytes": int(page_size) * int(free),
    }


def time_statements(engine: Any, runs: int) -> dict[str, Any]:
    """Each statement ``runs`` times (after one warm-up) through ``engine.run``."""
    out: dict[str, Any] = {}
    for label, sql in STATEMENTS.items():
        answer = engine.run(sql, 1000)
        before = load_average()
        timings = []
        for _ in range(runs):
            began = time.perf_counter()
            engine.run(sql, 1000)
            timings.append((time.perf_counter() - began) * 1000)
        out[label] = {
            "kind": STATEMENT_KINDS[label],
            "runs": runs,
            "p50_ms": median(timings),
            "p95_ms": percentile(timings, 0.95),
            "rows": answer.rows,
            "load_before": before,
            "load_after": load_average(),
        }
    return out


def one_file_per_day(lake: Any, folder: Path) -> Any:
    """The lake's rows rewritten as one file per day in ``folder`` (what compacting every day
    into one file would leave): a ``Snapshot`` of those files, as of the lake's."""
    import duckdb

    from theeye.analytics.table import Snapshot

    manifest = lake.manifest()
    folder.mkdir(parents=True, exist_ok=True)
    days: dict[str, list[str]] = {}
    for f in manifest.files:
        days.setdefault(f.day, []).append(str(lake.directory / f.path))
    connection = duckdb.connect()
    paths = []
    for day, files in sorted(days.items()):
        target = folder / f"{day}.parquet"
        connection.execute(
            f"COPY (SELECT * FROM read_parquet(?) ORDER BY event_time, event_id) TO '{target}' (FORMAT parquet)",  # noqa: S608 - our own path
            [files],
        )
        paths.append(str(target))
    connection.close()
    return Snapshot(tuple(paths), manifest.as_of)


@dataclass
class Handler:
    """The query function's handler in this process, its engine over the lake at ``lake``."""

    lake: Path
    saved: dict[str, str | None] = field(default_factory=dict)

    def __enter__(self) -> Handler:
        from query import handler
        from theeye import wiring
        from theeye.analytics import engine
        from theeye.config import get_settings
        from theeye.keys import new_api_key
        from theeye_local.memory import MemoryBackend

        variables = {
            "LAKE_DIRECTORY": str(self.lake),
            "SCHEMAS_DIR": str(ROOT / "schemas"),
            "POWERTOOLS_METRICS_NAMESPACE": "TheEye",
        }
        self.saved = {name: os.environ.get(name) for name in variables}
        os.environ.update(variables)
        backend = MemoryBackend()
        backend.keys().put(new_api_key("analysts", ["query"], raw_key=QUERY_KEY)[1])
        wiring.install(backend)
        get_settings.cache_clear()
        handler.dependencies.cache_clear()
        engine.install(None)
        engine.reset()
        return self

    def __exit__(self, *_: object) -> None:
        from query import handler
        from theeye import wiring
        from theeye.analytics import engine
        from theeye.config import get_settings

        for name, value in self.saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        engine.reset()
        wiring.install(None)
        get_settings.cache_clear()
        handler.dependencies.cache_clear()

    def post(self, sql: str) -> dict[str, Any]:
        """``POST /sql`` with ``sql``: the answer's body (anything but 200 stops the bench)."""
        from query.handler import lambda_handler

        request: dict[str, Any] = json.loads((ROOT / "events" / "apigw_get_health.json").read_text())
        request["rawPath"] = request["requestContext"]["http"]["path"] = "/sql"
        request["requestContext"]["http"]["method"] = "POST"
        request["routeKey"] = request["requestContext"]["routeKey"] = "$default"
        request["headers"].update(
            {"authorization": f"Bearer {QUERY_KEY}", "content-type": "application/json"}
        )
        request["body"] = json.dumps({"sql": sql})
        with Output():
            answer = lambda_handler(request, Context())
        body: dict[str, Any] = json.loads(answer["body"])
        if answer["statusCode"] != 200:
            raise SystemExit(f"POST /sql answered {answer['statusCode']}: {body}")
        return body


def time_handler(handler: Handler, rounds: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for label, sql in STATEMENTS.items():
        body = handler.post(sql)
        timings, engine_ms = [], []
        for _ in range(rounds):
            began = time.perf_counter()
            body = handler.post(sql)
            timings.append((time.perf_counter() - began) * 1000)
            engine_ms.append(body["elapsed_ms"])
        out[label] = {
            "rounds": rounds,
            "p50_ms": median(timings),
            "engine_p50_ms": median(engine_ms),
            "rows": body["rows"],
        }
    return out


def _feed(database: str, lake: str, stop: Any) -> None:
    """The feeder thread as the local stack runs it, in a process of its own until ``stop``."""
    import sys

    for entry in (str(ROOT), str(ROOT / "functions")):
        if entry not in sys.path:
            sys.path.insert(0, entry)
    from theeye.analytics.local_lake import LocalLake
    from theeye.sqlite.backend import SqliteBackend
    from theeye.sqlite.changes import SqliteChangeLog
    from theeye_local.lake_feeder import LakeFeeder

    backend = SqliteBackend(database)
    feeder = LakeFeeder(SqliteChangeLog(backend.db), LocalLake(lake))
    feeder.start()
    stop.wait()
    feeder.stop()
    backend.db.close()


class FeederProcess:
    def __init__(self, database: Path, lake: Path) -> None:
        context = multiprocessing.get_context("spawn")
        self.stop = context.Event()
        self.process = context.Process(target=_feed, args=(str(database), str(lake), self.stop), daemon=True)

    def __enter__(self) -> FeederProcess:
        self.process.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.stop.set()
        self.process.join(60)


def applied(lake: Any) -> int:
    """The change-log position the lake's manifest holds (0: none yet)."""
    return int(lake.checkpoint().get("position", 0))


def holds(lake: Any, position: int) -> bool:
    """Whether the lake's manifest holds the change at ``position``."""
    return applied(lake) >= position


def counts_one(engine: Any, sql: str) -> bool:
    """Whether ``sql`` (a count) answers one, now."""
    return bool(engine.run(sql, 1).rows == [[1]])


def wait_for(
    reached: Callable[[], bool], limit: float = CATCH_UP_LIMIT_SECONDS, every: float = WATCH_SECONDS
) -> float:
    """Seconds until ``reached()`` (``SystemExit`` after ``limit``)."""
    began = time.perf_counter()
    while not reached():
        if time.perf_counter() - began > limit:
            raise SystemExit(f"not reached within {limit:.0f} s")
        time.sleep(every)
    return time.perf_counter() - began


def freshness(store: Any, log: Any, lake: Any, engine: Any, samples: int, sql_samples: int) -> dict[str, Any]:
    """Single events stored at random moments: seconds from each commit to the first manifest
    holding it, and (``sql_samples`` more) to the first ``POST /sql`` engine answer counting it."""
    from theeye.clock import format_timestamp, utc_now
    from theeye.events import Event
    from theeye.records import EventRecord

    r = random.Random(11)
    before = load_average()
    snapshot_s: list[float] = []
    sql_s: list[float] = []
    for n in range(samples + sql_samples):
        time.sleep(r.uniform(0, FRESHNESS_GAP_SECONDS))
        now = format_timestamp(utc_now())
        event = Event(
            event_id=f"fresh-{n:04d}",
            session_id=f"fresh-s{n:04d}",
            category=PAGE,
            name="pageview",
            data={"host": "www.example.com", "path": "/"},
            timestamp=now,
        )
        store.put_all([EventRecord(event, APPLICATION, now, f"fresh#{n}", event.content_hash())])
        committed = time.perf_counter()
        position = log.last()
        if n < samples:
            wait_for(partial(holds, lake, position))
            snapshot_s.append(time.perf_counter() - committed)
        else:
            sql = f"SELECT count(*) FROM events WHERE event_id = '{event.event_id}'"  # noqa: S608 - our own id
            wait_for(partial(counts_one, engine, sql), every=0)
            sql_s.append(time.perf_counter() - committed)
    return {
        "snapshot": _spread(snapshot_s),
        "sql": _spread(sql_s),
        "gap_s": FRESHNESS_GAP_SECONDS,
        "load_before": before,
        "load_after": load_average(),
    }


def _spread(seconds: list[float]) -> dict[str, Any]:
    return {
        "samples": len(seconds),
        "p50_s": median(seconds),
        "p95_s": percentile(seconds, 0.95),
        "max_s": max(seconds),
    }


def steady_load(store: BulkStore, log: Any, lake: Any, events: Events, seconds: float) -> dict[str, Any]:
    """``LOAD_RATE`` events/s for ``seconds`` in transactions of ``LOAD_CHUNK``, paced; the feeder
    (running apart) watched: each transaction's commit → manifest time, and the lag in changes."""
    records = list(events.records(int(LOAD_RATE * seconds)))
    chunks = [store.prepare(records[i : i + LOAD_CHUNK]) for i in range(0, len(records), LOAD_CHUNK)]
    committed: list[tuple[int, float]] = []  # (log position, commit time) of each transaction
    seen: list[float] = []
    lag: list[tuple[float, int]] = []
    writing = threading.Event()
    writing.set()
    last_written = [applied(lake)]

    def watch() -> None:
        pending = 0
        next_sample = time.perf_counter()
        while writing.is_set() or pending < len(committed):
            position = applied(lake)
            now = time.perf_counter()
            while pending < len(committed) and committed[pending][0] <= position:
                seen.append(now - committed[pending][1])
                pending += 1
            if now >= next_sample:
                lag.append((now - began, max(0, last_written[0] - position)))
                next_sample += LAG_SAMPLE_SECONDS
            time.sleep(WATCH_SECONDS * 25)  # 50 ms: a resolution far below the seconds measured

    before = load_average()
    began = time.perf_counter()
    watcher = threading.Thread(target=watch, name="lake-bench-watch", daemon=True)
    watcher.start()
    written = 0
    for chunk in chunks:
        pause = began + written / LOAD_RATE - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
        store.put_prepared(chunk)
        stamp_ = time.perf_counter()
        written += len(chunk[0])
        last_written[0] = log.last()
        committed.append((last_written[0], stamp_))
    wrote_s = time.perf_counter() - began
    writing.clear()
    final = last_written[0]
    catch_up = wait_for(partial(holds, lake, final), every=WATCH_SECONDS * 5)
    watcher.join(CATCH_UP_LIMIT_SECONDS)
    first_third = max((n for t, n in lag if t <= wrote_s / 3), default=0)
    last_third = max((n for t, n in lag if 2 * wrote_s / 3 <= t <= wrote_s), default=0)
    return {
        "rate": LOAD_RATE,
        "chunk": LOAD_CHUNK,
        "events": written,
        "seconds": wrote_s,
        "stored_per_s": written / wrote_s,
        "catch_up_s": catch_up,
        "freshness": _spread(seen),
        "max_lag": max((n for _, n in lag), default=0),
        "max_lag_first_third": first_third,
        "max_lag_last_third": last_third,
        "mean_lag": statistics.fmean(n for _, n in lag) if lag else 0.0,
        "lag_samples": len(lag),
        "lag": [[round(t, 3), n] for t, n in lag],  # (seconds into the load, changes not yet applied)
        "load_before": before,
        "load_after": load_average(),
    }


# -- the whole measurement ----------------------------------------------------------------------


def measure(
    events: int = EVENTS,
    runs: int = RUNS,
    load_seconds: float = LOAD_SECONDS,
    *,
    handler_rounds: int = HANDLER_ROUNDS,
    freshness_samples: int = FRESHNESS_SAMPLES,
    sql_freshness_samples: int = SQL_FRESHNESS_SAMPLES,
    scratch: Path | None = None,
) -> dict[str, Any]:
    from theeye.analytics.duckdb_engine import DuckDbEngine
    from theeye.analytics.local_lake import LocalLake
    from theeye.sqlite.backend import SqliteBackend
    from theeye.sqlite.changes import SqliteChangeLog
    from theeye_local.lake_feeder import BATCH, IDLE_SECONDS, TIDY_AFTER_SECONDS, LakeFeeder

    with tempfile.TemporaryDirectory(prefix="theeye-bench-lake-", dir=scratch) as folder:
        data = Path(folder)
        database, lake_dir = data / "theeye.db", data / "lake"
        backend = SqliteBackend(database)
        store, log = backend.event_store(), SqliteChangeLog(backend.db)
        feeder = LakeFeeder(log, LocalLake(lake_dir))
        drain(feeder)  # the empty store's lake: the fill below waits in the change log
        now = datetime.now(UTC).replace(microsecond=0)
        sessions = max(1, round(events / statistics.fmean(SESSION_EVENTS)))  # to spread them over the days
        made = Events("b", now - timedelta(days=SPAN_DAYS, hours=1), timedelta(days=SPAN_DAYS), sessions)
        load = load_average()
        fill_s = fill(store, made, events)
        stored = {"events": made.events, "seconds": fill_s, "load_before": load, "load_after": load_average()}
        backlog = log.last() - applied(feeder.lake)
        load = load_average()
        drain_s, steps = drain(feeder)
        backlog_result = {
            "changes": backlog,
            "seconds": drain_s,
            "steps": steps,
            "events_per_s": backlog / drain_s,
            "batch": BATCH,
            "load_before": load,
            "load_after": load_average(),
        }
        backlog_result["files"] = len(feeder.lake.manifest().files)
        feeder.lake.close()
        # At rest: once nothing was fed for TIDY_AFTER_SECONDS the feeder merges each day's small
        # files into one (a feeder told it has rested that long does the same step at once).
        resting = LakeFeeder(log, LocalLake(lake_dir), tidy_after_seconds=0)
        started = time.perf_counter()
        resting.step()
        backlog_result["tidy"] = {
            "seconds": time.perf_counter() - started,
            "files": len(resting.lake.manifest().files),
        }
        resting.lake.close()
        sizes = disk(database, lake_dir)
        lake = LocalLake(lake_dir)
        engine = DuckDbEngine(lake.snapshot)
        statements = time_statements(engine, runs)
        per_day = one_file_per_day(lake, data / "one-file-per-day")
        compacted = time_statements(DuckDbEngine(lambda: per_day), runs)
        with Handler(lake_dir) as handler:
            through_handler = time_handler(handler, handler_rounds)
        answers = expected(made)
        checked = {
            label: statements[label]["rows"]
            == answers[kind]
            == through_handler[label]["rows"]
            == compacted[label]["rows"]
            for label, kind in STATEMENT_KINDS.items()
        }
        with FeederProcess(database, lake_dir):
            fresh = freshness(store, log, lake, engine, freshness_samples, sql_freshness_samples)
            load_events = Events(
                "l", now - timedelta(hours=1), timedelta(hours=1), int(LOAD_RATE * load_seconds)
            )
            steady = steady_load(BulkStore(backend.db), log, lake, load_events, load_seconds)
        backend.db.close()
    command = "python -m bench.lake"
    for flag, value, default in (
        ("--events", events, EVENTS),
        ("--runs", runs, RUNS),
        ("--load-seconds", load_seconds, LOAD_SECONDS),
    ):
        command += f" {flag} {value:g}" if value != default else ""
    return stamp(
        command,
        {
            "backend": "embedded",
            "stored": stored,
            "span_days": SPAN_DAYS,
            "sessions": made.made_sessions,
            "bot_share": BOT_SHARE,
            "fill_chunk": FILL_CHUNK,
            "backlog": backlog_result,
            "disk": sizes,
            "statements": statements,
            "sql": {label: sql.strip() for label, sql in STATEMENTS.items()},
            "expected": {label: answers[kind] for label, kind in STATEMENT_KINDS.items()},
            "answers_checked": checked,
            "handler": through_handler,
            "one_file_per_day": {"files": len(per_day.files), "statements": compacted},
            "idle_seconds": IDLE_SECONDS,
            "tidy_after_seconds": TIDY_AFTER_SECONDS,
            "freshness": fresh,
            "steady": steady,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=EVENTS)
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--load-seconds", type=float, default=LOAD_SECONDS)
    options = parser.parse_args()
    print(json.dumps(measure(options.events, options.runs, options.load_seconds), indent=2))


if __name__ == "__main__":
    main()
