"""The embedded SQLite backend: every port of ``theeye.ports`` in one database file.

The same semantics as the AWS backend (``theeye.aws``), on one machine and with nothing but
the standard library: one module per port (``events``, ``errors``, ``keys``, ``counters``,
``queue``, ``reads``), the connection and schema in ``db`` (also the one place a ``sqlite3``
failure becomes a domain error), and ``backend.SqliteBackend`` building every adapter.

Where DynamoDB needs guard items, shards and merges of partitions, SQLite has transactions
and indexes: a guard check and its insert are one ``BEGIN IMMEDIATE`` transaction, and every
read is one indexed, keyset-paged query (``tests/contract/test_sqlite_plans.py`` checks the
plans).
"""
