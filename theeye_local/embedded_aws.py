"""moto in server mode on 127.0.0.1: the AWS every local function and tool talks to.

Functions find it through ``AWS_ENDPOINT_URL`` (boto3 honours it for every service) and carry
dummy credentials, with the shared config and credentials files switched off so neither a
developer's profile nor anything else can send a request past 127.0.0.1.
"""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Final

import boto3

from theeye_local.intrinsics import DEFAULT_REGION

HOST: Final = "127.0.0.1"
DUMMY_SECRET: Final = "local"  # noqa: S105 - moto accepts any credentials
DUMMY_KEY_ID: Final = "AKIALOCALTHEEYE00000"


def client_environment(endpoint: str, region: str = DEFAULT_REGION) -> dict[str, str]:
    """Environment variables that point boto3 at ``endpoint`` and at nothing else."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": DUMMY_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": DUMMY_SECRET,
        "AWS_SESSION_TOKEN": DUMMY_SECRET,
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }


WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


class IsolatedDynamoDb:
    """The moto server's application with DynamoDB requests run one at a time.

    moto's ``TransactWriteItems`` copies each table it touches and, when any of its items is
    cancelled, puts the copy back whole: run beside other requests, that undoes their writes
    (lost counts) and the copy can fail outright ("dictionary changed size during iteration").
    DynamoDB isolates a transaction from every other request; one lock over DynamoDB gives the
    same. Other services keep running side by side (an SQS long poll must not hold up a write).
    """

    def __init__(self, app: WsgiApp) -> None:
        self.app = app
        self.lock = threading.Lock()

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not str(environ.get("HTTP_X_AMZ_TARGET", "")).startswith("DynamoDB_"):
            return self.app(environ, start_response)
        with self.lock:
            return list(self.app(environ, start_response))


class _SnapshotOncePerTable:
    """Stands in for the ``copy`` module inside moto's DynamoDB models.

    moto's ``TransactWriteItems`` snapshots a table for its rollback once per *item* of the
    transaction, so a 100-item transaction on a table of 5,000 items deep-copies it 100 times
    (seconds per transaction: the processor's counting ran past its timeout). Under
    :class:`IsolatedDynamoDb` nothing changes a table while those copies are taken (they all
    happen before the first write), so one copy per table per transaction is the same snapshot.
    """

    def __init__(self) -> None:
        self.snapshots: dict[int, Any] | None = None

    def deepcopy(self, value: Any, memo: Any = None) -> Any:
        if self.snapshots is None:
            return copy.deepcopy(value, memo)
        if id(value) not in self.snapshots:
            self.snapshots[id(value)] = copy.deepcopy(value, memo)
        return self.snapshots[id(value)]

    def __getattr__(self, name: str) -> Any:
        return getattr(copy, name)


def _snapshot_each_table_once() -> None:
    from moto.dynamodb import models

    if isinstance(models.copy, _SnapshotOncePerTable):  # type: ignore[attr-defined]
        return
    shim = _SnapshotOncePerTable()
    original = models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: Any) -> None:
        shim.snapshots = {}
        try:
            original(self, transact_items)
        finally:
            shim.snapshots = None

    models.copy = shim  # type: ignore[attr-defined,assignment]
    models.DynamoDBBackend.transact_write_items = transact_write_items  # type: ignore[method-assign]


class _Server:
    """moto's threaded server, serving :class:`IsolatedDynamoDb` (moto's own builds its app inside)."""

    def __init__(self, host: str, port: int) -> None:
        from moto.moto_server.werkzeug_app import (
            DomainDispatcherApplication,
            MotoRequestHandler,
            create_backend_app,
        )
        from werkzeug.serving import make_server

        _snapshot_each_table_once()
        app = IsolatedDynamoDb(DomainDispatcherApplication(create_backend_app))
        self.server = make_server(host, port, app, threaded=True, request_handler=MotoRequestHandler)
        self.thread = threading.Thread(target=self.server.serve_forever, name="moto-server", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def port(self) -> int:
        return int(self.server.server_address[1])

    def stop(self) -> None:
        self.server.shutdown()
        self.thread.join()


@dataclass
class EmbeddedAws:
    """A running moto server; :meth:`start` binds ``port`` (0 picks a free one)."""

    port: int = 0
    region: str = DEFAULT_REGION
    _server: _Server | None = field(default=None, repr=False)

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        # werkzeug logs every request at INFO; the stack's own log stays readable without it.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        # moto is imported only when it runs: the embedded backend's start does without it.
        server = _Server(HOST, self.port)
        server.start()
        self._server = server
        self.port = server.port()

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def session(self) -> boto3.session.Session:
        """A session with the dummy credentials; pass ``endpoint_url=self.endpoint`` to clients."""
        return boto3.session.Session(
            aws_access_key_id=DUMMY_KEY_ID,
            aws_secret_access_key=DUMMY_SECRET,
            aws_session_token=DUMMY_SECRET,
            region_name=self.region,
        )

    def client(self, service: str, **kwargs: Any) -> Any:
        return self.session().client(service, endpoint_url=self.endpoint, **kwargs)
