"""``theeye status``: the ledger, exactly as ``GET /status`` computes it (``query.logic.Dashboards``).

``accepted + replayed = stored + duplicates + invalid + queued + dead_lettered``, where ``queued`` is what
is left over. The ledger balances when ``queued`` is never negative and is zero whenever the
events queue is empty. Exit code 0 when balanced, 3 when not (1 is left to failures).
"""

from __future__ import annotations

from typing import Any, Final

from query.logic import Dashboards
from theeye.ledger import BALANCE
from theeye_cli.output import table
from theeye_cli.target import Target

NOT_BALANCED_EXIT: Final = 3


def status(target: Target) -> dict[str, Any]:
    backend = target.backend()
    return Dashboards(backend.counters(), backend.queue(), backend.dead_letter_queue()).status()


def verdict(view: dict[str, Any]) -> str:
    if view["balanced"]:
        return f"BALANCED: {BALANCE}"
    queued, queue = view["queued"], view["queue"]
    if queued < 0:
        reason = f"{-queued} more event(s) accounted for than were accepted or replayed"
    else:
        waiting = queue["messages"] + queue["in_flight"]
        reason = f"{queued} event(s) counted as queued but the events queue holds {waiting} message(s)"
    return f"NOT BALANCED: {reason}"


def render(view: dict[str, Any]) -> str:
    invalid = view["invalid"]
    rows: list[tuple[str, Any]] = [
        ("accepted", view["accepted"]),
        ("replayed (recorded errors' events entering again)", view.get("replayed", 0)),
        ("  stored", view["stored"]),
        ("  duplicates (dropped)", view["duplicates"]),
        ("  invalid", sum(invalid.values())),
    ]
    rows += [(f"    {name}", n) for name, n in invalid.items()]
    rows += [("  queued", view["queued"]), ("  dead-lettered", view["dead_lettered"])]
    rows += [("erased since (still counted in stored)", view.get("erased", 0))]
    rejected = view.get("rejected") or {}
    rows += [("rejected at ingest (never accepted)", sum(rejected.values()))]
    rows += [(f"  {name}", n) for name, n in rejected.items()]
    queue, dlq = view["queue"], view["dead_letter_queue"]
    rows += [
        ("events queue: messages / in flight", f"{queue['messages']} / {queue['in_flight']}"),
        ("dead-letter queue: messages / in flight", f"{dlq['messages']} / {dlq['in_flight']}"),
    ]
    return table(("LEDGER", "EVENTS"), rows) + "\n\n" + verdict(view)
