"""CloudFormation intrinsic functions, resolved for the local world.

On AWS, CloudFormation turns ``!Ref EventsTable`` into a generated table name and
``!GetAtt EventsQueue.Arn`` into an ARN. Locally the same template is resolved against
:class:`LocalWorld`: parameters take their ``Default`` (or an override), resources the
physical ids the local stack created (``refs``), and resources that exist only on AWS
(log groups, alarms, functions, layers) get stable local names so that environment
variables and ARNs that mention them still resolve.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from theeye_local.template import Template, TemplateError

STACK_NAME: Final = "theeye-local"
DEFAULT_REGION: Final = "us-east-1"
DEFAULT_ACCOUNT_ID: Final = "123456789012"  # moto's default account


class _NoValue:
    """``AWS::NoValue``: the property it is assigned to disappears."""

    def __repr__(self) -> str:
        return "AWS::NoValue"


NO_VALUE: Final = _NoValue()

_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


@dataclass(frozen=True)
class LocalWorld:
    """Where the template is being resolved: the pseudo parameters of the local 'stack'."""

    region: str = DEFAULT_REGION
    account_id: str = DEFAULT_ACCOUNT_ID
    stack_name: str = STACK_NAME
    partition: str = "aws"
    url_suffix: str = "amazonaws.com"

    def physical_name(self, logical_id: str) -> str:
        """The name a resource gets when the template does not name it: ``theeye-local-<Id>``."""
        return f"{self.stack_name}-{logical_id}"

    def arn(self, service: str, resource: str) -> str:
        return f"arn:{self.partition}:{service}:{self.region}:{self.account_id}:{resource}"

    def pseudo_parameter(self, name: str) -> Any:
        values: dict[str, Any] = {
            "AWS::Region": self.region,
            "AWS::AccountId": self.account_id,
            "AWS::StackName": self.stack_name,
            "AWS::StackId": self.arn("cloudformation", f"stack/{self.stack_name}/local"),
            "AWS::Partition": self.partition,
            "AWS::URLSuffix": self.url_suffix,
            "AWS::NotificationARNs": [],
            "AWS::NoValue": NO_VALUE,
        }
        if name not in values:
            raise TemplateError(f"unknown pseudo parameter {name}")
        return values[name]


def parameter_values(template: Template, overrides: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Every parameter's value: the override when given (validated like CloudFormation), else Default.

    Values are text, as CloudFormation hands them to resources; list-typed parameters
    (``CommaDelimitedList``, ``List<...>``) are lists of text.
    """
    overrides = dict(overrides or {})
    unknown = sorted(set(overrides) - set(template.parameters))
    if unknown:
        raise TemplateError(f"parameter overrides name no parameter of the template: {', '.join(unknown)}")
    values: dict[str, Any] = {}
    for name, declaration in template.parameters.items():
        if name in overrides:
            raw: Any = overrides[name]
        elif "Default" in declaration:
            raw = declaration["Default"]
        else:
            raise TemplateError(f"parameter {name} has no Default; pass it as an override")
        text = _as_text(raw)
        kind = str(declaration.get("Type", "String"))
        if name in overrides:
            _validate_parameter(name, declaration, text, kind)
        if kind == "CommaDelimitedList" or kind.startswith("List<"):
            values[name] = [item.strip() for item in text.split(",")] if text else []
        else:
            values[name] = text
    return values


def _validate_parameter(name: str, declaration: Mapping[str, Any], text: str, kind: str) -> None:
    allowed = declaration.get("AllowedValues")
    if allowed is not None and text not in [_as_text(value) for value in allowed]:
        raise TemplateError(f"parameter {name}={text!r} is not one of {allowed}")
    if kind == "Number":
        try:
            number = float(text)
        except ValueError:
            raise TemplateError(f"parameter {name}={text!r} is not a number") from None
        low, high = declaration.get("MinValue"), declaration.get("MaxValue")
        if (low is not None and number < float(low)) or (high is not None and number > float(high)):
            raise TemplateError(f"parameter {name}={text} is outside [{low}, {high}]")
    pattern = declaration.get("AllowedPattern")
    if pattern is not None and re.fullmatch(str(pattern), text) is None:
        raise TemplateError(f"parameter {name}={text!r} does not match {pattern}")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_as_text(item) for item in value)
    return str(value)


