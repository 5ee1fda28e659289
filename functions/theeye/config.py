"""Configuration: one validated model, read once per container through a cached getter.

Every function reads the same model; fields a function does not use keep their defaults.
Nothing else in the code base reads ``os.environ``.
"""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class ConfigurationError(RuntimeError):
    """A setting the function needs is missing: raised when the function starts, naming it."""


class Settings(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore")

    events_table: str = ""
    errors_table: str = ""
    keys_table: str = ""
    counters_table: str = ""
    queue_url: str = ""
    dlq_url: str = ""
    schemas_dir: str = "/opt"
    cursor_secret_arn: str = ""
    max_clock_skew_seconds: int = Field(default=60, ge=0)
    unknown_event_types: Literal["accept", "reject"] = "accept"
    index_shards: int = Field(default=16, ge=1, le=64)
    event_retention_days: int = Field(default=0, ge=0)
    error_retention_days: int = Field(default=30, ge=1)
    key_cache_seconds: float = Field(default=60.0, ge=0, le=60)
    max_receive_count: int = Field(default=5, ge=1)
    # Event context: what is kept of the end user's address, and an offline country database in
    # MaxMind's format to use instead of the one the layer ships (empty: the shipped one).
    ip_anonymization: Literal["truncate", "drop"] = "truncate"
    geoip_database: str = ""
    # The lake on AWS (docs/ANALYTICS.md, "On AWS"): the Firehose stream the feeder sends changes
    # to, the Athena work group and Glue database queries run in, and the delivery delay the
    # answers state (as_of = a query's submission time minus it).
    lake_delivery_stream: str = ""
    athena_workgroup: str = ""
    lake_database: str = ""
    lake_delay_seconds: int = Field(default=300, ge=0)
    # Where the data lives: DynamoDB and SQS (every deployed stack), or one SQLite file (one machine).
    storage_backend: Literal["aws", "sqlite"] = "aws"
    database_path: str = ""
    # The local lake's directory (Parquet files and their manifest): set, SQL runs on DuckDB over
    # it; empty (every deployed stack), on Athena.
    lake_directory: str = ""
    # Set by the Lambda runtime (and the local stack): the container is a function's, not a test's.
    aws_lambda_function_name: str = ""

    def required(self, name: str) -> str:
        """The value of a setting this function cannot run without; ``ConfigurationError`` when empty."""
        value = getattr(self, name)
        if not value:
            raise ConfigurationError(
                f"{name.upper()} is not set: the function needs it (template.yaml gives it to each function"
                " that uses it)"
            )
        return str(value)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, from the environment the template gives the function."""
    names = Settings.model_fields.keys()
    values = {name: os.environ[name.upper()] for name in names if name.upper() in os.environ}
    return Settings.model_validate(values)
