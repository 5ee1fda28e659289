"""``theeye erase --session ID``: what ``DELETE /sessions/{id}`` does, from the operator's shell.

It runs the backend's own ``Eraser`` (the admin function's code) with the operator's
credentials, so a session too large for the API's 29 s is erased here, and a run cut short is
finished by running it again (erasure is idempotent and counts each event once).
"""

from __future__ import annotations

from typing import Any

from theeye_cli.output import fields
from theeye_cli.target import Target


def erase(target: Target, session_id: str) -> dict[str, Any]:
    erasure = target.backend().eraser().erase(session_id)
    return {
        "session_id": erasure.session_id,
        "events_erased": erasure.events_erased,
        "errors_redacted": erasure.errors_redacted,
    }


def render(view: dict[str, Any]) -> str:
    head = f"Erased session {view['session_id']!r}."
    return (
        head
        + "\n"
        + fields([("events deleted", view["events_erased"]), ("errors redacted", view["errors_redacted"])])
    )
