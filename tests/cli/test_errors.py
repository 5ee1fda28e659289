"""theeye errors: list (newest first, filters, paging over shards and days), show, stats."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.cli.conftest import Cli, moto_only


@pytest.fixture
def recorded(cli: Cli) -> dict[str, list[str]]:
    """Errors of several types, sources and applications; one of them three days old."""
    ids: dict[str, list[str]] = {"schema_violation": [], "invalid_envelope": [], "future_timestamp": []}
    for minutes in (1, 30, 600):
        ids["schema_violation"].append(
            cli.record_error("schema_violation", application_id="shop", age=timedelta(minutes=minutes))
        )
    for minutes in (5, 20 * 60):
        ids["invalid_envelope"].append(
            cli.record_error(
                "invalid_envelope", application_id="blog", source="ingest", age=timedelta(minutes=minutes)
            )
        )
    ids["future_timestamp"].append(cli.record_error("future_timestamp", age=timedelta(days=3)))
    return ids


def test_list_is_newest_first_over_the_last_24_hours_by_default(
    cli: Cli, recorded: dict[str, list[str]]
) -> None:
    result = cli.run("--json", "errors", "list")
    assert result.code == 0, result.err
    views = result.json()
    times = [v["received_at"] for v in views]
    assert times == sorted(times, reverse=True)
    assert len(views) == 5
    assert recorded["future_timestamp"][0] not in [v["error_id"] for v in views]
    assert views[0]["error_id"] == recorded["schema_violation"][0]
    assert views[0]["details"] == [{"field": "data.path", "message": "is required"}]

    week = cli.run("--json", "errors", "list", "--since", "7d").json()
    assert len(week) == 6


def test_list_filters_by_type_source_and_application(cli: Cli, recorded: dict[str, list[str]]) -> None:
    by_type = cli.run("--json", "errors", "list", "--type", "schema_violation").json()
    assert [v["error_id"] for v in by_type] == recorded["schema_violation"]
    by_source = cli.run("--json", "errors", "list", "--source", "ingest").json()
    assert [v["error_id"] for v in by_source] == recorded["invalid_envelope"]
    by_app = cli.run("--json", "errors", "list", "--app", "blog", "--type", "invalid_envelope").json()
    assert [v["error_id"] for v in by_app] == recorded["invalid_envelope"]
    assert cli.run("--json", "errors", "list", "--app", "nobody").json() == []


def test_list_limits_and_pages_across_shards(cli: Cli) -> None:
    ids = [cli.record_error("schema_violation", age=timedelta(seconds=10 * n)) for n in range(1, 41)]
    result = cli.run("--json", "errors", "list", "--limit", "25")
    assert [v["error_id"] for v in result.json()] == ids[:25]  # ids[0] is the newest


def test_list_as_a_table(cli: Cli, recorded: dict[str, list[str]]) -> None:
    result = cli.run("errors", "list", "--limit", "2")
    assert result.code == 0
    lines = result.out.splitlines()
    assert lines[0].split()[:4] == ["RECEIVED", "ERROR", "ID", "TYPE"]
    assert len(lines) == 4  # header, rule, two errors
    assert recorded["schema_violation"][0] in lines[2]
    assert "data.path: is required" in lines[2]
    empty = cli.run("errors", "list", "--type", "event_id_conflict")
    assert empty.out.startswith("No errors between ")


def test_show_prints_details_and_payload(cli: Cli) -> None:
    error_id = cli.record_error(
        "schema_violation",
        details=[
            {"field": "data.form.first_name", "message": "must be a string"},
            {"field": "data.form.email", "message": "is required"},
        ],
        payload={"name": "form submitted", "data": {"form": {"first_name": 7}}},
    )
    result = cli.run("errors", "show", error_id)
    assert result.code == 0, result.err
    assert "data.form.first_name" in result.out
    assert "data.form.email" in result.out
    assert '"first_name": 7' in result.out
    assert "key-0123456789abcdef" in result.out

    view = cli.run("--json", "errors", "show", error_id).json()
    assert view["payload"] == {"name": "form submitted", "data": {"form": {"first_name": 7}}}
    assert view["type"] == "schema_violation"
    assert len(view["details"]) == 2


def test_show_an_unknown_error_fails_with_one_line(cli: Cli) -> None:
    result = cli.run("errors", "show", "err-nope")
    assert (result.code, result.out, result.err) == (1, "", "theeye: no error with id err-nope\n")


def test_stats_count_by_type_and_application_over_the_window(
    cli: Cli, recorded: dict[str, list[str]]
) -> None:
    day = cli.run("--json", "errors", "stats").json()
    assert day["total"] == 5
    assert day["by_type"] == {"schema_violation": 3, "invalid_envelope": 2}
    assert day["by_application"] == {"shop": 3, "blog": 2}
    assert day["by_type_and_application"] == [
        {"type": "schema_violation", "application_id": "shop", "count": 3},
        {"type": "invalid_envelope", "application_id": "blog", "count": 2},
    ]
    week = cli.run("--json", "errors", "stats", "--since", "7d").json()
    assert week["total"] == 6
    assert week["by_type"]["future_timestamp"] == 1

    table = cli.run("errors", "stats", "--since", "1h")
    assert table.code == 0
    assert table.out.splitlines()[0].endswith(": 3")  # those 1, 5 and 30 minutes old
    assert "schema_violation" in table.out
    assert "blog" in table.out


@moto_only  # the SQLite backend's plans: tests/contract/test_sqlite_plans.py
def test_stats_read_indexes_not_a_scan(cli: Cli, recorded: dict[str, list[str]]) -> None:
    calls: list[str] = []
    client = cli.target.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    assert cli.run("errors", "stats", "--since", "2d").code == 0
    assert set(calls) == {"Query"}


def test_a_malformed_since_is_a_usage_error(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_info:
        cli.run("errors", "list", "--since", "yesterday-ish")
    assert exit_info.value.code == 2
    assert "give an age such as 30m" in capsys.readouterr().err
