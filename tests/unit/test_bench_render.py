"""Every sentence of the performance pages follows the results it is rendered from: change a
measured value or a recorded fact, and the prose says so."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

import pytest

import bench.common
from bench import render

ROOT = Path(__file__).parents[2]
COMMITTED: dict[str, Any] = json.loads((ROOT / "docs" / "performance.json").read_text())


@pytest.fixture
def results() -> dict[str, Any]:
    return copy.deepcopy(COMMITTED)


def test_rendering_reads_neither_the_clock_nor_the_machine(
    results: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Given a clock and a machine description that fail when asked
    def refuse() -> None:
        raise AssertionError("rendering measured something")

    monkeypatch.setattr(bench.common, "today", refuse)
    monkeypatch.setattr(bench.common, "machine", refuse)
    assert not {"today", "machine", "datetime", "platform", "os"} & vars(render).keys()

    # Then the pages still render, the same twice over
    assert render.render(results) == render.render(copy.deepcopy(results))
    assert render.readme_summary(results)


def test_each_section_states_its_own_command_date_and_machine(results: dict[str, Any]) -> None:
    # Given the CPU section measured elsewhere, on a machine with more cores than it could use
    results["cpu"].update(
        command="python -m bench.cpu --repeats 99",
        date="2031-01-02",
        machine={"arch": "aarch64", "cores": 4, "cpu_count": 8, "python": "3.12.1", "system": "Linux"},
    )

    page = render.render(results)

    assert (
        "Measured by `python -m bench.cpu --repeats 99` on 2031-01-02, aarch64, 4 cores of 8, Python 3.12.1, Linux."
        in page
    )
    assert f"Measured by `{results['cost']['command']}` on {results['cost']['date']}" in page


def test_the_throughput_limit_uses_the_recorded_cores(results: dict[str, Any]) -> None:
    ingest_us = results["cpu"]["cpu_us_per_event"]["ingest, 1-event request"]
    results["local_load"]["machine"]["cores"] = 16

    page = render.render(results)

    assert f"is at most\n{16e6 / ingest_us:,.0f} requests/s on 16 cores" in page


def test_the_balance_sentence_names_the_runs_that_did_not_balance(results: dict[str, Any]) -> None:
    for backend in results["local_load"]["backends"].values():
        for run in backend["single"]:
            run["balanced"] = True
        if "batch" in backend:
            backend["batch"]["balanced"] = True
    assert "Every run ended with the ledger balanced" in render.render(results)

    results["local_load"]["backends"]["embedded"]["batch"]["balanced"] = False
    page = render.render(results)

    assert "Every run ended" not in page
    assert "**Not balanced**: embedded batches." in page


def test_the_largest_cost_and_its_share_are_computed(results: dict[str, Any]) -> None:
    dollars = results["cost"]["scenarios"]["100 events per request"]["dollars_per_million"]
    dollars["API Gateway"] = 100.0
    share = 100 * 100.0 / sum(dollars.values())

    assert f"Where the cost goes: {share:.0f} % to API Gateway." in render.render(results)


def test_the_naive_row_is_labelled_as_a_model(results: dict[str, Any]) -> None:
    page = render.render(results)
    modelled = [name for name, s in results["cost"]["scenarios"].items() if s.get("modelled")]

    assert modelled
    for name in modelled:
        assert f"| {name} *(modelled, not measured)* |" in page
        assert f"The *{name}* row is a model, not a measurement:" in page


def test_storage_grows_while_events_are_kept_forever(results: dict[str, Any]) -> None:
    results["cost"]["template"]["event_retention_days"] = 0
    rows = render.monthly_rows(results["cost"])

    growth = [row["storage"] - row["logs"] for row in rows]
    months = [row["months"] for row in rows]
    assert growth == pytest.approx([growth[0] * m for m in months])
    assert "events are kept forever" in render.render(results)


def test_storage_stops_growing_once_events_expire(results: dict[str, Any]) -> None:
    results["cost"]["template"]["event_retention_days"] = 60
    rows = {row["months"]: row for row in render.monthly_rows(results["cost"])}

    assert rows[3]["storage"] == pytest.approx(rows[12]["storage"])
    assert rows[1]["storage"] < rows[3]["storage"]
    assert "events expire after 60 days" in render.render(results)


def test_storage_follows_the_measured_item_sizes_and_prices(results: dict[str, Any]) -> None:
    cost = results["cost"]
    before = render.storage_per_million(cost)["DynamoDB table"]
    cost["scenarios"]["100 events per request"]["work"]["storage"]["table_bytes_per_event"] *= 2
    cost["prices"]["DYNAMODB_STORAGE_PER_GB_MONTH"] *= 3

    assert render.storage_per_million(cost)["DynamoDB table"] == pytest.approx(before * 6)


def test_point_in_time_recovery_costs_nothing_when_the_template_turns_it_off(results: dict[str, Any]) -> None:
    results["cost"]["template"]["point_in_time_recovery"]["EventsTable"] = False

    assert render.storage_per_million(results["cost"])["point-in-time recovery, EventsTable"] == 0


def test_the_scale_table_follows_the_recorded_index_shards(results: dict[str, Any]) -> None:
    results["cost"]["template"]["index_shards"] = 4
    page = render.render(results)

    assert "| each ByCategory shard (4) |" in page
    assert "raise `IndexShards` to 8 before" in page


def test_no_figure_in_the_prose_is_left_from_the_old_page(results: dict[str, Any]) -> None:
    page = render.render(results)

    for typed in ("over 95 %", "~$0.62", "(3 for the event", "two shared cores", "four to five"):
        assert typed not in page
    assert not re.search(r"Measured \d{4}-\d\d-\d\d on", page)  # one date for the page: gone


def test_the_sessions_verdict_follows_the_measured_pages(results: dict[str, Any]) -> None:
    pages = results["sessions"]["pages"]
    assert "Every page meets the goal" in render.render(results)

    label = next(iter(pages))
    pages[label]["p50_ms"] = render.GOALS["sessions_p50_ms"] + 1
    page = render.render(results)

    assert f"**Missed** by: {label}." in page
    assert "Every page meets the goal" not in page


def test_each_sessions_figure_carries_its_recorded_load_average(results: dict[str, Any]) -> None:
    label = next(iter(results["sessions"]["pages"]))
    results["sessions"]["pages"][label].update(load_before=[9.5, 8.25, 7.0], load_after=[6.0, 5.5, 4.75])

    assert "| 9.50 / 8.25 / 7.00 → 6.00 / 5.50 / 4.75 |" in render.render(results)


def test_the_erasure_is_priced_from_its_counted_units_and_the_recorded_price(results: dict[str, Any]) -> None:
    erasure = results["erasure"]
    erasure["backends"]["moto"]["units"]["write_units"] = 40_000
    erasure["prices"]["DYNAMODB_PER_MILLION_WRITE_UNITS"] = 2.5

    assert "**$0.1000** an erasure at $2.5 per million on-demand write units" in render.render(results)


def test_the_hot_session_follows_the_measured_writes_per_batch(results: dict[str, Any]) -> None:
    # Given a batch whose hot-session summary cost ten times what was measured
    erasure = results["erasure"]
    summaries = erasure["backends"]["moto"]["summaries"]
    rows = render.hot_session_rows(summaries, erasure["session_start_shards"])
    first = summaries[0]
    for measured in (first["one_message"], first["two_messages"]):
        measured["table units"] *= 10

    again = render.hot_session_rows(summaries, erasure["session_start_shards"])

    # Then its rate on the hot item is ten times as high, the others unchanged
    assert again[0]["units_per_s"] == pytest.approx(10 * rows[0]["units_per_s"])
    assert again[1:] == rows[1:]
    batch, per_message = first["batch_size"], first["events_per_message"]
    assert again[0]["batches_per_s"] == pytest.approx(render.HOT_SESSION_RATE / per_message / batch)


def test_the_hot_session_verdict_names_the_shapes_over_the_partition_limit(results: dict[str, Any]) -> None:
    erasure = results["erasure"]
    summaries = erasure["backends"]["moto"]["summaries"]
    for s in summaries:
        for measured in (s["one_message"], s["two_messages"]):
            measured["table units"] = 0
    assert "it does **not** at" not in render.render(results)

    first = summaries[0]
    first["one_message"]["table units"] = first["two_messages"]["table units"] = 10**6
    page = render.render(results)

    assert f"it does **not** at {first['batch_size']} x {first['events_per_message']} (" in page


def test_the_segment_verdict_follows_the_measured_rates(results: dict[str, Any]) -> None:
    routes = results["segment"]["routes"]
    base, v1 = routes["POST /events"], routes["POST /v1/batch"]
    base["stored_per_s"], v1["stored_per_s"] = 2000.0, 1900.0
    assert (
        "stores 95 % of the events/s of `POST /events` (1,900 against 2,000): the goal of at least 90 % is met."
        in (render.render(results))
    )

    v1["stored_per_s"] = 1700.0
    assert "(1,700 against 2,000): the goal of at least 90 % is **missed**." in render.render(results)


def test_a_segment_run_that_lost_or_doubled_an_event_says_so(results: dict[str, Any]) -> None:
    results["segment"]["routes"]["POST /v1/batch"]["exactly_once"] = False

    assert re.search(r"\| `POST /v1/batch` \|.*\| \*\*no\*\* \|", render.render(results))


def test_the_lake_cost_follows_the_measured_bytes_and_prices(results: dict[str, Any]) -> None:
    # Given the lake's figures, then the same with records past one billing increment and dearer S3
    lake = results["lake_cost"]
    before = render.lake_dollars(lake)
    lake["billed_bytes_per_event"] *= 2
    lake["prices"]["S3_STANDARD_PER_GB_MONTH"] *= 3
    after = render.lake_dollars(lake)
    # Then Firehose and storage follow, and the page says so
    assert after["firehose"] == pytest.approx(2 * before["firehose"])
    assert after["s3"] == pytest.approx(3 * before["s3"])
    assert f"**${after['firehose']:.3f}**" in render.render(results)
    # and a query scanning less than Athena's minimum is billed the minimum
    lake["query_bytes_per_event"] = 0
    assert render.lake_dollars(lake)["query"] == render.lake_dollars(lake)["minimum"]
