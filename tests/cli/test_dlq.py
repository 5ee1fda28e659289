"""theeye dlq: stats and peek without consuming, redrive that never loses a message."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from tests.cli.conftest import Cli, MotoCli, moto_only
from theeye_cli import dlq


def ledger_dead_letters(cli: Cli) -> tuple[int, int]:
    totals = cli.ledger.totals()
    return totals["dead_lettered"], totals["dead_lettered_messages"]


# -- stats and peek ---------------------------------------------------------------------------------


def test_stats_of_an_empty_dead_letter_queue(cli: Cli) -> None:
    view = cli.run("--json", "dlq", "stats").json()
    assert (view["messages"], view["in_flight"], view["oldest_age_is"]) == (0, 0, "unknown")
    assert view["oldest_age_seconds"] is None
    table = cli.run("dlq", "stats")
    assert "unknown (no message seen)" in table.out


def test_stats_give_depth_and_the_age_of_the_oldest_message_without_consuming(cli: Cli) -> None:
    bodies = [cli.dead_letter(1) for _ in range(3)]
    view = cli.run("--json", "dlq", "stats").json()
    assert view["messages"] == 3
    assert view["sampled"] == 3
    assert view["oldest_age_is"] == "exact"
    assert 0 <= view["oldest_age_seconds"] < 60
    assert view["oldest_sent_at"].endswith("Z")
    # Still there, and visible at once (the peek made them visible again).
    assert cli.depth(cli.target.dlq_url) == (3, 0)
    assert cli.bodies(cli.target.dlq_url) == sorted(bodies)
    assert "oldest message:" in cli.run("dlq", "stats").out


def test_peek_walks_past_ten_messages_and_leaves_them_all_visible(cli: Cli) -> None:
    bodies = [cli.dead_letter(2) for _ in range(12)]
    bodies.append(cli.dead_letter(body="this is not a message of ours", counted=False))
    views = cli.run("--json", "dlq", "peek", "-n", "20").json()
    assert len(views) == 13
    assert len({v["message_id"] for v in views}) == 13
    readable = [v for v in views if v["readable"]]
    assert len(readable) == 12
    assert all(v["events"] == 2 and len(v["event_ids"]) == 2 for v in readable)
    assert all(v["receive_count"] >= 1 and v["sent_at"] for v in views)
    assert cli.depth(cli.target.dlq_url) == (13, 0)
    assert cli.bodies(cli.target.dlq_url) == sorted(bodies)

    assert len(cli.run("--json", "dlq", "peek", "-n", "4").json()) == 4


def test_peek_as_a_table_names_events_rejections_and_unreadable_messages(cli: Cli) -> None:
    body = cli.message_body(1, rejections=2)
    cli.dead_letter(body=body, counted=False)
    cli.dead_letter(body="{not json", counted=False)
    result = cli.run("dlq", "peek")
    assert result.code == 0
    assert "rejections: invalid_envelope x2" in result.out
    assert "unreadable" in result.out
    event_id = body.split('"event_id":"')[1].split('"')[0]
    assert event_id in result.out
    first = {v["message_id"]: v["receive_count"] for v in cli.run("--json", "dlq", "peek").json()}
    again = {v["message_id"]: v["receive_count"] for v in cli.run("--json", "dlq", "peek").json()}
    assert again.keys() == first.keys()  # nothing consumed; each peek is one more receive
    assert all(again[m] == first[m] + 1 for m in first)


# -- redrive: the copy loop ---------------------------------------------------------------------------


def test_redrive_moves_every_message_back_and_requeues_its_events_in_the_ledger(cli: Cli) -> None:
    counted = [cli.dead_letter(3) for _ in range(4)]
    by_hand = cli.dead_letter(2, counted=False)
    assert ledger_dead_letters(cli) == (12, 4)
    before = cli.run("--json", "status").json()
    assert (before["dead_lettered"], before["queued"], before["balanced"]) == (12, 0, True)

    result = cli.run("--json", "dlq", "redrive")
    assert result.code == 0, result.err
    view = result.json()
    assert view["method"] == "copy"  # locally always: neither moto nor SQLite has a message-move task
    assert (view["moved"], view["ledger_corrected"], view["events_requeued"], view["not_counted"]) == (
        5,
        4,
        12,
        1,
    )

    assert cli.bodies(cli.target.dlq_url) == []
    assert cli.bodies(cli.target.queue_url) == sorted([*counted, by_hand])
    assert ledger_dead_letters(cli) == (0, 0)
    after = cli.run("--json", "status").json()
    # Queued again, and balanced: the events queue holds them.
    assert (after["dead_lettered"], after["queued"], after["balanced"]) == (0, 12, True)

    again = cli.run("--json", "dlq", "redrive").json()
    assert again["moved"] == 0
    assert ledger_dead_letters(cli) == (0, 0)
    assert "Nothing to redrive" in cli.run("dlq", "redrive").out


def test_redrive_max_moves_only_that_many(cli: Cli) -> None:
    for _ in range(5):
        cli.dead_letter(1)
    result = cli.run("dlq", "redrive", "--max", "2")
    assert result.code == 0, result.err
    assert "Moved 2 message(s)" in result.out
    assert len(cli.bodies(cli.target.dlq_url)) == 3
    assert len(cli.bodies(cli.target.queue_url)) == 2
    assert ledger_dead_letters(cli) == (3, 3)


class Stop(Exception):
    """A crash of the CLI, injected between two steps of a message's redrive."""


