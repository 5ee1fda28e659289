"""Which The Eye a command talks to: the local stack or a deployed CloudFormation stack.

A :class:`Target` holds the names of the tables and queues and how to reach them: a boto3
session, or for the local stack's embedded backend the SQLite file that holds everything.
Commands take a target and never look at the environment themselves, so tests build one on
a mocked session and the real kinds are made here:

* :func:`local_target` reads the state file ``make run`` writes (``.theeye/local.json``). On
  the embedded backend (``"backend": "embedded"``) it opens the stack's SQLite file
  (``"database"``) with ``theeye.sqlite.backend.SqliteBackend``; ``client("sqs")`` is then
  ``theeye_local.sqlite_sqs.SqliteSqs`` over the same file, and any other AWS service is a
  ``TargetError``: nothing leaves the machine, no socket is opened. On moto (``"backend":
  "moto"``, or no ``backend`` in older files) it talks to the embedded AWS endpoint with dummy
  credentials, ignoring any AWS profile of the shell, so a local command can never reach a
  real account.
* :func:`stack_target` reads the Outputs (and the ``IndexShards`` and ``ErrorRetentionDays``
  parameters) of a deployed stack with the standard AWS credential chain.

Either way ``Target.backend()`` is a ``theeye.ports.Backend``, so the commands have one code
path for every target.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import boto3
import botocore.session
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from theeye.aws.backend import AwsBackend
from theeye.config import Settings
from theeye.ports import Backend
from theeye.sqlite.backend import SqliteBackend
from theeye_local.sqlite_sqs import SqliteSqs

DEFAULT_STATE_FILE: Final = Path(".theeye") / "local.json"
STATE_FILE_VARIABLE: Final = "THEEYE_STATE_FILE"  # the local stack writes its state there too
MAX_INDEX_SHARDS: Final = 64  # the template's ceiling; reading them all finds every item
LOCAL_DUMMY_KEY_ID: Final = "AKIALOCALTHEEYE00000"
LOCAL_DUMMY_SECRET: Final = "local"  # noqa: S105 - the embedded AWS accepts any credentials

# What ``"backend"`` of a state file may say; a file without it predates the embedded backend.
MOTO: Final = "moto"
EMBEDDED: Final = "embedded"
# The embedded queue's settings when the state file does not give them (SQS's and the
# template's defaults, as theeye_local.embedded uses them).
DEFAULT_VISIBILITY_TIMEOUT: Final = 30
DEFAULT_MAX_RECEIVE_COUNT: Final = 5
DEFAULT_ERROR_RETENTION_DAYS: Final = 30

# Logical ids of the template, as local.json names them.
EVENTS_TABLE: Final = "EventsTable"
ERRORS_TABLE: Final = "ErrorsTable"
KEYS_TABLE: Final = "ApiKeysTable"
COUNTERS_TABLE: Final = "CountersTable"
STACK_OUTPUTS: Final = {
    "events_table": "EventsTableName",
    "errors_table": "ErrorsTableName",
    "keys_table": "ApiKeysTableName",
    "counters_table": "CountersTableName",
    "queue_url": "QueueUrl",
    "dlq_url": "DeadLetterQueueUrl",
}


class TargetError(Exception):
    """The target cannot be resolved (no state file, unknown stack, missing output...)."""


@dataclass
class Target:
    """Where The Eye's tables and queues are, and how to reach them."""

    description: str
    session: boto3.session.Session | None  # None: the embedded backend, which has no AWS at all
    events_table: str
    errors_table: str
    keys_table: str
    counters_table: str
    queue_url: str
    dlq_url: str
    endpoint_url: str | None = None
    queue_arn: str | None = None
    dlq_arn: str | None = None
    index_shards: int = MAX_INDEX_SHARDS
    api_url: str | None = None
    ingest_key: str | None = None  # the local stack's (its state file): for commands that call the API
    query_key: str | None = None  # likewise (theeye sql)
    local: bool = False
    # SQS short polling samples a subset of its servers, so a receive can come back empty while
    # messages wait; long polling asks them all. moto has one "server": no wait needed locally.
    receive_wait_seconds: int = 1
    config: Config = field(
        default_factory=lambda: Config(
            retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=20
        )
    )
    # The embedded backend: its SQLite file (None: AWS or moto) and its queue's settings.
    database: Path | None = None
    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    max_receive_count: int = DEFAULT_MAX_RECEIVE_COUNT
    error_retention_days: int = DEFAULT_ERROR_RETENTION_DAYS
    _clients: dict[str, Any] = field(default_factory=dict, repr=False)
    _backend: Backend | None = field(default=None, repr=False)
    _sqlite: SqliteBackend | None = field(default=None, repr=False)

    @property
    def embedded(self) -> bool:
        """Everything is in one SQLite file: no AWS service, no endpoint, no network."""
        return self.database is not None

    def client(self, service: str) -> Any:
        """A boto3 client of ``service``; on the embedded backend only ``sqs``, answered by SQLite."""
        if service not in self._clients:
            self._clients[service] = (
                self._embedded_client(service) if self.embedded else self._aws_client(service)
            )
        return self._clients[service]

    def backend(self) -> Backend:
        """The same adapters the functions use: SQLite's on the embedded backend, else AWS's
        on this target's clients."""
        if self._backend is None and self.embedded:
            self._backend = self._sqlite_backend()
        if self._backend is None:
            settings = Settings(
                events_table=self.events_table,
                errors_table=self.errors_table,
                keys_table=self.keys_table,
                counters_table=self.counters_table,
                queue_url=self.queue_url,
                dlq_url=self.dlq_url,
                index_shards=self.index_shards,
            )
            self._backend = AwsBackend(settings, client=self.client)
        return self._backend

    def _aws_client(self, service: str) -> Any:
        if self.session is None:
            raise TargetError(f"{self.description} has no AWS session to reach {service!r} with")
        return self.session.client(service, endpoint_url=self.endpoint_url, config=self.config)

    def _embedded_client(self, service: str) -> Any:
        if service != "sqs":
            raise TargetError(
                f"{self.description} runs on the embedded (SQLite) backend, which has no {service!r}: "
                "only its queues answer SQS calls"
            )
        backend = self._sqlite_backend()
        queues = {self.queue_url: backend.queue(), self.dlq_url: backend.dead_letter_queue()}
        return SqliteSqs(queues, visibility_timeout=self.visibility_timeout)

    def _sqlite_backend(self) -> SqliteBackend:
        """One backend per target, so ``backend()`` and ``client("sqs")`` share its queues."""
        assert self.database is not None
        if self._sqlite is None:
            self._sqlite = SqliteBackend(
                self.database,
                error_retention_days=self.error_retention_days,
                max_receive_count=self.max_receive_count,
            )
        return self._sqlite

    @property
    def supports_message_move_task(self) -> bool:
        """SQS's StartMessageMoveTask exists on AWS; the local stack (moto or SQLite) lacks it."""
        return not self.local

    def queue_arns(self) -> tuple[str, str]:
        """ARNs of the events queue and the dead-letter queue (asked of SQS when unknown)."""
        if self.embedded:
            raise TargetError(f"{self.description} runs on the embedded backend: its queues have no ARN")
        if self.queue_arn is None:
            self.queue_arn = self._arn_of(self.queue_url)
        if self.dlq_arn is None:
            self.dlq_arn = self._arn_of(self.dlq_url)
        return self.queue_arn, self.dlq_arn

    def _arn_of(self, url: str) -> str:
        answer = self.client("sqs").get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])
        return str(answer["Attributes"]["QueueArn"])

    @classmethod
    def from_state(
        cls,
        state: Mapping[str, Any],
        *,
        session: boto3.session.Session | None,
        endpoint_url: str | None,
        description: str = "local stack",
    ) -> Target:
        """A target from the content of a local state file (``.theeye/local.json``).

        On the embedded backend ``session`` and ``endpoint_url`` are not used: the target has
        neither, and reads the SQLite file the state names.
        """
        embedded = backend_of(state) == EMBEDDED
        tables = state.get("tables")
        if not isinstance(tables, Mapping):
            if not embedded:
                raise TargetError("the state file has no 'tables'; is it a local stack state file?")
            tables = {}  # only names here: the SQLite file has its own tables
        missing = [
            name
            for name in (EVENTS_TABLE, ERRORS_TABLE, KEYS_TABLE, COUNTERS_TABLE)
            if not tables.get(name) and not embedded
        ]
        missing += [name for name in ("queue_url", "dlq_url") if not state.get(name)]
        if embedded and not state.get("database"):
            missing.append("database")
        if missing:
            raise TargetError(f"the state file lacks {', '.join(missing)}")
        target = cls(
            description=description,
            session=None if embedded else session,
            endpoint_url=None if embedded else endpoint_url,
            events_table=str(tables.get(EVENTS_TABLE, "")),
            errors_table=str(tables.get(ERRORS_TABLE, "")),
            keys_table=str(tables.get(KEYS_TABLE, "")),
            counters_table=str(tables.get(COUNTERS_TABLE, "")),
            queue_url=str(state["queue_url"]),
            dlq_url=str(state["dlq_url"]),
            api_url=str(state["api_url"]) if state.get("api_url") else None,
            ingest_key=str(state["ingest_key"]) if state.get("ingest_key") else None,
            query_key=str(state["query_key"]) if state.get("query_key") else None,
            local=True,
            receive_wait_seconds=0,
        )
        if embedded:
            target.database = Path(str(state["database"]))
            target.visibility_timeout = _setting(state, "visibility_timeout", DEFAULT_VISIBILITY_TIMEOUT)
            target.max_receive_count = _setting(state, "max_receive_count", DEFAULT_MAX_RECEIVE_COUNT)
            target.error_retention_days = _setting(
                state, "error_retention_days", DEFAULT_ERROR_RETENTION_DAYS
            )
        return target


