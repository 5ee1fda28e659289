"""template.yaml's lake keeps the promises docs/ANALYTICS.md ("On AWS") makes (checked without AWS)."""

from typing import Any

from theeye.analytics.table import COLUMNS, KEY_COLUMN, PARTITION_COLUMN, TABLE
from theeye.aws.lake import DELETE_MARKER
from theeye.aws.layout import SESSION_PREFIX
from theeye_local.template import load_template

T = load_template()
ICEBERG_TYPES = {"varchar": "string", "timestamp": "timestamp", "boolean": "boolean"}


def iceberg_table() -> dict[str, Any]:
    table: dict[str, Any] = T.properties("EventsLakeTable")["OpenTableFormatInput"]["IcebergInput"]
    return table


def test_the_glue_table_is_the_events_table_column_for_column() -> None:
    assert T.properties("EventsLakeTable")["Name"] == TABLE
    fields = iceberg_table()["IcebergTableInput"]["Schema"]["Fields"]
    assert [(f["Name"], f["Type"]) for f in fields] == [(c.name, ICEBERG_TYPES[c.type]) for c in COLUMNS]
    assert [f["Id"] for f in fields] == list(range(1, len(COLUMNS) + 1))


def test_the_table_is_iceberg_v2_parquet_zstd_by_day_without_bounds_of_erasable_values() -> None:
    given = iceberg_table()
    assert given["Version"] == "2"
    table = given["IcebergTableInput"]
    (partition,) = table["PartitionSpec"]["Fields"]
    source = next(f for f in table["Schema"]["Fields"] if f["Id"] == partition["SourceId"])
    assert (source["Name"], partition["Transform"]) == (PARTITION_COLUMN, "day")
    properties = table["Properties"]
    assert properties["write.format.default"] == "parquet"
    assert properties["write.parquet.compression-codec"] == "zstd"
    assert properties["write.metadata.metrics.column.session_id"] == "none"
    assert properties["write.metadata.metrics.column.data"] == "none"


def test_firehose_upserts_and_deletes_by_event_id_in_that_table() -> None:
    iceberg = T.properties("LakeDeliveryStream")["IcebergDestinationConfiguration"]
    (table,) = iceberg["DestinationTableConfigurationList"]
    assert table["DestinationTableName"] == TABLE
    assert table["UniqueKeys"] == [KEY_COLUMN, PARTITION_COLUMN]  # a delete finds its row's partition
    assert iceberg.get("AppendOnly") is not True
    (processor,) = iceberg["ProcessingConfiguration"]["Processors"]
    parameters = {p["ParameterName"]: p["ParameterValue"] for p in processor["Parameters"]}
    query = parameters["MetadataExtractionQuery"]["Fn::Sub"]
    # the record's own column tells the operation (theeye.aws.lake.firehose_record)
    assert f'if .{DELETE_MARKER} == null then "delete" else "update" end' in query
    assert f'destinationTableName: "{TABLE}"' in query


def test_the_feeder_reads_event_items_only_and_reports_partial_failures() -> None:
    stream = T.properties("FeederFunction")["Events"]["Stream"]["Properties"]
    assert stream["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    (pattern,) = stream["FilterCriteria"]["Filters"]
    assert f'[{{"prefix": "{SESSION_PREFIX}"}}]' in pattern["Pattern"]
    assert T.properties("EventsTable")["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_analysts_queries_are_capped_and_their_results_kept_one_day() -> None:
    configuration = T.properties("AnalyticsWorkGroup")["WorkGroupConfiguration"]
    assert configuration["BytesScannedCutoffPerQuery"] == {"Ref": "LakeBytesScannedCutoff"}
    assert configuration["EnforceWorkGroupConfiguration"] is True
    assert configuration["EngineVersion"] == {"SelectedEngineVersion": "Athena engine version 3"}
    rules = T.properties("QueryResultsBucket")["LifecycleConfiguration"]["Rules"]
    assert [rule["ExpirationInDays"] for rule in rules] == [1]


def test_the_stated_delay_covers_the_buffer_and_the_feeders_window() -> None:
    parameters = T.body["Parameters"]
    window = T.properties("FeederFunction")["Events"]["Stream"]["Properties"][
        "MaximumBatchingWindowInSeconds"
    ]
    assert (
        parameters["LakeDelaySeconds"]["Default"] >= parameters["LakeBufferSeconds"]["Default"] + window + 60
    )
    alarm = T.properties("FeederLagAlarm")
    assert alarm["Threshold"] == parameters["LakeDelaySeconds"]["Default"] * 1000


def test_the_table_is_compacted_its_snapshots_expired_and_orphans_removed() -> None:
    optimizers = {
        r["Properties"]["Type"] for r in T.resources.values() if r["Type"] == "AWS::Glue::TableOptimizer"
    }
    assert optimizers == {"compaction", "retention", "orphan_file_deletion"}
