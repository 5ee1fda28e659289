"""``theeye dlq``: look into the dead-letter queue without consuming it, and redrive it.

Peeking. SQS has no "peek": a received message is hidden for its visibility timeout. To walk
past the first ten messages, ``peek`` receives with a short visibility timeout (so it never
sees a message twice) and, when done - or interrupted - makes every message it holds visible
again at once (``ChangeMessageVisibility`` to 0). Nothing is deleted; if the CLI dies
mid-walk the messages reappear by themselves after ``PEEK_HIDE_SECONDS``. Each receive adds
one to a message's receive count; the dead-letter queue has no redrive policy of its own, so
that changes nothing.

Age. ``ApproximateAgeOfOldestMessage`` is a CloudWatch metric, not a queue attribute. ``dlq
stats`` computes the age from the ``SentTimestamp`` of the messages it peeks (exact when it
saw every visible message, otherwise a lower bound, and marked so), and on a deployed stack
also reads the CloudWatch metric (the number the ``DeadLetterQueueAgeAlarm`` watches).

Redrive. Two ways back to the events queue:

* the copy loop (``copy``): receive a few messages from the DLQ; for each, send its body to
  the events queue, then tell the ledger (``Counters.undo_dead_letter``: its events are
  queued again, idempotent per message), then delete it from the DLQ. A stop at any point
  (Ctrl-C, a crash, an AWS error) leaves the message in the DLQ, possibly also copied to the
  events queue - a duplicate, which the processor drops because processing is idempotent -
  and never lost; running the redrive again finishes the job.
* SQS's message-move task (``move-task``, deployed stacks only: the local stack has none -
  moto does not implement ``StartMessageMoveTask``, and the embedded backend's queues are
  SQLite tables). SQS moves the messages itself, so the ledger cannot be told per message
  after each move. Before starting the task the CLI walks the DLQ as ``peek`` does and undoes
  each message's dead-letter count, then makes the messages visible and starts the task.
  Caveats (docs/OPERATING.md): a message that reaches the DLQ during those seconds is moved
  without its count being undone, and if the task fails the ledger says "queued" for events
  still in the DLQ - ``theeye status`` shows NOT BALANCED in both cases, and a copy-loop
  redrive puts it right.

``auto`` picks the move task only where it exists and nothing has to be undone in the ledger
(``dead_lettered_messages`` is 0, e.g. messages put in the DLQ by hand), and no ``--max`` is
given; otherwise the copy loop, which keeps the ledger exact.

Every call goes through ``target.client("sqs")``: boto3's client on AWS and moto, the SQLite
facade on the local stack's embedded backend, so both run this same code. CloudWatch is asked
only of a deployed stack (``target.local`` is false).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Final, Literal

from botocore.exceptions import BotoCoreError, ClientError

from theeye.errors import TheEyeError
from theeye.ledger import message_key
from theeye.messages import QueueMessage
from theeye.ports import Counters
from theeye_cli.output import age, fields, millis_to_iso, table
from theeye_cli.target import Target

PEEK_HIDE_SECONDS: Final = 30
REDRIVE_HIDE_SECONDS: Final = 120  # long enough for one copy-account-delete round
STATS_SAMPLE: Final = 100
BODY_PREVIEW_BYTES: Final = 4096  # of a body that is not The Eye's, in the table (--json: all)
SQS_BATCH: Final = 10
Method = Literal["auto", "copy", "move-task"]
# Called after each step of a message's redrive: ("copied" | "accounted" | "deleted", n-th message, 1-based).
Checkpoint = Callable[[str, int], None]


class RedriveInterrupted(Exception):
    """The copy loop stopped early; ``result`` says how far it got (nothing was lost)."""

    def __init__(self, result: RedriveResult, cause: BaseException) -> None:
        super().__init__(str(cause) or type(cause).__name__)
        self.result = result
        self.cause = cause


# -- reading messages -----------------------------------------------------------------------


def describe(message: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """What an operator wants to know about a queue message: what it carries, how often it was
    received, how long ago it was sent, and its body as it is."""
    attributes = message.get("Attributes", {})
    body = str(message.get("Body", ""))
    sent = attributes.get("SentTimestamp")
    moment = now or datetime.now(UTC)
    view: dict[str, Any] = {
        "message_id": message.get("MessageId"),
        "receive_count": int(attributes.get("ApproximateReceiveCount", 0)),
        "sent_at": millis_to_iso(sent),
        "age_seconds": max(0.0, moment.timestamp() - int(sent) / 1000) if sent not in (None, "") else None,
        "message_key": message_key(body),
        "bytes": len(body.encode("utf-8")),
        "body": body,
    }
    try:
        parsed = QueueMessage.from_body(body)
    except (ValueError, KeyError, TypeError):
        return {**view, "readable": False, "events": None, "event_ids": [], "rejections": {}}
    return {
        **view,
        "readable": True,
        "application_id": parsed.origin.application_id,
        "received_at": parsed.origin.received_at,
        "events": len(parsed.events),
        "event_ids": [queued.event.event_id for queued in parsed.events],
        "rejections": dict(Counter(r.type for r in parsed.rejections)),
    }


def events_in(body: str) -> int | None:
    """Events a message carries; None for a body that is not a The Eye message."""
    try:
        return len(QueueMessage.from_body(body).events)
    except (ValueError, KeyError, TypeError):
        return None


def _account(ledger: Counters, body: str, result: RedriveResult) -> None:
    """Undo the message's dead-letter count (the processor counted an unreadable one with 0 events)."""
    events = events_in(body)
    if events is None:
        result.unreadable += 1
    if ledger.undo_dead_letter(message_key(body), events or 0):
        result.ledger_corrected += 1
        result.events_requeued += events or 0
    else:
        result.not_counted += 1


