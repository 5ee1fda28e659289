"""The local stack reads template.yaml and nothing else: resources, routes and environments.

In-process moto (``mock_aws``): the same ``create_resources`` the local stack runs against its
moto server builds every table, queue and secret here, so what is checked is what runs.
"""

from __future__ import annotations

import json
import string
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from theeye_local.apigw import CorsPolicy
from theeye_local.intrinsics import NO_VALUE, LocalWorld, Resolver
from theeye_local.lambdas import FunctionSpec, function_environment, load_functions
from theeye_local.resources import create_resources, creation_order
from theeye_local.routes import RouteTable
from theeye_local.template import Template, TemplateError, load_template

ROOT = Path(__file__).resolve().parents[2]

CONTRACT_ROUTES = {
    "POST /events",
    "POST /events/validate",
    "POST /v1/track",
    "POST /v1/page",
    "POST /v1/screen",
    "POST /v1/identify",
    "POST /v1/group",
    "POST /v1/alias",
    "POST /v1/batch",
    "GET /events",
    "GET /events/{event_id}",
    "GET /sessions",
    "GET /sessions/{session_id}/events",
    "DELETE /sessions/{session_id}",
    "GET /errors",
    "GET /errors/{error_id}",
    "POST /errors/replay",
    "POST /sql",
    "GET /sql/{query_id}",
    "POST /insights",
    "GET /insights/{query_id}",
    "GET /stats/events",
    "GET /status",
    "GET /schemas",
    "GET /schemas/{category}/{name}",
    "GET /health",
    "GET /openapi.json",
    "GET /docs",
    "GET /console",
    "GET /console/{asset+}",
}


@pytest.fixture(scope="module")
def template() -> Template:
    return load_template(ROOT / "template.yaml")


@pytest.fixture
def session(monkeypatch: pytest.MonkeyPatch) -> Iterator[boto3.session.Session]:
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def refs(session: boto3.session.Session, template: Template) -> dict[str, str]:
    return create_resources(session, template)


@pytest.fixture
def functions(template: Template, refs: dict[str, str]) -> dict[str, FunctionSpec]:
    return load_functions(template, Resolver(template, LocalWorld(), refs))


def _properties(template: Template, logical_id: str) -> dict[str, Any]:
    return dict(template.resources[logical_id]["Properties"])


# -- tables ---------------------------------------------------------------------------------


def test_every_table_of_the_template_is_created_with_its_keys_indexes_and_ttl(
    template: Template, session: boto3.session.Session, refs: dict[str, str]
) -> None:
    dynamodb = session.client("dynamodb")
    tables = [logical_id for logical_id, _ in template.of_type("AWS::DynamoDB::Table")]
    assert tables, "the template declares tables"
    for logical_id in tables:
        declared = _properties(template, logical_id)
        assert refs[logical_id] == f"theeye-local-{logical_id}"

        table = dynamodb.describe_table(TableName=refs[logical_id])["Table"]

        assert table["KeySchema"] == declared["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            declared["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        )
        assert table["BillingModeSummary"]["BillingMode"] == declared["BillingMode"]
        created = {index["IndexName"]: index for index in table.get("GlobalSecondaryIndexes", [])}
        for index in declared.get("GlobalSecondaryIndexes", []):
            assert created[index["IndexName"]]["KeySchema"] == index["KeySchema"]
            # as declared: ALL, KEYS_ONLY, or INCLUDE with its NonKeyAttributes
            assert created[index["IndexName"]]["Projection"] == index["Projection"], index["IndexName"]
        assert set(created) == {index["IndexName"] for index in declared.get("GlobalSecondaryIndexes", [])}
        ttl = dynamodb.describe_time_to_live(TableName=refs[logical_id])["TimeToLiveDescription"]
        assert ttl == {
            "TimeToLiveStatus": "ENABLED",
            "AttributeName": declared["TimeToLiveSpecification"]["AttributeName"],
        }


