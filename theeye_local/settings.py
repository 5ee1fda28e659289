"""The local stack's own knobs, all read from the environment of ``make run``.

=================================  ========================================================
``THEEYE_PORT``                    HTTP API port (default 3000)
``THEEYE_BACKEND``                 ``embedded`` (default): every queue and table in one SQLite
                                   file, kept across restarts; ``moto``: moto's emulated AWS,
                                   in memory, gone on exit
``THEEYE_DATA_DIR``                where the embedded backend keeps its file (default
                                   ``.theeye/data`` next to the template), and both backends
                                   the local lake ``POST /sql`` reads (its ``lake`` folder)
``THEEYE_FRESH``                   ``1``: delete the embedded backend's data before starting
``THEEYE_AWS_PORT``                moto's port with ``THEEYE_BACKEND=moto`` (default: a free port)
``THEEYE_INGEST_KEY``              raw key created with scope ``ingest`` (default: random)
``THEEYE_QUERY_KEY``               raw key created with scope ``query`` (default: random)
``THEEYE_ADMIN_KEY``               raw key created with scope ``admin`` (default: random)
``THEEYE_<FN>_WORKERS``            worker processes of an HTTP function; ``<FN>`` is the logical
                                   id without ``Function`` in upper snake case
                                   (``THEEYE_INGEST_WORKERS``, default 3; others default 2)
``THEEYE_<FN>_CONCURRENCY``        pollers of an SQS-triggered function, capped by the event's
                                   ``ScalingConfig.MaximumConcurrency``
                                   (``THEEYE_PROCESSOR_CONCURRENCY``, default 2)
``THEEYE_RETRY_DELAY_SECONDS``     how soon a failed SQS message is retried (default 1; AWS
                                   waits for the queue's visibility timeout)
``THEEYE_PARAMETER_OVERRIDES``     template parameters, as ``sam deploy --parameter-overrides``:
                                   ``"MaxReceiveCount=2 AllowedOrigins=https://app.example"``
``THEEYE_TEMPLATE``                template to serve (default: the repository's template.yaml)
``THEEYE_STATE_FILE``              where to write the state (default ``.theeye/local.json``
                                   next to the template)
``THEEYE_LOG_LEVEL``               the stack's own log level (default INFO)
``THEEYE_LOG``                     ``json``: copy the functions' JSON log lines and metrics
                                   to the terminal as well (they always go to
                                   ``.theeye/logs/<function>.jsonl``); default ``text``
``THEEYE_FAULTS``                  chaos runs: fail a share of the calls of named port methods
                                   in every function, as the adapter fails once its retries are
                                   spent, on every backend: ``event_store.put_all=0.05`` (each
                                   call), ``event_store.put_all=sticky:0.04`` (the same messages
                                   on every delivery); ``dynamodb.PutItem=0.05``: every attempt
                                   of a share of AWS calls (moto only) (theeye_local.faults)
``THEEYE_FAULTS_UNTIL``            chaos runs: unix time after which no fault fires (default:
                                   never stop), so a redrive afterwards succeeds
=================================  ========================================================

Besides these, any variable of the shell whose name is one of a function's environment
variables in the template overrides the template's value for that function, so
``MAX_CLOCK_SKEW_SECONDS=5 make run`` or ``UNKNOWN_EVENT_TYPES=reject make run`` work as one
would hope. (Mind an unrelated ``LOG_LEVEL`` exported in your shell: it applies too.)
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final, Literal

from theeye.analytics.local_lake import LAKE_FOLDER
from theeye_local.function_logs import log_file, logs_dir
from theeye_local.template import DEFAULT_TEMPLATE

DEFAULT_PORT: Final = 3000
BACKENDS: Final = ("embedded", "moto")
LOG_FORMATS: Final = ("text", "json")
DATABASE_FILE: Final = "theeye.db"
Backend = Literal["embedded", "moto"]
DEFAULT_POLLERS: Final = 2
DEFAULT_HTTP_WORKERS: Final = 2
# Tuning, not structure: the ingest path takes the write traffic, so it gets one more worker.
HTTP_WORKERS_BY_FUNCTION: Final = {"IngestFunction": 3}


class SettingsError(ValueError):
    """A THEEYE_* variable has a value the stack cannot use."""


@dataclass(frozen=True)
class LocalSettings:
    port: int = DEFAULT_PORT
    backend: Backend = "embedded"
    data_dir: Path | None = None
    fresh: bool = False
    aws_port: int = 0
    ingest_key: str | None = None
    query_key: str | None = None
    admin_key: str | None = None
    retry_delay_seconds: int = 1
    parameter_overrides: Mapping[str, str] = field(default_factory=dict)
    template_path: Path = DEFAULT_TEMPLATE
    state_file: Path | None = None
    log_level: str = "INFO"
    log_json: bool = False
    environ: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> LocalSettings:
        template_path = Path(environ.get("THEEYE_TEMPLATE") or DEFAULT_TEMPLATE).resolve()
        state_file = environ.get("THEEYE_STATE_FILE")
        data_dir = environ.get("THEEYE_DATA_DIR")
        return cls(
            port=_integer(environ, "THEEYE_PORT", DEFAULT_PORT, low=0, high=65535),
            backend=_backend(environ.get("THEEYE_BACKEND") or "embedded"),
            data_dir=Path(data_dir).resolve() if data_dir else None,
            fresh=_flag(environ, "THEEYE_FRESH"),
            aws_port=_integer(environ, "THEEYE_AWS_PORT", 0, low=0, high=65535),
            ingest_key=environ.get("THEEYE_INGEST_KEY") or None,
            query_key=environ.get("THEEYE_QUERY_KEY") or None,
            admin_key=environ.get("THEEYE_ADMIN_KEY") or None,
            retry_delay_seconds=_integer(environ, "THEEYE_RETRY_DELAY_SECONDS", 1, low=0, high=43200),
            parameter_overrides=_overrides(environ.get("THEEYE_PARAMETER_OVERRIDES", "")),
            template_path=template_path,
            state_file=Path(state_file).resolve() if state_file else None,
            log_level=environ.get("THEEYE_LOG_LEVEL", "INFO").upper(),
            log_json=_log_format(environ.get("THEEYE_LOG") or "text") == "json",
            environ=dict(environ),
        )

    @property
    def state_path(self) -> Path:
        return self.state_file or self.template_path.parent / ".theeye" / "local.json"

    @property
    def logs_path(self) -> Path:
        """The functions' JSON Lines logs: a ``logs`` folder beside the state file."""
        return logs_dir(self.state_path)

    def log_path(self, function_id: str) -> Path:
        """``IngestFunction`` -> ``<logs>/ingest.jsonl``, ``EventStatsFunction`` -> ``event_stats.jsonl``."""
        return log_file(self.logs_path, _stem(function_id).lower())

    @property
    def database_path(self) -> Path:
        """The embedded backend's SQLite file."""
        return (self.data_dir or self.template_path.parent / ".theeye" / "data") / DATABASE_FILE

    @property
    def lake_directory(self) -> Path:
        """The local lake that ``POST /sql`` reads (``LAKE_DIRECTORY``): beside the database file."""
        return self.database_path.with_name(LAKE_FOLDER)

    def http_workers(self, function_id: str) -> int:
        default = HTTP_WORKERS_BY_FUNCTION.get(function_id, DEFAULT_HTTP_WORKERS)
        return _integer(self.environ, f"THEEYE_{_stem(function_id)}_WORKERS", default, low=1, high=64)

    def pollers(self, function_id: str, maximum_concurrency: int | None) -> int:
        wanted = _integer(
            self.environ, f"THEEYE_{_stem(function_id)}_CONCURRENCY", DEFAULT_POLLERS, low=1, high=64
        )
        return min(wanted, maximum_concurrency) if maximum_concurrency else wanted

    def function_overrides(self, environment: Mapping[str, str]) -> dict[str, str]:
        """The shell variables that override ``environment`` (a function's template variables)."""
        return {name: self.environ[name] for name in environment if name in self.environ}


