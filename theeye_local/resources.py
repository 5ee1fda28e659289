"""Creates the template's stateful resources - tables, queues, secrets - in any boto3 session.

The local stack calls this against its embedded moto server; integration tests call the very
same function inside ``moto.mock_aws`` so their tables and queues are built from
``template.yaml``'s own definitions and can never drift from what is deployed::

    from theeye_local.resources import create_resources

    with mock_aws():
        refs = create_resources(boto3.session.Session(region_name="us-east-1"))
        refs["EventsTable"]   # 'theeye-local-EventsTable'
        refs["EventsQueue"]   # queue URL
        refs["CursorSecret"]  # secret ARN

Only what has behaviour locally is created; log groups, alarms, queue policies and the like
exist only on AWS (they still resolve to local names, see ``theeye_local.intrinsics``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Final

import boto3

from theeye_local.intrinsics import DEFAULT_REGION, STACK_NAME, LocalWorld, Resolver
from theeye_local.template import Template, TemplateError, load_template

TABLE_TYPE: Final = "AWS::DynamoDB::Table"
QUEUE_TYPE: Final = "AWS::SQS::Queue"
SECRET_TYPE: Final = "AWS::SecretsManager::Secret"  # noqa: S105 - a resource type, not a secret
EMBEDDED_QUEUE_SCHEME: Final = "sqlite://"

_QUEUE_ATTRIBUTES: Final = (
    "ContentBasedDeduplication",
    "DeduplicationScope",
    "DelaySeconds",
    "FifoQueue",
    "FifoThroughputLimit",
    "KmsDataKeyReusePeriodSeconds",
    "KmsMasterKeyId",
    "MaximumMessageSize",
    "MessageRetentionPeriod",
    "ReceiveMessageWaitTimeSeconds",
    "RedriveAllowPolicy",
    "RedrivePolicy",
    "SqsManagedSseEnabled",
    "VisibilityTimeout",
)
_SUB_NAME: Final = re.compile(r"\$\{([^}!][^}]*)\}")
_PASSWORD_OPTIONS: Final = (
    "ExcludeCharacters",
    "ExcludeLowercase",
    "ExcludeNumbers",
    "ExcludePunctuation",
    "ExcludeUppercase",
    "IncludeSpace",
    "PasswordLength",
    "RequireEachIncludedType",
)


def create_resources(
    session: boto3.session.Session,
    template: Template | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    endpoint_url: str | None = None,
    stack_name: str = STACK_NAME,
) -> dict[str, str]:
    """Create every table, queue and secret of ``template`` and return their ``Ref`` values.

    Args:
        session: where to create them - a plain ``boto3.session.Session`` inside
            ``moto.mock_aws``, or one with credentials for a moto server.
        template: defaults to the repository's ``template.yaml``.
        parameters: template parameter overrides (``{"MaxReceiveCount": "2"}``); the rest
            take their ``Default``.
        endpoint_url: the AWS endpoint for every client (the local stack's moto server);
            ``None`` uses the session's normal resolution (``AWS_ENDPOINT_URL``, mocks).
        stack_name: prefix of generated names: a table is ``<stack_name>-<LogicalId>``.

    Returns:
        ``{logical id: physical id}``: the table name of an ``AWS::DynamoDB::Table``, the
        queue URL of an ``AWS::SQS::Queue``, the ARN of an ``AWS::SecretsManager::Secret`` -
        exactly what ``!Ref`` gives on AWS. Resources whose ``Condition`` is false are skipped.

    Tables get their key schema, attribute definitions, GSIs/LSIs, billing mode, streams and
    SSE, then ``TimeToLiveSpecification`` through ``UpdateTimeToLive``. Queues get every SQS
    attribute of their properties; a ``RedrivePolicy`` resolves to the DLQ's ARN, which is why
    resources are created in dependency order. Secrets get a value from ``GetRandomPassword``
    with the options of their ``GenerateSecretString`` (or their literal ``SecretString``).
    """
    template = template or load_template()
    clients = _Clients(session, endpoint_url)
    world = local_world(session, endpoint_url, stack_name)
    refs: dict[str, str] = {}
    resolver = Resolver(template, world, refs, parameters)
    for logical_id in creation_order(template, resolver.condition):
        kind = template.resource_type(logical_id)
        properties = resolver.resolve(template.properties(logical_id))
        refs[logical_id] = _CREATORS[kind](clients, world.physical_name(logical_id), properties)
    return refs


def name_resources(
    template: Template | None = None,
    *,
    parameters: Mapping[str, str] | None = None,
    world: LocalWorld | None = None,
) -> dict[str, str]:
    """The ``Ref`` values of the template's tables, queues and secrets, creating nothing.

    For the embedded backend, where one SQLite file holds them all: a table is named as
    :func:`create_resources` would name it, a queue's URL is ``sqlite://<queue name>`` (a name
    the local stack maps to its SQLite queues, never an address anything connects to), a
    secret's is its ARN in ``world``.
    """
    template = template or load_template()
    world = world or LocalWorld()
    refs: dict[str, str] = {}
    resolver = Resolver(template, world, refs, parameters)
    for logical_id in creation_order(template, resolver.condition):
        kind = template.resource_type(logical_id)
        properties = resolver.resolve(template.properties(logical_id))
        default = world.physical_name(logical_id)
        if kind == TABLE_TYPE:
            refs[logical_id] = _table_name(default, properties)
        elif kind == QUEUE_TYPE:
            refs[logical_id] = EMBEDDED_QUEUE_SCHEME + _queue_name(default, properties)
        else:
            refs[logical_id] = world.arn("secretsmanager", f"secret:{_secret_name(default, properties)}")
    return refs


def local_world(
    session: boto3.session.Session, endpoint_url: str | None = None, stack_name: str = STACK_NAME
) -> LocalWorld:
    """The pseudo parameters of ``session``'s AWS: its region and (from STS) its account."""
    clients = _Clients(session, endpoint_url)
    account_id = str(clients.get("sts").get_caller_identity()["Account"])
    return LocalWorld(region=clients.region, account_id=account_id, stack_name=stack_name)