def test_an_include_projection_answers_only_the_keys_and_the_attributes_it_names(
    template: Template, session: boto3.session.Session, refs: dict[str, str]
) -> None:
    # Given the errors table's BySession index (INCLUDE details, erased), and an error in it
    (index,) = [
        i
        for i in _properties(template, "ErrorsTable")["GlobalSecondaryIndexes"]
        if i["IndexName"] == "BySession"
    ]
    assert index["Projection"]["ProjectionType"] == "INCLUDE"
    dynamodb = session.client("dynamodb")
    item = {
        "error_id": {"S": "err-1"},
        "sk": {"S": "2021-01-01T09:15:27.243860Z#err-1"},
        "session_id": {"S": "s-1"},
        "time_pk": {"S": "2021-01-01#00"},
        "type_pk": {"S": "schema_violation#2021-01-01"},
        "details": {"S": "[]"},
        "payload": {"S": '{"data": {}}'},
        "erased": {"BOOL": True},
    }
    dynamodb.put_item(TableName=refs["ErrorsTable"], Item=item)
    # When it is read through the index
    (found,) = dynamodb.query(
        TableName=refs["ErrorsTable"],
        IndexName="BySession",
        KeyConditionExpression="session_id = :s",
        ExpressionAttributeValues={":s": {"S": "s-1"}},
    )["Items"]
    # Then the index's and the table's keys come, the named attributes, and nothing else
    keys = {"error_id", "session_id", "sk"}
    assert found == {name: item[name] for name in keys | set(index["Projection"]["NonKeyAttributes"])}


# -- queues ---------------------------------------------------------------------------------


