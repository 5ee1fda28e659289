"""GET /sessions and DELETE /sessions/{id} end to end through `make run`'s stack, on both
backends: summaries kept by the pipeline as it writes, erasure through the admin function,
and erasure while the same session is still being ingested."""

from __future__ import annotations

import threading
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import quote

import pytest

from tests.e2e.local_stack import ADMIN_KEY, BACKENDS, LocalStackHandle
from tests.e2e.test_pipeline import get, iso, post, session_events
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)]


def erase(stack: LocalStackHandle, session: str, key: str = ADMIN_KEY) -> Any:
    return stack.request(
        "DELETE", f"/sessions/{quote(session, safe='')}", headers={"Authorization": f"Bearer {key}"}
    )


def sessions(stack: LocalStackHandle, start: datetime, **params: Any) -> list[dict[str, Any]]:
    """Every page of GET /sessions from ``start`` (cursor followed)."""
    seen: list[dict[str, Any]] = []
    cursor = None
    for _ in range(100):
        query = {"from": iso(start), "to": iso(start + timedelta(days=2)), **params}
        if cursor:
            query["cursor"] = cursor
        page = get(stack, "/sessions", **query)
        seen += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return seen
    raise AssertionError("the pages never ended")


def event(session: str, at: datetime, n: int) -> dict[str, Any]:
    return {"session_id": session, "category": "shop", "name": "view", "data": {"n": n}, "timestamp": iso(at)}


def test_sessions_are_listed_by_first_event_and_a_late_event_moves_one(local_stack: LocalStackHandle) -> None:
    base = datetime(2021, 3, 1, 12, 0, tzinfo=UTC) + timedelta(
        days=uuid.uuid4().int % 1000
    )  # a day of its own
    tag = uuid.uuid4().hex[:8]
    names = [f"list-{tag}-{n}" for n in range(5)]
    post(local_stack, [event(name, base + timedelta(minutes=10 * n), n) for n, name in enumerate(names)])
    post(local_stack, [event(names[1], base + timedelta(minutes=12), 9)])  # a later event of #1

    def listed(expected: list[str]) -> list[dict[str, Any]] | None:
        """The listing once it shows ``expected`` in order, every event counted and the late
        event's time in its session's bounds (both requests may be processed in either order,
        and on DynamoDB a summary's bounds move just after its count)."""
        found = sessions(local_stack, base - timedelta(hours=1), limit=2)
        counted = sum(s["events"] for s in found) == len(expected) + 1
        bounded = len(found) > 1 and found[1]["last_seen"] == iso(base + timedelta(minutes=12))
        return found if [s["session_id"] for s in found] == expected and counted and bounded else None

    found = eventually(f"the sessions {names} listed in order", lambda: listed(names))
    assert found[1]["events"] == 2 and found[1]["last_seen"] == iso(base + timedelta(minutes=12))
    assert found[1]["application_ids"] == ["local-app"]
    # a late event puts the last session first, in both orders
    post(local_stack, [event(names[4], base - timedelta(minutes=30), 7)])
    moved = [names[4], *names[:4]]

    def relisted() -> list[dict[str, Any]] | None:
        found = sessions(local_stack, base - timedelta(hours=1), limit=2)
        counted = sum(s["events"] for s in found) == len(names) + 2
        return found if [s["session_id"] for s in found] == moved and counted else None

    assert eventually(f"the sessions {moved} listed in order", relisted)
    newest = sessions(local_stack, base - timedelta(hours=1), order="desc", limit=3)
    assert [s["session_id"] for s in newest] == list(reversed(moved))


