"""The Python client against the real local stack: 5,000 events in with ``Client``, exactly those
5,000 out with ``QueryClient`` once the asynchronous pipeline has stored them."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from theeye_client import Client, DeliveryError, NotFound, QueryClient, SessionSummary, StoredEvent

from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack
from tests.support import OUTCOME_DEADLINE_SECONDS, eventually

pytestmark = pytest.mark.e2e
COUNT = 5000
SESSIONS = 4
# the local pipeline stores roughly 250-400 events/s: 5,000 in well under the deadline
STORE_TIMEOUT_SECONDS = OUTCOME_DEADLINE_SECONDS
SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"


@pytest.fixture(scope="module")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """A stack of its own: 5,000 events would slow every later query of the shared stack on the
    emulated store (each index query reads every item), and the other suites time their calls."""
    stack = start_stack(tmp_path_factory.mktemp("client-stack"))
    yield stack
    stop_stack(stack)


def test_5000_events_sent_with_the_client_are_read_back_exactly(local_stack: LocalStackHandle) -> None:
    run = uuid.uuid4().hex[:12]
    sessions = [f"client-e2e-{run}-{number}" for number in range(SESSIONS)]
    start = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    problems: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
    sent: dict[str, dict[str, Any]] = {}
    with Client(
        local_stack.ingest_key,
        local_stack.base_url,
        on_error=lambda exc, events: problems.append((exc, events)),
    ) as eye:
        for n in range(COUNT):
            moment = start + timedelta(milliseconds=n)
            session = sessions[n % SESSIONS]
            event_id = eye.track(session, "client e2e", "tick", {"n": n, "run": run}, timestamp=moment)
            sent[event_id] = {"session_id": session, "n": n, "timestamp": moment}
        stats = eye.flush(timeout=120)
    assert problems == []
    assert (stats.queued, stats.sent, stats.rejected, stats.failed, stats.dropped) == (COUNT, COUNT, 0, 0, 0)
    assert len(sent) == COUNT

    reader = QueryClient(local_stack.query_key, local_stack.base_url)
    found: dict[str, list[StoredEvent]] = {session: [] for session in sessions}
    expected = {session: sum(1 for e in sent.values() if e["session_id"] == session) for session in sessions}

    def all_stored() -> bool:  # re-read only the sessions still short: reads compete with the pipeline
        for session in sessions:
            if len(found[session]) < expected[session]:
                found[session] = list(reader.session_events(session, page_size=1000))
        return all(len(found[s]) >= expected[s] for s in sessions)

    eventually(f"{COUNT} events stored", all_stored, seconds=STORE_TIMEOUT_SECONDS, interval=3)
    everything = [event for events in found.values() for event in events]
    assert len(everything) == COUNT, (
        f"{len(everything)} of {COUNT} stored within {STORE_TIMEOUT_SECONDS:.0f} s"
    )
    assert {e["event_id"] for e in everything} == set(sent)  # exactly those, none twice
    for session, events in found.items():
        assert [e["timestamp"] for e in events] == sorted(e["timestamp"] for e in events)
        for event in events:
            want = sent[event["event_id"]]
            assert event["session_id"] == session == want["session_id"]
            assert event["data"] == {"n": want["n"], "run": run}
            # as track stamped it; the stored time is corrected by each request's sent_at
            assert event["client_timestamp"] == want["timestamp"].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
            lag = datetime.fromisoformat(event["timestamp"]) - datetime.fromisoformat(
                event["client_timestamp"]
            )
            assert timedelta(0) <= lag < timedelta(seconds=STORE_TIMEOUT_SECONDS)
    one = next(iter(sent))
    assert reader.event(one)["event_id"] == one


def test_the_repository_schemas_are_read_back_through_the_stack(local_stack: LocalStackHandle) -> None:
    files = [json.loads(path.read_text()) for path in SCHEMAS.glob("*.json")]
    expected = sorted(
        (
            {"category": s["x-event-type"]["category"], "name": s["x-event-type"]["name"], "schema": s}
            for s in files
        ),
        key=lambda item: (item["category"], item["name"]),
    )
    with QueryClient(local_stack.query_key, local_stack.base_url) as reader:
        assert reader.schemas() == expected
        assert reader.schema("page interaction", "cta click") == next(
            s for s in expected if s["name"] == "cta click"
        )
        with pytest.raises(NotFound):
            reader.schema("page interaction", "no such name")


def test_sessions_are_listed_newest_first_with_their_counts(local_stack: LocalStackHandle) -> None:
    # Given three sessions, the later ones with a later first event, in an hour no other test uses
    run = uuid.uuid4().hex[:12]
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=3)
    plan = {f"sessions-e2e-{run}-{n}": (base + timedelta(minutes=n), n + 2) for n in range(3)}
    with Client(local_stack.ingest_key, local_stack.base_url) as eye:
        for session, (first, count) in reversed(plan.items()):  # sent newest first
            for k in range(count):
                eye.track(
                    session,
                    "client e2e",
                    "visit",
                    {"k": k, "run": run},
                    timestamp=first + timedelta(seconds=k),
                )
        stats = eye.flush(timeout=60)
    assert (stats.sent, stats.pending) == (sum(c for _, c in plan.values()), 0)

    # When the hour is listed newest first, one session per page, once the pipeline stored them all
    reader = QueryClient(local_stack.query_key, local_stack.base_url)
    start, end = base - timedelta(minutes=1), base + timedelta(minutes=10)

    def spans(summary: SessionSummary) -> list[tuple[datetime, datetime]]:
        """(first seen, first event) and (last seen, last event) of a listed session."""
        first, count = plan[summary["session_id"]]
        return [
            (datetime.fromisoformat(summary["first_seen"].replace("Z", "+00:00")), first),
            (
                datetime.fromisoformat(summary["last_seen"].replace("Z", "+00:00")),
                first + timedelta(seconds=count - 1),
            ),
        ]

    def bounded(summary: SessionSummary) -> bool:
        # the stack corrects each timestamp by the request's sent_at: off by its latency
        return all(abs(seen - expected) < timedelta(seconds=5) for seen, expected in spans(summary))

    def listed() -> list[SessionSummary] | None:
        """The listing once every event is counted and every summary's bounds have moved (on
        DynamoDB they move just after the count)."""
        found = list(reader.sessions(start=start, end=end, order="desc", page_size=1))
        counted = [s["events"] for s in found] == [4, 3, 2]
        return found if counted and all(s["session_id"] in plan and bounded(s) for s in found) else None

    found = eventually(
        "three sessions with 4, 3 and 2 stored events and their time spans", listed, interval=1
    )

    # Then each comes once, by its first event, with its stored events and their time span
    assert [s["session_id"] for s in found] == list(reversed(plan))
    for summary in found:
        _, count = plan[summary["session_id"]]
        assert summary["events"] == count
        assert summary["application_ids"] == ["local-app"]
        assert bounded(summary), spans(summary)
    assert [s["session_id"] for s in reader.sessions(start=start, end=end)] == list(plan)  # oldest first
    assert list(reader.sessions(application_id="not-an-application", start=start, end=end)) == []
    reader.close()
