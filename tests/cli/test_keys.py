"""theeye keys: create (shown once, stored as a hash), list, revoke."""

from __future__ import annotations

import pytest

from tests.cli.conftest import Cli
from theeye.clock import format_timestamp, utc_now
from theeye.errors import AuthenticationFailed, PermissionDenied
from theeye.keys import Authenticator, hash_key


def authenticator(cli: Cli) -> Authenticator:
    """A fresh authenticator as the functions build it (no cache carried over) on the keys table."""
    return Authenticator.over(cli.key_store(), ttl_seconds=60)


def test_a_created_key_is_shown_once_stored_as_a_hash_and_authenticates(cli: Cli) -> None:
    result = cli.run("keys", "create", "--app", "shop", "--scope", "ingest", "--description", "web shop")
    assert result.code == 0, result.err
    raw = next(word for word in result.out.split() if word.startswith("eye_"))
    assert "only time the key is shown" in result.out

    items = cli.stored_keys()
    assert [i["key_hash"] for i in items] == [hash_key(raw)]
    assert raw not in str(items)

    record = authenticator(cli).authenticate(raw, "ingest")
    assert (record.application_id, record.description) == ("shop", "web shop")
    with pytest.raises(PermissionDenied):
        authenticator(cli).authenticate(raw, "query")


def test_create_with_json_and_both_scopes(cli: Cli) -> None:
    result = cli.run("--json", "keys", "create", "--app", "console", "--scope", "query", "--scope", "ingest")
    assert result.code == 0, result.err
    view = result.json()
    assert view["scopes"] == ["ingest", "query"]
    assert view["key"].startswith("eye_")
    assert view["key_id"].startswith("key-")
    assert view["revoked_at"] is None
    authenticator(cli).authenticate(view["key"], "query")


def test_list_shows_every_key_without_the_key_itself(cli: Cli) -> None:
    shop = cli.run("--json", "keys", "create", "--app", "shop", "--scope", "ingest").json()
    cli.run("--json", "keys", "create", "--app", "console", "--scope", "query")

    listed = cli.run("keys", "list", "--json")
    assert listed.code == 0
    views = listed.json()
    assert {v["application_id"] for v in views} == {"shop", "console"}
    assert all(
        set(v)
        == {"key_id", "application_id", "scopes", "created_at", "last_used_at", "revoked_at", "description"}
        for v in views
    )
    assert all(v["last_used_at"] is None for v in views)  # neither key has been used yet
    assert shop["key"] not in listed.out

    table = cli.run("keys", "list", "--app", "shop")
    assert shop["key_id"] in table.out
    assert "console" not in table.out
    assert "LAST USED" in table.out


def test_list_shows_when_a_key_was_last_used(cli: Cli) -> None:
    """Given a key that has been used, when the keys are listed, then its last use is shown."""
    shop = cli.run("--json", "keys", "create", "--app", "shop", "--scope", "ingest").json()
    console = cli.run("--json", "keys", "create", "--app", "console", "--scope", "query").json()
    started = format_timestamp(utc_now())

    authenticator(cli).authenticate(shop["key"], "ingest")

    views = {v["application_id"]: v for v in cli.run("--json", "keys", "list").json()}
    assert views["shop"]["last_used_at"] >= started
    assert views["console"]["last_used_at"] is None
    table = cli.run("keys", "list").out
    assert views["shop"]["last_used_at"] in table and console["key_id"] in table


def test_revoke_stops_the_key_and_is_idempotent(cli: Cli) -> None:
    created = cli.run("--json", "keys", "create", "--app", "shop", "--scope", "ingest").json()

    revoked = cli.run("keys", "revoke", created["key_id"])
    assert revoked.code == 0, revoked.err
    assert "within 60 s" in revoked.out
    with pytest.raises(AuthenticationFailed):
        authenticator(cli).authenticate(created["key"], "ingest")

    again = cli.run("--json", "keys", "revoke", created["key_id"])
    assert again.code == 0
    assert again.json()["already_revoked"] is True

    active = cli.run("--json", "keys", "list", "--active").json()
    assert created["key_id"] not in [v["key_id"] for v in active]
    everything = cli.run("--json", "keys", "list").json()
    assert [v["revoked_at"] is not None for v in everything] == [True]


def test_revoking_an_unknown_key_fails_with_one_line(cli: Cli) -> None:
    result = cli.run("keys", "revoke", "key-doesnotexist")
    assert result.code == 1
    assert result.out == ""
    assert result.err == "theeye: no API key with id key-doesnotexist\n"


def test_an_invalid_application_id_is_refused_with_one_line(cli: Cli) -> None:
    result = cli.run("keys", "create", "--app", "x" * 129, "--scope", "ingest")
    assert result.code == 2
    assert result.err.count("\n") == 1
    assert "application id" in result.err
    assert cli.run("--json", "keys", "list").json() == []
