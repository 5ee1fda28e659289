"""API keys: issued once, stored only as SHA-256 hashes, checked in constant time.

A key is ``eye_`` followed by 43 URL-safe characters (256 random bits). Only its hash is
stored (the table's partition key), so a leaked table does not leak keys, and a lookup is a
single ``GetItem``. Scopes say what a key may do: ``ingest`` (POST /events), ``query`` or ``admin`` (erasure).

When a key was last used is recorded by the authenticator of each container, at most once a
minute per key, and never at the price of a request: a failed write is logged and forgotten.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from theeye.clock import Clock, format_timestamp, utc_now
from theeye.errors import AuthenticationFailed, PermissionDenied, TheEyeError
from theeye.observability import logger

Scope = Literal["ingest", "query", "admin"]
SCOPES: tuple[Scope, ...] = ("ingest", "query", "admin")
KEY_PREFIX = "eye_"
MAX_KEY_LENGTH = 128  # longer presented keys are refused without a lookup


def hash_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode("utf-8")).hexdigest()


def generate_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


@dataclass(frozen=True)
class ApiKey:
    """What the keys table holds for one key (never the key itself)."""

    key_hash: str
    key_id: str
    application_id: str
    scopes: frozenset[str]
    created_at: str
    revoked_at: str | None = None
    description: str = ""
    last_used_at: str | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def to_item(self) -> dict[str, object]:
        item: dict[str, object] = {
            "key_hash": self.key_hash,
            "key_id": self.key_id,
            "application_id": self.application_id,
            "scopes": sorted(self.scopes),
            "created_at": self.created_at,
            "description": self.description,
        }
        if self.revoked_at is not None:
            item["revoked_at"] = self.revoked_at
        if self.last_used_at is not None:
            item["last_used_at"] = self.last_used_at
        return item

    @classmethod
    def from_item(cls, item: dict[str, object]) -> ApiKey:
        scopes = item.get("scopes") or []
        revoked = item.get("revoked_at")
        used = item.get("last_used_at")
        return cls(
            key_hash=str(item["key_hash"]),
            key_id=str(item["key_id"]),
            application_id=str(item["application_id"]),
            scopes=frozenset(str(s) for s in scopes),  # type: ignore[attr-defined]
            created_at=str(item.get("created_at", "")),
            revoked_at=str(revoked) if revoked else None,
            description=str(item.get("description", "")),
            last_used_at=str(used) if used else None,
        )


def new_api_key(
    application_id: str,
    scopes: Iterable[str],
    *,
    raw_key: str | None = None,
    description: str = "",
    clock: Clock = utc_now,
) -> tuple[str, ApiKey]:
    """Issue a key: returns the raw key (show it once) and the record to store."""
    wanted = frozenset(scopes)
    unknown = wanted - set(SCOPES)
    if not wanted or unknown:
        raise ValueError(f"scopes must be a non-empty subset of {SCOPES}, got {sorted(wanted)}")
    if not application_id or len(application_id) > 128:
        raise ValueError("application id must be 1-128 characters")
    key = raw_key or generate_key()
    if len(key) < 16 or len(key) > MAX_KEY_LENGTH:
        raise ValueError(f"a key must be 16-{MAX_KEY_LENGTH} characters")
    record = ApiKey(
        key_hash=hash_key(key),
        key_id="key-" + secrets.token_hex(8),
        application_id=application_id,
        scopes=wanted,
        created_at=format_timestamp(clock()),
        description=description,
    )
    return key, record


class KeyLookup(Protocol):
    def __call__(self, key_hash: str) -> ApiKey | None: ...


class UseRecord(Protocol):
    def __call__(self, key_hash: str, used_at: str) -> None: ...


class KeyRecords(Protocol):
    """What authentication needs of ``theeye.ports.KeyStore``."""

    def get(self, key_hash: str) -> ApiKey | None: ...

    def record_use(self, key_hash: str, used_at: str) -> None: ...


@dataclass
class Authenticator:
    """Resolves a presented key to its record, with a small per-container cache.

    Positive answers are cached for ``ttl_seconds`` (at most 60 s, so a revoked key stops
    working within the contract's minute); unknown keys for ``negative_ttl_seconds`` so a
    flood of bad keys cannot turn into a flood of table reads.

    With ``record_use`` (``KeyStore.record_use``), a key let in is recorded as used at most once
    per ``use_interval_seconds`` per key in this container: the first request after the interval
    makes the write, the others none. A store that refuses the write fails nothing: the error
    is logged and the request goes on.
    """

    lookup: KeyLookup
    ttl_seconds: float = 60.0
    negative_ttl_seconds: float = 5.0
    max_entries: int = 1024
    monotonic: Callable[[], float] = time.monotonic
    record_use: UseRecord | None = None
    use_interval_seconds: float = 60.0
    clock: Clock = utc_now
    _cache: OrderedDict[str, tuple[float, ApiKey | None]] = field(default_factory=OrderedDict, repr=False)
    _recorded: OrderedDict[str, float] = field(default_factory=OrderedDict, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @classmethod
    def over(cls, store: KeyRecords, *, ttl_seconds: float) -> Authenticator:
        """The functions' authenticator: looks keys up in ``store`` and records their use there."""
        return cls(store.get, ttl_seconds=ttl_seconds, record_use=store.record_use)

    def authenticate(self, raw_key: str | None, scope: Scope) -> ApiKey:
        if not raw_key:
            raise AuthenticationFailed("missing API key: send 'Authorization: Bearer <key>'")
        if len(raw_key) > MAX_KEY_LENGTH:
            raise AuthenticationFailed("unknown API key")
        presented_hash = hash_key(raw_key)
        record = self._resolve(presented_hash)
        # The lookup is keyed by the hash; compare again in constant time so that no code
        # path ever decides on a key with a short-circuiting comparison.
        if record is None or not hmac.compare_digest(record.key_hash, presented_hash):
            raise AuthenticationFailed("unknown API key")
        if not record.active:
            raise AuthenticationFailed("this API key has been revoked")
        if scope not in record.scopes:
            raise PermissionDenied(f"this API key lacks the '{scope}' scope")
        if self.record_use is not None and self._use_is_due(record.key_hash):
            self._record(self.record_use, record)
        return record

    def _use_is_due(self, key_hash: str) -> bool:
        """Whether this use is the first of its interval (and then it claims the interval)."""
        now = self.monotonic()
        with self._lock:
            last = self._recorded.get(key_hash)
            if last is not None and now - last < self.use_interval_seconds:
                return False
            self._recorded[key_hash] = now
            self._recorded.move_to_end(key_hash)
            while len(self._recorded) > self.max_entries:
                self._recorded.popitem(last=False)
        return True

    def _record(self, record_use: UseRecord, record: ApiKey) -> None:
        try:
            record_use(record.key_hash, format_timestamp(self.clock()))
        except TheEyeError:  # a store failure (every adapter translates its own): the request goes on
            logger.warning(
                "could not record the use of an API key", extra={"key_id": record.key_id}, exc_info=True
            )

    def _resolve(self, key_hash: str) -> ApiKey | None:
        now = self.monotonic()
        with self._lock:
            cached = self._cache.get(key_hash)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(key_hash)
                return cached[1]
        record = self.lookup(key_hash)
        ttl = self.ttl_seconds if record is not None else self.negative_ttl_seconds
        with self._lock:
            self._cache[key_hash] = (now + min(ttl, 60.0), record)
            self._cache.move_to_end(key_hash)
            while len(self._cache) > self.max_entries:
                self._cache.popitem(last=False)
        return record


def presented_key(
    headers: dict[str, str], query: dict[str, str] | None = None, *, basic: bool = False
) -> str | None:
    """The key a request presents: ``Authorization: Bearer``, ``X-Api-Key`` or ``?key=``; with
    ``basic`` (the Segment-compatible routes), ``Authorization: Basic`` with the key as user name
    and an empty password too.

    Header names must already be lower-case (API Gateway v2 lower-cases them).
    """
    authorization = headers.get("authorization", "")
    if authorization:
        scheme, _, credentials = authorization.strip().partition(" ")
        if scheme.lower() == "bearer" and credentials.strip():
            return credentials.strip()
        if basic and scheme.lower() == "basic" and credentials.strip():
            return basic_user(credentials.strip())
    api_key = headers.get("x-api-key", "").strip()
    if api_key:
        return api_key
    if query:
        from_query = (query.get("key") or "").strip()
        if from_query:
            return from_query
    return None


def basic_user(credentials: str) -> str:
    """The user name of HTTP Basic credentials (base64 of ``user:password``), which must have an
    empty password: Segment's libraries send their write key so."""
    if len(credentials) > (MAX_KEY_LENGTH + 2) * 4 // 3 + 4:
        raise AuthenticationFailed("unknown API key")
    try:
        user, colon, password = base64.b64decode(credentials, validate=True).decode("utf-8").partition(":")
    except (binascii.Error, ValueError):
        raise AuthenticationFailed("malformed HTTP Basic credentials: send base64 of '<key>:'") from None
    if not colon or password:
        raise AuthenticationFailed("HTTP Basic takes the ingest key as user name and an empty password")
    return user.strip()
