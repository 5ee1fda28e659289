import base64
import gzip
import json
import tracemalloc
from collections import Counter
from typing import Any

import pytest

from ingest.logic import Visit, decode_body, gunzip, ingest, parse_body
from theeye.config import Settings
from theeye.errors import InvalidRequest, PayloadTooLarge, QueueUnavailable, ServiceUnavailable
from theeye.events import MAX_BODY_BYTES
from theeye.intake import QueueThenCount
from theeye.ledger import IntakeTally
from theeye.messages import MAX_ITEMS_PER_MESSAGE, MAX_MESSAGE_BYTES, Origin, QueueMessage

ORIGIN = Origin("app-1", "key-1", "2026-11-23T10:00:00.000000Z", "req-1")


class FakeQueue:
    def __init__(self, fail: bool = False, take: int | None = None) -> None:
        self.sent: list[QueueMessage] = []
        self.fail = fail
        self.take = take  # take only this many messages, then fail

    def send(self, messages: list[QueueMessage]) -> None:
        if self.fail:
            raise QueueUnavailable([])
        if self.take is not None and len(messages) > self.take:
            self.send(messages[: self.take])
            raise QueueUnavailable(messages[: self.take])
        for m in messages:  # what SQS would store: the body, parsed back
            assert len(m.to_body().encode()) <= 256 * 1024
            self.sent.append(QueueMessage.from_body(m.to_body()))

    @property
    def events(self) -> list[Any]:
        return [q for m in self.sent for q in m.events]

    @property
    def rejections(self) -> list[Any]:
        return [r for m in self.sent for r in m.rejections]


def event(i: int = 0, **changes: Any) -> dict[str, Any]:
    value: dict[str, Any] = {
        "session_id": "s-1",
        "category": "page interaction",
        "name": "pageview",
        "data": {"host": "example.com", "path": f"/{i}"},
        "timestamp": "2021-01-01 09:15:27.243860",
    }
    value.update(changes)
    return value


def body(value: Any) -> bytes:
    return json.dumps(value).encode()


def test_one_event_object_is_accepted_and_queued() -> None:
    queue = FakeQueue()
    result = ingest(body(event()), origin=ORIGIN, intake=QueueThenCount(queue))
    answer = result.to_response()
    assert answer["accepted"] == 1 and answer["rejected"] == []
    assert [q.event.event_id for q in queue.events] == answer["event_ids"]
    assert queue.sent[0].origin == ORIGIN


def test_a_mixed_array_accepts_the_good_and_reports_each_bad_one_by_index() -> None:
    queue = FakeQueue()
    result = ingest(
        body([event(0), event(1, timestamp="nope"), event(2), {"x": 1}]),
        origin=ORIGIN,
        intake=QueueThenCount(queue),
    )
    answer = result.to_response()
    assert answer["accepted"] == 2
    assert [r["index"] for r in answer["rejected"]] == [1, 3]
    assert answer["rejected"][0]["errors"][0]["field"] == "timestamp"
    # the rejections travel with the events, towards the error store, in the same single message
    assert len(queue.sent) == 1
    assert [(r.index, r.type) for r in queue.rejections] == [(1, "invalid_envelope"), (3, "invalid_envelope")]
    assert [q.index for q in queue.events] == [0, 2]


def test_event_ids_are_listed_in_request_order() -> None:
    queue = FakeQueue()
    events = [event(i, event_id=f"id-{i}") for i in range(20)]
    assert ingest(body(events), origin=ORIGIN, intake=QueueThenCount(queue)).to_response()["event_ids"] == [
        f"id-{i}" for i in range(20)
    ]


def test_a_retried_identical_request_yields_the_same_ids() -> None:
    first = ingest(body([event(1), event(2)]), origin=ORIGIN, intake=QueueThenCount(FakeQueue()))
    again = ingest(body([event(1), event(2)]), origin=ORIGIN, intake=QueueThenCount(FakeQueue()))
    assert first.to_response()["event_ids"] == again.to_response()["event_ids"]


