"""docs/RELIABILITY.md's chaos section is the rendering of a run of ``tools/chaos.py`` with the
defaults ``make check`` runs: computed from the run's results, never typed, never drifting."""

from __future__ import annotations

import copy
import re
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tools.chaos import BEGIN, END, Params, checks, read_logs, render, results_in, section, write_doc

ROOT = Path(__file__).parents[2]
RERUN = "run: .venv/bin/python tools/chaos.py --write-doc"


def doc() -> str:
    return (ROOT / "docs" / "RELIABILITY.md").read_text(encoding="utf-8")


def test_the_doc_states_the_parameters_make_check_runs() -> None:
    assert results_in(doc())["params"] == asdict(Params()), RERUN


def test_make_check_runs_the_tool_with_its_defaults() -> None:
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    target = makefile[makefile.index("\ncheck:") :].split("\n\n", 1)[0]

    assert re.findall(r"^\t(.*chaos.*)$", target, flags=re.MULTILINE) == ["$(PY) tools/chaos.py"]


def test_the_section_is_the_rendering_of_the_results_it_carries() -> None:
    text = doc()
    start, end = section(text)

    assert text[start:end] == render(results_in(text)), RERUN
    assert results_in(text)["passed"] and all(results_in(text)["checks"].values())


def test_the_doc_keeps_the_results_of_a_run_that_passed_every_check() -> None:
    results = results_in(doc())

    assert checks(results) == results["checks"]  # what the run claimed is what its figures say


def sample() -> dict[str, Any]:
    results = results_in(doc())
    results = copy.deepcopy(results)
    results["command"] = "tools/chaos.py"
    return results


def test_rendering_is_a_pure_function_of_the_results() -> None:
    results = sample()
    before = copy.deepcopy(results)

    first = render(results)

    assert results == before  # not changed by rendering
    assert render(copy.deepcopy(results)) == first
    assert first.startswith(BEGIN) and first.endswith(END)
    assert results_in(first) == results


def test_every_figure_comes_from_the_results() -> None:
    results = sample()
    results["outcome"]["stored"] = 123_456
    results["kills"]["ingest"] = 97
    results["before_redrive"]["dead_lettered_messages"] = 31

    text = render(results)

    assert "123,456" in text and "/ 97 /" in text and "| 31 /" in text


def test_a_run_where_nothing_reached_the_dead_letter_queue_fails() -> None:
    results = sample()
    results["before_redrive"]["dead_lettered_messages"] = 0

    verdict = checks(results)

    assert not verdict["messages dead-lettered"]
    assert "messages dead-lettered did not hold" in render({**results, "checks": verdict, "passed": False})


def test_write_doc_replaces_only_the_section(tmp_path: Path) -> None:
    page = tmp_path / "RELIABILITY.md"
    page.write_text(f"# before\n\n{BEGIN}\nold figures\n{END}\n\n## after\n", encoding="utf-8")

    write_doc(sample(), page)

    text = page.read_text(encoding="utf-8")
    assert text.startswith("# before\n\n") and text.endswith("\n\n## after\n")
    assert "old figures" not in text and results_in(text) == sample()


def test_the_failure_paths_are_counted_from_the_stacks_log(tmp_path: Path) -> None:
    log = tmp_path / "stack-1.log"
    log.write_text(
        "\n".join(
            [
                "theeye-local INFO    ProcessorFunction: 2 of 10 messages to retry",
                "theeye-local WARNING ProcessorFunction: batch of 7 failed (Runtime.ExitError: exit status -9);"
                " retrying in 1 s",
                "theeye-local INFO    POST /events -> 503 (1.2 ms)",
                "theeye-local INFO    POST /events -> 202 (3.4 ms)",
                "theeye-local INFO    3 message(s) received by a stack that stopped without deleting them: visible again",
                "[FAULT] injected: intake.accept share after",
                "[FAULT] injected: event_store.put_all sticky before",
                '{"level":"WARNING","message":"request failed","service":"ingest","code":"service_unavailable"}',
                '{"_aws":{"CloudWatchMetrics":[{"Metrics":[{"Name":"MessagesFailed"},{"Name":"MessagesDeadLettered"}]}]},'
                '"MessagesFailed":[2.0],"MessagesDeadLettered":[1.0]}',
            ]
        ),
        encoding="utf-8",
    )

    seen = read_logs([log])

    assert seen["redelivered_after_partial_failure"] == 2
    assert seen["redelivered_after_failed_invocation"] == 7
    assert seen["post_events_statuses"] == {"202": 1, "503": 1}
    assert seen["ingest_503_queue_unavailable"] == 1
    assert seen["released_at_restart"] == 3
    assert seen["faults_fired"] == {
        "event_store.put_all=sticky": {"before": 1},
        "intake.accept=share": {"after": 1},
    }
    assert (seen["messages_failed_metric"], seen["dead_lettered_by_processor"]) == (2, 1)
