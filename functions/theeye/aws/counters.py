"""The ``Counters`` port on the one counters table: the ledger (``theeye.aws.ledger``), the
dashboard counts (``theeye.aws.stats``) and the category registry (``theeye.aws.categories``)
as one adapter; the session summaries (``theeye.aws.session_summaries``) are kept by the
ledger's counting transaction."""

from __future__ import annotations

from dataclasses import dataclass

from theeye.aws.categories import DynamoCategories
from theeye.aws.ledger import DynamoLedger
from theeye.aws.stats import DynamoStats


@dataclass
class DynamoCounters(DynamoLedger, DynamoStats, DynamoCategories):
    """Everything the pipeline counts, and its readers, on the counters table."""
