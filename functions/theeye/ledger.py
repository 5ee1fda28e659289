"""The ledger: where every accepted event is, computed from what the pipeline counted.

Ingest counts what each message it queued carries - accepted events, rejections by type -
and the processor counts what each message turned into - stored, duplicates, invalid by
type; both exactly once per message, keyed by ``message_key``. A message that fails its last
delivery is counted dead-lettered. The processor also counts a message's intake when ingest
did not (a worker that died between queueing and counting): whoever comes first counts it,
the other finds its marker and adds nothing, so ``accepted`` is what reached the queue.
A replay (``POST /errors/replay``) queues recorded errors' events again in messages of its
own, whose intake counts ``replayed`` instead of ``accepted``: the error stays counted as
invalid, and its event enters a second time. Nothing is counted per event and nothing is
derived from logs, so
``accepted + replayed = stored + duplicates + invalid + queued + dead-lettered`` can be checked.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from theeye.records import PROCESSOR_ERROR_TYPES

# What a balanced ledger satisfies (with ``queued`` never negative, and zero whenever the
# events queue is empty), as people read it: ``GET /status``'s schema, ``theeye status``.
BALANCE = "accepted + replayed = stored + duplicates + invalid + queued + dead_lettered"

# Ledger fields a processor-side invalid event type is counted under.
PROCESSOR_INVALID = PROCESSOR_ERROR_TYPES
INGEST_REJECTED = ("invalid_envelope", "invalid_json")


def message_key(body: str) -> str:
    """Stable across redeliveries and redrives (SQS gives a redriven message a new id)."""
    return hashlib.sha256(body.encode("utf-8")).hexdigest()[:40]


@dataclass(frozen=True)
class IntakeTally:
    """What one queued message counts for at intake: its events (accepted, or replayed when the
    message is a replay's), and its rejections by type."""

    key: str  # message_key of the body as queued
    accepted: int
    rejected: Mapping[str, int]
    replayed: int = 0

    def counts(self) -> dict[str, int]:
        replayed = {"replayed": self.replayed} if self.replayed else {}
        return {
            "accepted": self.accepted,
            **replayed,
            **{f"rejected_{t}": n for t, n in self.rejected.items() if n},
        }


@dataclass(frozen=True)
class SessionTally:
    """What one message stored of one session: its events, their time span, who sent them."""

    events: int
    first_seen: str
    last_seen: str
    application_ids: frozenset[str]

    def merged(self, other: SessionTally) -> SessionTally:
        return SessionTally(
            self.events + other.events,
            min(self.first_seen, other.first_seen),
            max(self.last_seen, other.last_seen),
            self.application_ids | other.application_ids,
        )

    @classmethod
    def of_event(cls, timestamp: str, application_id: str) -> SessionTally:
        return cls(1, timestamp, timestamp, frozenset({application_id}))


def merge_sessions(into: dict[str, SessionTally], sessions: Mapping[str, SessionTally]) -> None:
    """Fold ``sessions`` into ``into``, one tally per session."""
    for session_id, tally in sessions.items():
        known = into.get(session_id)
        into[session_id] = tally if known is None else known.merged(tally)


@dataclass(frozen=True)
class MessageTally:
    """What one message contributes: its outcome counts, stored events per category/minute and
    per session (``GET /sessions``)."""

    stored: int
    duplicates: int
    invalid: Mapping[str, int]
    stored_by_minute: Mapping[tuple[str, str], int]  # (category, "YYYY-MM-DDTHH:MM") -> events
    sessions: Mapping[str, SessionTally] = field(default_factory=dict)


def ledger_status(
    totals: Mapping[str, int], queue: Mapping[str, int], dead_letter_queue: Mapping[str, int]
) -> dict[str, Any]:
    """Where every accepted event is, and whether the books balance (``GET /status``, ``theeye status``).

    ``queued`` is what was accepted or replayed and not yet accounted for. The ledger balances when it is
    never negative and is zero whenever the queue holds no message (messages can carry only
    rejections, so a non-empty queue with nothing queued is fine).
    """
    invalid = {t: totals.get(f"invalid_{t}", 0) for t in PROCESSOR_INVALID}
    rejected = {t: totals.get(f"rejected_{t}", 0) for t in INGEST_REJECTED}
    accepted, stored, duplicates = (totals.get(k, 0) for k in ("accepted", "stored", "duplicates"))
    replayed = totals.get("replayed", 0)  # recorded errors' events that entered again
    dead_lettered = totals.get("dead_lettered", 0)
    erased = totals.get("erased", 0)  # erased events stay counted as stored: no part of the balance
    queued = accepted + replayed - stored - duplicates - sum(invalid.values()) - dead_lettered
    waiting = queue["messages"] + queue["in_flight"]
    return {
        "accepted": accepted,
        "replayed": replayed,
        "stored": stored,
        "duplicates": duplicates,
        "invalid": invalid,
        "queued": queued,
        "dead_lettered": dead_lettered,
        "erased": erased,
        "balanced": queued >= 0 and (queued == 0 or waiting > 0),
        "rejected": rejected,
        "queue": dict(queue),
        "dead_letter_queue": dict(dead_letter_queue),
    }
