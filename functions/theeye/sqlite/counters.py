"""The ``Counters`` port on the one database: the ledger (``theeye.sqlite.ledger``), the
dashboard counts (``theeye.sqlite.stats``) and the category registry
(``theeye.sqlite.categories``) as one adapter; the session summaries
(``theeye.sqlite.session_summaries``) are kept by the ledger's counting transaction."""

from __future__ import annotations

from dataclasses import dataclass

from theeye.sqlite.categories import SqliteCategories
from theeye.sqlite.ledger import SqliteLedger
from theeye.sqlite.stats import SqliteStats


@dataclass
class SqliteCounters(SqliteLedger, SqliteStats, SqliteCategories):
    """Everything the pipeline counts, and its readers, in the database."""