def test_erasure_deletes_the_events_redacts_the_errors_and_balances(local_stack: LocalStackHandle) -> None:
    session = f"subject {uuid.uuid4()} é"
    now = datetime.now(UTC)
    ids = post(
        local_stack,
        [
            event(session, now, 1),
            event(session, now, 2),
            {**event(session, now, 3), "category": "page interaction", "name": "pageview"},
        ],
    )["event_ids"]
    assert len(session_events(local_stack, session, 2)) == 2

    def redactable() -> list[dict[str, Any]] | None:
        mine = [e for e in get(local_stack, "/errors", limit=1000)["items"] if e["event_id"] == ids[2]]
        return mine or None

    [error] = eventually("the error of the pageview without an element", redactable)
    assert error["session_id"] == session and error["payload"]["data"] == {"n": 3}

    assert erase(local_stack, session, key=local_stack.query_key).status == 403
    answer = erase(local_stack, session)
    assert answer.status == 200, answer.body
    assert answer.json() == {"session_id": session, "events_erased": 2, "errors_redacted": 1}
    assert get(local_stack, f"/sessions/{quote(session, safe='')}/events")["items"] == []
    redacted = get(local_stack, f"/errors/{error['error_id']}")
    assert redacted["payload"] is None and redacted["erased"] is True and redacted["session_id"] == session
    assert erase(local_stack, session).json() == {
        "session_id": session,
        "events_erased": 0,
        "errors_redacted": 0,
    }
    status = get(local_stack, "/status")
    assert status["erased"] >= 2
    assert eventually("a balanced ledger", lambda: get(local_stack, "/status")["balanced"])


def test_erasure_while_the_session_is_being_ingested(local_stack: LocalStackHandle) -> None:
    """Events keep arriving while the session is erased twice: whatever was stored before an
    erasure is gone, what arrived after it is stored once, the summary says what is left, and
    the ledger balances: stored = left + erased.

    The sender sends half of its events, then the other half once the first erasure is done,
    so that each erasure finds stored events and more keep coming, however fast the machine."""
    session = f"busy-{uuid.uuid4()}"
    before = get(local_stack, "/status")
    start = datetime.now(UTC) - timedelta(minutes=5)
    sent: list[str] = []
    first_erased = threading.Event()
    stop = threading.Event()

    def sender() -> None:
        n = 0
        while not stop.is_set() and n < 400:
            if n == 200:
                first_erased.wait()
            batch = [event(session, start + timedelta(milliseconds=n + i), n + i) for i in range(20)]
            sent.extend(post(local_stack, batch)["event_ids"])
            n += 20

    def some_stored() -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = get(local_stack, f"/sessions/{quote(session)}/events", limit=1)["items"]
        return items

    thread = threading.Thread(target=sender)
    thread.start()
    erased = 0
    try:
        for _ in range(2):
            # erase once some events of the session are stored (again)
            eventually(f"a stored event of session {session}", some_stored)
            answer = erase(local_stack, session)
            assert answer.status == 200, answer.body
            erased += answer.json()["events_erased"]
            first_erased.set()
    finally:
        first_erased.set()
        stop.set()
        thread.join()

    def settled() -> dict[str, Any] | None:
        status = get(local_stack, "/status")
        return status if status["queued"] == before["queued"] and status["balanced"] else None

    status = eventually("the ledger to settle and balance", settled)
    left = get(local_stack, f"/sessions/{quote(session)}/events", limit=1000)["items"]
    assert len({e["event_id"] for e in left}) == len(left)  # nothing twice
    assert erased > 0
    assert len(left) + erased == len(sent)  # every accepted event: erased or left, once
    assert status["erased"] - before["erased"] == erased
    assert status["stored"] - before["stored"] == len(sent)
    summary = [s for s in sessions(local_stack, start - timedelta(hours=1)) if s["session_id"] == session]
    counted = summary[0]["events"] if summary else 0
    if local_stack.state.get("backend") == "embedded":
        # the embedded counting reads a session's rows again in its transaction, and an
        # erasure is one transaction too
        assert counted == len(left)
    else:
        # DynamoDB counts a summary after the events are written: events erased between the
        # two stay counted (docs/DATA_MODEL.md, "Erasure"); never fewer than are left
        assert len(left) <= counted <= len(sent)
