"""Which backend runs: the one place that chooses the adapters behind the ports.

The functions' dependency factories ask ``backend()`` for their collaborators. Production
(``template.yaml``) is always the AWS backend, built from the function's settings; one machine
may name the embedded SQLite backend instead (``STORAGE_BACKEND=sqlite``, ``DATABASE_PATH``);
tests ``install`` another implementation of ``theeye.ports.Backend``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from theeye.config import get_settings
from theeye.ports import Backend, ChangeReader, ErasureLog, LakeSink, LakeStatements

_installed: list[Backend] = []


def backend() -> Backend:
    return _installed[-1] if _installed else _default()


def install(chosen: Backend | None) -> None:
    """Use ``chosen`` from now on in this process (``None``: back to the default)."""
    _installed.clear()
    if chosen is not None:
        _installed.append(chosen)


@lru_cache(maxsize=1)
def _default() -> Backend:
    """The backend the settings name (``STORAGE_BACKEND``); imported only when chosen."""
    settings = get_settings()
    if settings.storage_backend == "sqlite":
        from theeye.sqlite.backend import SqliteBackend

        return SqliteBackend(
            settings.required("database_path"),
            error_retention_days=settings.error_retention_days,
            max_receive_count=settings.max_receive_count,
        )
    from theeye.aws.backend import AwsBackend

    return AwsBackend(settings)


def build_at_init(dependencies: Callable[[], object]) -> None:
    """Build a function's collaborators while its container starts (Lambda's init), so a missing
    setting fails the start with ``ConfigurationError`` naming it, not each request later.
    Outside a function (tests, tools importing a handler) nothing is built."""
    if get_settings().aws_lambda_function_name:
        dependencies()


def reset() -> None:
    """Forget the default backend (its settings and clients), as a new container would."""
    _default.cache_clear()


# -- the lake's collaborators (the feeder and the erasure sweep; on AWS only) ----------------------


def change_reader() -> ChangeReader:
    """How the feeder reads a batch of the events table's stream as lake changes."""
    from theeye.aws.lake import stream_changes

    return stream_changes


def lake_sink() -> LakeSink:
    """Where the feeder sends lake changes: the Firehose stream of the Iceberg table, or the
    local lake when ``LAKE_DIRECTORY`` names one (the moto local stack)."""
    from theeye.analytics.local_lake import LocalLake, lake_directory

    settings = get_settings()
    local = lake_directory(settings)
    if local:
        return LocalLake(local)
    from theeye.aws.lake import FirehoseLakeSink

    return FirehoseLakeSink(settings.required("lake_delivery_stream"))


def erasure_log() -> ErasureLog:
    from theeye.aws.erasure import DynamoErasureLog

    return DynamoErasureLog.of_table(get_settings().required("counters_table"))


def lake_statements() -> LakeStatements:
    from theeye.aws.athena import AthenaStatements

    settings = get_settings()
    return AthenaStatements(settings.required("athena_workgroup"), settings.required("lake_database"))
