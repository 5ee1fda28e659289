"""moto's IAM enforcement, completed for the services the functions call.

What moto 5.2.5 checks by itself, in process under ``mock_aws``, once enforcement is on
(``moto.core.enable_iam_authentication``, i.e. ``settings.INITIAL_NO_AUTH_ACTION_COUNT``
reached; see ``moto/core/authorization.py`` and ``moto/iam/access_control.py``):

* every request's SigV4 signature, against the secret of its access key, which must be an IAM
  user's or an assumed role's (an unknown key is ``InvalidClientTokenId``);
* the action ``<signing name>:<operation>`` against the principal's inline and attached
  policies, an explicit Deny winning. Not evaluated: resource-based policies (such as the
  queues' ``DenyInsecureTransport``), permission boundaries, session policies, and conditions
  other than ``StringEquals`` on ``sts:ExternalId`` in a trust policy (any other is taken as met);
* the resource only where the service's response class defines ``_determine_resource``:
  SQS (the queue's ARN), STS ``AssumeRole`` (the role), IAM, and S3 on its own path. DynamoDB
  and Secrets Manager pass ``"*"``, which a statement naming an ARN never matches (moto matches
  the statement's pattern against the literal text ``*``), so a least-privilege role is denied
  everything there; and a DynamoDB transaction is checked as ``dynamodb:TransactWriteItems``,
  an action IAM does not have (AWS authorizes each item on its table instead).

:func:`enforce_resources` therefore replaces the check of DynamoDB, SQS and Secrets Manager
requests: every (action, resource) pair a request needs, as AWS authorizes it
(:func:`required_permissions`), goes through moto's own signature check and policy evaluator,
is written to an :class:`EnforcementLog`, and a denial is answered as AWS answers it:
``AccessDeniedException`` naming the principal, the action and the resource.

It does the same for Firehose (the delivery stream's ARN) and Athena (the work group's ARN;
a query execution is authorized on its work group's). moto runs no query, but on AWS Athena
reads the catalog and the table's files, and writes and reads the results, **as the caller**
("Access to Amazon S3" and "Fine-grained access to databases and tables in the AWS Glue Data
Catalog", https://docs.aws.amazon.com/athena/latest/ug/s3-permissions.html and
https://docs.aws.amazon.com/athena/latest/ug/fine-grained-access-to-glue-resources.html). So a
query request also needs what :func:`athena_as_the_caller` lists, checked against the caller's
policies like the request itself: ``glue:GetDatabase`` and ``glue:GetTable`` on the catalog,
the database and each table the statement names (``glue:UpdateTable`` too for a ``DELETE``,
which commits the table); ``s3:GetBucketLocation`` and ``s3:ListBucket`` on the table's bucket,
``s3:GetObject`` on its files (``s3:PutObject`` too for a ``DELETE``: delete files, metadata);
``s3:GetBucketLocation``, ``s3:ListBucket`` and ``s3:PutObject`` for the result file under the
work group's output location, and ``s3:GetObject`` on it when GetQueryResults reads it.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, NamedTuple

import pytest
import sqlglot
from moto.athena.models import athena_backends
from moto.athena.responses import AthenaResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
from moto.firehose.responses import FirehoseResponse
from moto.glue.models import glue_backends
from moto.iam.access_control import IAMRequest
from moto.secretsmanager.responses import SecretsManagerResponse
from moto.sqs.responses import SQSResponse
from moto.utilities.utils import get_partition

from tests.iam import Permission

# Items of a DynamoDB transaction -> the action each is authorized as.
_TRANSACT_WRITE: Final = {
    "Put": "PutItem",
    "Update": "UpdateItem",
    "Delete": "DeleteItem",
    "ConditionCheck": "ConditionCheckItem",
}
# SQS batch operations are authorized as their single-message action.
_SQS_BATCH_SUFFIX: Final = "Batch"


def required_permissions(
    service: str, operation: str, params: Mapping[str, Any], *, region: str, account: str
) -> list[Permission]:
    """What AWS authorizes for one request: each (IAM action, resource ARN) it needs.

    ``params`` are the request's parameters by their API names (``TableName``, ``QueueUrl``,
    ``SecretId``, ...). Operations this does not know need ``<service>:<operation>`` on ``*``.
    """
    partition = get_partition(region)
    if service == "dynamodb":
        return _dynamodb(operation, params, f"arn:{partition}:dynamodb:{region}:{account}:table/")
    if service == "sqs":
        action = operation.removesuffix(_SQS_BATCH_SUFFIX)
        return [Permission(f"sqs:{action}", _queue_arn(params, partition, region, account))]
    if service == "firehose" and "DeliveryStreamName" in params:
        stream = f"arn:{partition}:firehose:{region}:{account}:deliverystream/{params['DeliveryStreamName']}"
        return [Permission(f"firehose:{operation}", stream)]
    if service == "athena":
        return _athena(operation, params, partition=partition, region=region, account=account)
    if service == "secretsmanager" and "SecretId" in params:
        secret = str(params["SecretId"])
        if not secret.startswith("arn:"):  # by name: the functions always pass the ARN
            secret = f"arn:{partition}:secretsmanager:{region}:{account}:secret:{secret}"
        return [Permission(f"secretsmanager:{operation}", secret)]
    return [Permission(f"{service}:{operation}", "*")]


def _dynamodb(operation: str, params: Mapping[str, Any], table_prefix: str) -> list[Permission]:
    def table(name: Any, index: Any = None) -> str:
        arn = str(name) if str(name).startswith("arn:") else table_prefix + str(name)
        return f"{arn}/index/{index}" if index else arn

    if operation == "TransactWriteItems":
        return [
            Permission(f"dynamodb:{_TRANSACT_WRITE[kind]}", table(request["TableName"]))
            for item in params.get("TransactItems", [])
            for kind, request in item.items()
        ]
    if operation == "TransactGetItems":
        return [
            Permission("dynamodb:GetItem", table(item["Get"]["TableName"]))
            for item in params.get("TransactItems", [])
        ]
    if operation in ("BatchGetItem", "BatchWriteItem"):
        return [Permission(f"dynamodb:{operation}", table(name)) for name in params.get("RequestItems", {})]
    if "TableName" in params:
        return [Permission(f"dynamodb:{operation}", table(params["TableName"], params.get("IndexName")))]
    return [Permission(f"dynamodb:{operation}", "*")]


_ATHENA_QUERIES: Final = frozenset({"StartQueryExecution", "GetQueryExecution", "GetQueryResults"})


def _athena(
    operation: str, params: Mapping[str, Any], *, partition: str, region: str, account: str
) -> list[Permission]:
    backend = athena_backends[account][region]
    execution = backend.executions.get(str(params.get("QueryExecutionId")))
    if operation == "StartQueryExecution":
        workgroup = str(params.get("WorkGroup") or "primary")
    elif execution is not None and execution.workgroup is not None:
        workgroup = execution.workgroup.name
    else:
        return [Permission(f"athena:{operation}", "*")]
    needed = [
        Permission(f"athena:{operation}", f"arn:{partition}:athena:{region}:{account}:workgroup/{workgroup}")
    ]
    if operation in _ATHENA_QUERIES:
        needed += athena_as_the_caller(
            operation, params, workgroup, partition=partition, region=region, account=account
        )
    return needed


def athena_as_the_caller(
    operation: str,
    params: Mapping[str, Any],
    workgroup: str,
    *,
    partition: str,
    region: str,
    account: str,
) -> list[Permission]:
    """What Athena does with the caller's permissions for one request (the module's docstring)."""
    backend = athena_backends[account][region]
    group = backend.work_groups[workgroup]
    output = str(group.configuration["ResultConfiguration"]["OutputLocation"])
    results_bucket, _, results_prefix = output.removeprefix("s3://").partition("/")
    if operation == "StartQueryExecution":
        execution_id = "<the execution's id>"  # the result file's name, not known before the request
        sql, database = str(params["QueryString"]), str(params["QueryExecutionContext"]["Database"])
    else:
        execution = backend.executions[str(params["QueryExecutionId"])]
        context: Any = execution.context  # moto keeps the request's QueryExecutionContext
        execution_id, sql, database = execution.id, execution.query, str(context["Database"])
    result_file = Permission(
        "s3:GetObject", f"arn:{partition}:s3:::{results_bucket}/{results_prefix}{execution_id}.csv"
    )
    if operation == "GetQueryResults":
        return [result_file]
    if operation == "GetQueryExecution":
        return []
    statement = sqlglot.parse_one(sql, read="trino")
    writes = isinstance(statement, sqlglot.exp.Delete)
    glue = f"arn:{partition}:glue:{region}:{account}:"
    needed = [
        Permission("glue:GetDatabase", glue + "catalog"),
        Permission("glue:GetDatabase", f"{glue}database/{database}"),
    ]
    tables = sorted({table.name for table in statement.find_all(sqlglot.exp.Table)})
    catalog = glue_backends[account][region]
    for name in tables:
        scope = [glue + "catalog", f"{glue}database/{database}", f"{glue}table/{database}/{name}"]
        needed += [Permission("glue:GetTable", arn) for arn in scope]
        if writes:
            needed += [Permission("glue:UpdateTable", arn) for arn in scope]
        found = catalog.get_table(database, name)
        location = str(found.versions[max(found.versions, key=int)]["StorageDescriptor"]["Location"])
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        files = f"arn:{partition}:s3:::{bucket}/{prefix}/metadata/<the table's current metadata>.json"
        needed += [
            Permission("s3:GetBucketLocation", f"arn:{partition}:s3:::{bucket}"),
            Permission("s3:ListBucket", f"arn:{partition}:s3:::{bucket}"),
            Permission("s3:GetObject", files),
        ]
        if writes:
            needed.append(Permission("s3:PutObject", files))
    return [
        *needed,
        Permission("s3:GetBucketLocation", f"arn:{partition}:s3:::{results_bucket}"),
        Permission("s3:ListBucket", f"arn:{partition}:s3:::{results_bucket}"),
        Permission("s3:PutObject", result_file.resource),
    ]


def _queue_arn(params: Mapping[str, Any], partition: str, region: str, account: str) -> str:
    if "QueueUrl" in params:
        *_, owner, name = str(params["QueueUrl"]).rstrip("/").split("/")
        return f"arn:{partition}:sqs:{region}:{owner}:{name}"
    if "QueueName" in params:
        return f"arn:{partition}:sqs:{region}:{account}:{params['QueueName']}"
    return "*"


class Decision(NamedTuple):
    """One check moto made: who asked for what, and whether a policy allowed it."""

    principal: str  # arn:aws:iam::...:user/... or arn:aws:sts::...:assumed-role/<role>/<session>
    permission: Permission
    allowed: bool


@dataclass
class EnforcementLog:
    """Every decision of the completed enforcement, in order."""

    decisions: list[Decision] = field(default_factory=list)

    def record(self, principal: str, permission: Permission, *, allowed: bool) -> None:
        self.decisions.append(Decision(principal, permission, allowed))

    def used_by(self, role_name: str) -> set[Permission]:
        """What sessions of the role ``role_name`` were allowed to do."""
        marker = f":assumed-role/{role_name}/"
        return {d.permission for d in self.decisions if marker in d.principal and d.allowed}


class AccessDeniedException(JsonRESTError):
    """AWS's answer to a request a policy does not allow, in the JSON protocols' form."""

    def __init__(self, principal: str, permission: Permission) -> None:
        super().__init__(
            "AccessDeniedException",
            f"User: {principal} is not authorized to perform: {permission.action} on resource: "
            f"{permission.resource} because no identity-based policy allows the {permission.action} action",
        )


class _PermissionCheck(IAMRequest):
    """moto's check of one request, for one of the (action, resource) pairs it needs."""

    def __init__(self, permission: Permission, log: EnforcementLog, **request: Any) -> None:
        request["action"] = permission.action.partition(":")[2]
        super().__init__(**request)
        self._action = permission.action  # its own service's (Athena's request, Glue's action)
        self._permission = permission
        self._log = log

    def check_action_permitted(self, resource: str) -> None:
        super().check_action_permitted(resource)
        self._log.record(self._access_key.arn, self._permission, allowed=True)

    def _raise_access_denied(self) -> None:
        self._log.record(self._access_key.arn, self._permission, allowed=False)
        raise AccessDeniedException(self._access_key.arn, self._permission)


