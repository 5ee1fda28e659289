"""AWS list prices used by the cost model: us-east-1, on demand, no free tier.

Re-check them before relying on the dollar figures; the unit counts and byte sizes are what the
code does. ``bench.cost`` records every name of this module in docs/performance.json beside the
figures it priced, so the pages are rendered with the prices the figures were measured with.
"""

PRICES_DATE = "2026-11-23"  # requests, compute, writes, reads, log ingestion
STORAGE_PRICES_DATE = "2026-12-02"  # storage, backups, log storage: entered then, from the sources below
REGION = "us-east-1"

HTTP_API_PER_MILLION_REQUESTS = 1.00  # API Gateway HTTP API, first 300 million a month
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # arm64 (Graviton), first 7.5 billion GB-s a month
SQS_PER_MILLION_REQUESTS = 0.40  # standard queue; every 64 KiB chunk of a payload is one request
DYNAMODB_PER_MILLION_WRITE_UNITS = 0.625  # on-demand write request units
DYNAMODB_PER_MILLION_READ_UNITS = 0.125  # on-demand read request units
LOGS_PER_GB_INGESTED = 0.50  # CloudWatch Logs standard ingestion

# Storage, per GB-month (STORAGE_PRICES_DATE):
DYNAMODB_STORAGE_PRICE_SOURCE = "https://aws.amazon.com/dynamodb/pricing/on-demand/"
DYNAMODB_STORAGE_PER_GB_MONTH = (
    0.25  # Standard table class: items and every index entry (25 GB free: ignored)
)
DYNAMODB_FREE_STORAGE_GB = 25  # a month, per account: not counted in the figures
DYNAMODB_PITR_PER_GB_MONTH = 0.20  # continuous backups: table data and local secondary indexes, not GSIs
LOGS_PRICE_SOURCE = "https://aws.amazon.com/cloudwatch/pricing/"
LOGS_STORAGE_PER_GB_MONTH = 0.03  # archived: gzip level 6 of the log data + 26 bytes per log event

# DynamoDB counts sizes in binary units (1 GB = 1024^3 bytes: "Constraints" in its developer
# guide); for CloudWatch Logs we take decimal GB, the higher of the two readings.
DYNAMODB_BYTES_PER_GB = 1024**3
LOGS_BYTES_PER_GB = 1e9

# The lake on AWS (bench.lake_cost), entered 2026-12-06 from the pages named; re-check them.
FIREHOSE_PRICE_SOURCE = "https://aws.amazon.com/firehose/pricing/"
# Direct PUT ingestion, first 500 TB a month. The pricing page bills Direct PUT ingestion per GB
# with each record rounded up to a multiple of 5 KB (a 3 KB record is billed as 5 KB); the figures
# apply that rounding to the Iceberg stream's records too (the page read names no exception for
# that destination). Any charge Firehose adds for Iceberg destinations is not in these figures.
FIREHOSE_DIRECT_PUT_PER_GB = 0.029
FIREHOSE_RECORD_INCREMENT_BYTES = 5 * 1024  # 5 KB, read as binary: the higher of the two readings
FIREHOSE_BYTES_PER_GB = 1024**3
S3_PRICE_SOURCE = "https://aws.amazon.com/s3/pricing/"
S3_STANDARD_PER_GB_MONTH = 0.023  # S3 Standard, first 50 TB a month
S3_BYTES_PER_GB = 1024**3
ATHENA_PRICE_SOURCE = "https://aws.amazon.com/athena/pricing/"
ATHENA_PER_TB_SCANNED = 5.00  # SQL queries, per TB of data scanned
ATHENA_MINIMUM_BYTES_PER_QUERY = 10 * 1024**2  # each query is billed at least 10 MB
ATHENA_BYTES_PER_TB = 1024**4
