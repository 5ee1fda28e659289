"""Target selection: --local reads the state file of `make run`, --stack the stack's outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, state_of
from theeye_cli.__main__ import main
from theeye_cli.target import MAX_INDEX_SHARDS, TargetError, local_target, stack_target

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


def test_the_stack_target_comes_from_the_stack_outputs(cli: Cli) -> None:
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


def test_an_unknown_stack_or_one_without_the_outputs_is_one_line(
    cli: Cli, capsys: pytest.CaptureFixture[str]
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
