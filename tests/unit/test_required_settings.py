"""A missing setting fails a function's start with a message naming it, not each request later."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from theeye.config import ConfigurationError, Settings

ROOT = Path(__file__).parents[2]
TABLES = {
    "EVENTS_TABLE": "t-events",
    "ERRORS_TABLE": "t-errors",
    "KEYS_TABLE": "t-keys",
    "COUNTERS_TABLE": "t-counters",
}


def test_an_empty_required_setting_is_named() -> None:
    with pytest.raises(ConfigurationError, match="EVENTS_TABLE is not set"):
        Settings().required("events_table")
    assert Settings(events_table="t").required("events_table") == "t"


@pytest.mark.parametrize(
    ("handler", "missing"),
    [
        ("processor.handler", "EVENTS_TABLE"),
        ("ingest.handler", "QUEUE_URL"),
        ("query.handler", "CURSOR_SECRET_ARN"),
        ("processor.handler", "DATABASE_PATH"),
    ],
)
def test_a_function_without_a_setting_it_needs_fails_at_init(handler: str, missing: str) -> None:
    environment = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "PYTHONPATH": str(ROOT / "functions"),
        "AWS_LAMBDA_FUNCTION_NAME": "theeye-test",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": "http://127.0.0.1:9",  # nothing is asked before the settings are checked
        "SCHEMAS_DIR": str(ROOT / "schemas"),
        "QUEUE_URL": "https://sqs.us-east-1.amazonaws.com/1/q",
        "DLQ_URL": "https://sqs.us-east-1.amazonaws.com/1/dlq",
        "CURSOR_SECRET_ARN": "arn:aws:secretsmanager:us-east-1:1:secret:c",
        **TABLES,
    }
    if missing == "DATABASE_PATH":
        environment["STORAGE_BACKEND"] = "sqlite"
    else:
        del environment[missing]

    done = subprocess.run(
        [sys.executable, "-c", f"import {handler}"],
        env=environment,
        capture_output=True,
        text=True,
        check=False,
    )

    assert done.returncode != 0
    assert f"ConfigurationError: {missing} is not set" in done.stderr
