"""Error replay (``POST /errors/replay``, ``theeye errors replay``): recorded errors' events
checked again with the current rules, and the ones that pass queued again.

Which errors: of one processor error type, received in ``[from, to)``, that hold an event (the
processor recorded the event as sent, and its stored context), are not erased and were not
replayed; of those, the events of ``category``/``name`` when given. Each is judged by
``theeye.checks`` as the processor would judge it now, the future-timestamp rule against the
event's original ``received_at``.

A replayable event is queued again in a message of its own, with its original ``event_id``,
``received_at``, application, key and context, marked as a replay's (the ledger counts it under
``replayed``). Before it is queued its error is claimed: ``ErrorStore.mark_replayed`` is one
conditional write, so two replays running at once queue each event once, and a replay run twice
finds nothing the second time. A claim whose message the queue refused is given back. The event
store stores an ``event_id`` once: a replayed event the application had sent again meanwhile is a
duplicate. The message of one error is always the same body, so a redelivery counts once.

A replay is paged: one call examines at most ``CALL_ERRORS`` errors and stops early when its time
budget (``CALL_SECONDS``, under API Gateway's 29 s) is spent; its answer then carries ``next``, a
signed cursor that continues the same replay where it stopped (its counts are that call's).
"""

from __future__ import annotations

import dataclasses
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from theeye import checks
from theeye.clock import Clock, format_timestamp, parse_timestamp, utc_now
from theeye.cursor import CursorCodec, fingerprint
from theeye.errors import InvalidRequest, QueueUnavailable
from theeye.events import Event, validate_event
from theeye.ledger import PROCESSOR_INVALID
from theeye.messages import Origin, QueuedEvent, QueueMessage
from theeye.ports import ErrorFilter, ErrorReader, ErrorStore, Intake, View, Window, error_position
from theeye.records import REPLAY_DEFAULT_MAX, REPLAY_LISTED, REPLAY_MAX_ERRORS, Replayed
from theeye.schemas import SchemaRegistry

