"""template.yaml keeps the promises the design makes (checked without AWS).

The permission checks read the template as SAM translates it (``tests.sam``): the roles SAM
generates, with every policy expanded, are what a deployed function gets.
"""

import re
from dataclasses import replace
from functools import cache
from typing import Any

import pytest

from tests.iam import IAM_WILDCARDS, FunctionRole, as_list, aws_managed_policy, function_roles
from tests.sam import translated_template
from theeye.aws import layout
from theeye_local.intrinsics import LocalWorld, Resolver
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
        ("POST", "/events/validate"),
        ("POST", "/v1/track"),
        ("POST", "/v1/page"),
        ("POST", "/v1/screen"),
        ("POST", "/v1/identify"),
        ("POST", "/v1/group"),
        ("POST", "/v1/alias"),
        ("POST", "/v1/batch"),
        ("GET", "/events"),
        ("GET", "/events/{event_id}"),
        ("GET", "/sessions"),
        ("GET", "/sessions/{session_id}/events"),
        ("DELETE", "/sessions/{session_id}"),
        ("GET", "/errors"),
        ("GET", "/errors/{error_id}"),
        ("GET", "/stats/events"),
        ("GET", "/status"),
        ("GET", "/schemas"),
        ("GET", "/schemas/{category}/{name}"),
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


def test_the_indexes_the_read_paths_need_exist() -> None:
    def indexes(table: str) -> set[str]:
        return {i["IndexName"] for i in TABLES[table]["Properties"].get("GlobalSecondaryIndexes", [])}

    assert indexes("EventsTable") == {layout.CATEGORY_INDEX}
    assert indexes("ErrorsTable") == {
        layout.ERRORS_SESSION_INDEX,
        layout.ERRORS_TIME_INDEX,
        layout.ERRORS_TYPE_INDEX,
    }
    assert indexes("ApiKeysTable") == {"ByKeyId"}
    assert indexes("CountersTable") == {layout.SESSION_START_INDEX}


def test_the_index_erasure_reads_holds_only_what_redaction_needs() -> None:
    (by_session,) = [
        i
        for i in TABLES["ErrorsTable"]["Properties"]["GlobalSecondaryIndexes"]
        if i["IndexName"] == layout.ERRORS_SESSION_INDEX
    ]
    assert by_session["KeySchema"] == [
        {"AttributeName": "session_id", "KeyType": "HASH"},
        {"AttributeName": "sk", "KeyType": "RANGE"},
    ]
    # DynamoEraser._redact_errors reads error_id (a table key, always projected), details, erased
    assert by_session["Projection"] == {
        "ProjectionType": "INCLUDE",
        "NonKeyAttributes": ["details", "erased"],
    }


# -- permissions: the roles SAM generates, read from the translated template -------------------

BASIC_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaBasicExecutionRole"
XRAY_WRITE = "arn:aws:iam::aws:policy/AWSXrayWriteOnlyAccess"
SQS_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaSQSQueueExecutionRole"
STREAM_EXECUTION = "arn:aws:iam::aws:policy/service-role/AWSLambdaDynamoDBExecutionRole"
ANALYSTS = "workgroup/theeye-local-analytics"  # AnalyticsWorkGroup, named by the stack
MAINTENANCE = "workgroup/theeye-local-lake-maintenance"  # LakeMaintenanceWorkGroup
# Athena reads the Glue catalog and S3 as the caller (and writes the results there), so the
# roles that run queries hold those grants; the lake database is LakeDatabaseName's default.
ATHENA_READS_THE_LAKE = "Athena, on the caller's behalf"
LAKE_CATALOG = ("catalog", "database/theeye")
LAKE_TABLE = (*LAKE_CATALOG, "theeye/events")  # table/<database>/<table>, its table/ shortened

