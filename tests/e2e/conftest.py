"""The local stack as a user runs it: ``python -m theeye_local`` in a subprocess, over HTTP.

``local_stack`` (session-scoped) is a stack on the embedded backend (the default of
``make run``), started on a free port with fixed keys, a private state file and a private data
directory; it waits (bounded) until ``GET /health`` answers 200 and is stopped with SIGTERM at
the end. A module that must hold on both backends parametrises it::

    pytestmark = pytest.mark.parametrize("local_stack", BACKENDS, indirect=True)

and then runs once against ``embedded_stack`` and once against ``moto_stack``. Each yields a
:class:`LocalStackHandle`: ``base_url``, ``ingest_key``, ``query_key``, ``state`` (the parsed
``local.json``) and :meth:`LocalStackHandle.request` for plain HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack


@pytest.fixture(scope="session")
def embedded_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    stack = start_stack(tmp_path_factory.mktemp("embedded-stack"), THEEYE_BACKEND="embedded")
    yield stack
    stop_stack(stack)


@pytest.fixture(scope="session")
def moto_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    stack = start_stack(tmp_path_factory.mktemp("moto-stack"), THEEYE_BACKEND="moto")
    yield stack
    stop_stack(stack)


@pytest.fixture(scope="session")
def local_stack(request: pytest.FixtureRequest) -> LocalStackHandle:
    """The embedded stack, or the one the module's parametrisation names."""
    backend = getattr(request, "param", "embedded")
    stack: LocalStackHandle = request.getfixturevalue(f"{backend}_stack")
    return stack
