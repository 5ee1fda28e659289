"""Each function runs under its own IAM role, as on AWS, while moto enforces IAM.

On AWS each function has its own containers, clients and role. In a test the four handlers
share one process and one set of clients (``theeye.aws.client``, on which tests also register
their fault-injection hooks), so the clients stay shared and every request is signed by the
function that is running: while a handler runs (the wrappers at the end, or
:meth:`FunctionRoles.acting_as`), a ``before-sign`` hook hands botocore that function's role
session credentials, obtained through STS, for the request. Nothing else may use these
clients: a request through them while no function runs fails, and test setup and read-back
use the admin's session (``Aws.client``). A client that never got the hook (made for a service
no role names) signs with the environment's credentials, a user without any policy, and is
denied too.

A request a role does not allow raises :class:`PermissionDenied` from the call that made it.
"""

from __future__ import annotations

import importlib
import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Final

import boto3
from botocore.credentials import Credentials
from moto.iam.models import AWSManagedPolicy, iam_backends

from tests.iam import FunctionRole, Permission, as_list, aws_managed_policy, function_roles, granting
from tests.integration.enforcement import EnforcementLog
from tests.sam import translated_template
from theeye import aws
from theeye_local.intrinsics import Resolver
from theeye_local.resources import local_world
from theeye_local.template import Template

ADMIN_USER: Final = "theeye-tests-admin"
# The user of the environment's credentials: no policy, so whatever it signs is denied, naming it.
NOBODY_USER: Final = "theeye-tests-outside-any-function"
_ADMIN_POLICY: Final = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "TestSetupAndReadBack", "Effect": "Allow", "Action": "*", "Resource": "*"}],
}
_HOOK_ID: Final = "theeye-tests-running-function"


class PermissionDenied(BaseException):
    """A function's request was refused by its role: template.yaml lacks a grant the code needs.

    A BaseException, so that no handler turns it into a 503 or a retried message, as they
    rightly do with AWS's own failures: the test stops at the call that needs the grant.
    """


class NoFunctionRunning(BaseException):
    """A request through the functions' clients while no function runs (setup: use ``Aws.client``)."""


@dataclass
class FunctionRoles:
    """The functions' roles in moto, their sessions' credentials, and which function is running."""

    roles: dict[str, FunctionRole]  # by function id, resolved against the moto resources
    role_names: dict[str, str]  # function id -> its role's name in moto
    credentials: dict[str, Credentials]  # function id -> its role session's
    admin: boto3.session.Session
    nobody: Credentials  # NOBODY_USER's: the environment's credentials meanwhile
    log: EnforcementLog
    running: str | None = None
    # the services of every grant: their clients get the hooks, whichever function runs
    _services: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        self._services = frozenset(
            p.action.partition(":")[0] for role in self.roles.values() for p in role.grants()
        )

    def granted(self, function_id: str) -> set[Permission]:
        """What the template's own statements let the function do (managed policies aside)."""
        return self.roles[function_id].grants()

    def used(self, function_id: str) -> set[Permission]:
        """What the function's requests were allowed to do so far, as moto checked them."""
        return self.log.used_by(self.role_names[function_id])

    def used_beyond_the_template(self) -> dict[str, list[str]]:
        """By function, what its code did that only an AWS managed policy allows (SAM attaches
        those for the Lambda service; the code must rely on the template's own statements)."""
        beyond = {
            f: sorted(str(p) for p in self.used(f) if granting(p, self.granted(f)) is None)
            for f in self.roles
        }
        return {f: permissions for f, permissions in beyond.items() if permissions}

    @contextmanager
    def acting_as(self, function_id: str) -> Iterator[None]:
        """Sign the requests of ``theeye.aws.client`` clients as ``function_id``'s role meanwhile."""
        for service in sorted(self._services):
            events = aws.client(service).meta.events
            events.register("before-sign", self._sign_as_running_function, unique_id=f"{_HOOK_ID}-sign")
            events.register("after-call", self._stop_at_denial, unique_id=f"{_HOOK_ID}-denial")
        before, self.running = self.running, function_id
        try:
            yield
        finally:
            self.running = before

    def revoke(self, function_id: str, action: str) -> None:
        """Take ``action`` out of every inline policy of the function's role in moto.

        Only the role in moto changes (through the admin); :meth:`granted` still tells the template's.
        """
        iam = self.admin.client("iam")
        for name, document in self.roles[function_id].inline_policies.items():
            statements = []
            for statement in document["Statement"]:
                actions = [a for a in as_list(statement["Action"]) if a != action]
                if actions:
                    statements.append({**statement, "Action": actions})
            iam.put_role_policy(
                RoleName=self.role_names[function_id],
                PolicyName=name,
                PolicyDocument=json.dumps({**document, "Statement": statements}),
            )

    def _sign_as_running_function(self, request: Any, **_: Any) -> None:
        if self.running is None:
            raise NoFunctionRunning(
                f"{request.method} {request.url}: no function is running; test setup and read-back "
                "go through the admin session (Aws.client), handlers through tests.integration.functions"
            )
        request.context.setdefault("signing", {})["request_credentials"] = self.credentials[self.running]

    def _stop_at_denial(self, parsed: Mapping[str, Any], model: Any, **_: Any) -> None:
        error = parsed.get("Error") or {}
        if error.get("Code") in ("AccessDeniedException", "AccessDenied"):
            raise PermissionDenied(f"{self.running} calling {model.name}: {error.get('Message')}")


