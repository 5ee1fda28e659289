"""``theeye errors replay``: what ``POST /errors/replay`` does, from the operator's shell.

It runs the admin function's own use case (``admin.replay``) on the target's backend with the
operator's credentials, a page after another until the replay is done (no 29 s limit here), and
sums the pages' answers. The events are judged by the schemas of ``--schemas`` (default: the
repository's ``schemas/``, what ``make run`` and ``sam deploy`` ship) and the rules given, which
must be the target's: an event the processor still refuses is recorded as the same error again
and counted, never lost. The dry run is shown first, and a replay asks for confirmation.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from admin.replay import Replay, ReplayAnswer, ReplayRequest
from theeye.checks import Rules
from theeye.cursor import CursorCodec
from theeye.records import REPLAY_LISTED
from theeye.schemas import SchemaRegistry
from theeye_cli.output import fields, table
from theeye_cli.target import Target


def replay(target: Target, asked: ReplayRequest, *, schemas: Path, rules: Rules) -> dict[str, Any]:
    """Every page of the replay ``asked``, summed: the answer's shape, without ``next``."""
    registry = SchemaRegistry.from_directory(schemas)
    registry.compile_all()
    backend = target.backend()
    use_case = Replay(
        reader=backend.error_reader(),
        errors=backend.error_store(),
        intake=backend.intake(),
        schemas=registry,
        rules=rules,
        cursors=CursorCodec(os.urandom(32)),  # the cursors never leave this process
    )
    total = ReplayAnswer()
    page = use_case.run(asked)
    while True:
        total.matched += page.matched
        total.replayable += page.replayable
        total.replayed += page.replayed
        room = REPLAY_LISTED - len(total.still_invalid)
        total.still_invalid += page.still_invalid[:room]
        if page.next is None:
            break
        page = use_case.run(ReplayRequest(**{**asked.__dict__, "cursor": page.next}))
    view = total.to_dict()
    view.pop("next")
    return view


def render(view: dict[str, Any], *, dry_run: bool) -> str:
    rows: list[tuple[str, Any]] = [
        ("matched (hold an event, not erased, not replayed)", view["matched"]),
        ("replayable (the current rules accept them)", view["replayable"]),
        ("replayed now" if not dry_run else "replayed (dry run: none)", view["replayed"]),
        ("still invalid", view["matched"] - view["replayable"]),
    ]
    text = fields(rows)
    if view["still_invalid"]:
        problems = [
            (item["error_id"], e["type"], e["field"], e["message"])
            for item in view["still_invalid"]
            for e in item["errors"][:1]
        ]
        text += "\n\n" + table(("ERROR", "TYPE", "FIELD", "WHY"), problems)
    return text
