"""The local stack as a user runs it: ``python -m theeye_local`` in a subprocess, over HTTP.

``local_stack`` (session-scoped) starts one stack on a free port with fixed keys and a private
state file, waits (bounded) until ``GET /health`` answers 200, and stops it with SIGTERM at the
end. It yields a :class:`LocalStackHandle`: ``base_url``, ``ingest_key``, ``query_key``,
``state`` (the parsed ``local.json``) and :meth:`LocalStackHandle.request` for plain HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    stack = start_stack(tmp_path_factory.mktemp("local-stack"))
    yield stack
    stop_stack(stack)
