"""moto in server mode on 127.0.0.1: the AWS every local function and tool talks to.

Functions find it through ``AWS_ENDPOINT_URL`` (boto3 honours it for every service) and carry
dummy credentials, with the shared config and credentials files switched off so neither a
developer's profile nor anything else can send a request past 127.0.0.1.
"""

from __future__ import annotations

import logging
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


@dataclass
class EmbeddedAws:
    """A running moto server; :meth:`start` binds ``port`` (0 picks a free one)."""

    port: int = 0
    region: str = DEFAULT_REGION
    _server: Any = field(default=None, repr=False)  # moto.server.ThreadedMotoServer

    @property
    def endpoint(self) -> str:
        return f"http://{HOST}:{self.port}"

    def start(self) -> None:
        # moto is imported only when it runs: the embedded backend's start does without it.
        from moto.server import ThreadedMotoServer

        # werkzeug logs every request at INFO; the stack's own log stays readable without it.
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
        server = ThreadedMotoServer(ip_address=HOST, port=self.port, verbose=False)
        server.start()
        self._server = server
        self.port = server.get_host_and_port()[1]

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