def creation_order(template: Template, condition: Callable[[str], bool]) -> list[str]:
    """Logical ids of the resources to create, each after the ones it references."""
    wanted = [
        logical_id
        for logical_id, _ in template.of_type(*_CREATORS)
        if template.included(logical_id, condition)
    ]
    needs = {
        logical_id: _references(template.resources[logical_id]) & set(wanted) - {logical_id}
        for logical_id in wanted
    }
    ordered: list[str] = []
    while needs:
        ready = [logical_id for logical_id, deps in needs.items() if deps <= set(ordered)]
        if not ready:
            raise TemplateError(f"circular references between {sorted(needs)}")
        ordered.extend(ready)
        for logical_id in ready:
            del needs[logical_id]
    return ordered


def _references(value: Any) -> set[str]:
    """Logical ids a resource mentions through Ref, GetAtt, Sub or DependsOn."""
    found: set[str] = set()
    if isinstance(value, Mapping):
        for key, item in value.items():
            if key == "Ref" and isinstance(item, str):
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item.split(".")[0] if isinstance(item, str) else str(item[0]))
            elif key == "Fn::Sub":
                text = item[0] if isinstance(item, list) else item
                found.update(part.split(".")[0] for part in _sub_names(str(text)))
            elif key == "DependsOn":
                found.update([item] if isinstance(item, str) else item)
            found |= _references(item)
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    return found


def _sub_names(text: str) -> list[str]:
    """Names a ``Fn::Sub`` string interpolates (``${!Literal}`` escapes are not names)."""
    return _SUB_NAME.findall(text)


@dataclass
class _Clients:
    session: boto3.session.Session
    endpoint_url: str | None

    @property
    def region(self) -> str:
        return self.session.region_name or DEFAULT_REGION

    def get(self, service: str) -> Any:
        return self.session.client(service, region_name=self.region, endpoint_url=self.endpoint_url)


def _table_name(default_name: str, properties: Mapping[str, Any]) -> str:
    return str(properties.get("TableName") or default_name)


def _queue_name(default_name: str, properties: Mapping[str, Any]) -> str:
    fifo = _flag(properties.get("FifoQueue", False))
    return str(properties.get("QueueName") or (default_name + (".fifo" if fifo else "")))


def _secret_name(default_name: str, properties: Mapping[str, Any]) -> str:
    return str(properties.get("Name") or default_name)


