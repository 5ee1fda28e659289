"""Fixtures for the client's tests: a fake API on a random local port, clients closed after
each test, a sleep that records the backoff instead of waiting, and an ``on_error`` recorder."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from theeye_client import Client, DeliveryError

from tests.client.fake_api import KEY, FakeApi


class Sleeps:
    """Stands in for ``time.sleep``: remembers each requested pause, waits (almost) nothing."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._lock = threading.Lock()

    def __call__(self, seconds: float) -> None:
        with self._lock:
            self.delays.append(seconds)


class Reports:
    """Records every ``on_error(exc, events)`` call."""

    def __init__(self) -> None:
        self.calls: list[tuple[DeliveryError, list[dict[str, Any]]]] = []
        self._lock = threading.Lock()

    def __call__(self, exc: DeliveryError, events: list[dict[str, Any]]) -> None:
        with self._lock:
            self.calls.append((exc, list(events)))

    def of(self, kind: type[DeliveryError]) -> list[tuple[Any, list[dict[str, Any]]]]:
        with self._lock:
            return [(exc, events) for exc, events in self.calls if isinstance(exc, kind)]

    def event_ids(self) -> list[str]:
        with self._lock:
            return [e["event_id"] for _, events in self.calls for e in events]


@pytest.fixture
def api() -> Iterator[FakeApi]:
    server = FakeApi().start()
    yield server
    server.stop()


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def reports() -> Reports:
    return Reports()


@pytest.fixture
def make_client(api: FakeApi, sleeps: Sleeps, reports: Reports) -> Iterator[Callable[..., Client]]:
    """``make_client(**options)``: a client of the fake API (fake sleep, recorded errors)."""
    made: list[Client] = []

    def make(**options: Any) -> Client:
        settings: dict[str, Any] = {"sleep": sleeps, "on_error": reports, "flush_interval": 10.0, **options}
        client = Client(
            options.pop("api_key", KEY), api.url, **{k: v for k, v in settings.items() if k != "api_key"}
        )
        made.append(client)
        return client

    yield make
    for client in made:
        client.close(timeout=2)
