"""SQLite adapter of ``KeyStore``: the ``api_keys`` table, keyed by the key's SHA-256 hash."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace

from theeye.clock import Clock, format_timestamp, utc_now
from theeye.errors import InvalidRequest, NotFound
from theeye.keys import ApiKey
from theeye.sqlite.db import Database, compose, retryable, unavailable

_reads = unavailable("keys table")
_writes = retryable("keys table")

_COLUMNS = "key_hash, key_id, application_id, scopes, created_at, revoked_at, description, last_used_at"
GET = compose("SELECT", _COLUMNS, "FROM api_keys WHERE key_hash = ?")
LIST = compose("SELECT", _COLUMNS, "FROM api_keys ORDER BY created_at, key_id")
BY_ID = compose("SELECT", _COLUMNS, "FROM api_keys WHERE key_id = ? LIMIT 1")
_INSERT = compose(
    "INSERT INTO api_keys (", _COLUMNS, ") VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (key_hash) DO NOTHING"
)
_REVOKE = "UPDATE api_keys SET revoked_at = ? WHERE key_hash = ? AND revoked_at IS NULL"
_USED = "UPDATE api_keys SET last_used_at = ?1 WHERE key_hash = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)"


def _from_row(row: sqlite3.Row) -> ApiKey:
    return ApiKey.from_item({**dict(row), "scopes": json.loads(row["scopes"])})


@dataclass
class SqliteKeyStore:
    db: Database
    clock: Clock = field(default=utc_now)

    def get(self, key_hash: str) -> ApiKey | None:
        rows = self.db.read(_reads, GET, (key_hash,))
        return _from_row(rows[0]) if rows else None

    def put(self, record: ApiKey) -> None:
        row = (
            record.key_hash,
            record.key_id,
            record.application_id,
            json.dumps(sorted(record.scopes)),
            record.created_at,
            record.revoked_at,
            record.description,
            record.last_used_at,
        )
        with self.db.write(_writes) as connection:
            inserted = connection.execute(_INSERT, row).rowcount
        if inserted != 1:
            raise InvalidRequest("a key with this hash exists already", code="key_exists")

    def record_use(self, key_hash: str, used_at: str) -> None:
        with self.db.write(_writes) as connection:
            connection.execute(_USED, (used_at, key_hash))

    def list(self) -> list[ApiKey]:
        return [_from_row(row) for row in self.db.read(_reads, LIST)]

    def revoke(self, key_id: str) -> ApiKey:
        with self.db.write(_writes) as connection:
            row = connection.execute(BY_ID, (key_id,)).fetchone()
            if row is None:
                raise NotFound(f"no API key with id {key_id}")
            record = _from_row(row)
            if record.revoked_at:
                return record
            record = replace(record, revoked_at=format_timestamp(self.clock()))
            connection.execute(_REVOKE, (record.revoked_at, record.key_hash))
        return record