def _create_table(clients: _Clients, default_name: str, properties: Mapping[str, Any]) -> str:
    name = _table_name(default_name, properties)
    billing = str(properties.get("BillingMode", "PROVISIONED"))
    request: dict[str, Any] = {
        "TableName": name,
        "KeySchema": properties["KeySchema"],
        "AttributeDefinitions": properties["AttributeDefinitions"],
        "BillingMode": billing,
    }
    if billing == "PROVISIONED":
        request["ProvisionedThroughput"] = _throughput(properties.get("ProvisionedThroughput"))
    if properties.get("GlobalSecondaryIndexes"):
        request["GlobalSecondaryIndexes"] = [
            _index(index, billing, global_index=True) for index in properties["GlobalSecondaryIndexes"]
        ]
    if properties.get("LocalSecondaryIndexes"):
        request["LocalSecondaryIndexes"] = [
            _index(index, billing, global_index=False) for index in properties["LocalSecondaryIndexes"]
        ]
    stream = properties.get("StreamSpecification")
    if stream:
        request["StreamSpecification"] = {"StreamEnabled": True, "StreamViewType": stream["StreamViewType"]}
    sse = properties.get("SSESpecification")
    if sse:
        request["SSESpecification"] = {"Enabled": _flag(sse.get("SSEEnabled", False))}
    for optional in ("TableClass", "Tags"):
        if optional in properties:
            request[optional] = properties[optional]
    dynamodb = clients.get("dynamodb")
    dynamodb.create_table(**request)
    dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    ttl = properties.get("TimeToLiveSpecification")
    if ttl and _flag(ttl.get("Enabled", False)):
        dynamodb.update_time_to_live(
            TableName=name,
            TimeToLiveSpecification={"AttributeName": ttl["AttributeName"], "Enabled": True},
        )
    return name


def _index(index: Mapping[str, Any], billing: str, *, global_index: bool) -> dict[str, Any]:
    shaped: dict[str, Any] = {
        "IndexName": index["IndexName"],
        "KeySchema": index["KeySchema"],
        "Projection": index["Projection"],
    }
    if global_index and billing == "PROVISIONED":
        shaped["ProvisionedThroughput"] = _throughput(index.get("ProvisionedThroughput"))
    return shaped


def _throughput(value: Mapping[str, Any] | None) -> dict[str, int]:
    if not value:
        raise TemplateError("a PROVISIONED table or index needs ProvisionedThroughput")
    return {
        "ReadCapacityUnits": int(value["ReadCapacityUnits"]),
        "WriteCapacityUnits": int(value["WriteCapacityUnits"]),
    }


def _create_queue(clients: _Clients, default_name: str, properties: Mapping[str, Any]) -> str:
    name = _queue_name(default_name, properties)
    attributes = {key: _attribute_text(properties[key]) for key in _QUEUE_ATTRIBUTES if key in properties}
    request: dict[str, Any] = {"QueueName": name, "Attributes": attributes}
    if properties.get("Tags"):
        request["tags"] = {tag["Key"]: str(tag["Value"]) for tag in properties["Tags"]}
    return str(clients.get("sqs").create_queue(**request)["QueueUrl"])


def _attribute_text(value: Any) -> str:
    if isinstance(value, dict):  # RedrivePolicy, RedriveAllowPolicy
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _create_secret(clients: _Clients, default_name: str, properties: Mapping[str, Any]) -> str:
    secrets = clients.get("secretsmanager")
    name = _secret_name(default_name, properties)
    if "SecretString" in properties:
        value = str(properties["SecretString"])
    else:
        generate = properties.get("GenerateSecretString") or {}
        options: dict[str, Any] = {}
        for key in _PASSWORD_OPTIONS:
            if key in generate:
                raw = generate[key]
                options[key] = int(raw) if key == "PasswordLength" else raw
                if key not in ("PasswordLength", "ExcludeCharacters"):
                    options[key] = _flag(raw)
        password = str(secrets.get_random_password(**options)["RandomPassword"])
        if "SecretStringTemplate" in generate:
            document = json.loads(generate["SecretStringTemplate"])
            document[generate["GenerateStringKey"]] = password
            value = json.dumps(document)
        else:
            value = password
    request: dict[str, Any] = {"Name": name, "SecretString": value}
    if properties.get("Description"):
        request["Description"] = str(properties["Description"])
    return str(secrets.create_secret(**request)["ARN"])


def _flag(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


_CREATORS: Final[dict[str, Callable[[_Clients, str, Mapping[str, Any]], str]]] = {
    TABLE_TYPE: _create_table,
    QUEUE_TYPE: _create_queue,
    SECRET_TYPE: _create_secret,
}