def _receive(target: Target, url: str, count: int, hide_seconds: int) -> list[dict[str, Any]]:
    answer = target.client("sqs").receive_message(
        QueueUrl=url,
        MaxNumberOfMessages=max(1, min(SQS_BATCH, count)),
        VisibilityTimeout=hide_seconds,
        WaitTimeSeconds=target.receive_wait_seconds,
        AttributeNames=["All"],
        MessageSystemAttributeNames=["All"],
        MessageAttributeNames=["All"],
    )
    return list(answer.get("Messages", []))


def _release(sqs: Any, url: str, messages: list[dict[str, Any]]) -> None:
    """Make held messages visible again now (best effort: they reappear by themselves anyway)."""
    for start in range(0, len(messages), SQS_BATCH):
        chunk = messages[start : start + SQS_BATCH]
        with suppress(ClientError, BotoCoreError, TheEyeError):
            sqs.change_message_visibility_batch(
                QueueUrl=url,
                Entries=[
                    {"Id": str(n), "ReceiptHandle": m["ReceiptHandle"], "VisibilityTimeout": 0}
                    for n, m in enumerate(chunk)
                ],
            )


@contextmanager
def held(
    target: Target, url: str, limit: int, hide_seconds: int = PEEK_HIDE_SECONDS
) -> Iterator[list[dict[str, Any]]]:
    """Up to ``limit`` messages of a queue, each once, all made visible again on exit."""
    messages: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        while len(messages) < limit:
            got = _receive(target, url, limit - len(messages), hide_seconds)
            fresh = [m for m in got if m["MessageId"] not in seen]
            if not fresh:
                break
            seen.update(m["MessageId"] for m in fresh)
            messages += fresh
        yield messages
    finally:
        _release(target.client("sqs"), url, messages)


def peek(target: Target, count: int) -> list[dict[str, Any]]:
    with held(target, target.dlq_url, count) as messages:
        return [describe(m) for m in messages]


# -- stats ------------------------------------------------------------------------------------


def stats(target: Target, now: datetime | None = None) -> dict[str, Any]:
    depth = target.backend().dead_letter_queue().depth()
    moment = now or datetime.now(UTC)
    with held(target, target.dlq_url, STATS_SAMPLE) as messages:
        sent = [int(m.get("Attributes", {}).get("SentTimestamp", 0)) for m in messages]
    sent = [s for s in sent if s]
    oldest = min(sent) if sent else None
    age_seconds = moment.timestamp() - oldest / 1000 if oldest is not None else None
    exact = bool(sent) and len(sent) >= depth["messages"]
    result: dict[str, Any] = {
        "queue_url": target.dlq_url,
        "messages": depth["messages"],
        "in_flight": depth["in_flight"],
        "sampled": len(messages),
        "oldest_sent_at": millis_to_iso(oldest),
        "oldest_age_seconds": round(age_seconds, 1) if age_seconds is not None else None,
        # every visible message seen: exact; otherwise the oldest of a sample is a lower bound
        "oldest_age_is": "unknown" if age_seconds is None else ("exact" if exact else "at least"),
        "cloudwatch_age_seconds": None,
    }
    if not target.local:
        result["cloudwatch_age_seconds"] = _cloudwatch_age(target, moment)
    return result


def _cloudwatch_age(target: Target, now: datetime) -> float | None:
    """``ApproximateAgeOfOldestMessage`` of the DLQ over the last 10 minutes, if CloudWatch has it."""
    name = target.dlq_url.rstrip("/").rsplit("/", 1)[-1]
    try:
        points = (
            target.client("cloudwatch")
            .get_metric_statistics(
                Namespace="AWS/SQS",
                MetricName="ApproximateAgeOfOldestMessage",
                Dimensions=[{"Name": "QueueName", "Value": name}],
                StartTime=now - timedelta(minutes=10),
                EndTime=now,
                Period=60,
                Statistics=["Maximum"],
            )
            .get("Datapoints", [])
        )
    except (ClientError, BotoCoreError):
        return None
    if not points:
        return None
    latest = max(points, key=lambda p: p["Timestamp"])
    return float(latest["Maximum"])