@pytest.mark.parametrize("step", ["copied", "accounted"])
@pytest.mark.parametrize("cause", [KeyboardInterrupt, Stop])
def test_an_interrupted_redrive_loses_nothing_and_running_it_again_finishes(
    cli: Cli, step: str, cause: type[BaseException]
) -> None:
    bodies = [cli.dead_letter(2) for _ in range(5)]
    k = 3

    def checkpoint(reached: str, n: int) -> None:
        if (reached, n) == (step, k):
            raise cause()

    with pytest.raises(dlq.RedriveInterrupted) as stopped:
        dlq.redrive(cli.target, checkpoint=checkpoint)
    assert stopped.value.result.moved == k - 1
    assert isinstance(stopped.value.cause, cause)

    # Every message is in the DLQ or the events queue; the k-th may be in both, none is lost.
    in_dlq, in_queue = cli.bodies(cli.target.dlq_url), cli.bodies(cli.target.queue_url)
    assert set(in_dlq) | set(in_queue) == set(bodies)
    assert len(in_queue) == k  # k-1 moved, the k-th copied before the stop
    assert len(in_dlq) == len(bodies) - (k - 1)  # the k-th is still here, visible again at once
    assert cli.depth(cli.target.dlq_url)[1] == 0
    undone = k if step == "accounted" else k - 1
    assert ledger_dead_letters(cli) == (2 * (len(bodies) - undone), len(bodies) - undone)

    finished = dlq.redrive(cli.target)
    assert finished.moved == len(bodies) - (k - 1)
    assert cli.bodies(cli.target.dlq_url) == []
    in_queue = cli.bodies(cli.target.queue_url)
    assert set(in_queue) == set(bodies)
    assert sorted(Counter(in_queue).values()) == [1] * (len(bodies) - 1) + [2]  # one harmless duplicate
    assert ledger_dead_letters(cli) == (0, 0)  # each message undone exactly once
    assert cli.run("--json", "status").json()["queued"] == 2 * len(bodies)


class FailingSqs:
    """The real (mocked) SQS client, except that one call fails on its n-th use."""

    def __init__(self, real: Any, method: str, nth: int, error: BaseException) -> None:
        self._real, self._method, self._nth, self._error = real, method, nth, error
        self.calls = 0

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._real, name)
        if name != self._method:
            return attribute

        def call(**kwargs: Any) -> Any:
            self.calls += 1
            if self.calls == self._nth:
                raise self._error
            return attribute(**kwargs)

        return call