def backend_of(state: Mapping[str, Any]) -> str:
    """Which backend a state file describes: ``embedded`` or ``moto`` (files without one: moto)."""
    kind = state.get("backend") or MOTO
    if kind not in (MOTO, EMBEDDED):
        raise TargetError(f"the state file names an unknown backend {kind!r} (expected {EMBEDDED} or {MOTO})")
    return str(kind)


def _setting(state: Mapping[str, Any], name: str, default: int) -> int:
    value = state.get(name)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise TargetError(f"the state file's {name!r} is not a whole number: {value!r}")
    return value


def default_state_file() -> Path:
    configured = os.environ.get(STATE_FILE_VARIABLE)
    return Path(configured) if configured else DEFAULT_STATE_FILE


def local_target(state_file: Path | None = None) -> Target:
    """The local stack described by ``state_file`` (default ``.theeye/local.json``)."""
    path = state_file or default_state_file()
    try:
        state = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise TargetError(
            f"no local stack state at {path}: start the stack with 'make run' (or pass --state PATH)"
        ) from None
    except (OSError, ValueError) as exc:
        raise TargetError(f"cannot read {path}: {exc}") from None
    if not isinstance(state, dict):
        raise TargetError(f"{path} is not a local stack state file")
    pid = state.get("pid")
    if isinstance(pid, int) and not _running(pid):
        raise TargetError(
            f"the local stack that wrote {path} (pid {pid}) is not running: start it with 'make run'"
        )
    if backend_of(state) == EMBEDDED:
        return _embedded_target(state, path)
    endpoint = state.get("aws_endpoint")
    if not endpoint:
        raise TargetError(f"{path} has no 'aws_endpoint'")
    region = str(state.get("region") or "us-east-1")
    target = Target.from_state(
        state, session=_local_session(region), endpoint_url=str(endpoint), description=f"local stack ({path})"
    )
    # Locally a dead endpoint should fail fast rather than retry.
    target.config = Config(
        retries={"mode": "standard", "max_attempts": 2}, connect_timeout=2, read_timeout=20
    )
    return target


