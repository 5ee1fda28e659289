"""Settings every test session shares, applied before any handler module is imported.

Powertools reads its service name and metrics namespace when the logger and metrics objects
are made (at import), so they are set here rather than in fixtures.
"""

import os

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "TheEye")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "theeye-tests")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
