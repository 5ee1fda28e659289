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