def test_ctrl_c_during_a_redrive_exits_130_with_one_line_and_loses_nothing(cli: Cli) -> None:
    bodies = [cli.dead_letter(1) for _ in range(3)]
    cli.target._clients["sqs"] = FailingSqs(cli.sqs, "delete_message", 2, KeyboardInterrupt())
    result = cli.run("dlq", "redrive")
    assert result.code == 130
    assert result.err.count("\n") == 1
    assert result.err.startswith("theeye: redrive interrupted after moving 1 message(s); nothing was lost")
    assert set(cli.bodies(cli.target.dlq_url)) | set(cli.bodies(cli.target.queue_url)) == set(bodies)

    del cli.target._clients["sqs"]
    assert cli.run("dlq", "redrive").code == 0
    assert cli.bodies(cli.target.dlq_url) == []
    assert set(cli.bodies(cli.target.queue_url)) == set(bodies)
    assert ledger_dead_letters(cli) == (0, 0)


def test_an_aws_error_during_a_redrive_is_one_line_and_loses_nothing(cli: Cli) -> None:
    from botocore.exceptions import ClientError

    bodies = [cli.dead_letter(1) for _ in range(2)]
    throttled = ClientError({"Error": {"Code": "RequestThrottled", "Message": "slow down"}}, "SendMessage")
    cli.target._clients["sqs"] = FailingSqs(cli.sqs, "send_message", 2, throttled)
    result = cli.run("dlq", "redrive")
    assert result.code == 1
    assert result.err.count("\n") == 1
    assert "stopped: AWS SendMessage: RequestThrottled: slow down" in result.err
    assert sorted(cli.bodies(cli.target.dlq_url) + cli.bodies(cli.target.queue_url)) == sorted(bodies)


# -- redrive: SQS's message-move task (AWS only) -------------------------------------------------------


