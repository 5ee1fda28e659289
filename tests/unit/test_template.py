"""template.yaml keeps the promises the design makes (checked without AWS)."""

from typing import Any

import pytest

from theeye_local.template import load_template

T = load_template()
RESOURCES = T.resources


def of_type(kind: str) -> dict[str, Any]:
    return {name: r for name, r in RESOURCES.items() if r["Type"] == kind}


FUNCTIONS = of_type("AWS::Serverless::Function")
TABLES = of_type("AWS::DynamoDB::Table")
QUEUES = of_type("AWS::SQS::Queue")


def http_routes() -> set[tuple[str, str]]:
    return {
        (event["Properties"]["Method"], event["Properties"]["Path"])
        for name in FUNCTIONS
        for event in T.properties(name).get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }


def test_every_route_of_the_contract_is_wired() -> None:
    assert {
        ("POST", "/events"),
        ("GET", "/events"),
        ("GET", "/events/{event_id}"),
        ("GET", "/sessions/{session_id}/events"),
        ("GET", "/errors"),
        ("GET", "/errors/{error_id}"),
        ("GET", "/stats/events"),
        ("GET", "/status"),
        ("GET", "/health"),
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/console"),
    } <= http_routes()


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_run_python311_on_arm64_with_their_own_log_group(name: str) -> None:
    props = T.properties(name)
    assert props["Runtime"] == "python3.11"
    assert props["Architectures"] == ["arm64"]
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    assert RESOURCES[log_group]["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}


def test_the_queue_gives_the_processor_six_timeouts_and_redrives_to_a_longer_lived_dlq() -> None:
    processor = T.properties("ProcessorFunction")
    queue = QUEUES["EventsQueue"]["Properties"]
    dlq = QUEUES["DeadLetterQueue"]["Properties"]
    assert queue["VisibilityTimeout"] >= 6 * processor["Timeout"]
    assert queue["RedrivePolicy"]["deadLetterTargetArn"] == {"Fn::GetAtt": ["DeadLetterQueue", "Arn"]}
    assert dlq["MessageRetentionPeriod"] > queue["MessageRetentionPeriod"]
    assert all(q["Properties"]["SqsManagedSseEnabled"] for q in QUEUES.values())


def test_the_processor_reports_partial_batch_failures() -> None:
    source = T.properties("ProcessorFunction")["Events"]["Queue"]["Properties"]
    assert source["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert source["BatchSize"] == {"Ref": "ProcessorBatchSize"}
    assert source["MaximumBatchingWindowInSeconds"] == {"Ref": "ProcessorBatchWindowSeconds"}


@pytest.mark.parametrize("name", sorted(TABLES))
def test_tables_are_on_demand_encrypted_recoverable_and_expire_by_ttl(name: str) -> None:
    props = TABLES[name]["Properties"]
    assert props["BillingMode"] == "PAY_PER_REQUEST"
    assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
    assert props["SSESpecification"]["SSEEnabled"] is True
    assert props["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}
    assert TABLES[name]["DeletionPolicy"] == "Retain"


def test_the_indexes_the_query_paths_need_exist() -> None:
    def indexes(table: str) -> set[str]:
        return {i["IndexName"] for i in TABLES[table]["Properties"].get("GlobalSecondaryIndexes", [])}

    assert indexes("EventsTable") == {"ByCategory"}
    assert indexes("ErrorsTable") == {"ByTime", "ByType"}
    assert indexes("ApiKeysTable") == {"ByKeyId"}


def test_no_function_gets_broad_permissions() -> None:
    text = str({name: T.properties(name).get("Policies") for name in FUNCTIONS})
    assert "FullAccess" not in text
    assert "'*'" not in text
    assert "DynamoDBCrudPolicy" not in text
    # only the processor writes events and errors; the query function only reads
    assert "DynamoDBWritePolicy" not in str(T.properties("QueryFunction").get("Policies"))
    assert "DynamoDB" not in str(T.properties("IngestFunction").get("Policies")).replace(
        "dynamodb:GetItem", ""
    )


def test_alarms_watch_the_dlq_the_lag_and_every_function() -> None:
    alarms = of_type("AWS::CloudWatch::Alarm")
    watched = {str(a["Properties"]["Dimensions"][0]["Value"]) for a in alarms.values()}
    assert "{'Fn::GetAtt': ['DeadLetterQueue', 'QueueName']}" in watched
    assert "{'Fn::GetAtt': ['EventsQueue', 'QueueName']}" in watched
    for name in FUNCTIONS:
        assert str({"Ref": name}) in watched


def test_outputs_name_everything_a_test_or_operator_needs() -> None:
    outputs = set(T.body["Outputs"])
    assert {
        "ApiUrl",
        "EventsTableName",
        "ErrorsTableName",
        "ApiKeysTableName",
        "CountersTableName",
        "QueueUrl",
        "DeadLetterQueueUrl",
    } <= outputs


def test_the_dashboard_shows_what_operators_watch_and_alarms_notify_the_topic() -> None:
    (dashboard,) = of_type("AWS::CloudWatch::Dashboard").values()
    body = dashboard["Properties"]["DashboardBody"]["Fn::Sub"][0]
    for metric in (
        "EventsAccepted",
        "EndToEndLagSeconds",
        "Invalid_schema_violation",
        "ApproximateNumberOfMessagesVisible",
        '"Errors"',
    ):
        assert metric in body
    for alarm in of_type("AWS::CloudWatch::Alarm").values():
        assert alarm["Properties"]["AlarmActions"] == {
            "Fn::If": ["HasAlarmTopic", [{"Ref": "AlarmTopicArn"}], {"Ref": "AWS::NoValue"}]
        }
