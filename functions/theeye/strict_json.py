"""The one reading of JSON text that users send: what ``json.loads`` accepts, less what is not
JSON data.

* ``NaN``, ``Infinity`` and ``-Infinity`` are Python's extensions, not JSON.
* A ``\\uD800``-``\\uDFFF`` escape is half of a UTF-16 surrogate pair. JSON text may spell one
  (RFC 8259 §8.2), but alone it is no character: it cannot be stored as UTF-8, so it is refused
  here rather than failing later in a store.

``POST /events``, its dry run, the ``/v1/*`` routes and ``theeye validate`` all read with
:func:`loads`.
"""

from __future__ import annotations

import json
import re
from typing import Any

# an escape of a surrogate half: only then can the decoded value hold one
SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class UnpairedSurrogate(ValueError):
    """The text decodes to a string that holds half of a surrogate pair (``code_point``)."""

    def __init__(self, code_point: int) -> None:
        self.code_point = code_point
        super().__init__(f"unpaired surrogate \\u{code_point:04x}")


def loads(text: str) -> Any:
    """``json.loads`` that refuses the constants and unpaired surrogates (``ValueError``)."""
    value = json.loads(text, parse_constant=_no_constant)
    if SURROGATE_ESCAPE.search(text):  # a pair decodes to one character; a lone half stays
        try:
            json.dumps(value, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError as exc:
            raise UnpairedSurrogate(ord(exc.object[exc.start])) from None
    return value


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")
