"""Target selection: --local reads the state file of `make run` (moto or the embedded SQLite
backend), --stack the stack's outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import (
    EMBEDDED_DLQ_URL,
    EMBEDDED_QUEUE_URL,
    MotoCli,
    embedded_state,
    make_embedded_stack,
    message_body,
    moto_only,
    no_network,
    state_of,
)
from theeye.clock import format_timestamp
from theeye.ledger import IntakeTally, message_key
from theeye.records import ErrorRecord
from theeye.sqlite.backend import SqliteBackend
from theeye_cli.__main__ import main
from theeye_cli.target import MAX_INDEX_SHARDS, TargetError, local_target, stack_target
from theeye_local.sqlite_sqs import SqliteSqs

REFS = {
    "EventsTable": "t-events",
    "ErrorsTable": "t-errors",
    "ApiKeysTable": "t-keys",
    "CountersTable": "t-counters",
    "EventsQueue": "http://127.0.0.1:9/000000000000/events",
    "DeadLetterQueue": "http://127.0.0.1:9/000000000000/dlq",
}


def write_state(path: Path, **extra: object) -> Path:
    path.write_text(json.dumps(state_of(REFS, aws_endpoint="http://127.0.0.1:9", **extra)))
    return path


def dead_pid() -> int:
    child = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, check=True
    )
    return int(child.stdout)


def run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_the_local_target_comes_from_the_state_file_with_dummy_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AWS_PROFILE", "a-profile-that-does-not-exist")
    target = local_target(
        write_state(tmp_path / "local.json", pid=os.getpid(), api_url="http://127.0.0.1:3000")
    )
    assert (target.events_table, target.errors_table, target.keys_table, target.counters_table) == (
        "t-events",
        "t-errors",
        "t-keys",
        "t-counters",
    )
    assert (target.queue_url, target.dlq_url) == (REFS["EventsQueue"], REFS["DeadLetterQueue"])
    assert target.local and not target.supports_message_move_task
    assert target.index_shards == MAX_INDEX_SHARDS
    sqs = target.client("sqs")  # no profile lookup, so no ProfileNotFound
    assert sqs.meta.endpoint_url == "http://127.0.0.1:9"
    assert sqs._request_signer._credentials.access_key.startswith("AKIALOCAL")


def test_theeye_state_file_is_the_default_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("THEEYE_STATE_FILE", str(write_state(tmp_path / "elsewhere.json")))
    assert local_target().keys_table == "t-keys"


def test_a_missing_state_file_is_one_line_and_exit_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(["--local", "--state", str(tmp_path / "none.json"), "status"], capsys)
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1
    assert "no local stack state at" in err
    assert "make run" in err


def test_a_stopped_local_stack_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = write_state(tmp_path / "local.json", pid=dead_pid())
    code, _, err = run(["keys", "list", "--local", "--state", str(state)], capsys)
    assert code == 1
    assert "is not running" in err


def test_a_state_file_that_is_not_one_is_reported(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"tables": {}, "aws_endpoint": "http://127.0.0.1:9"}')
    with pytest.raises(TargetError, match="lacks EventsTable"):
        local_target(tmp_path / "bad.json")
    (tmp_path / "worse.json").write_text("[1, 2")
    with pytest.raises(TargetError, match="cannot read"):
        local_target(tmp_path / "worse.json")


def test_a_target_is_required_and_only_one(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(["status"], capsys)
    assert code == 2
    assert "choose a target" in err
    code, _, err = run(["--local", "--stack", "prod", "status"], capsys)
    assert code == 2
    assert "choose one target" in err


def test_an_unreachable_endpoint_is_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = write_state(tmp_path / "local.json", pid=os.getpid())
    code, _, err = run(["--local", "--state", str(state), "keys", "list"], capsys)
    assert code == 1
    assert err.count("\n") == 1
    assert err.startswith("theeye: ")
    assert "Traceback" not in err


STACK_TEMPLATE = {
    "Parameters": {"IndexShards": {"Type": "Number", "Default": 16}},
    "Resources": {"Queue": {"Type": "AWS::SQS::Queue", "Properties": {"QueueName": "the-eye-events"}}},
    "Outputs": {
        "EventsTableName": {"Value": "prod-events"},
        "ErrorsTableName": {"Value": "prod-errors"},
        "ApiKeysTableName": {"Value": "prod-keys"},
        "CountersTableName": {"Value": "prod-counters"},
        "QueueUrl": {"Value": {"Ref": "Queue"}},
        "DeadLetterQueueUrl": {"Value": "https://sqs.us-east-1.amazonaws.com/123456789012/dlq"},
        "QueueArn": {"Value": {"Fn::GetAtt": ["Queue", "Arn"]}},
        "DeadLetterQueueArn": {"Value": "arn:aws:sqs:us-east-1:123456789012:dlq"},
        "ApiUrl": {"Value": "https://abc.execute-api.us-east-1.amazonaws.com"},
    },
}


@moto_only
def test_the_stack_target_comes_from_the_stack_outputs(cli: MotoCli) -> None:
    cloudformation = cli.session.client("cloudformation")
    cloudformation.create_stack(
        StackName="the-eye",
        TemplateBody=json.dumps(STACK_TEMPLATE),
        Parameters=[{"ParameterKey": "IndexShards", "ParameterValue": "32"}],
    )
    target = stack_target("the-eye", "us-east-1")
    assert (target.events_table, target.keys_table, target.counters_table) == (
        "prod-events",
        "prod-keys",
        "prod-counters",
    )
    assert target.queue_url.endswith("/the-eye-events")
    assert target.dlq_arn == "arn:aws:sqs:us-east-1:123456789012:dlq"
    assert target.queue_arn is not None and target.queue_arn.endswith(":the-eye-events")
    assert target.index_shards == 32
    assert not target.local and target.supports_message_move_task
    assert target.endpoint_url is None


@moto_only
def test_an_unknown_stack_or_one_without_the_outputs_is_one_line(
    cli: MotoCli, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(["--stack", "nope", "--region", "us-east-1", "status"], capsys)
    assert code == 1
    assert err.count("\n") == 1
    assert "cannot read stack 'nope'" in err

    bare = {"Resources": STACK_TEMPLATE["Resources"], "Outputs": {"QueueUrl": {"Value": {"Ref": "Queue"}}}}
    cli.session.client("cloudformation").create_stack(StackName="other", TemplateBody=json.dumps(bare))
    code, _, err = run(["--stack", "other", "--region", "us-east-1", "status"], capsys)
    assert code == 1
    assert "lacks the output(s) EventsTableName" in err


# -- the local stack on its embedded backend (one SQLite file) ----------------------------------------


def test_the_embedded_local_target_reads_the_sqlite_file_the_state_names(tmp_path: Path) -> None:
    state, _ = make_embedded_stack(tmp_path)
    target = local_target(state)
    assert target.embedded and target.local and not target.supports_message_move_task
    assert target.database == tmp_path / "data" / "theeye.db"
    assert (target.queue_url, target.dlq_url) == (EMBEDDED_QUEUE_URL, EMBEDDED_DLQ_URL)
    assert (target.visibility_timeout, target.max_receive_count, target.error_retention_days) == (180, 5, 30)
    assert target.session is None and target.endpoint_url is None  # no AWS at all
    assert target.api_url == "http://127.0.0.1:9"
    backend = target.backend()
    assert isinstance(backend, SqliteBackend)
    assert backend.db.path == target.database
    assert isinstance(target.client("sqs"), SqliteSqs)
    assert target.client("sqs") is target.client("sqs")


def test_the_embedded_target_shares_one_file_between_the_backend_and_the_sqs_facade(tmp_path: Path) -> None:
    state, pipeline = make_embedded_stack(tmp_path)
    target = local_target(state)
    pipeline.dead_letter_queue().send_body("a dead letter")
    assert target.backend().dead_letter_queue().depth() == {"messages": 1, "in_flight": 0}
    got = target.client("sqs").receive_message(QueueUrl=target.dlq_url, VisibilityTimeout=60)["Messages"]
    assert [m["Body"] for m in got] == ["a dead letter"]
    assert pipeline.dead_letter_queue().depth() == {"messages": 0, "in_flight": 1}


@pytest.mark.parametrize("service", ["cloudwatch", "dynamodb", "cloudformation"])
def test_an_embedded_target_has_no_other_aws_service(tmp_path: Path, service: str) -> None:
    target = local_target(make_embedded_stack(tmp_path)[0])
    with pytest.raises(TargetError, match=f"embedded \\(SQLite\\) backend, which has no '{service}'"):
        target.client(service)
    with pytest.raises(TargetError, match="no ARN"):
        target.queue_arns()


def test_an_explicit_moto_backend_reads_like_a_state_file_without_one(tmp_path: Path) -> None:
    target = local_target(write_state(tmp_path / "local.json", backend="moto"))
    assert not target.embedded and target.database is None
    assert target.session is not None
    assert target.client("sqs").meta.endpoint_url == "http://127.0.0.1:9"
    assert not local_target(write_state(tmp_path / "old.json")).embedded


def test_an_embedded_state_file_without_a_database_is_reported(tmp_path: Path) -> None:
    state, _ = make_embedded_stack(tmp_path)
    content = json.loads(state.read_text())
    del content["database"]
    state.write_text(json.dumps(content))
    with pytest.raises(TargetError, match="lacks database"):
        local_target(state)


def test_a_database_that_does_not_exist_is_reported_not_created(tmp_path: Path) -> None:
    missing = tmp_path / "gone" / "theeye.db"
    state = tmp_path / "local.json"
    state.write_text(json.dumps(embedded_state(missing, pid=os.getpid())))
    with pytest.raises(TargetError, match="does not exist"):
        local_target(state)
    assert not missing.parent.exists()


def test_an_unknown_backend_or_a_malformed_setting_is_reported(tmp_path: Path) -> None:
    state, _ = make_embedded_stack(tmp_path)
    content = json.loads(state.read_text())
    state.write_text(json.dumps({**content, "backend": "dynamodb-local"}))
    with pytest.raises(TargetError, match="unknown backend 'dynamodb-local'"):
        local_target(state)
    state.write_text(json.dumps({**content, "visibility_timeout": "soon"}))
    with pytest.raises(TargetError, match="'visibility_timeout' is not a whole number"):
        local_target(state)
    for name in ("visibility_timeout", "max_receive_count", "error_retention_days"):
        content.pop(name)
    state.write_text(json.dumps(content))
    target = local_target(state)
    assert (target.visibility_timeout, target.max_receive_count, target.error_retention_days) == (30, 5, 30)


def test_a_stopped_embedded_stack_is_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state, _ = make_embedded_stack(tmp_path, pid=dead_pid())
    code, _, err = run(["keys", "list", "--local", "--state", str(state)], capsys)
    assert code == 1
    assert "is not running" in err


def test_every_command_runs_on_the_embedded_backend_without_the_network(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    state, pipeline = make_embedded_stack(tmp_path)
    no_network(monkeypatch)
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_PROFILE", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    local = ["--local", "--state", str(state), "--json"]

    def ok(*argv: str) -> Any:
        code, out, err = run([*local, *argv], capsys)
        assert (code, err) == (0, ""), argv
        return json.loads(out)

    created = ok("keys", "create", "--app", "shop", "--scope", "ingest")
    assert [v["key_id"] for v in ok("keys", "list")] == [created["key_id"]]
    assert ok("keys", "revoke", created["key_id"])["revoked_at"]

    error = ErrorRecord(
        error_id="err-1",
        type="schema_violation",
        source="processor",
        application_id="shop",
        received_at=format_timestamp(datetime.now(UTC) - timedelta(minutes=1)),
        event_id="ev-1",
        details=[{"field": "data.path", "message": "is required"}],
        payload={"name": "pageview"},
        key_id=created["key_id"],
        request_id="req-1",
    )
    pipeline.error_store().put(error)
    assert [v["error_id"] for v in ok("errors", "list")] == ["err-1"]
    assert ok("errors", "show", "err-1")["type"] == "schema_violation"
    assert ok("errors", "stats")["total"] == 1

    body = message_body(2)  # counted as the processor counts a message it gave up on
    pipeline.counters().count_intake([IntakeTally(message_key(body), 2, {})])
    pipeline.counters().count_dead_letter(message_key(body), 2)
    pipeline.dead_letter_queue().send_body(body)
    assert ok("status")["dead_lettered"] == 2
    assert ok("dlq", "stats")["messages"] == 1
    assert [v["events"] for v in ok("dlq", "peek")] == [2]
    moved = ok("dlq", "redrive")
    assert (moved["moved"], moved["ledger_corrected"], moved["events_requeued"]) == (1, 1, 2)
    view = ok("status")
    assert (view["dead_lettered"], view["queued"], view["balanced"]) == (0, 2, True)
    assert pipeline.queue().depth() == {"messages": 1, "in_flight": 0}
    assert pipeline.dead_letter_queue().depth() == {"messages": 0, "in_flight": 0}