@pytest.mark.parametrize(
    ("raw", "code", "kind"),
    [
        (b"{not json", "invalid_json", "invalid_json"),
        (b"", "empty_body", "invalid_json"),
        (b"   ", "empty_body", "invalid_json"),
        (b"\xff\xfe", "invalid_json", "invalid_json"),
        (b'{"a": NaN}', "invalid_json", "invalid_json"),
        (b"[" * 100_000 + b"]" * 100_000, "invalid_json", "invalid_json"),
        (b"42", "invalid_body", "invalid_envelope"),
        (b'"text"', "invalid_body", "invalid_envelope"),
        (b"[]", "empty_batch", "invalid_envelope"),
    ],
)
def test_bodies_that_are_not_events_are_400_and_recorded(raw: bytes, code: str, kind: str) -> None:
    queue = FakeQueue()
    with pytest.raises(InvalidRequest) as caught:
        ingest(raw, origin=ORIGIN, intake=QueueThenCount(queue))
    assert caught.value.code == code
    assert queue.events == []
    assert [(r.index, r.type) for r in queue.rejections] == [(None, kind)]


def test_more_than_500_events_is_400() -> None:
    queue = FakeQueue()
    with pytest.raises(InvalidRequest) as caught:
        ingest(body([event(i) for i in range(501)]), origin=ORIGIN, intake=QueueThenCount(queue))
    assert caught.value.code == "too_many_events"
    assert queue.events == []


def test_when_every_event_is_rejected_the_answer_is_400_with_the_rejections_as_details() -> None:
    queue = FakeQueue()
    with pytest.raises(InvalidRequest) as caught:
        ingest(body([event(0, data=None), event(1, name="")]), origin=ORIGIN, intake=QueueThenCount(queue))
    assert caught.value.code == "invalid_events"
    assert [d["index"] for d in caught.value.details] == [0, 1]
    assert caught.value.details[0]["errors"] == [
        {"field": "data", "message": "must be a JSON object, not null"}
    ]
    assert len(queue.rejections) == 2


def test_a_queue_outage_accepts_nothing_and_says_503() -> None:
    with pytest.raises(ServiceUnavailable):
        ingest(body([event(1)]), origin=ORIGIN, intake=QueueThenCount(FakeQueue(fail=True)))


def test_a_queue_outage_does_not_turn_a_400_into_a_503() -> None:
    with pytest.raises(InvalidRequest):
        ingest(b"{nope", origin=ORIGIN, intake=QueueThenCount(FakeQueue(fail=True)))


