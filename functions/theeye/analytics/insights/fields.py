"""What an insight can filter, break down and rank by: a column of the ``events`` table or a
path into an event's ``data``, and the SQL (Athena's dialect) that reads it.

A field is ``category``, ``name``, ``session_id``, ``application_id``, any context column of
``theeye.analytics.table`` (``browser``, ``device``, ``page_path``, ``bot``, …) or
``data.<dotted path>``, whose parts are names of letters, digits and underscores (not starting
with a digit). Values of a data path are its scalars (string, number, boolean) read as text; a
path that holds an object, an array or ``null`` has no value.

Every value a user gives reaches the SQL as a literal rendered by sqlglot, never as raw text;
column names come from the table's own list and paths from the grammar above.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from sqlglot import exp

from theeye.analytics.table import COLUMNS, CONTEXT_COLUMNS, SqlType

DIALECT: Final = "trino"
DATA_PREFIX: Final = "data."
# The event columns an insight may name, besides every context column.
EVENT_FIELDS: Final[tuple[str, ...]] = ("category", "name", "session_id", "application_id")
FIELD_COLUMNS: Final[dict[str, SqlType]] = {
    column.name: column.type for column in COLUMNS if column.name in EVENT_FIELDS or column in CONTEXT_COLUMNS
}
PATH_PART: Final = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
MAX_PATH_LENGTH: Final = 256
MAX_PATH_PARTS: Final = 16


@dataclass(frozen=True)
class Field:
    """A column (``column`` set) or a path into ``data`` (``path`` set)."""

    text: str
    column: str | None = None
    path: tuple[str, ...] = ()

    @property
    def type(self) -> SqlType:
        return FIELD_COLUMNS[self.column] if self.column is not None else "varchar"

    @property
    def is_data(self) -> bool:
        return self.column is None

    def sql(self) -> str:
        """The field's value: the column, or the data path's scalar as text (SQL null when the
        path is missing, null, an object or an array)."""
        if self.column is not None:
            return identifier(self.column)
        json_path = literal("$." + ".".join(self.path))
        # Athena's json_extract_scalar already answers null for an object or an array; the
        # guard makes engines whose extraction gives their JSON text answer the same.
        return (
            f"CASE WHEN substr(json_format(json_extract({identifier('data')}, {json_path})), 1, 1)"
            f" IN ('{{', '[') THEN NULL ELSE json_extract_scalar({identifier('data')}, {json_path}) END"
        )

    def text_sql(self) -> str:
        """The field's value as text (a boolean column as ``true``/``false``)."""
        return f"CAST({self.sql()} AS varchar)" if self.type == "boolean" else self.sql()


def parse_field(text: str) -> Field:
    """The field named ``text``; ``ValueError`` saying what a field may be otherwise."""
    if text in FIELD_COLUMNS:
        return Field(text, column=text)
    if text.startswith(DATA_PREFIX):
        parts = tuple(text[len(DATA_PREFIX) :].split("."))
        if (
            len(text) <= MAX_PATH_LENGTH
            and len(parts) <= MAX_PATH_PARTS
            and all(PATH_PART.fullmatch(part) for part in parts)
        ):
            return Field(text, path=parts)
        raise ValueError(
            f"a data path is data.<name>[.<name>…] with at most {MAX_PATH_PARTS} names of letters,"
            " digits and underscores, not starting with a digit"
        )
    raise ValueError(f"unknown field; one of {', '.join(FIELD_COLUMNS)}, or data.<dotted path>")


def identifier(name: str) -> str:
    return exp.to_identifier(name, quoted=True).sql(dialect=DIALECT)


def literal(value: str | int | float | bool) -> str:
    """A value as an SQL literal, escaped by sqlglot."""
    if isinstance(value, bool):
        return exp.Boolean(this=value).sql(dialect=DIALECT)
    if isinstance(value, int | float):
        return exp.Literal.number(repr(value) if isinstance(value, float) else value).sql(dialect=DIALECT)
    return exp.Literal.string(value).sql(dialect=DIALECT)
