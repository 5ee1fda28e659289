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
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, Final, NamedTuple

import pytest
from moto.core.exceptions import JsonRESTError
from moto.core.responses import BaseResponse
from moto.dynamodb.responses import DynamoHandler
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
}


def enforce_resources(monkeypatch: pytest.MonkeyPatch, log: EnforcementLog) -> None:
    """Check DynamoDB, SQS and Secrets Manager requests action by action, resource by resource."""
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
