"""Every insight kind against a computation over the same events written straight from the
contract's words (docs/API.md, "Insights"): random sessions with events at the same
microsecond, repeated and unordered steps, sessions across `from` and `to`, bots, missing
context fields and data paths. The SQL runs on DuckDB, translated from Athena's dialect."""

from __future__ import annotations

import itertools
import statistics
from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.insights import EventsTable, event
from theeye.analytics.insights import answer_insight
from theeye.analytics.table import COLUMNS
from theeye.clock import parse_timestamp

NOW = datetime(2026, 12, 20, tzinfo=UTC)
T0 = datetime(2026, 12, 1)  # a Tuesday
# Instants that make ties, bucket edges (hours, days, the Mondays of Nov 30 and Dec 7) and
# range edges likely: sessions start near the first few, the rest are for events anywhere.
INSTANTS = [
    T0,
    T0 + timedelta(microseconds=1),
    T0 - timedelta(microseconds=1),
    T0 + timedelta(minutes=30),
    T0 + timedelta(hours=1),
    T0 + timedelta(days=1, seconds=59, microseconds=999999),
    datetime(2026, 11, 30),
    datetime(2026, 12, 7),
    datetime(2026, 12, 7) - timedelta(microseconds=1),
    datetime(2026, 12, 3, 12),
]
NEAR = 5
SESSIONS = ["s1", "s2", "s3", "s4", "s5"]
# Microseconds after a session's instant: the same, one apart, and either side of the windows.
OFFSETS = [
    0,
    0,
    1,
    10**6,
    30 * 10**6,
    59_999_999,
    60 * 10**6,
    60_000_001,
    1799 * 10**6,
    1800 * 10**6,
    1800_000_001,
    3 * 3600 * 10**6,
]
TYPES = [("page", "view"), ("page", "click"), ("form", "submit")]
PATHS = [None, "/a", "/b", "/c"]
COUNTRIES = [None, "US", "FR"]
STRINGS = ["free", "pro", "it's", "back\\slash", "5", "1.5", "true", "Zoë"]
SCALARS: list[Any] = [*STRINGS, 5, 1.5, 3.0, -2, True, False]
DATA_VALUES: list[Any] = [*SCALARS, None, {"x": 1}, [1, 2]]
FIELDS = ["category", "name", "session_id", "page_path", "country", "bot", "data.plan", "data.a.b"]
CONTEXT_PATHS = {column.name: column.context_path for column in COLUMNS if column.context_path}


def instants(spread: bool = True) -> st.SearchStrategy[datetime]:
    near = st.one_of(
        st.sampled_from(INSTANTS[:NEAR]),
        st.integers(-3600, 3600).map(lambda s: T0 + timedelta(hours=9, seconds=s)),
    )
    if not spread:
        return near
    anywhere = st.integers(-2 * 86400 * 10**6, 12 * 86400 * 10**6).map(
        lambda us: T0 + timedelta(microseconds=us)
    )
    return st.one_of(near, st.sampled_from(INSTANTS), anywhere)


@st.composite
def data_objects(draw: st.DrawFn) -> dict[str, Any]:
    data: dict[str, Any] = {}
    if draw(st.booleans()):
        data["plan"] = draw(st.sampled_from(DATA_VALUES))
    shape = draw(st.sampled_from(["none", "scalar", "object", "deeper"]))
    if shape == "scalar":
        data["a"] = draw(st.sampled_from(SCALARS))
    elif shape == "object":
        data["a"] = {"b": draw(st.sampled_from(DATA_VALUES))}
    elif shape == "deeper":
        data["a"] = {"b": {"c": 1}}
    return data


