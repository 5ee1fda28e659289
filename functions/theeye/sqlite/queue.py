"""SQLite adapter of ``EventQueue`` and ``QueueDepth``: a queue table with SQS semantics.

A row is a message: ``visible_at`` (epoch seconds) says when it may be received next, and a
receive hides it for a visibility timeout under a fresh ``receipt``, counting ``receive_count``
up. ``delete`` takes a receipt, as SQS does. A message received more than ``max_receives``
times is moved to the dead-letter table by the next ``receive`` (SQS's redrive policy), and
``redrive`` moves dead letters back. Depth is ``messages`` (visible + delayed) and
``in_flight`` (received, not yet deleted, still hidden).
"""

from __future__ import annotations

import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

from theeye.errors import QueueUnavailable, TheEyeError
from theeye.messages import QueueMessage
from theeye.sqlite.db import Database, compose, retryable, unavailable

QueueTable = Literal["queue_messages", "dead_letter_messages"]

# The statements of each table, written out in full for each (a table name is no parameter).
_TEMPLATES = {
    "send": ("INSERT INTO", "(body, sent_at, visible_at) VALUES (?, ?, ?)"),
    "depth": (
        "SELECT COUNT(*) AS total, COALESCE(SUM(receipt IS NOT NULL AND visible_at > ?), 0) AS in_flight FROM",
        "",
    ),
    "visible": (
        "SELECT id, body, receive_count, sent_at, first_received_at FROM",
        "WHERE visible_at <= ? ORDER BY visible_at, id LIMIT ?",
    ),
    "hide": (
        "UPDATE",
        "SET visible_at = ?, receipt = ?, receive_count = receive_count + 1,"
        " first_received_at = COALESCE(first_received_at, ?) WHERE id = ?",
    ),
    "any_visible": ("SELECT 1 FROM", "WHERE visible_at <= ? LIMIT 1"),
    "delete": ("DELETE FROM", "WHERE receipt = ?"),
    "change": ("UPDATE", "SET visible_at = ? WHERE receipt = ?"),
    "take": ("DELETE FROM", "WHERE id = ? RETURNING body"),
    "release": ("UPDATE", "SET visible_at = ? WHERE receipt IS NOT NULL AND visible_at > ?"),
    "all": ("DELETE FROM", "RETURNING body"),
}
# Every statement of each table (a table name cannot be a parameter).
_STATEMENTS: dict[QueueTable, dict[str, str]] = {
    table: {name: compose(verb, table, rest) for name, (verb, rest) in _TEMPLATES.items()}
    for table in ("queue_messages", "dead_letter_messages")
}


def message_id(row_id: object) -> str:
    """A message's id: stable across receives, as SQS's ``MessageId`` (unique within its table)."""
    return f"m-{row_id}"


@dataclass(frozen=True)
class Received:
    """A received message: its body, the receipt that deletes it, how often it was received."""

    body: str
    receipt: str
    receive_count: int
    message_id: str = ""  # stable across receives, as SQS's MessageId
    sent_at: float = 0.0  # epoch seconds
    first_received_at: float = 0.0