# What each function's code may do: (action, resource by logical id) -> the code that needs it.
# tests/integration/test_iam_roles.py proves each is used, by running the code under the role.
EXPECTED_GRANTS: dict[str, dict[tuple[str, str], str]] = {
    "IngestFunction": {
        ("dynamodb:GetItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.get",
        ("dynamodb:UpdateItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.record_use",
        ("sqs:SendMessage", "EventsQueue"): "theeye.aws.queue.SqsQueue.send",
        # one transaction per request: the messages' intake markers (Put) and a ledger shard (Update)
        ("dynamodb:PutItem", "CountersTable"): "theeye.aws.ledger.DynamoLedger.count_intake",
        ("dynamodb:UpdateItem", "CountersTable"): "theeye.aws.ledger.DynamoLedger.count_intake",
    },
    "ProcessorFunction": {
        ("dynamodb:PutItem", "EventsTable"): "theeye.aws.events.DynamoEventStore.put",
        ("dynamodb:GetItem", "EventsTable"): "theeye.aws.events.DynamoEventStore._read_guard",
        ("dynamodb:PutItem", "ErrorsTable"): "theeye.aws.errors.DynamoErrorStore.put",
        # and, as items of TransactWriteItems, the markers (Put, _marker) and counts (Update,
        # stats.added) of DynamoLedger.commit_batch, .commit_message and .count_dead_letter
        ("dynamodb:PutItem", "CountersTable"): "theeye.aws.ledger.DynamoLedger._marker",
        ("dynamodb:UpdateItem", "CountersTable"): "theeye.aws.categories.DynamoCategories.register",
        ("dynamodb:BatchGetItem", "CountersTable"): "theeye.aws.ledger.DynamoLedger._existing_markers",
        ("sqs:SendMessage", "DeadLetterQueue"): "processor.batch.Batch.dead_letter",
        ("sqs:SendMessage", "EventsQueue"): "processor.batch.Batch.defer",
    },
    "QueryFunction": {
        ("dynamodb:GetItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.get",
        ("dynamodb:UpdateItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.record_use",
        ("secretsmanager:GetSecretValue", "CursorSecret"): "theeye.aws.backend.AwsBackend.cursor_secret",
        ("dynamodb:Query", "EventsTable"): "theeye.aws.reads.DynamoEventReader.by_session",
        ("dynamodb:GetItem", "EventsTable"): "theeye.aws.reads.DynamoEventReader.get",
        ("dynamodb:Query", "EventsTable/index/ByCategory"): "theeye.aws.reads.DynamoEventReader._groups",
        ("dynamodb:GetItem", "ErrorsTable"): "theeye.aws.reads.DynamoErrorReader.get",
        ("dynamodb:Query", "ErrorsTable/index/ByTime"): "theeye.aws.reads.DynamoErrorReader._groups",
        ("dynamodb:Query", "ErrorsTable/index/ByType"): "theeye.aws.reads.DynamoErrorReader._groups",
        (
            "dynamodb:Query",
            "CountersTable",
        ): "theeye.aws.ledger.DynamoLedger.totals, theeye.aws.stats.DynamoStats.buckets",
        ("dynamodb:GetItem", "CountersTable"): "theeye.aws.categories.DynamoCategories.categories",
        (
            "dynamodb:BatchGetItem",
            "CountersTable",
        ): "theeye.aws.categories.DynamoCategories.categories_between",
        (
            "dynamodb:Query",
            "CountersTable/index/BySessionStart",
        ): "theeye.aws.reads.DynamoSessionReader._groups",
        ("sqs:GetQueueAttributes", "EventsQueue"): "theeye.aws.queue.SqsQueue.depth",
        ("sqs:GetQueueAttributes", "DeadLetterQueue"): "theeye.aws.queue.SqsQueue.depth",
        ("athena:StartQueryExecution", ANALYSTS): "theeye.aws.athena.start_query",
        ("athena:GetQueryExecution", ANALYSTS): "theeye.aws.athena.query_execution",
        ("athena:GetQueryResults", ANALYSTS): "theeye.aws.athena.AthenaEngine._rows",
        **{("glue:GetDatabase", arn): ATHENA_READS_THE_LAKE for arn in LAKE_CATALOG},
        **{("glue:GetTable", arn): ATHENA_READS_THE_LAKE for arn in LAKE_TABLE},
        ("s3:GetBucketLocation", "LakeBucket"): ATHENA_READS_THE_LAKE,
        ("s3:ListBucket", "LakeBucket"): ATHENA_READS_THE_LAKE,
        ("s3:GetObject", "LakeBucket/events/*"): ATHENA_READS_THE_LAKE,
        ("s3:GetBucketLocation", "QueryResultsBucket"): ATHENA_READS_THE_LAKE,
        ("s3:ListBucket", "QueryResultsBucket"): ATHENA_READS_THE_LAKE,
        ("s3:PutObject", "QueryResultsBucket/analytics/*"): ATHENA_READS_THE_LAKE,
        ("s3:GetObject", "QueryResultsBucket/analytics/*"): ATHENA_READS_THE_LAKE,
        ("s3:AbortMultipartUpload", "QueryResultsBucket/analytics/*"): ATHENA_READS_THE_LAKE,
    },
    "FeederFunction": {
        (
            "firehose:PutRecordBatch",
            "deliverystream/LakeDeliveryStream",
        ): "theeye.aws.lake.FirehoseLakeSink.apply",
    },
    "LakeSweepFunction": {
        ("dynamodb:Query", "CountersTable"): "theeye.aws.erasure.DynamoErasureLog.erased_since",
        ("athena:StartQueryExecution", MAINTENANCE): "theeye.aws.athena.start_query",
        ("athena:GetQueryExecution", MAINTENANCE): "theeye.aws.athena.query_execution",
        **{("glue:GetDatabase", arn): ATHENA_READS_THE_LAKE for arn in LAKE_CATALOG},
        **{("glue:GetTable", arn): ATHENA_READS_THE_LAKE for arn in LAKE_TABLE},
        **{("glue:UpdateTable", arn): ATHENA_READS_THE_LAKE for arn in LAKE_TABLE},  # the DELETE's commit
        ("s3:GetBucketLocation", "LakeBucket"): ATHENA_READS_THE_LAKE,
        ("s3:ListBucket", "LakeBucket"): ATHENA_READS_THE_LAKE,
        ("s3:GetObject", "LakeBucket/events/*"): ATHENA_READS_THE_LAKE,
        ("s3:PutObject", "LakeBucket/events/*"): ATHENA_READS_THE_LAKE,  # delete files, metadata
        ("s3:AbortMultipartUpload", "LakeBucket/events/*"): ATHENA_READS_THE_LAKE,
        ("s3:GetBucketLocation", "QueryResultsBucket"): ATHENA_READS_THE_LAKE,
        ("s3:ListBucket", "QueryResultsBucket"): ATHENA_READS_THE_LAKE,
        ("s3:PutObject", "QueryResultsBucket/maintenance/*"): ATHENA_READS_THE_LAKE,
        ("s3:GetObject", "QueryResultsBucket/maintenance/*"): ATHENA_READS_THE_LAKE,
        ("s3:AbortMultipartUpload", "QueryResultsBucket/maintenance/*"): ATHENA_READS_THE_LAKE,
    },
    "AdminFunction": {
        ("dynamodb:GetItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.get",
        ("dynamodb:UpdateItem", "ApiKeysTable"): "theeye.aws.keys.DynamoKeyStore.record_use",
        # the session's partition (a consistent read), then, as items of TransactWriteItems, each
        # event and its guard (Delete) with one ADD to the ledger's erased count (Update)
        ("dynamodb:Query", "EventsTable"): "theeye.aws.erasure.DynamoEraser._event_keys",
        ("dynamodb:DeleteItem", "EventsTable"): "theeye.aws.erasure.DynamoEraser._deletes",
        ("dynamodb:UpdateItem", "CountersTable"): "theeye.aws.erasure.DynamoEraser._deletes",
        ("dynamodb:Query", "ErrorsTable/index/BySession"): "theeye.aws.erasure.DynamoEraser._redact_errors",
        ("dynamodb:UpdateItem", "ErrorsTable"): "theeye.aws.erasure.DynamoEraser._redact_errors",
        ("dynamodb:DeleteItem", "CountersTable"): "theeye.aws.erasure.DynamoEraser.erase",  # the summary
        # POST /errors/replay: the errors of a type, each claimed (UpdateItem, as redaction), the
        # events queued again and their intake counted (a marker per message, the ledger update)
        ("dynamodb:Query", "ErrorsTable/index/ByType"): "theeye.aws.reads.DynamoErrorReader.page",
        ("secretsmanager:GetSecretValue", "CursorSecret"): "theeye.aws.backend.AwsBackend.cursor_secret",
        ("sqs:SendMessage", "EventsQueue"): "theeye.aws.queue.SqsQueue.send",
        ("dynamodb:PutItem", "CountersTable"): "theeye.aws.ledger.DynamoCounters.count_intake",
    },
}
# What SAM attaches for the Lambda service itself (it writes the logs, uploads the traces of
# `Tracing: Active`, polls the queue of an SQS event source), as AWS managed policies.
EXPECTED_MANAGED_POLICIES = {
    "IngestFunction": {BASIC_EXECUTION, XRAY_WRITE},
    "ProcessorFunction": {BASIC_EXECUTION, XRAY_WRITE, SQS_EXECUTION},
    "QueryFunction": {BASIC_EXECUTION, XRAY_WRITE},
    "AdminFunction": {BASIC_EXECUTION, XRAY_WRITE},
    "FeederFunction": {BASIC_EXECUTION, XRAY_WRITE, STREAM_EXECUTION},  # the service reads the stream
    "LakeSweepFunction": {BASIC_EXECUTION, XRAY_WRITE},
}
# `Resource: "*"` appears only in those managed policies. X-Ray requires it (PutTraceSegments,
# PutTelemetryRecords and the sampling calls have no resource-level permissions); the logs and
# SQS statements of the other two could be scoped only by replacing SAM's role with our own.
# No statement of the template has it, and none calls cloudwatch:PutMetricData (metrics are EMF
# log lines).
MANAGED_POLICIES_WITH_ANY_RESOURCE = {BASIC_EXECUTION, XRAY_WRITE, SQS_EXECUTION, STREAM_EXECUTION}
# The one wildcard a statement of the template may hold: the objects under a prefix of one of
# the stack's own buckets (S3 names objects only by key; the lake's files are Iceberg's to name).
OBJECTS_UNDER_A_PREFIX = re.compile(r"^(LakeBucket|QueryResultsBucket)/[a-z]+/\*$")


@cache
def roles() -> dict[str, FunctionRole]:
    """Every function's role, its resources named by logical id (``EventsTable/index/ByCategory``)."""
    template = translated_template()
    named = {
        logical_id: logical_id
        for logical_id, _ in template.of_type(
            "AWS::DynamoDB::Table",
            "AWS::SQS::Queue",
            "AWS::SecretsManager::Secret",
            "AWS::S3::Bucket",
            "AWS::KinesisFirehose::DeliveryStream",
        )
    }
    world = LocalWorld()
    resolver = Resolver(template, world, named)
    prefix = re.compile(rf"^arn:aws:([a-z]+:{world.region}:{world.account_id}:(table/)?|s3:::)")

    def short(value: Any) -> Any:
        if isinstance(value, str):
            return prefix.sub("", value)
        if isinstance(value, list):
            return [short(item) for item in value]
        if isinstance(value, dict):
            return {key: short(item) for key, item in value.items()}
        return value

    def by_name(role: FunctionRole) -> FunctionRole:
        resolved = role.resolved(resolver)
        return replace(resolved, inline_policies=short(resolved.inline_policies))

    return {function_id: by_name(role) for function_id, role in function_roles(template).items()}


def managed_statements(function_id: str) -> list[tuple[str, dict[str, Any]]]:
    return [
        (str(arn), statement)
        for arn in roles()[function_id].managed_policy_arns
        for statement in as_list(aws_managed_policy(str(arn))[1]["Document"]["Statement"])
    ]


def test_every_function_has_a_role_of_its_own() -> None:
    assert set(roles()) == set(FUNCTIONS) == set(EXPECTED_GRANTS)
    assert len({role.role_id for role in roles().values()}) == len(FUNCTIONS)
    for role in roles().values():
        assert role.trust_policy["Statement"] == [
            {
                "Action": ["sts:AssumeRole"],
                "Effect": "Allow",
                "Principal": {"Service": ["lambda.amazonaws.com"]},
            }
        ]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_may_do_exactly_what_its_code_needs(name: str) -> None:
    granted = {(p.action, p.resource) for p in roles()[name].grants()}
    expected = set(EXPECTED_GRANTS[name])
    assert granted == expected, (
        f"not granted: {sorted(expected - granted)}; not expected: {sorted(granted - expected)}"
    )


@pytest.mark.parametrize("name", ["IngestFunction", "QueryFunction", "AdminFunction"])
def test_a_function_that_records_key_use_may_change_only_that_attribute(name: str) -> None:
    """Recording when a key was last used must not let a function change a key's scopes or
    revocation: the grant allows no attribute but the key and ``last_used_at``."""
    [statement] = [
        s
        for s in roles()[name].statements()
        if "dynamodb:UpdateItem" in as_list(s["Action"]) and "ApiKeysTable" in as_list(s["Resource"])
    ]
    assert statement["Condition"] == {
        "ForAllValues:StringEquals": {"dynamodb:Attributes": ["key_hash", "last_used_at"]}
    }


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_only_the_expected_managed_policies_are_attached(name: str) -> None:
    assert set(roles()[name].managed_policy_arns) == EXPECTED_MANAGED_POLICIES[name]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_no_action_anywhere_has_a_wildcard(name: str) -> None:
    statements = [("template", s) for s in roles()[name].statements()] + managed_statements(name)
    for source, statement in statements:
        assert statement["Effect"] == "Allow" and "NotAction" not in statement, (source, statement)
        for action in as_list(statement["Action"]):
            assert not any(w in action for w in IAM_WILDCARDS), f"{source}: {action}"


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_resources_are_named_except_where_aws_requires_any(name: str) -> None:
    for statement in roles()[name].statements():
        assert "NotResource" not in statement, statement
        for resource in as_list(statement["Resource"]):
            if OBJECTS_UNDER_A_PREFIX.match(resource):
                continue
            assert not any(w in resource for w in IAM_WILDCARDS), f"{statement.get('Sid')}: {resource}"
    for arn, statement in managed_statements(name):
        if "*" in as_list(statement["Resource"]):
            assert arn in MANAGED_POLICIES_WITH_ANY_RESOURCE, arn


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_every_statement_of_the_template_says_what_it_is_for(name: str) -> None:
    role = roles()[name]
    sids = [statement.get("Sid") for statement in role.statements()]
    assert all(sids) and len(set(sids)) == len(sids), sids
    for document in role.inline_policies.values():
        assert document["Version"] == "2012-10-17"  # without it IAM reads the 2008 language


def test_each_function_reads_exactly_the_indexes_its_code_queries() -> None:
    def index(table: str, name: str) -> str:
        return f"{table}/index/{name}"

    read = {
        function: {resource for _action, resource in grants if "/index/" in resource}
        for function, grants in EXPECTED_GRANTS.items()
    }
    assert read == {
        "IngestFunction": set(),
        "ProcessorFunction": set(),
        "QueryFunction": {
            index("EventsTable", layout.CATEGORY_INDEX),
            index("ErrorsTable", layout.ERRORS_TIME_INDEX),
            index("ErrorsTable", layout.ERRORS_TYPE_INDEX),
            index("CountersTable", layout.SESSION_START_INDEX),
        },
        "AdminFunction": {
            index("ErrorsTable", layout.ERRORS_SESSION_INDEX),
            index("ErrorsTable", layout.ERRORS_TYPE_INDEX),  # a replay takes errors of one type
        },
        "FeederFunction": set(),
        "LakeSweepFunction": set(),
    }
    # an index is only ever queried (its items are written through the table)
    assert {
        action for grants in EXPECTED_GRANTS.values() for action, resource in grants if "/index/" in resource
    } == {"dynamodb:Query"}


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
