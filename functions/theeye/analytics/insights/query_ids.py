"""The ``query_id`` of an insight still running (Athena after 20 s: ``202``), which
``GET /insights/{query_id}`` turns back into the engine's query and the insight whose answer
its rows are shaped into.

Shaping needs the request (its buckets, steps, limit), and nothing is stored between the two
calls, so the id carries it: ``<engine's query id>.<request>.<signature>``, the request being
``Insight.body()`` (its range explicit) as compact JSON, zlib-compressed, base64url; the
signature an HMAC-SHA256 over both parts with a key derived from the service's cursor secret.
A forged or edited id, or an engine query paired with another insight, fails the signature
and is ``not_found``; the request is parsed and checked again on the way back all the same.

An id is at most ``MAX_QUERY_ID_LENGTH`` characters, a length every URL carries. A typical
request is a few hundred; one whose ``where`` lists run into thousands of characters may not
fit: when such an insight is still running after 20 s it is ``400 query_too_expensive``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import zlib
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from theeye.analytics.insights.request import Insight, parse_insight
from theeye.errors import InvalidInsight, NotFound, QueryTooExpensive

MAX_QUERY_ID_LENGTH: Final = 4096
_MAX_REQUEST_BYTES: Final = 1 << 20  # a request inflated from an id, at most
_SIGNATURE_BYTES: Final = 16
_PURPOSE: Final = b"theeye insight query id"


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class InsightQueryIds:
    """Makes and reads insight query ids; ``secret`` is the service's cursor secret."""

    secret: bytes

    def make(self, engine_query_id: str, insight: Insight) -> str:
        """The id of ``insight`` running as the engine's ``engine_query_id``."""
        request = json.dumps(insight.body(), separators=(",", ":"), sort_keys=True).encode("utf-8")
        payload = _encode(zlib.compress(request, 9))
        query_id = f"{engine_query_id}.{payload}.{self._sign(engine_query_id, payload)}"
        if len(query_id) > MAX_QUERY_ID_LENGTH:
            raise QueryTooExpensive(
                "the insight is still running after 20 s, and its request is too long to be named by a "
                f"query id (at most {MAX_QUERY_ID_LENGTH} characters); narrow its range or shorten its "
                "where lists"
            )
        return query_id

    def read(self, query_id: str, now: datetime) -> tuple[str, Insight]:
        """The engine's query id and the insight of an id ``make`` gave; else ``NotFound``."""
        missing = NotFound(f"no insight query {query_id[:80]!r}")
        if len(query_id) > MAX_QUERY_ID_LENGTH or query_id.count(".") < 2:
            raise missing
        engine_query_id, payload, signature = query_id.rsplit(".", 2)
        expected = self._sign(engine_query_id, payload)
        if not hmac.compare_digest(signature.encode("ascii", "replace"), expected.encode("ascii")):
            raise missing
        try:
            inflater = zlib.decompressobj()
            request = inflater.decompress(_decode(payload), _MAX_REQUEST_BYTES)
            body = json.loads(request)
            return engine_query_id, parse_insight(body, now)
        except (binascii.Error, zlib.error, ValueError, InvalidInsight):
            # Signed here, so only an id made under other rules (an earlier version) gets here.
            raise missing from None

    def _sign(self, engine_query_id: str, payload: str) -> str:
        key = hmac.new(self.secret, _PURPOSE, hashlib.sha256).digest()
        message = f"{engine_query_id}.{payload}".encode("ascii", "replace")
        return _encode(hmac.new(key, message, hashlib.sha256).digest()[:_SIGNATURE_BYTES])
