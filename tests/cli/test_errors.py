"""theeye errors: list (newest first, filters, paging over shards and days), show, stats, reshard."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.cli.conftest import TEMPLATE_INDEX_SHARDS, Cli, MotoCli, moto_only
from theeye.aws.errors import DynamoErrorStore
from theeye.aws.layout import shard_of
from theeye.clock import format_timestamp
from theeye.records import ErrorRecord, derive_error_id
from theeye_cli.__main__ import main


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


# -- reshard: errors of the old 16-shard layout -------------------------------------------------------


def old_layout_errors(cli: MotoCli, count: int = 24) -> tuple[list[str], set[str]]:
    """Errors of the last three days as a processor before c5cb221 recorded them (IndexShards, 16,
    ByTime shards), newest first; and the ids of those in shards 4 to 15, which the reader skips."""
    store = DynamoErrorStore(
        cli.target.errors_table, 30, shards=TEMPLATE_INDEX_SHARDS, client=cli.session.client("dynamodb")
    )
    now = datetime.now(UTC)
    records = []
    for n in range(count):
        received = format_timestamp(now - timedelta(hours=3 * n + 1))
        records.append(
            ErrorRecord(
                error_id=derive_error_id("schema_violation", received, str(n)),
                type="schema_violation",
                source="processor",
                application_id="shop",
                received_at=received,
                event_id=f"ev-{n:08x}",
                details=[{"field": "data.path", "message": "is required"}],
                payload={"n": n},
            )
        )
    assert all(store.put_all(records))
    ids = [r.error_id for r in records]
    return ids, {i for i in ids if shard_of(i, TEMPLATE_INDEX_SHARDS) >= 4}


def listed_ids(cli: Cli) -> list[str]:
    return [
        v["error_id"] for v in cli.run("--json", "errors", "list", "--since", "7d", "--limit", "1000").json()
    ]


@moto_only
def test_reshard_moves_the_old_layout_to_where_list_reads_and_a_rerun_moves_nothing(cli: MotoCli) -> None:
    ids, hidden = old_layout_errors(cli)
    assert hidden and listed_ids(cli) == [i for i in ids if i not in hidden]

    dry = cli.run("--json", "errors", "reshard", "--dry-run", "--days", "7").json()
    assert (dry["found"], dry["moved"], dry["dry_run"]) == (len(hidden), 0, True)
    assert len(listed_ids(cli)) == len(ids) - len(hidden)

    calls: list[str] = []
    client = cli.target.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.*", lambda model, **_: calls.append(model.name))
    result = cli.run("--json", "errors", "reshard")
    assert result.code == 0, result.err
    view = result.json()
    assert view["applies"] and view["table"] == cli.target.errors_table
    assert (view["found"], view["moved"], view["already_there"], view["gone"]) == (
        len(hidden),
        len(hidden),
        0,
        0,
    )
    assert (view["first_day"], view["last_day"]) == (
        (
            datetime.now(UTC).date() - timedelta(days=37)
        ).isoformat(),  # ErrorRetentionDays (30) + 7 days of TTL lag
        datetime.now(UTC).date().isoformat(),
    )
    assert view["partitions"] == 38 * 60
    assert set(calls) == {"Query", "UpdateItem"}  # never a Scan, never a delete
    assert listed_ids(cli) == ids

    again = cli.run("errors", "reshard", "--days", "7")
    assert again.code == 0, again.err
    lines = again.out.splitlines()
    assert lines[0].endswith(": 480 old ByTime partitions queried.")  # 8 days x shards 4 to 63
    assert [line.split(":")[0] for line in lines[1:]] == [
        "found in old shards",
        "moved",
        "already there",
        "gone",
    ]
    assert [line.split()[-1] for line in lines[1:]] == ["0", "0", "0", "0"]
    assert listed_ids(cli) == ids


@moto_only
def test_an_interrupted_reshard_says_so_and_a_rerun_finishes(cli: MotoCli) -> None:
    ids, hidden = old_layout_errors(cli)
    writes = [0]

    def throttle_after_three(**_: Any) -> None:
        writes[0] += 1
        if writes[0] > 3:
            error = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": "slow down"}}
            raise ClientError(error, "UpdateItem")

    client = cli.target.client("dynamodb")
    client.meta.events.register("before-call.dynamodb.UpdateItem", throttle_after_three)
    stopped = cli.run("errors", "reshard", "--days", "7")
    assert stopped.code == 1
    assert stopped.err.startswith("theeye: reshard stopped: ")
    assert "after moving 3 of the 4 error(s) found so far" in stopped.err
    assert "run it again to finish" in stopped.err
    assert len(listed_ids(cli)) == len(ids) - len(hidden) + 3

    client.meta.events.unregister("before-call.dynamodb.UpdateItem", throttle_after_three)
    rest = cli.run("--json", "errors", "reshard", "--days", "7").json()
    assert (rest["found"], rest["moved"]) == (len(hidden) - 3, len(hidden) - 3)
    assert listed_ids(cli) == ids


@moto_only
def test_reshard_on_a_stack_looks_back_over_its_error_retention(
    cli: MotoCli, capsys: pytest.CaptureFixture[str]
) -> None:
    outputs = {
        "EventsTableName": cli.target.events_table,
        "ErrorsTableName": cli.target.errors_table,
        "ApiKeysTableName": cli.target.keys_table,
        "CountersTableName": cli.target.counters_table,
        "QueueUrl": cli.target.queue_url,
        "DeadLetterQueueUrl": cli.target.dlq_url,
    }
    template = {
        "Parameters": {"ErrorRetentionDays": {"Type": "Number", "Default": 30}},
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {name: {"Value": value} for name, value in outputs.items()},
    }
    cli.session.client("cloudformation").create_stack(
        StackName="the-eye",
        TemplateBody=json.dumps(template),
        Parameters=[{"ParameterKey": "ErrorRetentionDays", "ParameterValue": "5"}],
    )
    ids, hidden = old_layout_errors(cli, 8)
    code = main(["--stack", "the-eye", "--region", "us-east-1", "--json", "errors", "reshard"])
    view = json.loads(capsys.readouterr().out)
    assert code == 0
    assert view["first_day"] == (datetime.now(UTC).date() - timedelta(days=5 + 7)).isoformat()
    assert (view["found"], view["moved"]) == (len(hidden), len(hidden))
    assert listed_ids(cli) == ids


@pytest.mark.parametrize("cli", ["embedded"], indirect=True)
def test_reshard_on_the_embedded_backend_says_it_has_no_shards(cli: Cli) -> None:
    cli.record_error("schema_violation")
    result = cli.run("errors", "reshard")
    assert (result.code, result.err) == (0, "")
    assert result.out == (
        "Nothing to do: the embedded (SQLite) backend keeps errors in one table without shards: "
        "nothing to reshard.\n"
    )
    assert cli.run("--json", "errors", "reshard").json() == {
        "applies": False,
        "reason": "the embedded (SQLite) backend keeps errors in one table without shards: nothing to reshard",
    }