@st.composite
def event_lists(draw: st.DrawFn) -> list[dict[str, Any]]:
    count = draw(st.integers(0, 24))
    order = draw(st.permutations(range(count)))
    # Each session's events near its own instant (ties, window edges), some anywhere.
    starts = {session: draw(instants(spread=False)) for session in SESSIONS}
    events = []
    for index in range(count):
        session = draw(st.sampled_from(SESSIONS))
        if draw(st.integers(0, 4)) == 0:
            at = draw(instants())
        else:
            at = starts[session] + timedelta(microseconds=draw(st.sampled_from(OFFSETS)))
        category, name = draw(st.sampled_from(TYPES))
        context: dict[str, Any] = {}
        path = draw(st.sampled_from(PATHS))
        if path:
            context["page"] = {"path": path}
        country = draw(st.sampled_from(COUNTRIES))
        if country:
            context["country"] = country
        bot = draw(st.sampled_from([None, False, False, True]))
        if bot is not None:
            context["bot"] = bot
        events.append(
            event(
                session,
                category,
                name,
                at,
                data=draw(data_objects()),
                context=context,
                event_id=f"ev-{order[index]:03d}",
            )
        )
    return events


@st.composite
def conditions(draw: st.DrawFn) -> dict[str, Any]:
    field = draw(st.sampled_from(FIELDS))
    boolean, data = field == "bot", field.startswith("data.")
    ops = ["eq", "neq", "in", "not_in", "exists"] + ([] if boolean else ["contains"])
    op = draw(st.sampled_from(ops))
    if boolean:
        value = st.booleans()
    elif data:
        value = st.sampled_from(SCALARS)
    elif field == "session_id":
        value = st.sampled_from(["s1", "s2", "s3", "x"])
    else:
        value = st.sampled_from(["page", "view", "form", "submit", "/a", "/b", "US", "FR", "nope"])
    if op == "exists":
        return {"field": field, "op": op, **draw(st.sampled_from([{}, {"value": True}, {"value": False}]))}
    if op == "contains":
        return {"field": field, "op": op, "value": draw(st.sampled_from(["a", "e", "'", "\\", "1", "/"]))}
    if op in ("in", "not_in"):
        return {"field": field, "op": op, "value": draw(st.lists(value, min_size=1, max_size=3))}
    return {"field": field, "op": op, "value": draw(value)}


@st.composite
def commons(draw: st.DrawFn) -> dict[str, Any]:
    start = draw(
        st.sampled_from(
            [
                *INSTANTS[:NEAR],
                INSTANTS[5],
                T0 - timedelta(days=1, hours=5),
                T0 + timedelta(hours=8, minutes=30),
                T0 + timedelta(hours=9),
            ]
        )
    )
    end = start + draw(
        st.sampled_from(
            [
                timedelta(hours=1),
                timedelta(hours=10),
                timedelta(days=1),
                timedelta(days=3, microseconds=7),
                timedelta(days=9),
            ]
        )
    )
    body: dict[str, Any] = {"from": start.isoformat() + "Z", "to": end.isoformat() + "Z"}
    if draw(st.booleans()):
        body["include_bots"] = draw(st.booleans())
    where = draw(st.one_of(st.just([]), st.lists(conditions(), max_size=2)))
    if where:
        body["where"] = where
    return body


# ---- the contract, computed plainly -------------------------------------------------------


def value_of(item: dict[str, Any], field: str) -> str | bool | None:
    """The field's value in an event: a column, a context field, or a data path's scalar as
    text (an object, array or null has none); absent is None."""
    if field in ("category", "name", "session_id", "application_id"):
        return item[field]
    if field.startswith("data."):
        value: Any = item["data"]
        for key in field.split(".")[1:]:
            value = value.get(key) if isinstance(value, dict) else None
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, int | float):
            return repr(value)
        return value if isinstance(value, str) else None
    value = item["context"]
    for key in CONTEXT_PATHS[field]:
        value = value.get(key) if isinstance(value, dict) else None
    return value if value != "" else None


def text_of(item: dict[str, Any], field: str) -> str | None:
    value = value_of(item, field)
    return ("true" if value else "false") if isinstance(value, bool) else value


