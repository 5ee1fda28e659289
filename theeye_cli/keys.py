"""``theeye keys``: issue, list and revoke API keys with the domain's own key code.

Keys are made by ``theeye.keys.new_api_key`` and stored by the target's ``KeyStore``
(``theeye.aws.keys``, or ``theeye.sqlite.keys`` on the local stack's embedded backend; only the
SHA-256 hash is stored; the key is shown once). A revoked key stops working within 60 s: the
ingest and query functions cache a key for at most that long per container.

``last_used_at`` is when a function last let the key in, to within a minute: each container
records a key's use at most once a minute (``theeye.keys.Authenticator``); empty for a key never used.
"""

from __future__ import annotations

from typing import Any

from theeye.clock import format_timestamp, utc_now
from theeye.keys import ApiKey, new_api_key
from theeye.ports import KeyStore
from theeye_cli.output import fields, table
from theeye_cli.target import Target

REVOCATION_DELAY_SECONDS = 60


def store(target: Target) -> KeyStore:
    return target.backend().keys()


def key_view(record: ApiKey) -> dict[str, Any]:
    return {
        "key_id": record.key_id,
        "application_id": record.application_id,
        "scopes": sorted(record.scopes),
        "created_at": record.created_at,
        "last_used_at": record.last_used_at,
        "revoked_at": record.revoked_at,
        "description": record.description,
    }


def create(target: Target, *, application_id: str, scopes: list[str], description: str) -> dict[str, Any]:
    """Store a new key; the answer is the only place the raw key ever appears."""
    raw, record = new_api_key(application_id, scopes, description=description)
    store(target).put(record)
    return {"key": raw, **key_view(record)}


def list_keys(target: Target, *, application_id: str | None, active_only: bool) -> list[dict[str, Any]]:
    records = store(target).list()
    return [
        key_view(r)
        for r in records
        if (application_id is None or r.application_id == application_id) and (r.active or not active_only)
    ]


def revoke(target: Target, key_id: str) -> dict[str, Any]:
    """Revoke a key (raises ``theeye.errors.NotFound``); revoking twice keeps the first time."""
    started = format_timestamp(utc_now())
    record = store(target).revoke(key_id)
    already = record.revoked_at is not None and record.revoked_at < started
    return {
        **key_view(record),
        "already_revoked": already,
        "effective_within_seconds": REVOCATION_DELAY_SECONDS,
    }


def render_created(view: dict[str, Any]) -> str:
    return "\n".join(
        [
            f"Created {view['key_id']} for application {view['application_id']!r} "
            f"(scopes: {', '.join(view['scopes'])}).",
            "",
            "    " + view["key"],
            "",
            "This is the only time the key is shown: only its hash is stored. Give it to the",
            "application now; revoke it with 'theeye keys revoke " + view["key_id"] + "'.",
        ]
    )


def render_list(views: list[dict[str, Any]]) -> str:
    if not views:
        return "No API keys."
    rows = [
        (
            v["key_id"],
            v["application_id"],
            v["scopes"],
            v["created_at"],
            v["last_used_at"],
            v["revoked_at"],
            v["description"],
        )
        for v in views
    ]
    headers = ("KEY ID", "APPLICATION", "SCOPES", "CREATED", "LAST USED", "REVOKED", "DESCRIPTION")
    return table(headers, rows) + "\n\nLAST USED is the key's last request, to within a minute."


def render_revoked(view: dict[str, Any]) -> str:
    if view["already_revoked"]:
        head = f"{view['key_id']} was already revoked at {view['revoked_at']}."
    else:
        head = (
            f"Revoked {view['key_id']} (application {view['application_id']!r}) at {view['revoked_at']}; "
            f"it stops working within {view['effective_within_seconds']} s."
        )
    return head + "\n" + fields([("scopes", view["scopes"]), ("created", view["created_at"])])