def test_a_full_size_request_packs_into_few_messages_each_under_the_sqs_limit() -> None:
    # Given 500 events of ~2 KiB (about 1 MiB in all)
    events = [event(i, data={"host": "example.com", "path": "/", "pad": "x" * 1900}) for i in range(500)]
    raw = body(events)
    assert len(raw) <= MAX_BODY_BYTES
    queue = FakeQueue()
    # When it is ingested
    ingest(raw, origin=ORIGIN, intake=QueueThenCount(queue))
    # Then it fits in ceil(size / message budget) messages, not 500
    assert len(queue.events) == 500
    assert len(queue.sent) <= -(-len(raw) // MAX_MESSAGE_BYTES) + 1
    assert [q.index for q in queue.events] == list(range(500))


def test_a_message_carries_at_most_max_items_so_a_processor_batch_is_bounded() -> None:
    # Given 500 small events (about 90 KiB: one message by size alone)
    queue = FakeQueue()
    ingest(body([event(i) for i in range(500)]), origin=ORIGIN, intake=QueueThenCount(queue))
    # Then they travel in messages of at most MAX_ITEMS_PER_MESSAGE events, in order
    assert [len(m.events) for m in queue.sent] == [MAX_ITEMS_PER_MESSAGE] * (500 // MAX_ITEMS_PER_MESSAGE)
    assert [q.index for q in queue.events] == list(range(500))


def test_a_packed_message_s_body_is_what_its_items_write() -> None:
    # Given events with and without a context, non-ASCII text and a rejection, packed into messages
    from theeye.messages import pack

    events = [event(i, data={"text": "é" * 3000 if i % 7 == 0 else "x"}) for i in range(250)]
    events[3] = event(
        3, context={"user_agent": "curl/8.5.0", "ip": "81.2.69.160", "page": {"url": "https://a.example/é"}}
    )
    events[5] = {"bad": True}
    queue = FakeQueue()
    raw = body(events)
    ingest(raw, origin=ORIGIN, intake=QueueThenCount(queue))
    messages = list(
        pack(ORIGIN, [q for m in queue.sent for q in m.events], [r for m in queue.sent for r in m.rejections])
    )
    # Then each body, written once by pack, is the one the message writes from its items
    assert len(messages) > 1
    for message in messages:
        assert message.body is not None
        assert message.to_body() == QueueMessage(message.origin, message.events, message.rejections).to_body()


def test_bodies_over_one_mib_are_413_before_parsing() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body("x" * (MAX_BODY_BYTES + 1), False)
    with pytest.raises(PayloadTooLarge):
        decode_body(base64.b64encode(b"x" * (MAX_BODY_BYTES + 1)).decode(), True)
    assert decode_body("é" * 10, False) == ("é" * 10).encode()


def test_multibyte_bodies_are_measured_in_bytes() -> None:
    with pytest.raises(PayloadTooLarge):
        decode_body("é" * (MAX_BODY_BYTES // 2 + 1), False)


def test_base64_bodies_are_decoded_and_bad_base64_is_400() -> None:
    assert decode_body(base64.b64encode(b'{"a":1}').decode(), True) == b'{"a":1}'
    with pytest.raises(InvalidRequest):
        decode_body("!!!not base64", True)


class FakeLedger:
    def __init__(self) -> None:
        self.accepted = 0
        self.rejected: Counter[str] = Counter()

    def count_intake(self, tallies: list[IntakeTally], *, read_first: bool = False) -> None:
        for tally in tallies:
            self.accepted += tally.accepted
            self.rejected.update(tally.rejected)


def test_the_ledger_counts_what_reached_the_queue() -> None:
    ledger = FakeLedger()
    ingest(
        body([event(0), event(1, timestamp="no")]), origin=ORIGIN, intake=QueueThenCount(FakeQueue(), ledger)
    )
    with pytest.raises(InvalidRequest):
        ingest(b"{", origin=ORIGIN, intake=QueueThenCount(FakeQueue(), ledger))
    assert (ledger.accepted, dict(ledger.rejected)) == (1, {"invalid_envelope": 1, "invalid_json": 1})


def test_a_partly_delivered_request_is_503_and_counts_only_what_got_in() -> None:
    # Given a request packed into several messages, of which the queue takes only the first
    ledger = FakeLedger()
    queue = FakeQueue(take=1)
    events = [event(i, data={"host": "example.com", "path": "/", "pad": "x" * 1900}) for i in range(500)]
    with pytest.raises(ServiceUnavailable):
        ingest(body(events), origin=ORIGIN, intake=QueueThenCount(queue, ledger))
    # Then the ledger holds the events that are queued (a retry will find them duplicates)
    assert ledger.accepted == len(queue.events) > 0


# -- Content-Encoding: gzip ----------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_a_gzip_body_is_decompressed_whatever_the_header_case() -> None:
    body = b'[{"session_id":"s"}]'
    for header in ("gzip", "GZIP", " x-gzip ", "gzip, identity"):
        assert decode_body(_b64(gzip.compress(body)), True, header) == body
    assert decode_body('{"a":1}', False, "identity") == b'{"a":1}'


def test_concatenated_gzip_members_are_one_body() -> None:
    assert gunzip(gzip.compress(b"[1,") + gzip.compress(b"2]")) == b"[1,2]"


def test_the_limit_is_on_the_decompressed_body() -> None:
    exact = b" " * (MAX_BODY_BYTES - 2) + b"{}"
    assert decode_body(_b64(gzip.compress(exact)), True, "gzip") == exact
    with pytest.raises(PayloadTooLarge, match="decompressed"):
        decode_body(_b64(gzip.compress(exact + b" ")), True, "gzip")


def test_a_decompression_bomb_is_refused_without_inflating_it() -> None:
    bomb = gzip.compress(b"\0" * (200 * MAX_BODY_BYTES))  # 200 MiB of zeros in about 200 KiB
    tracemalloc.start()
    try:
        with pytest.raises(PayloadTooLarge):
            decode_body(_b64(bomb), True, "gzip")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * MAX_BODY_BYTES  # the limit, the base64 text and its bytes: never the 200 MiB


@pytest.mark.parametrize(
    "body",
    [b"not gzip at all", gzip.compress(b'{"a":1}')[:-6], gzip.compress(b"{}") + b"trailing"],
    ids=["not gzip", "cut short", "trailing bytes"],
)
def test_a_body_that_is_not_valid_gzip_is_a_400(body: bytes) -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_body(_b64(body), True, "gzip")
    assert caught.value.code == "invalid_json"


def test_another_content_encoding_is_a_400_naming_it() -> None:
    with pytest.raises(InvalidRequest) as caught:
        decode_body("{}", False, "br")
    assert caught.value.code == "unsupported_content_encoding"


@pytest.mark.parametrize(
    ("text", "unpaired"),
    [
        ('{"session_id": "s\\ud800"}', "d800"),  # a high half alone
        ('{"data": {"k": "\\udc00x"}}', "dc00"),  # a low half alone
        ('{"data": {"\\uDE00\\uD83D": 1}}', "de00"),  # a pair in the wrong order, in a key
    ],
)
def test_half_a_surrogate_pair_is_invalid_json_not_a_crash(text: str, unpaired: str) -> None:
    with pytest.raises(InvalidRequest) as raised:
        parse_body(text.encode())
    assert raised.value.code == "invalid_json"
    assert raised.value.details == [{"field": "body", "message": f"unpaired surrogate \\u{unpaired}"}]


def test_a_surrogate_pair_and_an_escaped_backslash_before_u_are_read_as_written() -> None:
    assert parse_body(b'{"emoji": "\\ud83d\\ude00", "path": "C:\\\\ud800"}') == {
        "emoji": "\U0001f600",
        "path": "C:\\ud800",
    }


# -- the event's context ---------------------------------------------------------------------

VISIT = Visit("curl/8.5.0", "198.51.100.77", Settings())


def test_each_queued_event_carries_its_context_built_from_what_it_sent_and_the_request() -> None:
    queue = FakeQueue()
    sent = {"page": {"url": "https://shop.example/p?utm_source=news#top"}, "locale": "en"}
    result = ingest(
        body([event(0, context=sent), event(1)]), origin=ORIGIN, intake=QueueThenCount(queue), visit=VISIT
    )
    assert result.events[0].event.context == queue.events[0].event.context
    first, second = (q.event.context for q in queue.events)
    assert first["ip"] == second["ip"] == "198.51.100.0" and first["user_agent"] == "curl/8.5.0"
    assert first["page"] == {"url": "https://shop.example/p", "host": "shop.example", "path": "/p"}
    assert (first["campaign"], first["locale"]) == ({"source": "news"}, "en")
    assert "page" not in second


def test_the_context_takes_no_part_in_the_derived_id() -> None:
    plain = ingest(body(event(0)), origin=ORIGIN, intake=QueueThenCount(FakeQueue()))
    visited = ingest(
        body(event(0, context={"user_agent": "other", "ip": "8.8.8.8"})),
        origin=ORIGIN,
        intake=QueueThenCount(FakeQueue()),
        visit=VISIT,
    )
    assert plain.to_response()["event_ids"] == visited.to_response()["event_ids"]
    assert plain.events[0].event.content_hash() == visited.events[0].event.content_hash()


def test_a_bad_context_rejects_the_event_naming_the_key_and_keeps_no_address() -> None:
    queue = FakeQueue()
    bad = event(1, context={"ip": "198.51.100.77", "screen": {"width": "wide"}})
    ingest(body([event(0), bad]), origin=ORIGIN, intake=QueueThenCount(queue), visit=VISIT)
    (rejection,) = queue.rejections
    assert [e["field"] for e in rejection.errors] == ["context.screen.width"]
    assert rejection.payload["context"]["ip"] == "[redacted]"


def test_a_body_that_is_not_json_is_recorded_without_any_address() -> None:
    queue = FakeQueue()
    text = '{"context": {"ip": "2001:db8::7"}, "from": "198.51.100.77", '
    with pytest.raises(InvalidRequest):
        ingest(text.encode(), origin=ORIGIN, intake=QueueThenCount(queue), visit=VISIT)
    (rejection,) = queue.rejections
    assert rejection.payload == '{"context": {"ip": "[redacted]"}, "from": "[redacted]", '