def number(text: Any) -> float | None:
    try:
        return float(text) if isinstance(text, str) and "_" not in text else None
    except ValueError:
        return None


def equals(actual: Any, wanted: Any, field: str) -> bool:
    if actual is None:
        return False
    if field.startswith("data."):
        if isinstance(wanted, bool):
            return actual == ("true" if wanted else "false")
        if isinstance(wanted, int | float):
            return number(actual) == float(wanted)
    return bool(actual == wanted)


def holds(item: dict[str, Any], condition: dict[str, Any]) -> bool:
    field, op, wanted = condition["field"], condition["op"], condition.get("value")
    actual = value_of(item, field)
    if op == "exists":
        return (actual is not None) == (wanted is not False)
    if op == "contains":
        return isinstance(actual, str) and wanted in actual
    if op in ("eq", "neq"):
        found = equals(actual, wanted, field)
    else:
        found = any(equals(actual, one, field) for one in wanted)
    return found if op in ("eq", "in") else not found


def time_of(item: dict[str, Any]) -> datetime:
    return parse_timestamp(item["timestamp"]).replace(tzinfo=None)


def in_scope(item: dict[str, Any], body: dict[str, Any], start: datetime, end: datetime) -> bool:
    """Within [from, to), not a bot unless bots are asked for."""
    bot = item["context"].get("bot") is True
    return start <= time_of(item) < end and (body.get("include_bots", False) or not bot)


def matching(events: Iterable[dict[str, Any]], body: dict[str, Any]) -> list[dict[str, Any]]:
    start, end = bounds(body)
    return [
        item
        for item in events
        if in_scope(item, body, start, end) and all(holds(item, c) for c in body.get("where", []))
    ]


def bounds(body: dict[str, Any]) -> tuple[datetime, datetime]:
    return (
        parse_timestamp(body["from"]).replace(tzinfo=None),
        parse_timestamp(body["to"]).replace(tzinfo=None),
    )


def bucket(moment: datetime, interval: str) -> datetime:
    if interval == "hour":
        return datetime(moment.year, moment.month, moment.day, moment.hour)
    day = datetime(moment.year, moment.month, moment.day)
    return day if interval == "day" else day - timedelta(days=day.weekday())


def all_buckets(body: dict[str, Any]) -> list[datetime]:
    start, end = bounds(body)
    step = {"hour": timedelta(hours=1), "day": timedelta(days=1), "week": timedelta(days=7)}[body["interval"]]
    moment, last, found = (
        bucket(start, body["interval"]),
        bucket(end - timedelta(microseconds=1), body["interval"]),
        [],
    )
    while moment <= last:
        found.append(moment)
        moment += step
    return found


