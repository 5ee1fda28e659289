"""The two API keys of the local stack, issued with the domain's own key code.

Keys are made by ``theeye.keys.new_api_key`` and stored by ``theeye.aws.keys.DynamoKeyStore``
- the code the operator CLI uses - so a local key is exactly what a deployed one is (only its
hash is stored). The caller must have pointed boto3 at the embedded AWS (``AWS_ENDPOINT_URL``)
and put the functions' code directory on ``sys.path``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

INGEST_APPLICATION: Final = "local-app"
QUERY_APPLICATION: Final = "local-console"


@dataclass(frozen=True)
class LocalKeys:
    ingest: str
    query: str


def issue_keys(table_name: str, *, ingest_key: str | None, query_key: str | None) -> LocalKeys:
    """Store an ``ingest`` key (application ``local-app``) and a ``query`` key (``local-console``).

    ``None`` generates a random key. Raises ``ValueError`` for a key the domain refuses
    (too short or long) or when both keys are the same (one hash cannot have two records).
    """
    from theeye.aws.keys import DynamoKeyStore
    from theeye.keys import new_api_key

    if ingest_key is not None and ingest_key == query_key:
        raise ValueError("THEEYE_INGEST_KEY and THEEYE_QUERY_KEY must differ")
    store = DynamoKeyStore(table_name)
    issued: dict[str, str] = {}
    wanted = (
        ("ingest", INGEST_APPLICATION, ingest_key, "THEEYE_INGEST_KEY"),
        ("query", QUERY_APPLICATION, query_key, "THEEYE_QUERY_KEY"),
    )
    for scope, application, raw, variable in wanted:
        try:
            key, record = new_api_key(
                application, [scope], raw_key=raw, description=f"local stack ({variable})"
            )
        except ValueError as exc:
            raise ValueError(f"{variable}: {exc}") from None
        store.put(record)
        issued[scope] = key
    return LocalKeys(ingest=issued["ingest"], query=issued["query"])
