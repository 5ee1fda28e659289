import hashlib
from datetime import UTC, datetime

import pytest

from theeye.errors import AuthenticationFailed, PermissionDenied, ServiceUnavailable
from theeye.keys import ApiKey, Authenticator, hash_key, new_api_key, presented_key


class FakeKeyTable:
    def __init__(self) -> None:
        self.records: dict[str, ApiKey] = {}
        self.lookups = 0

    def add(self, app: str, *scopes: str) -> tuple[str, ApiKey]:
        raw, record = new_api_key(app, scopes)
        self.records[record.key_hash] = record
        return raw, record

    def __call__(self, key_hash: str) -> ApiKey | None:
        self.lookups += 1
        return self.records.get(key_hash)


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_keys_are_stored_only_as_their_sha256() -> None:
    raw, record = new_api_key("shop", ["ingest"])
    assert raw.startswith("eye_") and len(raw) > 40
    assert record.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert raw not in str(record.to_item())


def test_a_known_key_with_the_scope_is_let_in() -> None:
    table = FakeKeyTable()
    raw, record = table.add("shop", "ingest")
    assert Authenticator(table).authenticate(raw, "ingest") == record


def test_missing_and_unknown_keys_are_401_and_a_missing_scope_is_403() -> None:
    table = FakeKeyTable()
    raw, _ = table.add("shop", "ingest")
    auth = Authenticator(table)
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(None, "ingest")
    with pytest.raises(AuthenticationFailed):
        auth.authenticate("eye_not-a-real-key-at-all-000000000000", "ingest")
    with pytest.raises(PermissionDenied):
        auth.authenticate(raw, "query")


def test_oversized_keys_are_refused_without_a_lookup() -> None:
    table = FakeKeyTable()
    with pytest.raises(AuthenticationFailed):
        Authenticator(table).authenticate("k" * 10_000, "ingest")
    assert table.lookups == 0


def test_lookups_are_cached_and_a_revocation_is_seen_within_a_minute() -> None:
    # Given a key that has been used once
    table, clock = FakeKeyTable(), Clock()
    raw, record = table.add("shop", "ingest")
    auth = Authenticator(table, monotonic=clock)
    auth.authenticate(raw, "ingest")
    # When it is revoked, then it keeps working only until the cache entry expires (<= 60 s)
    table.records[record.key_hash] = ApiKey(
        **{**record.__dict__, "revoked_at": "2026-01-01T00:00:00.000000Z"}
    )
    clock.now += 30
    auth.authenticate(raw, "ingest")
    assert table.lookups == 1
    clock.now += 30.001
    with pytest.raises(AuthenticationFailed, match="revoked"):
        auth.authenticate(raw, "ingest")


def test_the_cache_ttl_can_never_exceed_sixty_seconds() -> None:
    table, clock = FakeKeyTable(), Clock()
    raw, record = table.add("shop", "ingest")
    auth = Authenticator(table, ttl_seconds=3600, monotonic=clock)
    auth.authenticate(raw, "ingest")
    del table.records[record.key_hash]
    clock.now += 60.001
    with pytest.raises(AuthenticationFailed):
        auth.authenticate(raw, "ingest")


def test_unknown_keys_are_cached_briefly_so_a_flood_costs_few_reads() -> None:
    table, clock = FakeKeyTable(), Clock()
    auth = Authenticator(table, monotonic=clock)
    for _ in range(100):
        with pytest.raises(AuthenticationFailed):
            auth.authenticate("eye_unknown-key-0000000000000000000000", "ingest")
    assert table.lookups == 1


def test_the_cache_is_bounded() -> None:
    table = FakeKeyTable()
    auth = Authenticator(table, max_entries=10)
    for i in range(50):
        with pytest.raises(AuthenticationFailed):
            auth.authenticate(f"eye_unknown-{i:030d}", "ingest")
    assert len(auth._cache) == 10


def test_a_record_whose_hash_differs_from_the_presented_key_is_refused() -> None:
    # A lookup that returned a record for another hash (a store bug) must not let anyone in.
    raw, record = new_api_key("shop", ["ingest"])
    other = ApiKey(**{**record.__dict__, "key_hash": hash_key("something else")})
    with pytest.raises(AuthenticationFailed):
        Authenticator(lambda _h: other).authenticate(raw, "ingest")


@pytest.mark.parametrize(
    ("headers", "query", "expected"),
    [
        ({"authorization": "Bearer abc"}, None, "abc"),
        ({"authorization": "bearer   abc  "}, None, "abc"),
        ({"x-api-key": "xyz"}, None, "xyz"),
        ({"authorization": "Basic Zm9vOmJhcg=="}, None, None),
        ({}, {"key": "from-query"}, "from-query"),
        ({"authorization": "Bearer h"}, {"key": "q"}, "h"),
        ({}, None, None),
    ],
)
def test_keys_are_read_from_bearer_x_api_key_or_the_query(
    headers: dict[str, str], query: dict[str, str] | None, expected: str | None
) -> None:
    assert presented_key(headers, query) == expected


def test_new_keys_need_known_scopes_and_an_application() -> None:
    with pytest.raises(ValueError, match="scopes"):
        new_api_key("shop", [])
    with pytest.raises(ValueError, match="scopes"):
        new_api_key("shop", ["superuser"])
    with pytest.raises(ValueError, match="application"):
        new_api_key("", ["query"])


def test_records_round_trip_through_items() -> None:
    _, record = new_api_key("shop", ["ingest", "query"], description="ci")
    assert ApiKey.from_item(record.to_item()) == record


class UseLog:
    def __init__(self, failing: bool = False) -> None:
        self.uses: list[tuple[str, str]] = []
        self.failing = failing

    def __call__(self, key_hash: str, used_at: str) -> None:
        if self.failing:
            raise ServiceUnavailable("keys table unavailable: throttled")
        self.uses.append((key_hash, used_at))


def test_a_keys_use_is_recorded_at_most_once_a_minute_in_a_container() -> None:
    """Given an authenticator that records uses, when one key is used many times within a minute
    and again after it, then two uses are recorded, each with the time of the request."""
    table, clock, log = FakeKeyTable(), Clock(), UseLog()
    shop_raw, shop = table.add("shop", "ingest")
    console_raw, console = table.add("console", "query")
    wall = iter(datetime(2026, 11, 23, 9, 0, second, tzinfo=UTC) for second in range(60))
    auth = Authenticator(table, monotonic=clock, record_use=log, clock=lambda: next(wall))

    for _ in range(5):
        auth.authenticate(shop_raw, "ingest")
        clock.now += 11
    auth.authenticate(console_raw, "query")
    clock.now += 5.1
    auth.authenticate(shop_raw, "ingest")

    assert log.uses == [
        (shop.key_hash, "2026-11-23T09:00:00.000000Z"),
        (console.key_hash, "2026-11-23T09:00:01.000000Z"),
        (shop.key_hash, "2026-11-23T09:00:02.000000Z"),
    ]


def test_a_refused_key_is_not_recorded_as_used() -> None:
    table, log = FakeKeyTable(), UseLog()
    raw, _record = table.add("shop", "ingest")
    auth = Authenticator(table, record_use=log)
    with pytest.raises(PermissionDenied):
        auth.authenticate(raw, "query")
    assert log.uses == []


def test_a_failed_record_of_use_never_fails_the_request() -> None:
    table = FakeKeyTable()
    raw, record = table.add("shop", "ingest")
    auth = Authenticator(table, record_use=UseLog(failing=True))
    assert auth.authenticate(raw, "ingest") == record
    assert auth.authenticate(raw, "ingest") == record
