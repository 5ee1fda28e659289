"""``.theeye/local.json``: how tools and tests find a running local stack.

Written once the stack is ready and left in place on exit (``pid`` tells whether it is still
current). It holds the keys, so it is created with mode 0600 and replaced atomically - a
reader never sees half a file, and the keys are never world-readable even for an instant.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any


def write_state(path: Path, state: Mapping[str, Any]) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as stream:
        json.dump(state, stream, indent=2, sort_keys=True)
        stream.write("\n")
    os.replace(partial, path)


def read_state(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as stream:
        state = json.load(stream)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a local stack state file")
    return state