def create_function_roles(
    session: boto3.session.Session,
    refs: Mapping[str, str],
    log: EnforcementLog,
    template: Template | None = None,
) -> FunctionRoles:
    """In moto, before enforcement starts: an admin user, a user without any policy, and per
    function a role with exactly the policies of its translated role, assumed through STS.

    The roles keep their translated trust policy (``lambda.amazonaws.com``); moto cannot act as
    a service principal, so the roles are assumed while moto does not check yet.
    """
    template = template or translated_template()
    world = local_world(session)
    resolver = Resolver(template, world, refs)
    iam, sts = session.client("iam"), session.client("sts")
    roles = {fid: role.resolved(resolver) for fid, role in function_roles(template).items()}
    role_names: dict[str, str] = {}
    credentials: dict[str, Credentials] = {}
    for function_id, role in roles.items():
        name = role_names[function_id] = world.physical_name(role.role_id)
        created = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(role.trust_policy))
        for policy_name, document in role.inline_policies.items():
            iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
        for policy_arn in role.managed_policy_arns:
            _add_aws_managed_policy(world.account_id, str(policy_arn))
            iam.attach_role_policy(RoleName=name, PolicyArn=str(policy_arn))
        issued = sts.assume_role(RoleArn=created["Role"]["Arn"], RoleSessionName=function_id)["Credentials"]
        credentials[function_id] = Credentials(
            issued["AccessKeyId"], issued["SecretAccessKey"], issued["SessionToken"]
        )
    admin = _create_user(iam, ADMIN_USER, _ADMIN_POLICY)
    admin_session = boto3.session.Session(
        aws_access_key_id=admin.access_key,
        aws_secret_access_key=admin.secret_key,
        region_name=session.region_name,
    )
    return FunctionRoles(roles, role_names, credentials, admin_session, _create_user(iam, NOBODY_USER), log)


def _create_user(iam: Any, name: str, policy: Mapping[str, Any] | None = None) -> Credentials:
    iam.create_user(UserName=name)
    if policy is not None:
        iam.put_user_policy(UserName=name, PolicyName=name, PolicyDocument=json.dumps(policy))
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return Credentials(key["AccessKeyId"], key["SecretAccessKey"])


def _add_aws_managed_policy(account_id: str, arn: str) -> None:
    """Make one AWS managed policy attachable in moto, with AWS's own document.

    moto loads AWS's managed policies only with ``iam.load_aws_managed_policies``, and then all
    1,600 of them in every mock (0.7 s a test); the few a role names are added from the same data.
    """
    backend = iam_backends[account_id]["aws"]
    if arn not in backend.managed_policies:
        name, data = aws_managed_policy(arn)
        backend.managed_policies[arn] = AWSManagedPolicy.from_data(
            name, account_id, backend.region_name, dict(data)
        )


# -- the handlers, each run as its function ---------------------------------------------------

_installed: list[FunctionRoles] = []


@contextmanager
def installed(roles: FunctionRoles) -> Iterator[FunctionRoles]:
    """Make ``roles`` the ones the handler wrappers act as (one test's)."""
    _installed.append(roles)
    try:
        yield roles
    finally:
        _installed.remove(roles)


def current() -> FunctionRoles:
    if not _installed:
        raise RuntimeError("no function roles: the handlers run as their functions inside the aws fixture")
    return _installed[-1]


def _run_as(function_id: str, module: str, event: dict[str, Any], context: Any) -> Any:
    handler = importlib.import_module(module).lambda_handler
    with current().acting_as(function_id):
        return handler(event, context)


def ingest_handler(event: dict[str, Any], context: Any) -> Any:
    """``ingest.handler.lambda_handler``, run as IngestFunction."""
    return _run_as("IngestFunction", "ingest.handler", event, context)


def processor_handler(event: dict[str, Any], context: Any) -> Any:
    """``processor.handler.lambda_handler``, run as ProcessorFunction."""
    return _run_as("ProcessorFunction", "processor.handler", event, context)


def query_handler(event: dict[str, Any], context: Any) -> Any:
    """``query.handler.lambda_handler``, run as QueryFunction."""
    return _run_as("QueryFunction", "query.handler", event, context)


def admin_handler(event: dict[str, Any], context: Any) -> Any:
    """``admin.handler.lambda_handler``, run as AdminFunction."""
    return _run_as("AdminFunction", "admin.handler", event, context)


def feeder_handler(event: dict[str, Any], context: Any) -> Any:
    """``feeder.handler.lambda_handler``, run as FeederFunction."""
    return _run_as("FeederFunction", "feeder.handler", event, context)


def sweep_handler(event: dict[str, Any], context: Any) -> Any:
    """``sweep.handler.lambda_handler``, run as LakeSweepFunction."""
    return _run_as("LakeSweepFunction", "sweep.handler", event, context)
