"""AWS list prices used by the cost model: us-east-1, on demand, read on 2026-11-23.

Re-check them before relying on the dollar figures; the unit counts are what the code does.
"""

PRICES_DATE = "2026-11-23"
REGION = "us-east-1"

HTTP_API_PER_MILLION_REQUESTS = 1.00  # API Gateway HTTP API, first 300 million a month
LAMBDA_PER_MILLION_REQUESTS = 0.20
LAMBDA_ARM_PER_GB_SECOND = 0.0000133334  # arm64 (Graviton), first 7.5 billion GB-s a month
SQS_PER_MILLION_REQUESTS = 0.40  # standard queue; every 64 KiB chunk of a payload is one request
DYNAMODB_PER_MILLION_WRITE_UNITS = 0.625  # on-demand write request units
DYNAMODB_PER_MILLION_READ_UNITS = 0.125  # on-demand read request units
LOGS_PER_GB_INGESTED = 0.50  # CloudWatch Logs standard ingestion
