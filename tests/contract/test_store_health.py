"""``StoreHealth``: a store that was just built, with room and no lock held, takes writes.

How each backend fails the check is its own (a full disk, a read-only file system and a held
lock for the embedded store: ``tests/integration/test_store_health.py``); the managed AWS
services have no disk or lock of ours, so their answer is always that they can.
"""

from __future__ import annotations

from theeye.ports import Backend


def test_a_new_store_takes_writes(backend: Backend) -> None:
    assert backend.store_health().write_problem() is None