ROUTE: Final = "/errors/replay"
DEFAULT_WINDOW: Final = timedelta(days=7)
CALL_ERRORS: Final = 1_000  # errors one call examines at most
CALL_SECONDS: Final = 20.0  # one call's time budget: it reads no further page after this
READ_PAGE: Final = 200
REPLAYABLE_TYPES: Final = PROCESSOR_INVALID


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay, as asked (``from``/``to`` as sent: None takes the last 7 days)."""

    type: str
    start: str | None = None
    end: str | None = None
    category: str | None = None
    name: str | None = None
    dry_run: bool = False
    max: int = REPLAY_DEFAULT_MAX
    cursor: str | None = None

    def fingerprint(self) -> str:
        asked = {
            "type": self.type,
            "from": self.start,
            "to": self.end,
            "category": self.category,
            "name": self.name,
            "dry_run": self.dry_run,
            "max": self.max,
        }
        return fingerprint(ROUTE, {k: v for k, v in asked.items() if v is not None})


@dataclass
class ReplayAnswer:
    matched: int = 0
    replayable: int = 0
    replayed: int = 0
    still_invalid: list[dict[str, Any]] = field(default_factory=list)
    next: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class _State:
    """Where a paged replay stands: its range (fixed by the first call), the last error
    examined and how many errors it took so far."""

    start: str
    end: str
    after: str | None
    taken: int

    def encode(self) -> str:
        return json.dumps([self.start, self.end, self.after, self.taken], separators=(",", ":"))

    @classmethod
    def decode(cls, text: str) -> _State:
        start, end, after, taken = json.loads(text)
        return cls(str(start), str(end), after, int(taken))


@dataclass
class Replay:
    reader: ErrorReader
    errors: ErrorStore
    intake: Intake
    schemas: SchemaRegistry
    rules: checks.Rules
    cursors: CursorCodec
    clock: Clock = utc_now
    monotonic: Callable[[], float] = time.monotonic
    call_errors: int = CALL_ERRORS
    call_seconds: float = CALL_SECONDS

    def run(self, asked: ReplayRequest) -> ReplayAnswer:
        checked(asked)
        state = self._state(asked)
        deadline = self.monotonic() + self.call_seconds
        answer = ReplayAnswer()
        where = ErrorFilter(type=asked.type, source="processor", replayed=False)
        examined, after, done = 0, state.after, False
        taken = state.taken
        while taken < asked.max and examined < self.call_errors and self.monotonic() < deadline:
            limit = min(READ_PAGE, self.call_errors - examined)
            window = Window(parse_timestamp(state.start), parse_timestamp(state.end), False, after)
            page = self.reader.page(window, where, limit=limit)
            replayable: list[tuple[View, QueuedEvent]] = []
            for view in page.items:
                examined += 1
                after = error_position(view["received_at"], view["error_id"])
                queued = held_event(view)
                if queued is None or not _wanted(queued.event, asked):
                    continue
                answer.matched += 1
                taken += 1
                problems = self._problems(view, queued)
                if problems:
                    if len(answer.still_invalid) < REPLAY_LISTED:
                        answer.still_invalid.append({"error_id": view["error_id"], "errors": problems})
                else:
                    answer.replayable += 1
                    replayable.append((view, queued))
                if taken >= asked.max:
                    break
            if not asked.dry_run:
                answer.replayed += self._enter(replayable)
            if page.position is None:  # nothing after this page (or max reached within it)
                done = True
                break
        if not done and taken < asked.max:
            state = _State(state.start, state.end, after, taken)
            answer.next = self.cursors.encode(state.encode(), asked.fingerprint())
        return answer

    def _state(self, asked: ReplayRequest) -> _State:
        if asked.cursor is not None:
            try:
                return _State.decode(self.cursors.decode(asked.cursor, asked.fingerprint()))
            except (ValueError, TypeError) as exc:
                raise InvalidRequest("the cursor is malformed", code="invalid_cursor") from exc
        end = _time(asked.end, "to") or self.clock()
        start = _time(asked.start, "from") or end - DEFAULT_WINDOW
        if start >= end:
            raise InvalidRequest(
                "from must be before to",
                code="invalid_parameter",
                details=[{"field": "from", "message": "must be before to"}],
            )
        return _State(format_timestamp(start), format_timestamp(end), None, 0)

    def _problems(self, view: View, queued: QueuedEvent) -> list[dict[str, str]]:
        found = checks.findings(queued.event, view["received_at"], self.schemas, self.rules)
        return [{"type": f.type, **e.to_dict()} for f in found for e in f.errors]

    def _enter(self, replayable: list[tuple[View, QueuedEvent]]) -> int:
        """Claim each error, then queue the claimed events; claims whose message was refused
        are given back (and the refusal raised: repeating the call replays the rest)."""
        at = format_timestamp(self.clock())
        claimed: list[tuple[str, Replayed, QueueMessage]] = []
        for view, queued in replayable:
            mark = Replayed(at, queued.event.event_id)
            if self.errors.mark_replayed(view["error_id"], mark):
                claimed.append((view["error_id"], mark, replay_message(view, queued)))
        if not claimed:
            return 0
        try:
            self.intake.accept([message for _id, _mark, message in claimed])
        except QueueUnavailable as refused:
            taken = {id(m) for m in refused.delivered}
            for error_id, mark, message in claimed:
                if id(message) not in taken:
                    self.errors.unmark_replayed(error_id, mark)
            raise
        return len(claimed)


def checked(asked: ReplayRequest) -> None:
    """``InvalidRequest`` naming what is wrong with a replay's parameters."""
    problems: list[dict[str, str]] = []
    if asked.type not in REPLAYABLE_TYPES:
        problems.append({"field": "type", "message": f"must be one of {', '.join(REPLAYABLE_TYPES)}"})
    if not 1 <= asked.max <= REPLAY_MAX_ERRORS:
        problems.append({"field": "max", "message": f"must be 1-{REPLAY_MAX_ERRORS}"})
    if problems:
        raise InvalidRequest(
            "the replay's parameters are invalid", code="invalid_parameter", details=problems
        )


def _time(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        return parse_timestamp(value)
    except ValueError as exc:
        raise InvalidRequest(
            f"{name} is not a time", code="invalid_parameter", details=[{"field": name, "message": str(exc)}]
        ) from exc


def _wanted(event: Event, asked: ReplayRequest) -> bool:
    return asked.category in (None, event.category) and asked.name in (None, event.name)


def held_event(view: View) -> QueuedEvent | None:
    """The event an error holds, as the processor had it (the sender's timestamp, ``sent_at``'s
    correction against the original receipt, the stored context); None when it holds none
    (erased, a rejection at ingest, a payload cut to 32 KiB, an envelope no longer valid)."""
    payload = view.get("payload")
    if view.get("erased") or not view.get("event_id") or not isinstance(payload, dict):
        return None
    event = validate_event(payload, str(view["application_id"]), parse_timestamp(view["received_at"]))
    if not isinstance(event, Event) or event.event_id != view["event_id"]:
        return None
    event = dataclasses.replace(event, context=view.get("context") or {})
    written = payload.get("timestamp")
    sent_timestamp = written if isinstance(written, str) and written != event.client_timestamp else None
    sent_at = payload.get("sent_at") if isinstance(payload.get("sent_at"), str) else None
    return QueuedEvent(0, event, sent_timestamp, sent_at)


def replay_message(view: View, queued: QueuedEvent) -> QueueMessage:
    """One error's event as a replay's message: always the same body for the same error."""
    origin = Origin(
        application_id=str(view["application_id"]),
        key_id=str(view.get("key_id") or ""),
        received_at=str(view["received_at"]),
        request_id=str(view.get("request_id") or view["error_id"]),
    )
    return QueueMessage(origin, [queued], replay=True)