# -- redrive ----------------------------------------------------------------------------------


@dataclass
class RedriveResult:
    method: str
    moved: int = 0
    events_requeued: int = 0  # events the ledger moved from dead-lettered back to queued
    ledger_corrected: int = 0  # messages whose dead-letter count was undone
    not_counted: int = 0  # messages the ledger had not counted as dead letters (or undone before)
    unreadable: int = 0
    task_handle: str | None = None
    messages_to_move: int | None = None
    notes: list[str] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return dict(self.__dict__)


def choose_method(target: Target, ledger: Counters, method: Method, limit: int | None) -> str:
    if method == "move-task" and not target.supports_message_move_task:
        raise ValueError(
            "this endpoint does not implement SQS's message-move task (the local stack); use --method copy"
        )
    if method == "move-task" and limit is not None:
        raise ValueError("--max works with the copy loop only (a message-move task moves everything)")
    if method != "auto":
        return method
    if not target.supports_message_move_task or limit is not None:
        return "copy"
    return "copy" if ledger.totals()["dead_lettered_messages"] > 0 else "move-task"


def redrive(
    target: Target,
    *,
    method: Method = "auto",
    limit: int | None = None,
    checkpoint: Checkpoint | None = None,
) -> RedriveResult:
    ledger = target.backend().counters()
    chosen = choose_method(target, ledger, method, limit)
    if chosen == "move-task":
        return _move_task(target, ledger)
    return _copy_loop(target, ledger, limit, checkpoint or (lambda _step, _n: None))


def _copy_loop(target: Target, ledger: Counters, limit: int | None, checkpoint: Checkpoint) -> RedriveResult:
    sqs = target.client("sqs")
    result = RedriveResult("copy")
    while limit is None or result.moved < limit:
        wanted = SQS_BATCH if limit is None else min(SQS_BATCH, limit - result.moved)
        batch = _receive(target, target.dlq_url, wanted, REDRIVE_HIDE_SECONDS)
        if not batch:
            break
        pending = list(batch)
        try:
            for message in batch:
                _move_one(sqs, target, ledger, message, result, checkpoint)
                pending.remove(message)
        except (Exception, KeyboardInterrupt) as exc:
            # What is still held goes back to the DLQ now rather than in REDRIVE_HIDE_SECONDS.
            _release(sqs, target.dlq_url, pending)
            raise RedriveInterrupted(result, exc) from exc
    return result


def _move_one(
    sqs: Any,
    target: Target,
    ledger: Counters,
    message: dict[str, Any],
    result: RedriveResult,
    checkpoint: Checkpoint,
) -> None:
    """Copy, account, delete: in this order, so that no stop can lose the message."""
    body = str(message["Body"])
    number = result.moved + 1
    send: dict[str, Any] = {"QueueUrl": target.queue_url, "MessageBody": body}
    attributes = _sendable_attributes(message.get("MessageAttributes") or {})
    if attributes:
        send["MessageAttributes"] = attributes
    sqs.send_message(**send)
    checkpoint("copied", number)
    _account(ledger, body, result)
    checkpoint("accounted", number)
    sqs.delete_message(QueueUrl=target.dlq_url, ReceiptHandle=message["ReceiptHandle"])
    result.moved += 1
    checkpoint("deleted", number)


def _sendable_attributes(attributes: dict[str, Any]) -> dict[str, Any]:
    keep = ("DataType", "StringValue", "BinaryValue")
    return {name: {k: v for k, v in value.items() if k in keep} for name, value in attributes.items()}


def _move_task(target: Target, ledger: Counters) -> RedriveResult:
    sqs = target.client("sqs")
    queue_arn, dlq_arn = target.queue_arns()
    result = RedriveResult("move-task")
    # Walk the DLQ once, hiding what was read, and undo each message's dead-letter count; keep
    # only what is needed to make the messages visible again (bodies can be 250 KiB each).
    held_handles: list[dict[str, Any]] = []
    seen: set[str] = set()
    try:
        try:
            while True:
                got = _receive(target, target.dlq_url, SQS_BATCH, REDRIVE_HIDE_SECONDS)
                fresh = [m for m in got if m["MessageId"] not in seen]
                if not fresh:  # empty, or the walk outlasted the hiding and came round again
                    break
                for message in fresh:
                    seen.add(message["MessageId"])
                    held_handles.append({"ReceiptHandle": message["ReceiptHandle"]})
                    _account(ledger, str(message["Body"]), result)
        finally:
            _release(sqs, target.dlq_url, held_handles)  # visible again before SQS moves them
        answer = sqs.start_message_move_task(SourceArn=dlq_arn, DestinationArn=queue_arn)
    except (Exception, KeyboardInterrupt) as exc:
        if result.ledger_corrected:
            result.notes.append(
                f"the ledger already counts {result.events_requeued} event(s) of the DLQ as queued; "
                "run 'theeye dlq redrive --method copy' to move them"
            )
        raise RedriveInterrupted(result, exc) from exc
    result.task_handle = str(answer.get("TaskHandle", ""))
    to_move = _messages_to_move(sqs, dlq_arn)
    result.messages_to_move = len(seen) if to_move is None else to_move
    result.notes.append("SQS moves the messages in the background; 'theeye dlq stats' shows what is left")
    return result


