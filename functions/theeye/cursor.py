"""Paging cursors: opaque to clients, tamper-evident, bound to the query that made them.

A cursor is ``base64url(json) + "." + base64url(hmac)``. The JSON holds the position (the
last sort key returned) and a fingerprint of the filters; the HMAC-SHA256 (keyed by a secret
the client never sees) makes a forged or edited cursor fail. A cursor presented with other
filters than the ones it was made for fails too, instead of silently paging wrongly.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from theeye.errors import InvalidRequest

MAX_CURSOR_LENGTH = 2048
_SIGNATURE_BYTES = 16


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def fingerprint(route: str, filters: Mapping[str, Any]) -> str:
    canonical = json.dumps([route, dict(sorted(filters.items()))], separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class CursorCodec:
    secret: bytes

    def encode(self, position: str, query_fingerprint: str) -> str:
        payload = _b64encode(
            json.dumps({"p": position, "f": query_fingerprint}, separators=(",", ":")).encode()
        )
        return f"{payload}.{self._sign(payload)}"

    def decode(self, cursor: str, query_fingerprint: str) -> str:
        """The position a cursor carries; ``InvalidRequest`` for anything not made by ``encode``."""
        if len(cursor) > MAX_CURSOR_LENGTH or cursor.count(".") != 1:
            raise _invalid("malformed")
        payload, signature = cursor.split(".")
        if not hmac.compare_digest(signature.encode("ascii", "replace"), self._sign(payload).encode("ascii")):
            raise _invalid("not issued by this service, or altered")
        try:
            value = json.loads(_b64decode(payload))
        except (ValueError, binascii.Error) as exc:
            raise _invalid("malformed") from exc
        if not isinstance(value, dict) or not isinstance(value.get("p"), str):
            raise _invalid("malformed")
        if value.get("f") != query_fingerprint:
            raise _invalid("made for other filters; repeat the same filters with a cursor")
        return str(value["p"])

    def _sign(self, payload: str) -> str:
        digest = hmac.new(self.secret, payload.encode("ascii", "replace"), hashlib.sha256).digest()
        return _b64encode(digest[:_SIGNATURE_BYTES])


def _invalid(why: str) -> InvalidRequest:
    return InvalidRequest(
        f"the cursor is {why}",
        code="invalid_cursor",
        details=[{"field": "cursor", "message": why}],
    )