# response class -> the IAM service prefix of its actions
_COMPLETED: Final[dict[type[BaseResponse], str]] = {
    DynamoHandler: "dynamodb",
    SQSResponse: "sqs",
    SecretsManagerResponse: "secretsmanager",
    FirehoseResponse: "firehose",
    AthenaResponse: "athena",
}


def enforce_resources(monkeypatch: pytest.MonkeyPatch, log: EnforcementLog) -> None:
    """Check DynamoDB, SQS, Secrets Manager, Firehose and Athena requests action by action,
    resource by resource."""
    for response_class, service in _COMPLETED.items():
        monkeypatch.setattr(
            response_class, "_authenticate_and_authorize_normal_action", _authorizer(service, log)
        )


def _authorizer(service: str, log: EnforcementLog) -> Callable[..., None]:
    def authorize(self: BaseResponse, resource: str = "*") -> None:
        needed = required_permissions(
            service, self._get_action(), _params(self), region=self.region, account=self.current_account
        )
        for permission in needed:
            # moto's own gate (no check until INITIAL_NO_AUTH_ACTION_COUNT), signature check and evaluator
            check = partial(_PermissionCheck, permission, log)  # moto only calls its request class
            self._authenticate_and_authorize_action(check, permission.resource)  # type: ignore[arg-type]

    return authorize


def _params(response: BaseResponse) -> Mapping[str, Any]:
    """The request's parameters: moto's parsed ones where it parses them, else the JSON body."""
    parsed = getattr(response, "params", None)
    if isinstance(parsed, Mapping) and parsed:
        return parsed
    body = response.body
    if isinstance(body, Mapping):
        return body
    try:
        loaded = json.loads(body or "{}")
    except ValueError:
        return {}
    return loaded if isinstance(loaded, Mapping) else {}