class Resolver:
    """Resolves intrinsic functions of one template in one :class:`LocalWorld`.

    ``refs`` holds the ``Ref`` value of every resource that really exists locally (table
    name, queue URL, secret ARN - what :func:`theeye_local.resources.create_resources`
    returns). ``GetAtt`` is derived from those, the way AWS forms ARNs.
    """

    def __init__(
        self,
        template: Template,
        world: LocalWorld,
        refs: Mapping[str, str],
        parameters: Mapping[str, str] | None = None,
    ) -> None:
        self.template = template
        self.world = world
        self.refs = refs
        self.parameters = parameter_values(template, parameters)
        self._conditions: dict[str, bool] = {}

    # -- public ---------------------------------------------------------------------------

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic replaced; ``AWS::NoValue`` entries are dropped."""
        if isinstance(value, Mapping):
            if len(value) == 1:
                ((key, argument),) = value.items()
                function = self._FUNCTIONS.get(str(key))
                if function is not None:
                    return function(self, argument)
                if str(key).startswith("Fn::"):
                    raise TemplateError(f"{key} is not used by template.yaml and not resolved locally")
            resolved = {key: self.resolve(item) for key, item in value.items()}
            return {key: item for key, item in resolved.items() if item is not NO_VALUE}
        if isinstance(value, list):
            return [item for item in (self.resolve(entry) for entry in value) if item is not NO_VALUE]
        return value

    def resolve_text(self, value: Any, *, what: str) -> str:
        """Resolve to one text value, as an environment variable or a name must be."""
        resolved = self.resolve(value)
        if isinstance(resolved, list | dict) or resolved is NO_VALUE or resolved is None:
            raise TemplateError(f"{what} resolves to {resolved!r}, not to a single value")
        return _as_text(resolved)

    def ref(self, name: str) -> Any:
        if name.startswith("AWS::"):
            return self.world.pseudo_parameter(name)
        if name in self.parameters:
            return self.parameters[name]
        if name in self.refs:
            return self.refs[name]
        kind = self.template.resource_type(name)
        if kind in _CREATED_LOCALLY:
            raise TemplateError(f"{name} ({kind}) is referenced before it was created")
        if kind in ("AWS::Serverless::LayerVersion", "AWS::Lambda::LayerVersion"):
            return self.world.arn("lambda", f"layer:{self.world.physical_name(name)}:1")
        return self.named(name) or self.world.physical_name(name)

    def named(self, logical_id: str) -> str | None:
        """The name a resource's own properties give it (``Ref`` on AWS is that name), if any."""
        path = _NAME_PROPERTY.get(self.template.resource_type(logical_id))
        value: Any = self.template.properties(logical_id) if path else None
        for key in path or ():
            value = value.get(key) if isinstance(value, Mapping) else None
        return None if value is None else self.resolve_text(value, what=f"{logical_id} name")

    def get_att(self, logical_id: str, attribute: str) -> str:
        kind = self.template.resource_type(logical_id)
        ref = str(self.ref(logical_id))
        if kind == "AWS::SQS::Queue":
            queue_name = ref.rstrip("/").rsplit("/", 1)[-1]
            by_attribute = {
                "Arn": self.world.arn("sqs", queue_name),
                "QueueName": queue_name,
                "QueueUrl": ref,
            }
        elif kind == "AWS::DynamoDB::Table":
            by_attribute = {
                "Arn": self.world.arn("dynamodb", f"table/{ref}"),
                "StreamArn": self.world.arn("dynamodb", f"table/{ref}/stream/{LOCAL_STREAM_LABEL}"),
            }
        elif kind == "AWS::S3::Bucket":
            by_attribute = {"Arn": f"arn:{self.world.partition}:s3:::{ref}"}
        elif kind == "AWS::KinesisFirehose::DeliveryStream":
            by_attribute = {"Arn": self.world.arn("firehose", f"deliverystream/{ref}")}
        elif kind in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
            by_attribute = {"Arn": self.world.arn("lambda", f"function:{ref}")}
        elif kind == "AWS::Logs::LogGroup":
            by_attribute = {"Arn": self.world.arn("logs", f"log-group:{ref}:*")}
        elif kind == "AWS::SecretsManager::Secret":
            by_attribute = {"Id": ref}
        else:
            service = kind.split("::")[1].lower() if kind.count("::") == 2 else "local"
            by_attribute = {"Arn": self.world.arn(service, ref)}
        if attribute not in by_attribute:
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} ({kind}) has no local equivalent")
        return by_attribute[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.template.conditions:
                raise TemplateError(f"unknown condition {name}")
            self._conditions[name] = self._truth(self.template.conditions[name])
        return self._conditions[name]

    # -- intrinsic functions ------------------------------------------------------------

    def _fn_ref(self, argument: Any) -> Any:
        return self.ref(str(self.resolve(argument)))

    def _fn_get_att(self, argument: Any) -> str:
        if isinstance(argument, str):
            logical_id, _, attribute = argument.partition(".")
        else:
            logical_id, attribute = (str(self.resolve(part)) for part in argument)
        return self.get_att(logical_id, attribute)

    def _fn_sub(self, argument: Any) -> str:
        if isinstance(argument, list):
            text, variables = argument[0], self.resolve(argument[1])
        else:
            text, variables = argument, {}

        def substitute(match: re.Match[str]) -> str:
            name = match.group(1)
            if name.startswith("!"):
                return "${" + name[1:] + "}"
            if name in variables:
                return _as_text(variables[name])
            if "." in name and not name.startswith("AWS::"):
                logical_id, _, attribute = name.partition(".")
                return self.get_att(logical_id, attribute)
            return _as_text(self.ref(name))

        return _SUB_VARIABLE.sub(substitute, str(text))

    def _fn_if(self, argument: Any) -> Any:
        name, when_true, when_false = argument
        return self.resolve(when_true if self.condition(str(name)) else when_false)

    def _truth(self, expression: Any) -> bool:
        """Evaluate a condition expression (``Fn::Equals``/``Not``/``Condition``)."""
        if isinstance(expression, Mapping) and len(expression) == 1:
            ((key, argument),) = expression.items()
            if key == "Fn::Equals":
                left, right = (_as_text(self.resolve(part)) for part in argument)
                return left == right
            if key == "Fn::Not":
                return not self._truth(argument[0])
            if key == "Condition":
                return self.condition(str(argument))
        resolved = self.resolve(expression)
        if isinstance(resolved, bool):
            return resolved
        raise TemplateError(f"{expression!r} is not a condition")

    def _fn_condition_value(self, argument: Any) -> bool:
        return self.condition(str(argument))

    _FUNCTIONS: Final[dict[str, Any]] = {
        "Ref": _fn_ref,
        "Fn::GetAtt": _fn_get_att,
        "Fn::Sub": _fn_sub,
        "Fn::If": _fn_if,
        "Condition": _fn_condition_value,
        "Fn::Equals": lambda self, argument: self._truth({"Fn::Equals": argument}),
        "Fn::Not": lambda self, argument: self._truth({"Fn::Not": argument}),
    }


# Where a resource type's properties name it, when the template names it (``Ref`` gives that name).
_NAME_PROPERTY: Final[dict[str, tuple[str, ...]]] = {
    "AWS::Athena::WorkGroup": ("Name",),
    "AWS::Glue::Database": ("DatabaseInput", "Name"),
    "AWS::Glue::Table": ("Name",),
    "AWS::S3::Bucket": ("BucketName",),
    "AWS::KinesisFirehose::DeliveryStream": ("DeliveryStreamName",),
}
# The label of a table's stream in a resolved ``StreamArn`` (AWS's is the stream's creation time).
LOCAL_STREAM_LABEL: Final = "local"

# Resources whose ``Ref`` only exists once the local stack has created them.
_CREATED_LOCALLY: Final = frozenset(
    {"AWS::DynamoDB::Table", "AWS::SQS::Queue", "AWS::SecretsManager::Secret"}
)
