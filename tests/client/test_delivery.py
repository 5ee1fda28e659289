"""Delivery against a fake API that misbehaves on cue: nothing lost, nothing stored under two
ids, backoff honoured, permanent refusals reported and never retried, flush/close semantics."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from pathlib import Path
from typing import Any

import pytest
from theeye_client import (
    Client,
    DeliveryFailed,
    EventsDropped,
    EventsRejected,
    ServiceUnavailable,
    TransportError,
)

from tests.client.conftest import Reports, Sleeps
from tests.client.fake_api import KEY, CloseAfter, Drop, FakeApi, Hold, Slow, Status

MakeClient = Callable[..., Client]
CLIENT_SOURCE = Path(__file__).resolve().parents[2] / "client"


def track_numbered(client: Client, count: int, start: int = 0, **data: Any) -> list[str]:
    return [client.track("s-1", "test", "tick", {"n": n, **data}) for n in range(start, start + count)]


def assert_each_stored_once_under_its_own_id(api: FakeApi, ids: list[str]) -> None:
    """Every event arrived, each content under exactly one id, the id ``track`` returned."""
    assert set(api.delivered_ids()) == set(ids)
    assert all(len(found) == 1 for found in api.ids_by_content().values())
    assert len(api.ids_by_content()) == len(ids)


# ---------------------------------------------------------------------- the happy path


def test_flush_sends_everything_in_batches_with_the_key(api: FakeApi, make_client: MakeClient) -> None:
    client = make_client(batch_size=10)
    ids = track_numbered(client, 25)
    stats = client.flush(timeout=5)
    assert (stats.queued, stats.sent, stats.pending, stats.retried, stats.rejected) == (25, 25, 0, 0, 0)
    posts = api.posts()
    assert all(len(p.events()) <= 10 for p in posts)
    assert sum(len(p.events()) for p in posts) == 25
    assert [e["event_id"] for p in posts for e in p.events()] == ids  # in order, once each
    first = posts[0]
    assert first.headers["authorization"] == f"Bearer {KEY}"
    assert first.headers["content-type"] == "application/json"
    assert first.headers["user-agent"].startswith("theeye-client/")
    sent = first.events()[0]
    assert set(sent) == {"event_id", "session_id", "category", "name", "data", "timestamp", "sent_at"}
    assert sent["timestamp"].endswith("Z")


def test_a_partial_batch_leaves_after_flush_interval_without_flush(
    api: FakeApi, make_client: MakeClient
) -> None:
    client = make_client(flush_interval=0.05)
    started = time.monotonic()
    client.track("s-1", "test", "tick")
    assert api.wait_until(lambda: len(api.deliveries) == 1)
    # far below the 30 s a client without the interval would hold the batch (until close)
    assert time.monotonic() - started < 20


def test_a_full_batch_leaves_at_once(api: FakeApi, make_client: MakeClient) -> None:
    client = make_client(batch_size=5, flush_interval=30)
    track_numbered(client, 5)
    assert api.wait_until(lambda: len(api.deliveries) == 5)


def test_requests_stay_within_500_events_and_1_mib(api: FakeApi, make_client: MakeClient) -> None:
    client = make_client(batch_size=500)
    ids = track_numbered(client, 1200)
    ids += track_numbered(client, 70, start=1200, pad="x" * 30_000)  # ~2 MiB of large events
    stats = client.flush(timeout=10)
    assert stats.sent == 1270 and stats.rejected == 0
    posts = api.posts()
    assert all(len(p.events()) <= 500 for p in posts)
    assert all(len(p.body) <= 1024 * 1024 for p in posts)
    assert_each_stored_once_under_its_own_id(api, ids)


# ---------------------------------------------------------------------- transient failures


def test_503_is_retried_with_the_same_ids(api: FakeApi, make_client: MakeClient, sleeps: Sleeps) -> None:
    api.faults.extend([Status(503, headers=(("Retry-After", "1"),)), Status(503)])
    client = make_client()
    ids = track_numbered(client, 20)
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.retried, stats.failed) == (20, 40, 0)
    posts = api.posts()
    assert len(posts) == 3
    assert [e["event_id"] for e in posts[0].events()] == [e["event_id"] for e in posts[2].events()]
    assert_each_stored_once_under_its_own_id(api, ids)
    assert sleeps.delays[0] >= 1.0  # Retry-After
    assert 0 <= sleeps.delays[1] <= 1.0  # second retry: full jitter within base * 2


def test_429_retry_after_seconds_is_honoured(api: FakeApi, make_client: MakeClient, sleeps: Sleeps) -> None:
    api.faults.append(Status(429, code="too_many_requests", headers=(("Retry-After", "7"),)))
    client = make_client()
    ids = track_numbered(client, 3)
    assert client.flush(timeout=5).sent == 3
    assert len(sleeps.delays) == 1 and 7.0 <= sleeps.delays[0] < 7.5
    assert_each_stored_once_under_its_own_id(api, ids)


def test_429_retry_after_as_an_http_date_is_honoured(
    api: FakeApi, make_client: MakeClient, sleeps: Sleeps
) -> None:
    api.faults.append(Status(429, headers=(("Retry-After", formatdate(time.time() + 20, usegmt=True)),)))
    client = make_client()
    track_numbered(client, 3)
    assert client.flush(timeout=5).sent == 3
    assert 17.0 <= sleeps.delays[0] <= 21.0


def test_dropped_connections_are_retried(api: FakeApi, make_client: MakeClient, reports: Reports) -> None:
    api.faults.extend([Drop(), Drop(), Drop()])
    client = make_client()
    ids = track_numbered(client, 10)
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.retried, stats.failed) == (10, 30, 0)
    assert len(api.posts()) == 4
    assert reports.calls == []
    assert_each_stored_once_under_its_own_id(api, ids)


def test_a_slow_answer_times_out_and_the_retry_reuses_the_ids(api: FakeApi, make_client: MakeClient) -> None:
    """The slow request is still processed by the server after the client gave up on it: the
    event arrives twice, under one id, which is what lets the API store it once."""
    slow = Hold()  # answered only after the client has given up on it and its retry went through
    api.faults.append(slow)
    client = make_client(timeout=2)
    ids = track_numbered(client, 10)
    stats = client.flush(timeout=30)
    assert (stats.sent, stats.retried) == (10, 10)
    slow.release.set()
    assert api.wait_until(lambda: len(api.deliveries) == 20)  # the late copy arrived too
    assert all(count == 2 for count in api.delivered_ids().values())
    assert_each_stored_once_under_its_own_id(api, ids)


def test_a_kept_alive_connection_closed_by_the_server_is_reopened_silently(
    api: FakeApi, make_client: MakeClient
) -> None:
    api.faults.append(CloseAfter())
    client = make_client()
    track_numbered(client, 2)
    client.flush(timeout=5)
    track_numbered(client, 2, start=2)
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.retried) == (4, 0)


def test_giving_up_after_max_retries_is_reported(
    api: FakeApi, make_client: MakeClient, sleeps: Sleeps, reports: Reports
) -> None:
    api.always = Status(503)
    client = make_client(max_retries=3, backoff_base=0.5, backoff_max=30)
    ids = track_numbered(client, 4)
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.failed, stats.retried, stats.pending) == (0, 4, 12, 0)
    assert len(api.posts()) == 4  # one try and three retries
    assert all(0 <= d <= w for d, w in zip(sleeps.delays, [0.5, 1.0, 2.0], strict=True))
    [(exc, events)] = reports.calls
    assert isinstance(exc, DeliveryFailed) and exc.attempts == 4
    assert isinstance(exc.cause, ServiceUnavailable) and exc.cause.status == 503
    assert [e["event_id"] for e in events] == ids


def test_an_unreachable_server_is_a_transport_failure(sleeps: Sleeps, reports: Reports) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = Client(KEY, f"http://127.0.0.1:{port}", max_retries=2, sleep=sleeps, on_error=reports)
    client.track("s", "c", "n")
    stats = client.close(timeout=5)
    assert (stats.failed, stats.retried) == (1, 2)
    [(exc, _)] = reports.calls
    assert isinstance(exc, DeliveryFailed) and isinstance(exc.cause, TransportError)


# ---------------------------------------------------------------------- permanent refusals


def test_per_event_rejections_in_a_202_are_reported_not_retried(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    client = make_client()
    ids = [client.track("s", "c", "n", {"n": n, "reject": n in (1, 3)}) for n in range(5)]
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.rejected, stats.retried, stats.pending) == (3, 2, 0, 0)
    assert len(api.posts()) == 1
    [(exc, events)] = reports.calls
    assert isinstance(exc, EventsRejected) and exc.permanent
    assert exc.status == 202
    assert [e["event_id"] for e in events] == [ids[1], ids[3]]
    assert [r.event_id for r in exc.rejections] == [ids[1], ids[3]]
    assert exc.rejections[0].errors == [{"field": "data.reject", "message": "refused by the test server"}]


def test_a_400_refusing_every_event_is_reported_per_event(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    client = make_client()
    ids = [client.track("s", "c", "n", {"n": n, "reject": True}) for n in range(3)]
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.rejected, stats.retried) == (0, 3, 0)
    assert len(api.posts()) == 1
    [(exc, events)] = reports.calls
    assert isinstance(exc, EventsRejected)
    assert (exc.status, exc.code) == (400, "invalid_events")
    assert [r.event_id for r in exc.rejections] == ids == [e["event_id"] for e in events]
    assert all(r.errors and r.errors[0]["field"] == "data.reject" for r in exc.rejections)


@pytest.mark.parametrize(
    ("status", "code"),
    [(400, "invalid_json"), (401, "unauthorized"), (403, "forbidden"), (413, "payload_too_large")],
)
def test_permanent_statuses_are_reported_and_never_retried(
    api: FakeApi, make_client: MakeClient, reports: Reports, sleeps: Sleeps, status: int, code: str
) -> None:
    api.always = Status(status, code=code)
    client = make_client()
    ids = track_numbered(client, 5)
    stats = client.flush(timeout=5)
    assert (stats.sent, stats.rejected, stats.retried, stats.failed) == (0, 5, 0, 0)
    assert len(api.posts()) == 1 and sleeps.delays == []
    [(exc, events)] = reports.calls
    assert isinstance(exc, EventsRejected) and (exc.status, exc.code) == (status, code)
    assert exc.cause is not None and exc.cause.status == status
    assert [e["event_id"] for e in events] == ids


def test_a_wrong_key_is_refused_by_the_server_with_401(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    client = make_client(api_key="eye_not-the-key")
    client.track("s", "c", "n")
    assert client.flush(timeout=5).rejected == 1
    assert reports.calls[0][0].status == 401  # type: ignore[attr-defined]


def test_an_on_error_that_raises_does_not_stop_delivery(api: FakeApi, make_client: MakeClient) -> None:
    def explode(exc: Exception, events: list[dict[str, Any]]) -> None:
        raise RuntimeError("callback bug")

    client = make_client(on_error=explode)
    client.track("s", "c", "n", {"reject": True})
    client.flush(timeout=5)
    client.track("s", "c", "n", {"n": 1})
    assert client.flush(timeout=5).sent == 1


# ---------------------------------------------------------------------- a storm of faults


def test_a_storm_of_faults_loses_nothing_and_never_changes_an_id(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    chooser = random.Random(20261123)
    storm: list[Any] = []
    for _ in range(60):
        roll = chooser.random()
        if roll < 0.2:
            storm.append(Status(503, headers=(("Retry-After", "0"),)))
        elif roll < 0.3:
            storm.append(Status(429))
        elif roll < 0.4:
            storm.append(Status(500))
        elif roll < 0.55:
            storm.append(Drop())
        elif roll < 0.6 and sum(isinstance(f, Slow) for f in storm) < 2:
            storm.append(Slow(0.3))
        else:
            storm.append(None)
    api.faults.extend(f for f in storm if f is not None)  # None: the next request goes through
    client = make_client(batch_size=50, timeout=0.15, max_retries=30)
    ids: list[str] = []
    threads = [
        threading.Thread(target=lambda s=s: ids.extend(track_numbered(client, 300, start=s * 300)))
        for s in range(5)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = client.flush(timeout=15)
    assert (stats.queued, stats.sent, stats.failed, stats.rejected, stats.pending) == (1500, 1500, 0, 0, 0)
    assert stats.retried > 0 and reports.calls == []
    # a slow request still being answered may add a (same-id) copy: wait until none is
    assert api.wait_until(lambda: not any(isinstance(f, Slow) for f in api.faults) and api.answering == 0)
    assert_each_stored_once_under_its_own_id(api, ids)


# ---------------------------------------------------------------------- queue, flush, close


def test_a_full_queue_drops_new_events_without_blocking(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    client = make_client(max_queue_size=5, batch_size=100, flush_interval=30)
    started = time.monotonic()
    ids = track_numbered(client, 8)
    assert time.monotonic() - started < 10  # a blocking queue would wait 30 s for the interval's send
    assert len(set(ids)) == 8  # the dropped events still got their id back
    stats = client.stats()
    assert (stats.queued, stats.dropped, stats.pending) == (5, 3, 5)
    dropped = reports.of(EventsDropped)
    assert len(dropped) == 3 and all(exc.reason == "queue_full" for exc, _ in dropped)
    assert [events[0]["event_id"] for _, events in dropped] == ids[5:]
    assert client.flush(timeout=5).sent == 5
    assert set(api.delivered_ids()) == set(ids[:5])


def test_flush_waits_only_for_what_was_queued_and_can_time_out(api: FakeApi, make_client: MakeClient) -> None:
    slow = Hold()  # no answer until the first flush has returned
    api.faults.append(slow)
    client = make_client(timeout=30)
    track_numbered(client, 3)
    started = time.monotonic()
    stats = client.flush(timeout=0.1)
    assert time.monotonic() - started >= 0.1
    assert stats.pending == 3 and stats.sent == 0  # it returned without waiting for the answer
    slow.release.set()
    stats = client.flush(timeout=30)
    assert (stats.pending, stats.sent) == (0, 3)


def test_close_flushes_then_refuses_new_events(
    api: FakeApi, make_client: MakeClient, reports: Reports
) -> None:
    client = make_client()
    ids = track_numbered(client, 7)
    stats = client.close(timeout=5)
    assert (stats.sent, stats.pending) == (7, 0)
    assert set(api.delivered_ids()) == set(ids)
    assert client.close(timeout=5) == client.stats()  # idempotent
    late = client.track("s", "c", "n")
    assert client.stats().dropped == 1
    [(exc, events)] = reports.of(EventsDropped)
    assert exc.reason == "closed" and events[0]["event_id"] == late
    assert client._thread is not None and not client._thread.is_alive()


def test_close_with_a_timeout_gives_up_and_reports_what_is_left(api: FakeApi, reports: Reports) -> None:
    """A server that never recovers: close(timeout) returns in time and hands every event over."""
    api.always = Status(503)
    client = Client(KEY, api.url, max_retries=1000, backoff_base=0.02, backoff_max=0.05, on_error=reports)
    ids = track_numbered(client, 30)
    client.flush(timeout=0.05)  # the first batch is now in flight or retrying
    ids += track_numbered(client, 5, start=30)
    started = time.monotonic()
    client.close(timeout=0.3)
    assert time.monotonic() - started < 10  # in time: not after its 1,000 retries (30 s or more)
    assert client._thread is not None
    client._thread.join(2)
    stats = client.stats()
    assert (stats.sent, stats.failed, stats.pending) == (0, 35, 0)
    reported = [e["event_id"] for _, events in reports.of(DeliveryFailed) for e in events]
    assert sorted(reported) == sorted(ids)  # each given-up event handed over exactly once


def test_sync_mode_sends_inside_track(api: FakeApi, make_client: MakeClient, sleeps: Sleeps) -> None:
    api.faults.append(Status(503))
    client = make_client(sync_mode=True)
    event_id = client.track("s", "c", "n", {"n": 1})
    assert api.delivered_ids() == {event_id: 1}  # already there when track returns
    assert len(api.posts()) == 2 and len(sleeps.delays) == 1
    assert client._thread is None
    stats = client.flush()
    assert (stats.queued, stats.sent, stats.retried, stats.pending) == (1, 1, 1, 0)


def test_many_threads_can_track_at_once(api: FakeApi, make_client: MakeClient) -> None:
    client = make_client(batch_size=100, flush_interval=0.02)
    ids: list[list[str]] = [[] for _ in range(8)]

    def work(slot: int) -> None:
        ids[slot] = track_numbered(client, 250, start=slot * 250)

    threads = [threading.Thread(target=work, args=(slot,)) for slot in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    stats = client.flush(timeout=10)
    assert (stats.queued, stats.sent, stats.pending) == (2000, 2000, 0)
    everything = [i for chunk in ids for i in chunk]
    assert api.delivered_ids() == dict.fromkeys(everything, 1)


# ---------------------------------------------------------------------- process life


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_sends_its_own_events_and_not_the_parents(
    api: FakeApi, make_client: MakeClient
) -> None:
    client = make_client(flush_interval=30)
    parent_ids = track_numbered(client, 3, who="parent")  # queued, not sent yet
    child_ids_file = Path(os.environ.get("TMPDIR", "/tmp")) / f"theeye-client-fork-{os.getpid()}.json"
    pid = os.fork()
    if pid == 0:  # the child: never return into pytest
        status = 1
        try:
            child_ids = track_numbered(client, 2, start=100, who="child")
            stats = client.flush(timeout=5)
            child_ids_file.write_text(json.dumps({"ids": child_ids, "stats": stats.__dict__}))
            status = 0 if (stats.queued, stats.sent) == (2, 2) else 2
        finally:
            os._exit(status)
    _, code = os.waitpid(pid, 0)
    try:
        report = json.loads(child_ids_file.read_text())
    finally:
        child_ids_file.unlink(missing_ok=True)
    assert os.waitstatus_to_exitcode(code) == 0, report
    assert client.flush(timeout=5).sent == 3
    delivered = api.delivered_ids()
    assert {i: delivered[i] for i in report["ids"]} == dict.fromkeys(report["ids"], 1)
    assert {i: delivered[i] for i in parent_ids} == dict.fromkeys(parent_ids, 1)  # sent once, by the parent
    assert len(delivered) == 5


def test_events_left_at_exit_are_flushed(api: FakeApi) -> None:
    script = f"""
