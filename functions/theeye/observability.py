"""Logger, tracer and metrics: made once per container and imported everywhere.

The service name comes from ``POWERTOOLS_SERVICE_NAME`` (set per function in template.yaml),
the metrics namespace from ``POWERTOOLS_METRICS_NAMESPACE``.
"""

from aws_lambda_powertools import Logger, Metrics, Tracer

logger = Logger()
tracer = Tracer()
metrics = Metrics()
