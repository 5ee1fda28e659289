"""Insights, rule by rule (docs/API.md, "Insights"): each kind's answer on small hand-made
sessions, the filters, and every malformed request answered ``400 invalid_insight`` naming the
field. The SQL runs on DuckDB, translated from Athena's dialect as the local engine does."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlglot
from sqlglot import exp

from tests.insights import EventsTable, event
from theeye.analytics.insights import answer_insight, insight_sql, parse_insight
from theeye.errors import InvalidInsight

NOW = datetime(2026, 12, 20, 12, tzinfo=UTC)
DAY = {"from": "2026-12-01T00:00:00Z", "to": "2026-12-02T00:00:00Z"}


def at(hour: int, minute: int = 0, second: int = 0, microsecond: int = 0, day: int = 1) -> datetime:
    return datetime(2026, 12, day, hour, minute, second, microsecond)


def page(path: str | None = None, **context: Any) -> dict[str, Any]:
    return {**({"page": {"path": path}} if path else {}), **context}


def ask(events: list[dict[str, Any]], body: dict[str, Any]) -> dict[str, Any]:
    return answer_insight(body, EventsTable(events), NOW)


def points(series: dict[str, Any]) -> list[int]:
    return [point["value"] for point in series["points"]]


# ---- trends -------------------------------------------------------------------------------


def test_trends_list_every_bucket_with_zeros() -> None:
    events = [event("s1", "page", "view", at(10, 15)), event("s1", "page", "view", at(10, 59))]
    answer = ask(
        events,
        {"kind": "trends", "interval": "hour", "from": "2026-12-01T09:30:00Z", "to": "2026-12-01T12:00:00Z"},
    )
    assert answer["interval"] == "hour"
    (series,) = answer["series"]
    assert series["breakdown"] is None and series["total"] == 2
    assert series["points"] == [
        {"t": "2026-12-01T09:00:00Z", "value": 0},
        {"t": "2026-12-01T10:00:00Z", "value": 2},
        {"t": "2026-12-01T11:00:00Z", "value": 0},
    ]


def test_the_last_bucket_holds_the_last_instant_before_to() -> None:
    answer = ask(
        [],
        {
            "kind": "trends",
            "interval": "hour",
            "from": "2026-12-01T09:00:00Z",
            "to": "2026-12-01T11:00:00.000001Z",
        },
    )
    assert [p["t"] for p in answer["series"][0]["points"]] == [
        "2026-12-01T09:00:00Z",
        "2026-12-01T10:00:00Z",
        "2026-12-01T11:00:00Z",
    ]


def test_weeks_start_on_monday_utc() -> None:
    # 2026-12-06 is a Sunday, 2026-12-07 a Monday.
    events = [
        event("s1", "page", "view", at(23, 59, 59, 999999, day=6)),
        event("s1", "page", "view", at(0, day=7)),
    ]
    answer = ask(
        events,
        {"kind": "trends", "interval": "week", "from": "2026-12-02T00:00:00Z", "to": "2026-12-08T00:00:00Z"},
    )
    assert answer["series"][0]["points"] == [
        {"t": "2026-11-30T00:00:00Z", "value": 1},
        {"t": "2026-12-07T00:00:00Z", "value": 1},
    ]


def test_breakdown_series_by_total_then_value_with_the_rest_as_other_last() -> None:
    events = [
        *(event(f"s{i}", "page", "view", at(9), context=page("/b")) for i in range(3)),
        *(event(f"s{i}", "page", "view", at(10), context=page("/a")) for i in range(3)),
        *(event(f"s{i}", "page", "view", at(10), context=page("/c")) for i in range(2)),
        event("s9", "page", "view", at(11)),  # no page: the null breakdown
        *(event(f"s{i}", "page", "view", at(12), context=page("/d")) for i in range(4)),
    ]
    answer = ask(events, {"kind": "trends", "interval": "day", "breakdown": "page_path", "limit": 3, **DAY})
    assert [(s["breakdown"], s["total"]) for s in answer["series"]] == [
        ("/d", 4),
        ("/a", 3),
        ("/b", 3),
        ("$other", 3),  # /c (2) and the events without a page (1), summed
    ]
    assert points(answer["series"][-1]) == [3]


def test_a_breakdown_value_of_null_is_a_series_of_its_own() -> None:
    events = [event("s1", "page", "view", at(9)), event("s2", "page", "view", at(9), context=page("/a"))]
    answer = ask(events, {"kind": "trends", "breakdown": "page_path", **DAY})
    assert [(s["breakdown"], s["total"]) for s in answer["series"]] == [("/a", 1), (None, 1)]


def test_sessions_are_counted_once_per_bucket_and_once_in_the_total() -> None:
    events = [
        event("s1", "page", "view", at(9)),
        event("s1", "page", "view", at(9, 30)),
        event("s1", "page", "view", at(10)),
        event("s2", "page", "view", at(10)),
    ]
    answer = ask(
        events,
        {
            "kind": "trends",
            "interval": "hour",
            "measure": "sessions",
            "from": "2026-12-01T09:00:00Z",
            "to": "2026-12-01T11:00:00Z",
        },
    )
    (series,) = answer["series"]
    assert points(series) == [1, 2]
    assert series["total"] == 2


def test_sessions_of_other_count_each_session_once() -> None:
    events = [
        *(event(f"s{i}", "page", "view", at(9), context=page("/a")) for i in range(3)),
        event("x", "page", "view", at(9), context=page("/b")),
        event("x", "page", "view", at(9), context=page("/c")),
    ]
    answer = ask(
        events, {"kind": "trends", "measure": "sessions", "breakdown": "page_path", "limit": 1, **DAY}
    )
    assert [(s["breakdown"], s["total"], points(s)) for s in answer["series"]] == [
        ("/a", 3, [3]),
        ("$other", 1, [1]),
    ]


def test_trends_without_events_have_one_series_of_zeros_or_none_by_breakdown() -> None:
    body = {"kind": "trends", "interval": "day", "from": "2026-12-01T00:00:00Z", "to": "2026-12-03T00:00:00Z"}
    assert ask([], body)["series"] == [
        {
            "breakdown": None,
            "total": 0,
            "points": [{"t": "2026-12-01T00:00:00Z", "value": 0}, {"t": "2026-12-02T00:00:00Z", "value": 0}],
        }
    ]
    assert ask([], {**body, "breakdown": "country"})["series"] == []


def test_bots_are_left_out_unless_asked_for() -> None:
    events = [
        event("s1", "page", "view", at(9), context={"bot": True, "device": "bot"}),
        event("s2", "page", "view", at(9), context={"bot": False}),
        event("s3", "page", "view", at(9)),
    ]
    body = {"kind": "trends", **DAY}
    assert ask(events, body)["series"][0]["total"] == 2
    assert ask(events, {**body, "include_bots": True})["series"][0]["total"] == 3


def test_breakdown_by_a_data_path_and_by_bot() -> None:
    events = [
        event("s1", "shop", "buy", at(9), data={"plan": "pro"}),
        event("s2", "shop", "buy", at(9), data={"plan": 5}),
        event("s3", "shop", "buy", at(9), data={"plan": {"nested": True}}),  # no scalar: null
        event("s4", "shop", "buy", at(9), data={"plan": True}, context={"bot": True}),
    ]
    answer = ask(events, {"kind": "trends", "breakdown": "data.plan", "include_bots": True, **DAY})
    assert sorted((s["breakdown"] or "", s["total"]) for s in answer["series"]) == [
        ("", 1),
        ("5", 1),
        ("pro", 1),
        ("true", 1),
    ]
    answer = ask(events, {"kind": "trends", "breakdown": "bot", "include_bots": True, **DAY})
    assert [(s["breakdown"], s["total"]) for s in answer["series"]] == [(None, 3), ("true", 1)]


# ---- where ----------------------------------------------------------------------------------

FILTERED = [
    event(
        "s1",
        "page",
        "view",
        at(9),
        context=page("/pricing", country="US", browser={"family": "Chrome"}),
        data={"plan": "pro", "n": 5},
    ),
    event("s2", "page", "view", at(9), context=page("/about", country="FR"), data={"plan": "free", "n": 5.0}),
    event("s3", "form", "submit", at(9), data={"form": {"plan": "pro"}, "n": "7"}),
    event("s4", "page", "click", at(9), context={"bot": False}, data={"plan": None}),
]


@pytest.mark.parametrize(
    ("condition", "sessions"),
    [
        ({"field": "category", "op": "eq", "value": "page"}, ["s1", "s2", "s4"]),
        ({"field": "name", "op": "neq", "value": "view"}, ["s3", "s4"]),
        ({"field": "session_id", "op": "in", "value": ["s1", "s3", "nope"]}, ["s1", "s3"]),
        ({"field": "application_id", "op": "eq", "value": "web"}, ["s1", "s2", "s3", "s4"]),
        ({"field": "country", "op": "eq", "value": "US"}, ["s1"]),
        ({"field": "country", "op": "neq", "value": "US"}, ["s2", "s3", "s4"]),  # absent is not US
        ({"field": "country", "op": "not_in", "value": ["US", "FR"]}, ["s3", "s4"]),
        ({"field": "page_path", "op": "contains", "value": "pric"}, ["s1"]),
        ({"field": "browser", "op": "exists"}, ["s1"]),
        ({"field": "browser", "op": "exists", "value": False}, ["s2", "s3", "s4"]),
        ({"field": "bot", "op": "eq", "value": False}, ["s4"]),
        ({"field": "bot", "op": "exists"}, ["s4"]),
        ({"field": "data.plan", "op": "eq", "value": "pro"}, ["s1"]),
        ({"field": "data.plan", "op": "exists"}, ["s1", "s2"]),  # null is no value
        ({"field": "data.form.plan", "op": "in", "value": ["pro", "x"]}, ["s3"]),
        ({"field": "data.form", "op": "exists"}, []),  # an object is no value
        ({"field": "data.n", "op": "eq", "value": 5}, ["s1", "s2"]),  # 5 and 5.0 are one number
        ({"field": "data.n", "op": "in", "value": [7, "nope"]}, ["s3"]),  # "7" reads as 7
        ({"field": "data.n", "op": "contains", "value": "5"}, ["s1", "s2"]),
        ({"field": "data.plan", "op": "not_in", "value": ["pro"]}, ["s2", "s3", "s4"]),
    ],
)
def test_where_conditions(condition: dict[str, Any], sessions: list[str]) -> None:
    answer = ask(FILTERED, {"kind": "top", "field": "session_id", "where": [condition], **DAY})
    assert sorted(item["value"] for item in answer["items"]) == sessions


def test_every_condition_must_hold() -> None:
    where = [{"field": "category", "op": "eq", "value": "page"}, {"field": "data.n", "op": "eq", "value": 5}]
    answer = ask(FILTERED, {"kind": "top", "field": "session_id", "where": where, **DAY})
    assert [item["value"] for item in answer["items"]] == ["s1", "s2"]


def test_values_reach_the_sql_as_escaped_literals() -> None:
    hostile = "x' OR '1'='1"
    events = [event("s1", "page", "view", at(9), context=page(hostile)), event("s2", "page", "view", at(9))]
    answer = ask(
        events,
        {
            "kind": "top",
            "field": "session_id",
            "where": [{"field": "page_path", "op": "eq", "value": hostile}],
            **DAY,
        },
    )
    assert [item["value"] for item in answer["items"]] == ["s1"]
    statement = insight_sql(
        parse_insight(
            {
                "kind": "trends",
                "where": [{"field": "category", "op": "contains", "value": "a'; DROP TABLE events; --"}],
                **DAY,
            },
            NOW,
        )
    )
    (parsed,) = sqlglot.parse(statement, read="trino")
    assert isinstance(parsed, exp.Query) and not parsed.find(exp.Drop)


@pytest.mark.parametrize(
    "body",
    [
        {"kind": "trends", "breakdown": "page_path", "measure": "sessions", "interval": "week"},
        {
            "kind": "funnel",
            "steps": [{"category": "a", "name": "b"}] * 10,
            "where": [{"field": "data.x.y", "op": "exists"}],
        },
        {"kind": "top", "field": "bot"},
        {
            "kind": "sessions",
            "interval": "hour",
            "where": [{"field": "utm_source", "op": "in", "value": ["a", "b"]}],
        },
    ],
)
def test_each_insight_is_one_select_over_events(body: dict[str, Any]) -> None:
    (statement,) = sqlglot.parse(insight_sql(parse_insight({**body, **DAY}, NOW)), read="trino")
    assert isinstance(statement, exp.Query)
    named = {cte.alias for cte in statement.find_all(exp.CTE)}
    assert {table.name for table in statement.find_all(exp.Table)} - named == {"events"}
    assert not statement.find(exp.Insert, exp.Delete, exp.Drop, exp.Create, exp.Command)


# ---- funnel ---------------------------------------------------------------------------------

SIGNUP = [{"category": "page", "name": "view"}, {"category": "form", "name": "submit"}]


def funnel(events: list[dict[str, Any]], steps: list[dict[str, Any]] = SIGNUP, **more: Any) -> dict[str, Any]:
    return ask(events, {"kind": "funnel", "steps": steps, **DAY, **more})


def reached(answer: dict[str, Any]) -> list[int]:
    return [step["sessions"] for step in answer["steps"]]


def test_funnel_answer_shape_and_rates() -> None:
    events = [
        event("s1", "page", "view", at(9)),
        event("s1", "form", "submit", at(9, 1)),
        event("s2", "page", "view", at(9)),
        event("s3", "form", "submit", at(9)),  # no first step: in no step
    ]
    assert funnel(events) == {
        "kind": "funnel",
        "steps": [
            {"category": "page", "name": "view", "sessions": 2, "conversion": 1.0, "from_previous": 1.0},
            {"category": "form", "name": "submit", "sessions": 1, "conversion": 0.5, "from_previous": 0.5},
        ],
        "median_seconds_to_convert": 60.0,
    }


def test_steps_after_one_nobody_reached_convert_at_zero() -> None:
    three = [*SIGNUP, {"category": "shop", "name": "buy"}]
    answer = funnel([event("s1", "page", "view", at(9))], three)
    assert [(s["sessions"], s["conversion"], s["from_previous"]) for s in answer["steps"]] == [
        (1, 1.0, 1.0),
        (0, 0.0, 0.0),
        (0, 0.0, 0.0),
    ]
    assert answer["median_seconds_to_convert"] is None
    empty = funnel([], three)
    assert [(s["sessions"], s["conversion"], s["from_previous"]) for s in empty["steps"]] == [
        (0, 0.0, 1.0),
        (0, 0.0, 0.0),
        (0, 0.0, 0.0),
    ]


def test_steps_tied_in_time_follow_event_id() -> None:
    moment = at(9, 0, 0, 123456)
    before = [
        event("s1", "page", "view", moment, event_id="b"),
        event("s1", "form", "submit", moment, event_id="a"),
    ]
    after = [
        event("s2", "page", "view", moment, event_id="a"),
        event("s2", "form", "submit", moment, event_id="b"),
    ]
    assert reached(funnel(before)) == [1, 0]
    answer = funnel(after)
    assert reached(answer) == [1, 1] and answer["median_seconds_to_convert"] == 0.0


def test_a_repeated_step_needs_distinct_events() -> None:
    twice = [{"category": "page", "name": "view"}] * 2
    assert reached(funnel([event("s1", "page", "view", at(9))], twice)) == [1, 0]
    assert reached(
        funnel([event("s1", "page", "view", at(9)), event("s1", "page", "view", at(9))], twice)
    ) == [1, 1]


def test_steps_out_of_order_do_not_count() -> None:
    events = [event("s1", "form", "submit", at(9)), event("s1", "page", "view", at(9, 5))]
    assert reached(funnel(events)) == [1, 0]


def test_the_window_runs_from_the_first_step_and_a_later_start_may_fit() -> None:
    three = [*SIGNUP, {"category": "shop", "name": "buy"}]
    events = [
        event("s1", "page", "view", at(9)),
        event("s1", "form", "submit", at(9, 10)),
        event("s1", "shop", "buy", at(9, 30, 1)),  # 1801 s after the first view
    ]
    assert reached(funnel(events, three)) == [1, 1, 0]
    answer = funnel([*events, event("s1", "page", "view", at(9, 5))], three)
    assert reached(answer) == [1, 1, 1]
    assert answer["median_seconds_to_convert"] == 1501.0
    assert reached(funnel(events, three, window_seconds=1801)) == [1, 1, 1]


def test_the_median_takes_each_sessions_shortest_sequence() -> None:
    events = [
        event("s1", "page", "view", at(9)),
        event("s1", "page", "view", at(9, 0, 50)),
        event("s1", "form", "submit", at(9, 1)),  # 10 s after the later view
        event("s1", "form", "submit", at(9, 2)),
        event("s2", "page", "view", at(9)),
        event("s2", "form", "submit", at(9, 0, 30)),
    ]
    assert funnel(events)["median_seconds_to_convert"] == 20.0  # median of 10 and 30
    assert funnel(events[:4])["median_seconds_to_convert"] == 10.0


def test_the_first_step_must_fall_in_the_range_and_later_steps_may_follow_it() -> None:
    events = [
        event("s1", "page", "view", at(23, 59)),
        event("s1", "form", "submit", at(0, 5, day=2)),  # after `to`, within the window
        event("s2", "page", "view", at(0, 0, day=2)),  # first step after `to`
        event("s2", "form", "submit", at(0, 1, day=2)),
    ]
    answer = funnel(events)
    assert reached(answer) == [1, 1] and answer["median_seconds_to_convert"] == 360.0


def test_step_and_insight_conditions() -> None:
    steps = [
        {
            "category": "page",
            "name": "view",
            "where": [{"field": "page_path", "op": "eq", "value": "/pricing"}],
        },
        SIGNUP[1],
    ]
    events = [
        event("s1", "page", "view", at(9), context=page("/about")),
        event("s1", "form", "submit", at(9, 1)),
        event("s2", "page", "view", at(9), context=page("/pricing", country="FR")),
        event("s2", "form", "submit", at(9, 1), context={"country": "FR"}),
    ]
    assert reached(funnel(events, steps)) == [1, 1]
    assert reached(funnel(events, steps, where=[{"field": "country", "op": "eq", "value": "FR"}])) == [1, 1]
    assert reached(funnel(events, steps, where=[{"field": "country", "op": "neq", "value": "FR"}])) == [0, 0]


# ---- top ------------------------------------------------------------------------------------


def test_top_values_ordered_by_the_measure_then_value_with_other() -> None:
    events = [
        *(event("s1", "page", "view", at(9), context=page("/a")) for _ in range(3)),
        event("s2", "page", "view", at(9), context=page("/b")),
        event("s3", "page", "view", at(9), context=page("/b")),
        event("s4", "page", "view", at(9), context=page("/c")),
        event("s4", "page", "view", at(9), context=page("/d")),
        event("s5", "page", "view", at(9)),  # no page: not counted
    ]
    body = {"kind": "top", "field": "page_path", "limit": 2, **DAY}
    assert ask(events, body) == {
        "kind": "top",
        "field": "page_path",
        "items": [{"value": "/a", "events": 3, "sessions": 1}, {"value": "/b", "events": 2, "sessions": 2}],
        "other": {"events": 2, "sessions": 1},
    }
    by_sessions = ask(events, {**body, "measure": "sessions"})
    assert [item["value"] for item in by_sessions["items"]] == ["/b", "/a"]
    assert by_sessions["other"] == {"events": 2, "sessions": 1}


def test_top_has_an_empty_other_when_every_value_is_listed() -> None:
    answer = ask([event("s1", "page", "view", at(9))], {"kind": "top", "field": "category", **DAY})
    assert answer["items"] == [{"value": "page", "events": 1, "sessions": 1}]
    assert answer["other"] == {"events": 0, "sessions": 0}


# ---- sessions -------------------------------------------------------------------------------


def test_sessions_by_the_bucket_of_their_first_matching_event() -> None:
    events = [
        # s1: three events, 10 min; its first matching event (a view) is in the second hour.
        event("s1", "form", "submit", at(9, 55)),
        event("s1", "page", "view", at(10, 1)),
        event("s1", "form", "submit", at(10, 5)),
        # s2: one event, a bounce.
        event("s2", "page", "view", at(10, 30)),
        # s3: no matching event.
        event("s3", "form", "submit", at(9)),
        # s4: events before `from` are not its events.
        event("s4", "page", "view", at(8, 59)),
        event("s4", "page", "view", at(9, 0, 30)),
        event("s4", "page", "view", at(9, 0, 40)),
    ]
    answer = ask(
        events,
        {
            "kind": "sessions",
            "interval": "hour",
            "from": "2026-12-01T09:00:00Z",
            "to": "2026-12-01T12:00:00Z",
            "where": [{"field": "name", "op": "eq", "value": "view"}],
        },
    )
    assert answer == {
        "kind": "sessions",
        "points": [
            {
                "t": "2026-12-01T09:00:00Z",
                "sessions": 1,
                "bounce_rate": 0.0,
                "median_duration_seconds": 10.0,
                "median_events": 2.0,
            },
            {
                "t": "2026-12-01T10:00:00Z",
                "sessions": 2,
                "bounce_rate": 0.5,
                "median_duration_seconds": 300.0,
                "median_events": 2.0,
            },
            {
                "t": "2026-12-01T11:00:00Z",
                "sessions": 0,
                "bounce_rate": None,
                "median_duration_seconds": None,
                "median_events": None,
            },
        ],
    }


def test_session_durations_keep_microseconds() -> None:
    events = [event("s1", "page", "view", at(9)), event("s1", "page", "view", at(9, 0, 0, 1))]
    (point,) = ask(events, {"kind": "sessions", **DAY})["points"]
    assert point["median_duration_seconds"] == 0.000001


STEP = {"category": "page", "name": "view"}


# ---- the range ------------------------------------------------------------------------------


def test_the_default_range_is_the_last_seven_days() -> None:
    insight = parse_insight({"kind": "sessions"}, NOW)
    assert (insight.start, insight.end) == (datetime(2026, 12, 13, 12), datetime(2026, 12, 20, 12))
    insight = parse_insight({"kind": "sessions", "to": "2026-12-10T00:00:00+01:00"}, NOW)
    assert (insight.start, insight.end) == (datetime(2026, 12, 2, 23), datetime(2026, 12, 9, 23))
    insight = parse_insight({"kind": "sessions", "from": "2026-12-19 00:00:00"}, NOW)
    assert (insight.start, insight.end) == (datetime(2026, 12, 19), datetime(2026, 12, 20, 12))


def test_an_insight_read_again_from_its_body_is_the_same() -> None:
    body = {
        "kind": "funnel",
        "steps": [STEP, {**STEP, "where": [{"field": "bot", "op": "exists"}]}],
        "window_seconds": 60,
    }
    insight = parse_insight(body, NOW)
    again = parse_insight(insight.body(), NOW + timedelta(days=30))
    assert (again.start, again.end) == (insight.start, insight.end)
    assert insight_sql(again) == insight_sql(insight)


# ---- malformed requests ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({}, "kind"),
        ({"kind": "pie"}, "kind"),
        ({"kind": "trends", "from": "yesterday"}, "from"),
        ({"kind": "trends", "to": 5}, "to"),
        ({"kind": "trends", "from": "2026-12-02T00:00:00Z", "to": "2026-12-01T00:00:00Z"}, "from"),
        ({"kind": "trends", "from": "2027-01-01T00:00:00Z"}, "from"),
        ({"kind": "trends", "interval": "minute"}, "interval"),
        ({"kind": "trends", "interval": "hour", "from": "2020-01-01T00:00:00Z"}, "interval"),
        ({"kind": "trends", "measure": "users"}, "measure"),
        ({"kind": "trends", "breakdown": "event_time"}, "breakdown"),
        ({"kind": "trends", "breakdown": "data"}, "breakdown"),
        ({"kind": "trends", "limit": 0}, "limit"),
        ({"kind": "trends", "limit": "5"}, "limit"),
        ({"kind": "trends", "include_bots": "yes"}, "include_bots"),
        ({"kind": "trends", "colour": "red"}, "colour"),
        ({"kind": "trends", "where": {"field": "category"}}, "where"),
        ({"kind": "trends", "where": [{"field": "category", "op": "eq", "value": "a"}] * 21}, "where"),
        ({"kind": "trends", "where": [{"op": "eq", "value": "a"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "received_at", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "data.", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "data.a..b", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "data.1a", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "data.a-b", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "data.a') OR true --", "op": "exists"}]}, "where[0].field"),
        ({"kind": "trends", "where": [{"field": "category", "op": "like", "value": "a"}]}, "where[0].op"),
        ({"kind": "trends", "where": [{"field": "category", "op": "eq"}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "category", "op": "eq", "value": 5}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "category", "op": "eq", "value": ["a"]}]}, "where[0].value"),
        (
            {"kind": "trends", "where": [{"field": "category", "op": "eq", "value": "x" * 2049}]},
            "where[0].value",
        ),
        ({"kind": "trends", "where": [{"field": "bot", "op": "eq", "value": "true"}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "bot", "op": "contains", "value": "t"}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "eq", "value": None}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "eq", "value": {"b": 1}}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "in", "value": "a"}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "in", "value": []}]}, "where[0].value"),
        (
            {"kind": "trends", "where": [{"field": "data.a", "op": "not_in", "value": ["a"] * 101}]},
            "where[0].value",
        ),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "contains", "value": 5}]}, "where[0].value"),
        ({"kind": "trends", "where": [{"field": "data.a", "op": "contains", "value": ""}]}, "where[0].value"),
        (
            {"kind": "trends", "where": [{"field": "data.a", "op": "exists", "value": "yes"}]},
            "where[0].value",
        ),
        ({"kind": "trends", "where": [{"field": "page_path", "op": "exists", "extra": 1}]}, "where[0].extra"),
        ({"kind": "funnel", "steps": [STEP]}, "steps"),
        ({"kind": "funnel", "steps": [STEP] * 11}, "steps"),
        ({"kind": "funnel"}, "steps"),
        ({"kind": "funnel", "steps": [STEP, {"name": "view"}]}, "steps[1].category"),
        ({"kind": "funnel", "steps": [STEP, {"category": "", "name": "view"}]}, "steps[1].category"),
        ({"kind": "funnel", "steps": [STEP, STEP, {"category": "a", "name": 3}]}, "steps[2].name"),
        (
            {"kind": "funnel", "steps": [STEP, {**STEP, "where": [{"field": "nope", "op": "exists"}]}]},
            "steps[1].where[0].field",
        ),
        ({"kind": "funnel", "steps": [STEP, STEP], "window_seconds": 0}, "window_seconds"),
        ({"kind": "funnel", "steps": [STEP, STEP], "window_seconds": 366 * 86400 + 1}, "window_seconds"),
        ({"kind": "funnel", "steps": [STEP, STEP], "interval": "day"}, "interval"),
        ({"kind": "top"}, "field"),
        ({"kind": "top", "field": "colour"}, "field"),
        ({"kind": "top", "field": "page_path", "limit": 101}, "limit"),
        ({"kind": "top", "field": "page_path", "measure": "users"}, "measure"),
        ({"kind": "sessions", "interval": "month"}, "interval"),
        ({"kind": "sessions", "breakdown": "country"}, "breakdown"),
    ],
)
def test_a_malformed_request_is_invalid_insight_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(InvalidInsight) as raised:
        parse_insight(body, NOW)
    error = raised.value
    assert (error.status, error.code) == (400, "invalid_insight")
    assert field in [detail["field"] for detail in error.details]
    assert f"'{error.details[0]['field']}'" in error.message