def test_events_queue_redrives_to_the_dead_letter_queue_after_max_receive_count(
    template: Template, session: boto3.session.Session, refs: dict[str, str]
) -> None:
    sqs = session.client("sqs")
    declared = _properties(template, "EventsQueue")

    attributes = sqs.get_queue_attributes(QueueUrl=refs["EventsQueue"], AttributeNames=["All"])["Attributes"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=refs["DeadLetterQueue"], AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]

    redrive = json.loads(attributes["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == dlq_arn
    assert int(redrive["maxReceiveCount"]) == template.parameters["MaxReceiveCount"]["Default"]
    assert attributes["VisibilityTimeout"] == str(declared["VisibilityTimeout"])
    assert attributes["MessageRetentionPeriod"] == str(declared["MessageRetentionPeriod"])


def test_dead_letter_queue_is_created_before_the_queue_that_names_it(template: Template) -> None:
    order = creation_order(template, lambda _: True)

    assert order.index("DeadLetterQueue") < order.index("EventsQueue")


def test_a_message_received_max_receive_count_times_moves_to_the_dead_letter_queue(
    template: Template, session: boto3.session.Session
) -> None:
    refs = create_resources(session, template, parameters={"MaxReceiveCount": "2"})
    sqs = session.client("sqs")
    sqs.send_message(QueueUrl=refs["EventsQueue"], MessageBody="poison")

    for _ in range(2):
        (message,) = sqs.receive_message(QueueUrl=refs["EventsQueue"])["Messages"]
        sqs.change_message_visibility(
            QueueUrl=refs["EventsQueue"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    assert sqs.receive_message(QueueUrl=refs["EventsQueue"]).get("Messages", []) == []
    (dead,) = sqs.receive_message(QueueUrl=refs["DeadLetterQueue"])["Messages"]
    assert dead["Body"] == "poison"


def test_parameter_overrides_are_validated_like_cloudformation(
    template: Template, session: boto3.session.Session
) -> None:
    with pytest.raises(TemplateError, match="UnknownEventTypes"):
        create_resources(session, template, parameters={"UnknownEventTypes": "maybe"})
    with pytest.raises(TemplateError, match="NoSuchParameter"):
        create_resources(session, template, parameters={"NoSuchParameter": "1"})


# -- secrets --------------------------------------------------------------------------------


def test_cursor_secret_gets_a_generated_value_with_the_template_options(
    template: Template, session: boto3.session.Session, refs: dict[str, str]
) -> None:
    options = _properties(template, "CursorSecret")["GenerateSecretString"]

    value = session.client("secretsmanager").get_secret_value(SecretId=refs["CursorSecret"])["SecretString"]

    assert refs["CursorSecret"].startswith("arn:aws:secretsmanager:us-east-1:")
    assert len(value) == options["PasswordLength"]
    assert not set(value) & set(string.punctuation)


# -- functions: environment, routes, event sources ------------------------------------------


def test_function_environment_resolves_globals_and_own_variables(refs: dict[str, str]) -> None:
    ingest = function_environment("IngestFunction", refs)
    processor = function_environment("ProcessorFunction", refs)
    query = function_environment("QueryFunction", refs)
    admin = function_environment("AdminFunction", refs)

    assert ingest["QUEUE_URL"] == refs["EventsQueue"]
    assert ingest["KEYS_TABLE"] == "theeye-local-ApiKeysTable"
    assert ingest["EVENTS_TABLE"] == "theeye-local-EventsTable"
    assert ingest["LOG_LEVEL"] == "INFO"
    assert ingest["INDEX_SHARDS"] == "16"
    assert ingest["POWERTOOLS_SERVICE_NAME"] == "ingest"
    assert processor["MAX_CLOCK_SKEW_SECONDS"] == "60"
    assert processor["UNKNOWN_EVENT_TYPES"] == "accept"
    assert query["DLQ_URL"] == refs["DeadLetterQueue"]
    assert query["CURSOR_SECRET_ARN"] == refs["CursorSecret"]
    assert admin["POWERTOOLS_SERVICE_NAME"] == "admin"
    assert (admin["EVENTS_TABLE"], admin["ERRORS_TABLE"], admin["COUNTERS_TABLE"]) == (
        refs["EventsTable"],
        refs["ErrorsTable"],
        refs["CountersTable"],
    )


def test_layer_mount_point_maps_to_the_data_layer_directory(refs: dict[str, str]) -> None:
    processor = function_environment("ProcessorFunction", refs)
    query = function_environment("QueryFunction", refs)

    assert processor["SCHEMAS_DIR"] == str(ROOT / "schemas")
    assert query["SCHEMAS_DIR"] == str(ROOT / "schemas")  # GET /schemas reads the same files
    ingest = function_environment("IngestFunction", refs)
    assert ingest["SCHEMAS_DIR"] == str(ROOT / "schemas")  # and POST /events/validate


def test_globals_merge_like_sam(functions: dict[str, FunctionSpec], template: Template) -> None:
    processor = template.properties("ProcessorFunction")

    assert processor["Layers"] == [{"Ref": "RuntimeLayer"}, {"Ref": "SchemasLayer"}]
    assert functions["ProcessorFunction"].timeout_seconds == 30
    assert functions["IngestFunction"].timeout_seconds == 10
    assert functions["IngestFunction"].memory_mb == 512
    assert functions["IngestFunction"].code_dir == ROOT / "functions"
    assert functions["IngestFunction"].handler == "ingest.handler.lambda_handler"


def test_http_routes_are_the_contract_routes(functions: dict[str, FunctionSpec]) -> None:
    routes = [route for spec in functions.values() for route in spec.routes]

    assert {route.route_key for route in routes} == CONTRACT_ROUTES
    posts = {route.route_key: route.function_id for route in routes if route.method == "POST"}
    assert {key for key, function_id in posts.items() if function_id != "IngestFunction"} == {
        "POST /errors/replay",
        "POST /sql",
        "POST /insights",
    }
    assert {route.function_id for route in routes if route.method == "DELETE"} == {"AdminFunction"}


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("POST", "/events", "POST /events", {}),
        ("POST", "/events/validate", "POST /events/validate", {}),
        ("GET", "/events/validate", "GET /events/{event_id}", {"event_id": "validate"}),
        ("GET", "/events", "GET /events", {}),
        ("GET", "/events/ev-1", "GET /events/{event_id}", {"event_id": "ev-1"}),
        ("GET", "/sessions", "GET /sessions", {}),
        ("GET", "/sessions/s%201/events", "GET /sessions/{session_id}/events", {"session_id": "s 1"}),
        ("DELETE", "/sessions/s%2F1", "DELETE /sessions/{session_id}", {"session_id": "s/1"}),
        (
            "GET",
            "/schemas/page%20interaction/cta%20click",
            "GET /schemas/{category}/{name}",
            {"category": "page interaction", "name": "cta click"},
        ),
        ("GET", "/console", "GET /console", {}),
        ("GET", "/console/assets/app.js", "GET /console/{asset+}", {"asset": "assets/app.js"}),
    ],
)
def test_requests_select_the_route_api_gateway_would(
    functions: dict[str, FunctionSpec], method: str, path: str, route_key: str, parameters: dict[str, str]
) -> None:
    table = RouteTable(route for spec in functions.values() for route in spec.routes)

    match = table.match(method, path)

    assert match is not None
    assert match.route.route_key == route_key
    assert match.path_parameters == parameters


def test_unrouted_requests_match_nothing(functions: dict[str, FunctionSpec]) -> None:
    table = RouteTable(route for spec in functions.values() for route in spec.routes)

    assert table.match("DELETE", "/events") is None
    assert table.match("DELETE", "/sessions") is None
    assert table.match("DELETE", "/sessions/s-1/events") is None
    assert table.match("GET", "/nothing/here") is None
    assert table.match("GET", "/console/") is None


def test_sqs_event_source_settings_come_from_the_template(
    functions: dict[str, FunctionSpec], refs: dict[str, str]
) -> None:
    (source,) = functions["ProcessorFunction"].sqs_sources

    assert source.queue_id == "EventsQueue"
    assert source.queue_url == refs["EventsQueue"]
    assert source.queue_arn == "arn:aws:sqs:us-east-1:123456789012:theeye-local-EventsQueue"
    assert source.batch_size == 10
    assert source.batching_window_seconds == 1
    assert source.report_batch_item_failures is True
    assert source.maximum_concurrency == 10


def test_stream_event_source_settings_come_from_the_template(
    functions: dict[str, FunctionSpec], template: Template
) -> None:
    (source,) = functions["FeederFunction"].stream_sources
    stream = _properties(template, "FeederFunction")["Events"]["Stream"]["Properties"]

    assert source.table_id == "EventsTable"
    assert source.starting_position == "TRIM_HORIZON"
    assert source.batch_size == stream["BatchSize"]
    assert source.batching_window_seconds == stream["MaximumBatchingWindowInSeconds"]
    assert source.report_batch_item_failures is True
    assert source.bisect_on_error is True
    assert source.filters == tuple(f["Pattern"] for f in stream["FilterCriteria"]["Filters"])
    assert functions["FeederFunction"].sqs_sources == ()


def test_cors_configuration_of_the_http_api(template: Template, refs: dict[str, str]) -> None:
    resolver = Resolver(template, LocalWorld(), refs)
    configuration = resolver.resolve(template.properties("HttpApi"))["CorsConfiguration"]

    policy = CorsPolicy.from_configuration(configuration)

    assert policy is not None
    assert policy.allow_origins == ("*",)
    assert set(policy.allow_headers) == {"authorization", "content-type", "content-encoding", "x-api-key"}
    assert policy.max_age == 600


# -- intrinsics -----------------------------------------------------------------------------


def test_short_tags_become_long_form_intrinsics(template: Template) -> None:
    ingest = template.resources["IngestFunction"]["Properties"]
    alarm = template.resources["DeadLetterQueueDepthAlarm"]["Properties"]

    assert ingest["Environment"]["Variables"]["QUEUE_URL"] == {"Ref": "EventsQueue"}
    assert alarm["Dimensions"][0]["Value"] == {"Fn::GetAtt": ["DeadLetterQueue", "QueueName"]}
    assert alarm["AlarmActions"]["Fn::If"][0] == "HasAlarmTopic"
    assert template.conditions["HasAlarmTopic"] == {
        "Fn::Not": [{"Fn::Equals": [{"Ref": "AlarmTopicArn"}, ""]}]
    }


def test_intrinsics_resolve_for_the_local_world(template: Template, refs: dict[str, str]) -> None:
    resolver = Resolver(template, LocalWorld(), refs)

    alarm = resolver.resolve(template.properties("DeadLetterQueueDepthAlarm"))
    outputs = resolver.resolve(template.body["Outputs"])

    assert "AlarmActions" not in alarm  # !If [HasAlarmTopic, ..., !Ref AWS::NoValue]
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": "theeye-local-DeadLetterQueue"}]
    assert outputs["ApiUrl"]["Value"] == "https://theeye-local-HttpApi.execute-api.us-east-1.amazonaws.com"
    assert outputs["IngestFunctionName"]["Value"] == "theeye-local-IngestFunction"
    assert (
        outputs["DeadLetterQueueArn"]["Value"]
        == "arn:aws:sqs:us-east-1:123456789012:theeye-local-DeadLetterQueue"
    )
    assert resolver.resolve({"Fn::Sub": ["${A}-${!Literal}", {"A": {"Ref": "AWS::StackName"}}]}) == (
        "theeye-local-${Literal}"
    )
    assert resolver.resolve({"Ref": "AWS::NoValue"}) is NO_VALUE
    assert resolver.condition("HasAlarmTopic") is False


def test_conditions_follow_parameter_overrides(template: Template, refs: dict[str, str]) -> None:
    topic = "arn:aws:sns:us-east-1:123456789012:alarms"
    resolver = Resolver(template, LocalWorld(), refs, {"AlarmTopicArn": topic})

    alarm = resolver.resolve(template.properties("DeadLetterQueueDepthAlarm"))

    assert alarm["AlarmActions"] == [topic]
