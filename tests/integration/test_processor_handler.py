"""Queue -> processor -> DynamoDB with the real handlers against moto, including redeliveries."""

from __future__ import annotations

import json
from typing import Any

from tests.integration.conftest import Aws, sample
from tests.integration.functions import ingest_handler, processor_handler


def sqs_event(aws: Aws, messages: list[dict[str, Any]]) -> dict[str, Any]:
    arn = aws.client("sqs").get_queue_attributes(
        QueueUrl=aws.refs["EventsQueue"], AttributeNames=["QueueArn"]
    )
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": m.get("Attributes", {}),
                "messageAttributes": {},
                "md5OfBody": m["MD5OfBody"],
                "eventSource": "aws:sqs",
                "eventSourceARN": arn["Attributes"]["QueueArn"],
                "awsRegion": "us-east-1",
            }
            for m in messages
        ]
    }


def post(events: Any, context: Any) -> dict[str, Any]:
    request = sample("apigw_post_events_batch.json")
    request["body"] = json.dumps(events)
    response = ingest_handler(request, context)
    return dict(json.loads(response["body"]))


def items(aws: Aws, table: str) -> list[dict[str, Any]]:
    return list(aws.session.resource("dynamodb").Table(aws.refs[table]).scan()["Items"])


def test_the_briefing_events_are_stored_once_even_when_delivered_twice(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    accepted = post(sample("briefing_events.json"), lambda_context)
    messages = aws.drain()
    event = sqs_event(aws, messages)
    assert processor_handler(event, lambda_context) == {"batchItemFailures": []}
    assert processor_handler(event, lambda_context) == {"batchItemFailures": []}  # a redelivery
    stored = [i for i in items(aws, "EventsTable") if i["pk"].startswith("S#")]
    guards = [i for i in items(aws, "EventsTable") if i["pk"].startswith("E#")]
    assert sorted(i["event_id"] for i in stored) == sorted(accepted["event_ids"])
    assert len(guards) == 3
    assert items(aws, "ErrorsTable") == []
    # the session's items come back in time order, ties broken by id
    assert [i["sk"] for i in stored] == sorted(i["sk"] for i in stored)


def test_invalid_payloads_become_errors_and_a_conflict_keeps_the_first_version(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    base = sample("briefing_events.json")
    cta_without_element = {**base[1], "data": {"host": "h", "path": "/"}, "event_id": "cta-1"}
    first = {**base[0], "event_id": "same-id"}
    conflicting = {**base[0], "event_id": "same-id", "data": {"host": "h", "path": "/other"}}
    post([first, cta_without_element], lambda_context)
    post([conflicting], lambda_context)
    assert processor_handler(sqs_event(aws, aws.drain()), lambda_context) == {"batchItemFailures": []}
    errors = {e["type"]: e for e in items(aws, "ErrorsTable")}
    assert set(errors) == {"schema_violation", "event_id_conflict"}
    assert json.loads(errors["schema_violation"]["details"]) == [
        {"field": "data.element", "message": "is required"}
    ]
    (kept,) = [i for i in items(aws, "EventsTable") if i.get("event_id") == "same-id"]
    assert json.loads(kept["data"])["path"] == "/"


def test_an_unparseable_message_fails_alone(aws: Aws, ingest_key: str, lambda_context: Any) -> None:
    post(sample("briefing_events.json"), lambda_context)
    aws.client("sqs").send_message(QueueUrl=aws.refs["EventsQueue"], MessageBody="garbage")
    messages = aws.drain()
    poison = next(m["MessageId"] for m in messages if m["Body"] == "garbage")
    result = processor_handler(sqs_event(aws, messages), lambda_context)
    assert result == {"batchItemFailures": [{"itemIdentifier": poison}]}
    assert len([i for i in items(aws, "EventsTable") if i["pk"].startswith("S#")]) == 3


def test_the_sample_sqs_batches_give_their_expected_partial_batch_responses(
    aws: Aws, lambda_context: Any
) -> None:
    # Given the sample batches in events/ (also used by `sam local invoke -e`)
    for name in ("sqs_valid_batch", "sqs_poison_batch"):
        event = sample(f"{name}.json")
        expected = sample(f"{name}.expected.json")
        # When the processor handles each, then only the unreadable messages fail
        assert processor_handler(event, lambda_context) == expected, name
    # and the valid sample recorded exactly its two invalid items: a schema violation and an ingest rejection
    assert sorted(e["type"] for e in items(aws, "ErrorsTable")) == ["invalid_envelope", "schema_violation"]


def test_messages_that_no_longer_fit_before_the_timeout_are_queued_again(
    aws: Aws, ingest_key: str, lambda_context: Any
) -> None:
    # Given a batch of three messages and an invocation with little time left
    for _ in range(3):
        post(sample("briefing_events.json"), lambda_context)
    messages = aws.drain()

    class Hurried:
        def __getattr__(self, name: str) -> Any:
            return getattr(lambda_context, name)

        @staticmethod
        def get_remaining_time_in_millis() -> int:
            return 2500

    # When the processor runs, then it processes nothing it cannot finish: each message goes back
    # to the queue as a new one (its receive count starts again) and this delivery is acknowledged
    result = processor_handler(sqs_event(aws, messages), Hurried())
    assert result["batchItemFailures"] == []
    assert [i for i in items(aws, "EventsTable") if i["pk"].startswith("S#")] == []
    again = aws.drain()
    assert sorted(m["Body"] for m in again) == sorted(m["Body"] for m in messages)
    assert {m["Attributes"]["ApproximateReceiveCount"] for m in again} == {"1"}
