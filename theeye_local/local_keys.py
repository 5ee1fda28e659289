"""The three API keys of the local stack, issued with the domain's own key code.

Keys are made by ``theeye.keys.new_api_key`` and stored by the backend's ``KeyStore`` - the
code the operator CLI uses - so a local key is exactly what a deployed one is (only its hash is
stored). The caller must have put the functions' code directory on ``sys.path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

if TYPE_CHECKING:
    from theeye.ports import KeyStore

INGEST_APPLICATION: Final = "local-app"
QUERY_APPLICATION: Final = "local-console"
ADMIN_APPLICATION: Final = "local-admin"


@dataclass(frozen=True)
class LocalKeys:
    ingest: str
    query: str
    admin: str


def issue_keys(
    store: KeyStore, *, ingest_key: str | None, query_key: str | None, admin_key: str | None = None
) -> LocalKeys:
    """Store an ``ingest`` key (application ``local-app``), a ``query`` key (``local-console``)
    and an ``admin`` key (``local-admin``).

    ``None`` generates a random key. A given key the store already holds (the embedded
    backend keeps its keys across restarts) is kept as it is, if it is still active and has
    that scope. Raises ``ValueError`` for a key the domain refuses (too short or long), for one
    held revoked or with another scope, or when two keys are the same (one hash cannot have
    two records).
    """
    from theeye.keys import new_api_key

    given = [k for k in (ingest_key, query_key, admin_key) if k is not None]
    if len(set(given)) < len(given):
        raise ValueError("THEEYE_INGEST_KEY, THEEYE_QUERY_KEY and THEEYE_ADMIN_KEY must differ")
    issued: dict[str, str] = {}
    wanted = (
        ("ingest", INGEST_APPLICATION, ingest_key, "THEEYE_INGEST_KEY"),
        ("query", QUERY_APPLICATION, query_key, "THEEYE_QUERY_KEY"),
        ("admin", ADMIN_APPLICATION, admin_key, "THEEYE_ADMIN_KEY"),
    )
    for scope, application, raw, variable in wanted:
        try:
            key, record = new_api_key(
                application, [scope], raw_key=raw, description=f"local stack ({variable})"
            )
        except ValueError as exc:
            raise ValueError(f"{variable}: {exc}") from None
        held = store.get(record.key_hash)
        if held is None:
            store.put(record)
        elif not held.active or held.scopes != record.scopes:
            raise ValueError(
                f"{variable}: the store holds this key {'revoked' if not held.active else 'with another scope'};"
                " choose another key, or start fresh (THEEYE_FRESH=1)"
            )
        issued[scope] = key
    return LocalKeys(ingest=issued["ingest"], query=issued["query"], admin=issued["admin"])
