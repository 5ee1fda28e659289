"""The functions' IAM roles, read from the translated template: what each function may do.

SAM gives every ``AWS::Serverless::Function`` a role, ``<FunctionId>Role``, made of AWS managed
policies named by ARN (``AWSLambdaBasicExecutionRole`` always, ``AWSXrayWriteOnlyAccess`` for
``Tracing: Active``, ``AWSLambdaSQSQueueExecutionRole`` for an SQS event source) and one inline
policy per entry of the function's ``Policies``. The managed policies serve the Lambda service
(it writes the logs, uploads the traces, polls the queue with the role); the inline policies
serve the function's own code, and those are what the tests hold to least privilege.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatchcase
from functools import cache
from typing import Any, NamedTuple

from theeye_local.intrinsics import Resolver
from theeye_local.template import Template, TemplateError

IAM_WILDCARDS = ("*", "?")


class Permission(NamedTuple):
    """One IAM action on one resource (an ARN; in a policy, possibly an ARN pattern)."""

    action: str
    resource: str

    def __str__(self) -> str:
        return f"{self.action} on {self.resource}"


def granting(used: Permission, grants: Iterable[Permission]) -> Permission | None:
    """The grant (an action on an ARN or ARN pattern) that allows ``used``, if one does."""
    matching = [g for g in grants if g.action == used.action and fnmatchcase(used.resource, g.resource)]
    return min(matching, default=None)


def as_list(value: Any) -> list[Any]:
    """An IAM element that may be one value or a list of them, as a list."""
    return list(value) if isinstance(value, list) else [value]


@dataclass(frozen=True)
class FunctionRole:
    """The role of one function, as translated (or resolved by :meth:`resolved`)."""

    function_id: str
    role_id: str
    trust_policy: Mapping[str, Any]
    managed_policy_arns: tuple[Any, ...]
    inline_policies: Mapping[str, Mapping[str, Any]]  # PolicyName -> PolicyDocument

    def statements(self) -> list[Mapping[str, Any]]:
        """Every statement of the inline policies."""
        return [s for document in self.inline_policies.values() for s in as_list(document["Statement"])]

    def resolved(self, resolver: Resolver) -> FunctionRole:
        """This role with every Ref, GetAtt and Sub resolved by ``resolver``."""
        return replace(
            self,
            managed_policy_arns=tuple(resolver.resolve(list(self.managed_policy_arns))),
            inline_policies=resolver.resolve(dict(self.inline_policies)),
        )

    def grants(self) -> set[Permission]:
        """Every (action, resource) pair the inline policies allow (resolve them first)."""
        return {
            Permission(str(action), str(resource))
            for statement in self.statements()
            if statement["Effect"] == "Allow"
            for action in as_list(statement["Action"])
            for resource in as_list(statement["Resource"])
        }


def function_roles(template: Template) -> dict[str, FunctionRole]:
    """``{function id: its role}`` for every function of a translated template."""
    roles: dict[str, FunctionRole] = {}
    for function_id, function in template.of_type("AWS::Lambda::Function"):
        role = function["Properties"]["Role"]
        if not (isinstance(role, Mapping) and "Fn::GetAtt" in role):
            raise TemplateError(f"{function_id} has no role of its own in the template: {role!r}")
        role_id = str(role["Fn::GetAtt"][0])
        properties = template.resources[role_id]["Properties"]
        roles[function_id] = FunctionRole(
            function_id=function_id,
            role_id=role_id,
            trust_policy=properties["AssumeRolePolicyDocument"],
            managed_policy_arns=tuple(properties.get("ManagedPolicyArns", [])),
            inline_policies={p["PolicyName"]: p["PolicyDocument"] for p in properties.get("Policies", [])},
        )
    return roles


@cache
def _aws_managed_policies() -> Mapping[str, Any]:
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    parsed: Mapping[str, Any] = json.loads(aws_managed_policies_data)
    return parsed


def aws_managed_policy(arn: str) -> tuple[str, Mapping[str, Any]]:
    """(name, data) of an AWS managed policy, from the copy of AWS's own that moto ships.

    ``data`` holds the ``Document``, ``Path``, ``DefaultVersionId`` and dates.
    """
    name = arn.rsplit("/", 1)[-1]
    data = _aws_managed_policies().get(name)
    if data is None or f"arn:aws:iam::aws:policy{data['Path']}{name}" != arn:
        raise KeyError(f"{arn} is not an AWS managed policy moto knows")
    return name, data