def _embedded_target(state: Mapping[str, Any], path: Path) -> Target:
    """The embedded backend: the SQLite file the state names, which must exist (opening a
    missing one would make a new, empty database and show an empty stack)."""
    target = Target.from_state(
        state, session=None, endpoint_url=None, description=f"local stack ({path}, embedded)"
    )
    assert target.database is not None
    if not target.database.is_file():
        raise TargetError(
            f"the database {target.database} that {path} names does not exist: "
            "start the stack with 'make run' (or pass --state PATH)"
        )
    return target


def stack_target(stack_name: str, region: str | None = None) -> Target:
    """A deployed stack, found through its CloudFormation Outputs (standard credential chain)."""
    session = boto3.session.Session(region_name=region) if region else boto3.session.Session()
    if not session.region_name:
        raise TargetError("no AWS region: pass --region or set AWS_REGION")
    try:
        stacks = session.client("cloudformation").describe_stacks(StackName=stack_name)["Stacks"]
    except ClientError as exc:
        message = exc.response.get("Error", {}).get("Message", str(exc))
        raise TargetError(f"cannot read stack {stack_name!r} in {session.region_name}: {message}") from None
    except BotoCoreError as exc:
        raise TargetError(f"cannot read stack {stack_name!r} in {session.region_name}: {exc}") from None
    if not stacks:
        raise TargetError(f"no stack named {stack_name!r} in {session.region_name}")
    return target_from_stack(stacks[0], session)


