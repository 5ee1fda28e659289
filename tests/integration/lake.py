"""The lake's AWS resources of template.yaml, created in moto for tests that run the lake's code.

``theeye_local.resources`` creates what the local stack runs on (tables, queues, secrets); the
lake on AWS adds buckets, the Glue database and table, the Athena work groups and the Firehose
stream. They are created here from the template's own (resolved) properties, with the names the
functions' roles and environments resolve to, so IAM is checked on the very ARNs deployed.

What moto does with them: the Firehose stream keeps its Apache Iceberg destination and takes
PutRecordBatch, but writes nothing anywhere (moto delivers to S3, HTTP and a few others only);
Athena records each query and moves it to ``SUCCEEDED`` without running it, answering the rows
queued with :func:`queue_athena_rows` (else none).

moto 5.2.5 serves Athena's JSON protocol (``X-Amz-Target: AmazonAthena.<Operation>``), which
botocore has since replaced with rest-json for Athena; :func:`athena_models_moto_speaks` writes
botocore's own Athena model with the JSON protocol named instead (same operations and shapes),
for ``AWS_DATA_PATH``. The wire format is all it changes: actions, resources and parameters are
the ones the code sends (tests/unit/test_athena_engine.py checks those at the boto3 boundary).
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import boto3
import botocore
from moto.athena.models import QueryResults, athena_backends

from theeye_local.intrinsics import Resolver
from theeye_local.resources import local_world
from theeye_local.template import load_template

LAKE_RESOURCES: Final = (
    "LakeBucket",
    "QueryResultsBucket",
    "LakeDatabase",
    "EventsLakeTable",
    "AnalyticsWorkGroup",
    "LakeMaintenanceWorkGroup",
    "LakeDeliveryStream",
)


def create_lake(session: boto3.session.Session, refs: Mapping[str, str]) -> dict[str, str]:
    """Create the lake's resources in ``session``'s (moto's) AWS; their ``Ref`` values by logical id.

    Make ``session`` after ``AWS_DATA_PATH`` names :func:`athena_models_moto_speaks`' directory."""
    template = load_template()
    resolver = Resolver(template, local_world(session), dict(refs))
    names = {logical_id: str(resolver.ref(logical_id)) for logical_id in LAKE_RESOURCES}

    def properties(logical_id: str) -> Any:
        return resolver.resolve(template.properties(logical_id))

    s3 = session.client("s3")
    for bucket in ("LakeBucket", "QueryResultsBucket"):
        s3.create_bucket(Bucket=names[bucket])
    glue = session.client("glue")
    glue.create_database(DatabaseInput=properties("LakeDatabase")["DatabaseInput"])
    table = properties("EventsLakeTable")
    iceberg = table["OpenTableFormatInput"]["IcebergInput"]["IcebergTableInput"]
    glue.create_table(
        DatabaseName=table["DatabaseName"],
        TableInput={
            "Name": table["Name"],
            "TableType": "EXTERNAL_TABLE",
            "Parameters": {"table_type": "ICEBERG"},
            "StorageDescriptor": {"Location": iceberg["Location"]},
        },
    )
    athena = session.client("athena")
    for workgroup in ("AnalyticsWorkGroup", "LakeMaintenanceWorkGroup"):
        given = properties(workgroup)
        configuration = dict(given["WorkGroupConfiguration"])
        configuration.pop("EngineVersion", None)  # moto's model has no engine versions
        if "BytesScannedCutoffPerQuery" in configuration:  # a parameter: text once resolved
            configuration["BytesScannedCutoffPerQuery"] = int(configuration["BytesScannedCutoffPerQuery"])
        athena.create_work_group(
            Name=given["Name"], Description=given["Description"], Configuration=configuration
        )
    stream = properties("LakeDeliveryStream")
    destination = dict(stream["IcebergDestinationConfiguration"])
    # CloudFormation's spellings and parameters (text once resolved) -> the API's
    destination["S3BackupMode"] = destination.pop("s3BackupMode")
    destination["CatalogConfiguration"] = {"CatalogARN": destination["CatalogConfiguration"]["CatalogArn"]}
    destination["BufferingHints"] = {k: int(v) for k, v in destination["BufferingHints"].items()}
    destination["RetryOptions"] = {k: int(v) for k, v in destination["RetryOptions"].items()}
    session.client("firehose").create_delivery_stream(
        DeliveryStreamName=names["LakeDeliveryStream"],
        DeliveryStreamType=stream["DeliveryStreamType"],
        IcebergDestinationConfiguration=destination,
    )
    return names


def queue_athena_rows(
    session: boto3.session.Session, columns: Sequence[tuple[str, str]], rows: Sequence[Sequence[str]]
) -> None:
    """The result of the next query Athena starts: a header row, then ``rows`` (as Athena's text)."""
    account = session.client("sts").get_caller_identity()["Account"]
    header = [{"Data": [{"VarCharValue": name} for name, _ in columns]}]
    body = [{"Data": [{"VarCharValue": value} for value in row]} for row in rows]
    info = [{"Name": name, "Type": sql_type} for name, sql_type in columns]
    athena_backends[account][session.region_name].query_results_queue.append(
        QueryResults(rows=header + body, column_info=info)
    )


def athena_models_moto_speaks(directory: Path) -> str:
    """A botocore data path whose Athena model uses the JSON protocol (the module's docstring)."""
    shipped = Path(botocore.__file__).parent / "data" / "athena" / "2017-05-18"
    model = json.loads(gzip.decompress((shipped / "service-2.json.gz").read_bytes()))
    model["metadata"].update(
        protocol="json", protocols=["json"], jsonVersion="1.1", targetPrefix="AmazonAthena"
    )
    target = directory / "athena" / "2017-05-18"
    target.mkdir(parents=True, exist_ok=True)
    (target / "service-2.json").write_text(json.dumps(model))
    return str(directory)