def _messages_to_move(sqs: Any, dlq_arn: str) -> int | None:
    for _ in range(3):
        try:
            tasks = sqs.list_message_move_tasks(SourceArn=dlq_arn, MaxResults=1).get("Results", [])
        except (ClientError, BotoCoreError):
            return None
        if tasks and "ApproximateNumberOfMessagesToMove" in tasks[0]:
            return int(tasks[0]["ApproximateNumberOfMessagesToMove"])
        time.sleep(0.5)
    return None


# -- rendering --------------------------------------------------------------------------------


def render_stats(view: dict[str, Any]) -> str:
    if view["oldest_age_is"] == "unknown":
        oldest = "unknown (no message seen)" if not view["messages"] else "unknown"
    else:
        prefix = "" if view["oldest_age_is"] == "exact" else "at least "
        oldest = (
            f"{prefix}{age(view['oldest_age_seconds'])} (sent {view['oldest_sent_at']}; "
            f"from {view['sampled']} message(s) peeked)"
        )
    pairs: list[tuple[str, Any]] = [
        ("dead-letter queue", view["queue_url"]),
        ("messages", view["messages"]),
        ("in flight", view["in_flight"]),
        ("oldest message", oldest),
    ]
    if view["cloudwatch_age_seconds"] is not None:
        pairs.append(("CloudWatch oldest age", age(view["cloudwatch_age_seconds"])))
    return fields(pairs)


def render_peek(views: list[dict[str, Any]]) -> str:
    if not views:
        return "The dead-letter queue is empty (no visible message)."
    rows = []
    for v in views:
        if not v["readable"]:
            content = "unreadable (not a The Eye message)"
        else:
            ids = v["event_ids"][:3]
            more = f" +{len(v['event_ids']) - 3}" if len(v["event_ids"]) > 3 else ""
            content = ", ".join(ids) + more if ids else ""
            if v["rejections"]:
                rejected = ", ".join(f"{t} x{n}" for t, n in sorted(v["rejections"].items()))
                content = (content + "; " if content else "") + "rejections: " + rejected
        rows.append(
            (v["message_id"], v["receive_count"], v["sent_at"], age(v["age_seconds"]), v["events"], content)
        )
    lines = [table(("MESSAGE ID", "RECEIVES", "SENT", "AGE", "EVENTS", "FIRST EVENT IDS / REJECTIONS"), rows)]
    for v in views:
        if not v["readable"]:
            lines += [
                "",
                f"Body of {v['message_id']} ({v['bytes']:,} bytes{_shown(v['body'])}):",
                _preview(v["body"]),
            ]
    return "\n".join(lines)


def _preview(body: str) -> str:
    """The first ``BODY_PREVIEW_BYTES`` of a body, cut at a character boundary."""
    return body.encode("utf-8")[:BODY_PREVIEW_BYTES].decode("utf-8", errors="ignore")


def _shown(body: str) -> str:
    size = len(body.encode("utf-8"))
    return (
        f", the first {BODY_PREVIEW_BYTES:,} shown; --json has all of it" if size > BODY_PREVIEW_BYTES else ""
    )


def render_redrive(result: RedriveResult) -> str:
    if result.method == "move-task":
        lines = [
            f"Started SQS message-move task {result.task_handle} "
            f"({result.messages_to_move if result.messages_to_move is not None else 'an unknown number of'} "
            "message(s) to move)."
        ]
    elif result.moved == 0:
        return "Nothing to redrive: the dead-letter queue has no visible message."
    else:
        lines = [f"Moved {result.moved} message(s) back to the events queue (copy, then delete)."]
    lines.append(
        f"Ledger: {result.events_requeued} event(s) of {result.ledger_corrected} message(s) counted as "
        f"queued again; {result.not_counted} message(s) were not counted as dead letters."
    )
    if result.unreadable:
        lines.append(f"{result.unreadable} message(s) are not The Eye messages: they will fail again.")
    lines += result.notes
    return "\n".join(lines)