def _stem(function_id: str) -> str:
    """``IngestFunction`` -> ``INGEST``, ``EventStatsFunction`` -> ``EVENT_STATS``."""
    base = function_id.removesuffix("Function") or function_id
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", base).upper()


def _integer(environ: Mapping[str, str], name: str, default: int, *, low: int, high: int) -> int:
    raw = environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise SettingsError(f"{name}={raw!r} is not a whole number") from None
    if not low <= value <= high:
        raise SettingsError(f"{name}={value} is outside {low}..{high}")
    return value


def _backend(raw: str) -> Backend:
    if raw == "embedded":
        return "embedded"
    if raw == "moto":
        return "moto"
    raise SettingsError(f"THEEYE_BACKEND={raw!r}: choose one of {', '.join(BACKENDS)}")


def _log_format(raw: str) -> str:
    if raw.lower() in LOG_FORMATS:
        return raw.lower()
    raise SettingsError(f"THEEYE_LOG={raw!r}: choose one of {', '.join(LOG_FORMATS)}")


def _flag(environ: Mapping[str, str], name: str) -> bool:
    raw = environ.get(name, "").strip().lower()
    if raw in ("", "0", "false", "no"):
        return False
    if raw in ("1", "true", "yes"):
        return True
    raise SettingsError(f"{name}={raw!r}: use 1 or 0")


def _overrides(text: str) -> dict[str, str]:
    overrides: dict[str, str] = {}
    for item in shlex.split(text):
        name, equals, value = item.partition("=")
        if not equals or not name:
            raise SettingsError(f"THEEYE_PARAMETER_OVERRIDES: {item!r} is not Name=Value")
        overrides[name] = value
    return overrides
