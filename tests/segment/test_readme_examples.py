"""The README's migration examples, run as written against the local stack: the Python one in
a fresh interpreter (the library's module-level client), the Node one as an ES module. Only what
the README leaves to the reader is supplied: ``HOST``, the ingest key and the session id."""

from __future__ import annotations

import re
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.e2e.local_stack import LocalStackHandle
from tests.e2e.test_pipeline import session_events
from tests.segment.conftest import NODE_DIR

pytestmark = pytest.mark.e2e
README = Path(__file__).resolve().parents[2] / "README.md"
SECTION = "## Moving from Segment or RudderStack"
KEY_IN_README = "eye_…ingest key…"


def example(language: str) -> str:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION) :]
    section = section[: section.index("\n## ", len(SECTION))]
    [code] = re.findall(rf"```{language}\n(.*?)```", section, re.DOTALL)
    assert KEY_IN_README in code
    return str(code)


def assert_one_order(stack: LocalStackHandle, session: str) -> None:
    [stored] = session_events(stack, session, 1, limit=1000)
    assert (stored["category"], stored["name"]) == ("track", "Order Completed")
    assert stored["data"]["revenue"] == 19.99
    assert stored["data"]["segment"]["anonymousId"] == session


def test_the_python_example_is_stored(local_stack: LocalStackHandle) -> None:
    session = str(uuid.uuid4())
    code = example("python").replace(KEY_IN_README, local_stack.ingest_key)
    program = f"HOST = {local_stack.base_url!r}\nsession_id = {session!r}\n{code}"
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert_one_order(local_stack, session)


def test_the_node_example_is_stored(node_harness: Path, local_stack: LocalStackHandle) -> None:
    session = str(uuid.uuid4())
    code = example("js").replace(KEY_IN_README, local_stack.ingest_key)
    program = f"const HOST = {local_stack.base_url!r}\nconst sessionId = {session!r}\n{code}"
    done = subprocess.run(
        ["node", "--input-type=module"],
        input=program,
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert_one_order(local_stack, session)
