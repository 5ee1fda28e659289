"""``python -m theeye_local`` (what ``make run`` runs); see ``theeye_local.cli``.

Importing the stack (boto3, moto) takes a moment; a SIGINT/SIGTERM arriving meanwhile finds
nothing to stop yet, so it simply ends the process with status 0 instead of a traceback.
"""

import signal
import sys
from types import FrameType


def _exit_before_start(signum: int, frame: FrameType | None) -> None:
    sys.exit(0)


if __name__ == "__main__":
    signal.signal(signal.SIGINT, _exit_before_start)
    signal.signal(signal.SIGTERM, _exit_before_start)
    from theeye_local.cli import main

    raise SystemExit(main())
