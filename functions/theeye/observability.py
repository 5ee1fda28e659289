"""Logger and metrics: made once per container and imported everywhere.

The service name comes from ``POWERTOOLS_SERVICE_NAME`` (set per function in template.yaml),
the metrics namespace from ``POWERTOOLS_METRICS_NAMESPACE``.

Tracing: the functions run with X-Ray active tracing (template.yaml), so Lambda records each
invocation and its duration. The X-Ray SDK (Powertools' Tracer) is deliberately not used: it
adds to every cold start what ``python -m bench.tracer`` measures (docs/PERFORMANCE.md, "What
the X-Ray SDK would add") for per-call subsegments that the structured logs and metrics already cover.
"""

from aws_lambda_powertools import Logger, Metrics

logger = Logger()
metrics = Metrics()