from theeye_client import Client
eye = Client({KEY!r}, {api.url!r}, flush_interval=60)
for n in range(5):
    eye.track("s-exit", "test", "tick", {{"n": n}})
# no flush, no close: the interpreter's exit must deliver them
"""
    env = {**os.environ, "PYTHONPATH": str(CLIENT_SOURCE)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, timeout=20, capture_output=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert len(api.delivered_ids()) == 5


def test_the_default_on_error_logs_without_flooding(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    client = Client(KEY, api.url, max_queue_size=1, flush_interval=30, sleep=Sleeps())
    try:
        with caplog.at_level("WARNING", logger="theeye_client"):
            track_numbered(client, 50)  # 1 queued, 49 dropped
            client.track("s", "c", "n", {"reject": True})  # dropped as well: the queue is still full
            client.flush(timeout=5)
            client.track("s", "c", "n", {"reject": True})
            client.flush(timeout=5)
    finally:
        client.close(timeout=2)
    messages = [r.getMessage() for r in caplog.records if r.name == "theeye_client"]
    assert len(messages) == 2, messages
    assert "1 event(s) dropped" in messages[0] and "max_queue_size" in messages[0]
    assert "rejected" in messages[1] and "400 invalid_events" in messages[1]
    assert client.stats().dropped == 50