def target_from_stack(stack: Mapping[str, Any], session: boto3.session.Session) -> Target:
    """A target from one ``DescribeStacks`` entry (its Outputs and Parameters)."""
    outputs = {str(o["OutputKey"]): str(o["OutputValue"]) for o in stack.get("Outputs") or []}
    parameters = {
        str(p["ParameterKey"]): str(p.get("ParameterValue", "")) for p in stack.get("Parameters") or []
    }
    name = str(stack.get("StackName", "?"))
    missing = [output for output in STACK_OUTPUTS.values() if not outputs.get(output)]
    if missing:
        raise TargetError(f"stack {name!r} lacks the output(s) {', '.join(missing)}: is it The Eye?")
    shards = parameters.get("IndexShards", "")
    retention = parameters.get("ErrorRetentionDays", "")
    return Target(
        description=f"stack {name} ({session.region_name})",
        session=session,
        events_table=outputs[STACK_OUTPUTS["events_table"]],
        errors_table=outputs[STACK_OUTPUTS["errors_table"]],
        keys_table=outputs[STACK_OUTPUTS["keys_table"]],
        counters_table=outputs[STACK_OUTPUTS["counters_table"]],
        queue_url=outputs[STACK_OUTPUTS["queue_url"]],
        dlq_url=outputs[STACK_OUTPUTS["dlq_url"]],
        queue_arn=outputs.get("QueueArn"),
        dlq_arn=outputs.get("DeadLetterQueueArn"),
        # Items live in shards below the count they were written with; reading the current
        # count finds them all while it is only ever raised (docs/DATA_MODEL.md).
        index_shards=int(shards)
        if shards.isdigit() and 1 <= int(shards) <= MAX_INDEX_SHARDS
        else MAX_INDEX_SHARDS,
        api_url=outputs.get("ApiUrl"),
        error_retention_days=int(retention)
        if retention.isdigit() and int(retention) >= 1
        else DEFAULT_ERROR_RETENTION_DAYS,
    )


def _local_session(region: str) -> boto3.session.Session:
    """Dummy credentials; no profile, config or credentials file of the shell is read."""
    core = botocore.session.Session(session_vars={"profile": (None, None, None, None)})
    core.set_config_variable("config_file", os.devnull)
    core.set_config_variable("credentials_file", os.devnull)
    return boto3.session.Session(
        botocore_session=core,
        aws_access_key_id=LOCAL_DUMMY_KEY_ID,
        aws_secret_access_key=LOCAL_DUMMY_SECRET,
        aws_session_token=LOCAL_DUMMY_SECRET,
        region_name=region,
    )


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by someone else
    return True