@dataclass
class SqliteQueue:
    db: Database
    table: QueueTable = "queue_messages"
    dead_letters: QueueTable | None = None  # where a message goes after max_receives receives
    max_receives: int = 3
    clock: Callable[[], float] = field(default=time.time)

    def send(self, messages: list[QueueMessage], delay_seconds: float = 0) -> None:
        """Enqueue every message in one durable commit, or raise ``QueueUnavailable`` (none taken)."""
        if not messages:
            return
        try:
            with self.db.write(retryable("queue")) as connection:
                self.insert(connection, messages, delay_seconds)
        except TheEyeError:
            raise QueueUnavailable([]) from None

    def insert(
        self, connection: sqlite3.Connection, messages: list[QueueMessage], delay_seconds: float = 0
    ) -> None:
        """Enqueue ``messages`` inside the caller's transaction (``theeye.sqlite.intake``)."""
        now = self.clock()
        rows = [(m.to_body(), now, now + delay_seconds) for m in messages]
        connection.executemany(self._sql("send"), rows)

    def depth(self) -> dict[str, int]:
        row = self.db.read(unavailable("queue"), self._sql("depth"), (self.clock(),))[0]
        in_flight = int(row["in_flight"])
        return {"messages": int(row["total"]) - in_flight, "in_flight": in_flight}

    def receive(self, max_messages: int = 10, visibility_timeout: float = 30) -> list[Received]:
        """Up to ``max_messages`` visible messages, each hidden for ``visibility_timeout`` seconds.

        A visible message already received ``max_receives`` times is moved to the dead-letter
        table instead of being returned.
        """
        now = self.clock()
        received: list[Received] = []
        # An idle poller asks often: a read says "nothing visible" without taking the write lock.
        if not self.db.read(retryable("queue"), self._sql("any_visible"), (now,)):
            return received
        with self.db.write(retryable("queue")) as connection:
            for row in connection.execute(self._sql("visible"), (now, max_messages * 2 + 10)).fetchall():
                if self.dead_letters is not None and row["receive_count"] >= self.max_receives:
                    body = connection.execute(self._sql("take"), (row["id"],)).fetchone()["body"]
                    connection.execute(_STATEMENTS[self.dead_letters]["send"], (body, now, now))
                    continue
                if len(received) == max_messages:
                    break
                receipt = secrets.token_hex(16)
                connection.execute(self._sql("hide"), (now + visibility_timeout, receipt, now, row["id"]))
                received.append(
                    Received(
                        row["body"],
                        receipt,
                        int(row["receive_count"]) + 1,
                        message_id=message_id(row["id"]),
                        sent_at=float(row["sent_at"]),
                        first_received_at=float(row["first_received_at"] or now),
                    )
                )
        return received

    def delete(self, receipt: str) -> bool:
        """Delete a received message; False when the receipt names none (deleted before)."""
        return self.delete_all([receipt])[0]

    def delete_all(self, receipts: list[str]) -> list[bool]:
        """``delete`` of each receipt, in one transaction."""
        with self.db.write(retryable("queue")) as connection:
            return [bool(connection.execute(self._sql("delete"), (r,)).rowcount) for r in receipts]

    def change_visibility(self, receipt: str, timeout: float) -> bool:
        """Hide a received message for ``timeout`` more seconds (0: visible again now)."""
        return self.change_visibility_all([(receipt, timeout)])[0]

    def change_visibility_all(self, changes: list[tuple[str, float]]) -> list[bool]:
        """``change_visibility`` of each (receipt, timeout), in one transaction."""
        now = self.clock()
        with self.db.write(retryable("queue")) as connection:
            return [bool(connection.execute(self._sql("change"), (now + t, r)).rowcount) for r, t in changes]

    def send_body(self, body: str, delay_seconds: float = 0) -> str:
        """Enqueue one body exactly as given (a redriven dead letter keeps its bytes, whether
        The Eye can read it or not); its message id, as ``receive`` reports it. Raises
        ``QueueUnavailable`` when the body was not taken."""
        now = self.clock()
        try:
            with self.db.write(retryable("queue")) as connection:
                row_id = connection.execute(self._sql("send"), (body, now, now + delay_seconds)).lastrowid
        except TheEyeError:
            raise QueueUnavailable([]) from None
        return message_id(row_id)

    def release_in_flight(self) -> int:
        """Make every received, undeleted message visible now; how many.

        For whoever knows that no receiver of this file is alive (the local stack at start,
        holding its data directory's lock): the receipts of a killed process would otherwise
        hide its messages until their visibility timeouts ran out.
        """
        now = self.clock()
        with self.db.write(retryable("queue")) as connection:
            return int(connection.execute(self._sql("release"), (now, now)).rowcount)

    def redrive(self, target: SqliteQueue) -> int:
        """Move every message of this queue to ``target`` (as new messages); how many moved."""
        now = self.clock()
        with self.db.write(retryable("queue")) as connection:
            bodies = [row["body"] for row in connection.execute(self._sql("all")).fetchall()]
            connection.executemany(_STATEMENTS[target.table]["send"], [(b, now, now) for b in bodies])
        return len(bodies)

    def _sql(self, name: str) -> str:
        return _STATEMENTS[self.table][name]