class SqsWithMoveTask:
    """moto's SQS plus a StartMessageMoveTask that moves every message at once, as SQS would."""

    def __init__(self, real: Any) -> None:
        self._real = real
        self.tasks: list[dict[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._real, name)

    def start_message_move_task(self, *, SourceArn: str, DestinationArn: str) -> dict[str, Any]:
        source, destination = (self._url(arn) for arn in (SourceArn, DestinationArn))
        while True:
            got = self._real.receive_message(QueueUrl=source, MaxNumberOfMessages=10).get("Messages", [])
            if not got:
                break
            for message in got:
                self._real.send_message(QueueUrl=destination, MessageBody=message["Body"])
                self._real.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
        self.tasks.append({"SourceArn": SourceArn, "DestinationArn": DestinationArn})
        return {"TaskHandle": "task-1"}

    def list_message_move_tasks(self, **_: Any) -> dict[str, Any]:
        return {"Results": [{"Status": "COMPLETED", "ApproximateNumberOfMessagesToMove": 2}]}

    def _url(self, arn: str) -> str:
        return str(self._real.get_queue_url(QueueName=arn.rsplit(":", 1)[-1])["QueueUrl"])


@pytest.fixture
def on_aws(cli: Cli) -> SqsWithMoveTask:
    """The target as if it were a deployed stack, whose SQS has message-move tasks."""
    assert isinstance(cli, MotoCli), "a test of a deployed stack's SQS is @moto_only"
    cli.target.local = False
    fake = SqsWithMoveTask(cli.sqs)
    cli.target._clients["sqs"] = fake
    cli.target._clients["cloudwatch"] = cli.session.client("cloudwatch")
    return fake


@moto_only
def test_auto_uses_the_move_task_when_the_ledger_has_nothing_to_undo(
    cli: Cli, on_aws: SqsWithMoveTask
) -> None:
    bodies = [cli.dead_letter(1, counted=False) for _ in range(2)]
    view = cli.run("--json", "dlq", "redrive").json()
    assert view["method"] == "move-task"
    assert view["task_handle"] == "task-1"
    queue_arn, dlq_arn = cli.target.queue_arns()
    assert on_aws.tasks == [{"SourceArn": dlq_arn, "DestinationArn": queue_arn}]
    assert cli.bodies(cli.target.queue_url) == sorted(bodies)


@moto_only
def test_auto_prefers_the_copy_loop_when_dead_letters_must_be_undone(
    cli: Cli, on_aws: SqsWithMoveTask
) -> None:
    cli.dead_letter(2)
    view = cli.run("--json", "dlq", "redrive").json()
    assert view["method"] == "copy"
    assert on_aws.tasks == []
    assert ledger_dead_letters(cli) == (0, 0)


@moto_only
def test_the_move_task_undoes_each_dead_letter_before_starting(cli: Cli, on_aws: SqsWithMoveTask) -> None:
    bodies = [cli.dead_letter(2), cli.dead_letter(3)]
    result = cli.run("--json", "dlq", "redrive", "--method", "move-task")
    assert result.code == 0, result.err
    view = result.json()
    assert (view["method"], view["ledger_corrected"], view["events_requeued"]) == ("move-task", 2, 5)
    assert ledger_dead_letters(cli) == (0, 0)
    assert cli.bodies(cli.target.queue_url) == sorted(bodies)
    assert cli.bodies(cli.target.dlq_url) == []


def test_the_move_task_and_max_are_refused_where_they_cannot_work(cli: Cli) -> None:
    local = cli.run("dlq", "redrive", "--method", "move-task")
    assert local.code == 2
    assert "does not implement SQS's message-move task" in local.err
    cli.target.local = False
    capped = cli.run("dlq", "redrive", "--method", "move-task", "--max", "3")
    assert capped.code == 2
    assert capped.err.count("\n") == 1


@moto_only
def test_stats_on_a_deployed_stack_also_ask_cloudwatch(cli: Cli, on_aws: SqsWithMoveTask) -> None:
    cli.dead_letter(1)
    view = cli.run("--json", "dlq", "stats").json()
    assert view["messages"] == 1
    assert view["cloudwatch_age_seconds"] is None  # moto has no SQS metrics: shown as unknown


@moto_only
def test_a_failed_move_task_says_what_the_ledger_holds_and_the_copy_loop_finishes(
    cli: Cli, on_aws: SqsWithMoveTask
) -> None:
    from botocore.exceptions import ClientError

    bodies = [cli.dead_letter(2) for _ in range(2)]
    running = ClientError({"Error": {"Code": "InvalidParameterValue", "Message": "a task is running"}}, "x")
    cli.target._clients["sqs"] = FailingSqs(on_aws, "start_message_move_task", 1, running)
    failed = cli.run("dlq", "redrive", "--method", "move-task")
    assert failed.code == 1
    assert failed.err.count("\n") == 1
    assert "the ledger already counts 4 event(s) of the DLQ as queued" in failed.err
    assert cli.bodies(cli.target.dlq_url) == sorted(bodies)  # still there, visible again
    assert cli.run("status").code == 3  # queued, but the events queue is empty

    view = cli.run("--json", "dlq", "redrive", "--method", "copy").json()
    assert (view["moved"], view["ledger_corrected"], view["not_counted"]) == (2, 0, 2)
    assert ledger_dead_letters(cli) == (0, 0)
    assert cli.run("status").code == 0


def test_peek_shows_the_body_of_a_foreign_message_its_age_and_all_of_it_in_json(cli: Cli) -> None:
    foreign = "order-42 " + "x" * 6000 + " end-of-body"
    cli.dead_letter(body=foreign, counted=False)
    cli.dead_letter(1)

    table = cli.run("dlq", "peek")
    assert table.code == 0
    assert "AGE" in table.out
    assert "order-42 xxxx" in table.out  # the body, not just "unreadable"
    assert "end-of-body" not in table.out  # the table shows the first 4 KiB
    assert "6,021 bytes, the first 4,096 shown" in table.out

    views = {v["readable"]: v for v in cli.run("--json", "dlq", "peek").json()}
    assert views[False]["body"] == foreign  # --json has all of it
    assert views[True]["body"].startswith("{")
    assert all(0 <= v["age_seconds"] < 60 for v in views.values())
