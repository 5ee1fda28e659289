"""The local stack of the end-to-end tests (``theeye_local.launcher``), and talking HTTP to it.

Plain ``urllib``: the end-to-end tests use nothing a user of the API would not have.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from theeye_local.launcher import ADMIN_KEY as ADMIN_KEY
from theeye_local.launcher import CLEAN_SHELL, LaunchError, LocalStack

# On a loaded machine the stack is slower, not wrong: a socket waits this long before a request
# counts as hung (a poll for an outcome waits tests.support.OUTCOME_DEADLINE_SECONDS).
REQUEST_TIMEOUT_SECONDS = 120.0
BACKENDS = ("embedded", "moto")
INHERITED = CLEAN_SHELL


@dataclass(frozen=True)
class Response:
    status: int
    headers: Mapping[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class LocalStackHandle(LocalStack):
    def request(
        self,
        method: str,
        path: str,
        *,
        body: Any = None,
        headers: Mapping[str, str] | None = None,
        timeout: float = REQUEST_TIMEOUT_SECONDS,
    ) -> Response:
        """One HTTP request; ``body`` that is not bytes is sent as JSON. Errors are responses too."""
        data = body if isinstance(body, bytes) or body is None else json.dumps(body).encode()
        all_headers = {"Content-Type": "application/json"} if data is not None else {}
        all_headers.update(headers or {})
        request = urllib.request.Request(self.base_url + path, data=data, method=method, headers=all_headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                return Response(answer.status, dict(answer.headers.items()), answer.read())
        except urllib.error.HTTPError as error:
            return Response(error.code, dict(error.headers.items()), error.read())


def start_stack(workdir: Path, **environment: str) -> LocalStackHandle:
    """A stack in ``workdir``, ready (``/health`` 200), or the test fails with its log.

    Its data lives in ``workdir / "data"``: a second stack in the same ``workdir`` starts on the
    first one's data.
    """
    stack = LocalStackHandle(workdir, environment)
    try:
        stack.start()
    except LaunchError as error:
        pytest.fail(str(error))
    return stack


def stop_stack(stack: LocalStackHandle) -> int:
    """SIGTERM, then the exit code."""
    return stack.stop()


def kill_stack(stack: LocalStackHandle) -> None:
    """``kill -9`` of every process of the stack (the front, the pollers, every worker) at once."""
    stack.kill()
