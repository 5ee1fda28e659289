"""Fixtures of the Segment-compatibility tests: the local stack, one that injects faults into
the intake, and Segment's own Node library installed from its lockfile.

The tests drive Segment's libraries (``segment-analytics-python`` from requirements-dev.txt,
``@segment/analytics-node`` from ``node/package-lock.json``) against the ``/v1/*`` routes; they
make no request by hand.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.conftest import embedded_stack, local_stack, moto_stack
from tests.e2e.local_stack import LocalStackHandle, start_stack, stop_stack

__all__ = ["embedded_stack", "faulty_stack", "local_stack", "moto_stack", "node_harness"]

NODE_DIR = Path(__file__).resolve().parent / "node"
NODE_LIBRARY = "@segment/analytics-node"
# Every call of the intake fails with this probability: half before the queue write (nothing
# queued), half after it (queued, but the answer is a 503): the lost answer a retry must absorb.
INTAKE_FAULT_SHARE = "0.5"


def _locked_version() -> str:
    lock = json.loads((NODE_DIR / "package-lock.json").read_text())
    return str(lock["packages"][f"node_modules/{NODE_LIBRARY}"]["version"])


def _installed_version() -> str | None:
    manifest = NODE_DIR / "node_modules" / NODE_LIBRARY / "package.json"
    return str(json.loads(manifest.read_text())["version"]) if manifest.exists() else None


@pytest.fixture(scope="session")
def node_harness() -> Path:
    """``node/send.mjs``, with the locked library installed (``npm ci``) when it is missing."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if node is None or npm is None:
        pytest.fail("node and npm are needed for the @segment/analytics-node tests (Node 20+)")
    if _installed_version() != _locked_version():
        subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"],
            cwd=NODE_DIR,
            check=True,
            timeout=600,
        )
    assert _installed_version() == _locked_version()
    return NODE_DIR / "send.mjs"


@pytest.fixture(scope="session")
def faulty_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStackHandle]:
    """An embedded stack of which the intake fails half of its calls (``THEEYE_FAULTS``)."""
    stack = start_stack(
        tmp_path_factory.mktemp("faulty-stack"),
        THEEYE_BACKEND="embedded",
        THEEYE_FAULTS=f"intake.accept={INTAKE_FAULT_SHARE}",
    )
    yield stack
    stop_stack(stack)