def name(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def measure_of(items: list[dict[str, Any]], measure: str) -> int:
    return len(items) if measure == "events" else len({item["session_id"] for item in items})


def expected_trends(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    interval, measure = body["interval"], body.get("measure", "events")
    chosen = matching(events, body)
    groups: dict[str | None, list[dict[str, Any]]] = defaultdict(list)
    for item in chosen:
        groups[text_of(item, body["breakdown"]) if "breakdown" in body else None].append(item)
    if "breakdown" not in body:
        groups.setdefault(None, [])
    ranked = sorted(groups, key=lambda v: (-measure_of(groups[v], measure), v is None, v or ""))
    limit = body.get("limit", 10)
    series = [(value, groups[value]) for value in ranked[:limit]]
    if ranked[limit:]:
        series.append(("$other", [item for value in ranked[limit:] for item in groups[value]]))

    def points(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [
            {
                "t": name(b),
                "value": measure_of([i for i in items if bucket(time_of(i), interval) == b], measure),
            }
            for b in all_buckets(body)
        ]

    return {
        "kind": "trends",
        "interval": interval,
        "series": [
            {"breakdown": value, "total": measure_of(items, measure), "points": points(items)}
            for value, items in series
        ],
    }


def expected_top(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    measure, limit = body.get("measure", "events"), body.get("limit", 10)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in matching(events, body):
        value = text_of(item, body["field"])
        if value is not None:
            groups[value].append(item)
    ranked = sorted(groups, key=lambda v: (-measure_of(groups[v], measure), v))
    rest = [item for value in ranked[limit:] for item in groups[value]]
    return {
        "kind": "top",
        "field": body["field"],
        "items": [
            {
                "value": v,
                "events": measure_of(groups[v], "events"),
                "sessions": measure_of(groups[v], "sessions"),
            }
            for v in ranked[:limit]
        ],
        "other": {"events": measure_of(rest, "events"), "sessions": measure_of(rest, "sessions")},
    }


def microseconds(delta: timedelta) -> int:
    return delta // timedelta(microseconds=1)


def median_seconds(values: list[int]) -> float | None:
    return statistics.median(values) / 1_000_000 if values else None


def expected_sessions(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    start, end = bounds(body)
    scoped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in events:
        if in_scope(item, body, start, end):
            scoped[item["session_id"]].append(item)
    per_bucket: dict[datetime, list[tuple[int, int]]] = defaultdict(list)
    for items in scoped.values():
        hits = [i for i in items if all(holds(i, c) for c in body.get("where", []))]
        if not hits:
            continue
        times = [time_of(i) for i in items]
        first_hit = min(time_of(i) for i in hits)
        per_bucket[bucket(first_hit, body["interval"])].append(
            (microseconds(max(times) - min(times)), len(items))
        )
    points = []
    for b in all_buckets(body):
        sessions = per_bucket.get(b, [])
        points.append(
            {
                "t": name(b),
                "sessions": len(sessions),
                "bounce_rate": sum(1 for _, n in sessions if n == 1) / len(sessions) if sessions else None,
                "median_duration_seconds": median_seconds([d for d, _ in sessions]),
                "median_events": statistics.median([n for _, n in sessions]) if sessions else None,
            }
        )
    return {"kind": "sessions", "points": points}


def expected_funnel(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    """Every ordered choice of distinct events, tried: a session reaches step k when events
    e1 < … < ek (by timestamp, then event_id) match steps 1…k, e1 in [from, to), ek no later
    than window_seconds after e1."""
    start, end = bounds(body)
    window = timedelta(seconds=body.get("window_seconds", 1800))
    steps = body["steps"]
    usable = [
        item
        for item in events
        if (body.get("include_bots", False) or item["context"].get("bot") is not True)
        and all(holds(item, c) for c in body.get("where", []))
    ]
    by_session: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in usable:
        by_session[item["session_id"]].append(item)

    def matches(item: dict[str, Any], step: dict[str, Any]) -> bool:
        return (
            item["category"] == step["category"]
            and item["name"] == step["name"]
            and all(holds(item, c) for c in step.get("where", []))
        )

    reached = [0] * len(steps)
    shortest: list[int] = []
    for items in by_session.values():
        ordered = sorted(items, key=lambda i: (time_of(i), i["event_id"]))
        for k in range(1, len(steps) + 1):
            spans = [
                time_of(chosen[-1]) - time_of(chosen[0])
                for chosen in itertools.combinations(ordered, k)
                if all(matches(e, s) for e, s in zip(chosen, steps, strict=False))
                and start <= time_of(chosen[0]) < end
                and time_of(chosen[-1]) - time_of(chosen[0]) <= window
            ]
            if not spans:
                break
            reached[k - 1] += 1
            if k == len(steps):
                shortest.append(microseconds(min(spans)))
    return {
        "kind": "funnel",
        "steps": [
            {
                "category": step["category"],
                "name": step["name"],
                "sessions": reached[k],
                "conversion": reached[k] / reached[0] if reached[0] else 0.0,
                "from_previous": 1.0 if k == 0 else (reached[k] / reached[k - 1] if reached[k - 1] else 0.0),
            }
            for k, step in enumerate(steps)
        ],
        "median_seconds_to_convert": median_seconds(shortest),
    }


# ---- the properties ---------------------------------------------------------------------

PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(
    events=event_lists(),
    common=commons(),
    interval=st.sampled_from(["hour", "day", "week"]),
    measure=st.sampled_from([None, "events", "sessions"]),
    breakdown=st.sampled_from([None, *FIELDS]),
    limit=st.sampled_from([None, 1, 2, 10]),
)
def test_trends_match_the_contract(
    events: list[dict[str, Any]],
    common: dict[str, Any],
    interval: str,
    measure: str | None,
    breakdown: str | None,
    limit: int | None,
) -> None:
    body = {"kind": "trends", "interval": interval, **common}
    body |= {
        key: value
        for key, value in [("measure", measure), ("breakdown", breakdown), ("limit", limit)]
        if value
    }
    assert answer_insight(body, EventsTable(events), NOW) == expected_trends(events, body)


@PROPERTY
@given(
    events=event_lists(),
    common=commons(),
    field=st.sampled_from(FIELDS),
    measure=st.sampled_from([None, "events", "sessions"]),
    limit=st.sampled_from([None, 1, 2]),
)
def test_top_values_match_the_contract(
    events: list[dict[str, Any]], common: dict[str, Any], field: str, measure: str | None, limit: int | None
) -> None:
    body = {"kind": "top", "field": field, **common}
    body |= {key: value for key, value in [("measure", measure), ("limit", limit)] if value}
    assert answer_insight(body, EventsTable(events), NOW) == expected_top(events, body)


@PROPERTY
@given(events=event_lists(), common=commons(), interval=st.sampled_from(["hour", "day", "week"]))
def test_sessions_match_the_contract(
    events: list[dict[str, Any]], common: dict[str, Any], interval: str
) -> None:
    body = {"kind": "sessions", "interval": interval, **common}
    assert answer_insight(body, EventsTable(events), NOW) == expected_sessions(events, body)


@st.composite
def steps(draw: st.DrawFn) -> list[dict[str, Any]]:
    chosen = []
    for _ in range(draw(st.integers(2, 4))):
        category, name_ = draw(st.sampled_from(TYPES))
        step: dict[str, Any] = {"category": category, "name": name_}
        if draw(st.integers(0, 3)) == 0:
            step["where"] = [draw(conditions())]
        chosen.append(step)
    return chosen


@PROPERTY
@given(
    events=event_lists(),
    common=commons(),
    funnel_steps=steps(),
    window=st.sampled_from([None, 1, 60, 1800, 86400]),
)
def test_funnels_match_the_contract(
    events: list[dict[str, Any]],
    common: dict[str, Any],
    funnel_steps: list[dict[str, Any]],
    window: int | None,
) -> None:
    body = {"kind": "funnel", "steps": funnel_steps, **common}
    if window:
        body["window_seconds"] = window
    assert answer_insight(body, EventsTable(events), NOW) == expected_funnel(events, body)


@PROPERTY
@given(events=event_lists(), funnel_steps=steps(), window=st.sampled_from([1, 60, 1800, 86400]))
def test_funnel_sequences_match_the_contract(
    events: list[dict[str, Any]], funnel_steps: list[dict[str, Any]], window: int
) -> None:
    """The sequence rule alone: every event in range, bots included, no filters."""
    body = {
        "kind": "funnel",
        "steps": [{key: step[key] for key in ("category", "name")} for step in funnel_steps],
        "window_seconds": window,
        "from": "2026-12-01T00:00:00Z",
        "to": "2026-12-01T09:30:00Z",
        "include_bots": True,
    }
    assert answer_insight(body, EventsTable(events), NOW) == expected_funnel(events, body)
