"""theeye status: the ledger of GET /status as a table, exit 0 when balanced and 3 when not."""

from __future__ import annotations

from tests.cli.conftest import Cli
from theeye.ledger import BALANCE, IntakeTally, MessageTally, message_key


def test_an_empty_ledger_is_balanced(cli: Cli) -> None:
    result = cli.run("status")
    assert result.code == 0, result.err
    assert result.out.rstrip().splitlines()[-1].startswith("BALANCED")


def test_the_table_and_the_json_show_every_count(cli: Cli) -> None:
    ledger = cli.ledger
    body = cli.message_body(6)
    ledger.count_intake([IntakeTally(message_key(body), 6, {"invalid_envelope": 2})])
    tally = MessageTally(
        stored=3,
        duplicates=1,
        invalid={"schema_violation": 1},
        stored_by_minute={("page interaction", "2021-01-01T09:15"): 3},
    )
    ledger.commit_batch([(message_key(body), tally)])
    ledger.count_dead_letter(message_key("another message"), 1)

    view = cli.run("--json", "status").json()
    assert {
        k: view[k] for k in ("accepted", "stored", "duplicates", "queued", "dead_lettered", "balanced")
    } == {
        "accepted": 6,
        "stored": 3,
        "duplicates": 1,
        "queued": 0,
        "dead_lettered": 1,
        "balanced": True,
    }
    assert view["invalid"]["schema_violation"] == 1
    assert view["rejected"]["invalid_envelope"] == 2
    assert set(view["queue"]) == {"messages", "in_flight"}

    table = cli.run("status")
    assert table.code == 0
    rows = {name.strip(): n for name, n in (line.rsplit(None, 1) for line in table.out.splitlines()[2:9])}
    assert rows["accepted"] == "6"
    assert rows["stored"] == "3"
    assert rows["schema_violation"] == "1"
    assert f"BALANCED: {BALANCE}" in table.out


def test_events_counted_as_queued_with_an_empty_queue_are_not_balanced_exit_3(cli: Cli) -> None:
    cli.ledger.count_intake([IntakeTally(message_key("a message"), 4, {})])
    result = cli.run("status")
    assert result.code == 3
    assert "NOT BALANCED: 4 event(s) counted as queued but the events queue holds 0 message(s)" in result.out
    assert cli.run("--json", "status").json()["balanced"] is False

    cli.enqueue(cli.target.queue_url, cli.message_body(4))
    assert cli.run("status").code == 0  # they are on their way


def test_more_events_accounted_for_than_accepted_is_not_balanced(cli: Cli) -> None:
    tally = MessageTally(stored=2, duplicates=0, invalid={}, stored_by_minute={})
    cli.ledger.commit_batch([(message_key("a message ingest never counted"), tally)])
    result = cli.run("status")
    assert result.code == 3
    assert "NOT BALANCED: 2 more event(s) accounted for than were accepted" in result.out
