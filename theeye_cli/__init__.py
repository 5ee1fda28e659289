"""``theeye``: the operators' command line for The Eye.

Operators review the dead-letter queue and the errors table, watch the ledger, and manage
which applications hold API keys. Every command works against the local stack (``--local``,
through ``.theeye/local.json``) or a deployed stack (``--stack NAME``, through its
CloudFormation outputs), prints a table by default and JSON with ``--json``.
docs/OPERATING.md is the operator's guide.
"""
