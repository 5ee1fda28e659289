"""The analyst's SQL (docs/API.md, "SQL over every event"): parsed in Athena's dialect (Trino),
checked read-only by construction, and translated for the local engine (DuckDB).

Read-only is a property of the parse, not of a search for bad words: the statement must be one
query (``SELECT``, ``WITH … SELECT``, or a ``UNION``/``INTERSECT``/``EXCEPT`` of them), and every
node of its tree must be of a kind listed below. Tables are ``events`` or a name the statement
itself defines with ``WITH``; functions are the ones listed, which read nothing but their
arguments (no file, URL, setting or catalog reader is among them). Anything else is refused
before anything runs, naming what was found. What runs is generated from the checked tree, never
the analyst's text, so a comment or a quoting trick cannot carry a second statement through.

The engines are the second wall (``theeye.analytics.duckdb_engine``: external access off, the
configuration locked, limits on time and memory; Athena: its work group).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from functools import cached_property
from typing import Final

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, SqlglotError, TokenError

from theeye.analytics.engine import MAX_SQL_LENGTH
from theeye.analytics.table import TABLE
from theeye.errors import InvalidSql

DIALECT: Final = "trino"  # Athena's engine
LOCAL_DIALECT: Final = "duckdb"

# The shape of a query: clauses, names, literals, operators and predicates.
_STRUCTURE: Final[frozenset[type[exp.Expression]]] = frozenset(
    {
        exp.Select, exp.Union, exp.Intersect, exp.Except, exp.Subquery, exp.With, exp.CTE,
        exp.TableAlias, exp.From, exp.Join, exp.Where, exp.Group, exp.Having, exp.Order,
        exp.Ordered, exp.Limit, exp.Offset, exp.Fetch, exp.Distinct, exp.Rollup, exp.Cube,
        exp.GroupingSets, exp.Values, exp.Table, exp.Column, exp.Identifier, exp.Star, exp.Alias,
        exp.Literal, exp.Null, exp.Boolean, exp.Var, exp.DataType, exp.DataTypeParam,
        exp.Interval, exp.Paren, exp.Tuple, exp.Bracket, exp.Dot, exp.Window, exp.WindowSpec,
        exp.Filter, exp.AtTimeZone, exp.JSONPath, exp.JSONPathRoot, exp.JSONPathKey,
        exp.JSONPathSubscript, exp.JSONPathWildcard,
        exp.Neg, exp.Not, exp.And, exp.Or, exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE,
        exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is, exp.In, exp.Between, exp.Like, exp.ILike,
        exp.Escape, exp.Any, exp.All, exp.Exists, exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod,
        exp.DPipe, exp.BitwiseAnd, exp.BitwiseOr, exp.BitwiseXor, exp.BitwiseNot,
        exp.Case, exp.If, exp.Cast, exp.TryCast, exp.Coalesce, exp.Nullif,
    }
)  # fmt: skip

# Functions, as sqlglot reads Athena's names (``tests/unit/test_sql_functions.py`` runs an
# example of each on DuckDB; docs/API.md lists the names analysts type).
_FUNCTIONS: Final[frozenset[type[exp.Expression]]] = frozenset(
    {
        # aggregates
        exp.Count, exp.CountIf, exp.Sum, exp.Avg, exp.Min, exp.Max, exp.ApproxDistinct,
        exp.ApproxQuantile, exp.AnyValue, exp.ArrayAgg, exp.LogicalAnd, exp.LogicalOr,
        exp.ArgMax, exp.ArgMin, exp.Stddev, exp.StddevSamp, exp.StddevPop, exp.Variance,
        exp.VariancePop, exp.Corr,
        # window functions
        exp.RowNumber, exp.Rank, exp.DenseRank, exp.PercentRank, exp.CumeDist, exp.Ntile,
        exp.Lag, exp.Lead, exp.FirstValue, exp.LastValue, exp.NthValue,
        # strings
        exp.Lower, exp.Upper, exp.Length, exp.Substring, exp.Concat, exp.Trim, exp.Replace,
        exp.Reverse, exp.StrPosition, exp.SplitPart, exp.StartsWith, exp.Pad, exp.RegexpLike,
        exp.RegexpExtract, exp.RegexpReplace, exp.Split, exp.Chr, exp.Levenshtein,
        # JSON
        exp.JSONExtractScalar, exp.JSONExtract, exp.JSONFormat, exp.ParseJSON,
        # time
        exp.TimestampTrunc, exp.DateTrunc, exp.DateAdd, exp.DateDiff, exp.FromISO8601Timestamp,
        exp.FromISO8601Date, exp.TimeToStr, exp.StrToTime, exp.CurrentTimestamp,
        exp.CurrentDate, exp.Year, exp.Month, exp.Day, exp.DayOfWeekIso, exp.DayOfMonth,
        exp.DayOfYear, exp.WeekOfYear, exp.Quarter, exp.Hour, exp.Minute, exp.Second,
        exp.Extract, exp.UnixToTime, exp.TimeToUnix, exp.Date, exp.LastDay,
        # numbers
        exp.Abs, exp.Ceil, exp.Floor, exp.Round, exp.Trunc, exp.Sqrt, exp.Cbrt, exp.Pow,
        exp.Exp, exp.Ln, exp.Log, exp.Sign, exp.Greatest, exp.Least, exp.Pi, exp.Rand,
        # arrays
        exp.Array, exp.ArraySize, exp.ArrayContains, exp.ArrayToString, exp.ArrayDistinct,
        exp.ArraySort, exp.ArrayMax, exp.ArrayMin, exp.ArrayPosition, exp.ArraySlice,
    }
)  # fmt: skip

# Functions sqlglot does not know by name, passed through as written: the same in both engines.
_NAMED_FUNCTIONS: Final[frozenset[str]] = frozenset({"json_array_length"})

ALLOWED_NODES: Final = _STRUCTURE | _FUNCTIONS

# sqlglot warns (as plain text) when it reads a statement it does not know as a generic command;
# such a statement is refused with a message of its own, so the warning would only be noise.
logging.getLogger("sqlglot").setLevel(logging.ERROR)


@dataclass(frozen=True)
class Statement:
    """A checked statement: one read-only query over ``events``, as Athena and DuckDB run it."""

    text: str  # as the analyst wrote it
    tree: exp.Query

    @cached_property
    def athena(self) -> str:
        """The checked tree in Athena's dialect, without comments: what Athena runs."""
        return self.tree.sql(dialect=DIALECT, comments=False)

    @cached_property
    def duckdb(self) -> str:
        """The checked tree in DuckDB's dialect, without comments: what DuckDB runs."""
        return _local_text(self.tree)


def check(text: str) -> Statement:
    """``text`` as a checked statement; ``InvalidSql`` naming the problem when it is not one
    read-only query over ``events``. Nothing is run."""
    if not text.strip():
        raise InvalidSql("the statement is empty: write one SELECT over events")
    if len(text) > MAX_SQL_LENGTH:
        raise InvalidSql(f"the statement is {len(text)} characters long; at most {MAX_SQL_LENGTH}")
    trees = [tree for tree in _parse(text, DIALECT) if tree is not None]
    if not trees:
        raise InvalidSql("the statement is empty: write one SELECT over events")
    if len(trees) > 1:
        raise InvalidSql(f"only one statement may be sent; this text holds {len(trees)}")
    tree = trees[0]
    if not isinstance(tree, (exp.Select, exp.SetOperation, exp.Subquery)):
        raise InvalidSql(f"only a SELECT (or WITH … SELECT) over {TABLE} may be run, not {_first_word(text)}")
    _check_tree(tree)
    return Statement(text, tree)


def _parse(text: str, dialect: str) -> list[exp.Expr | None]:
    try:
        return sqlglot.parse(text, read=dialect)
    except ParseError as exc:
        first = exc.errors[0] if exc.errors else {}
        where = f" (line {first['line']}, column {first['col']})" if "line" in first else ""
        raise InvalidSql(f"syntax error: {first.get('description') or exc}{where}") from None
    except TokenError as exc:
        raise InvalidSql(f"syntax error: {exc}") from None
    except SqlglotError as exc:
        raise InvalidSql(f"the statement cannot be read: {exc}") from None
    except RecursionError:
        raise InvalidSql("the statement is nested too deeply") from None


def _check_tree(tree: exp.Expr) -> None:
    defined = {cte.alias_or_name.lower() for cte in tree.find_all(exp.CTE)}
    try:
        nodes = list(tree.walk())
    except RecursionError:
        raise InvalidSql("the statement is nested too deeply") from None
    for node in nodes:
        if isinstance(node, exp.Anonymous):
            if node.name.lower() not in _NAMED_FUNCTIONS:
                raise InvalidSql(f"function {node.name}() is not allowed (unknown, or not read-only)")
        elif type(node) not in ALLOWED_NODES:
            if isinstance(node, exp.Func):
                raise InvalidSql(f"function {node.sql_name().lower()}() is not allowed")
            raise InvalidSql(f"{_kind(node)} is not allowed in a statement over {TABLE}")
        elif isinstance(node, exp.Table):
            _check_table(node, defined)


def _check_table(table: exp.Table, defined: set[str]) -> None:
    name = table.this
    if not isinstance(name, exp.Identifier):
        raise InvalidSql(f"only the table {TABLE} can be read; found {table.sql(dialect=DIALECT)}")
    qualified = ".".join(part.name for part in table.parts)
    if table.args.get("db") or table.args.get("catalog"):
        raise InvalidSql(f"only the table {TABLE} can be read; found {qualified} (no catalog or schema)")
    if name.name.lower() not in defined | {TABLE}:
        raise InvalidSql(f"only the table {TABLE} can be read; found {qualified}")


def _kind(node: exp.Expr) -> str:
    """``LATERAL``, ``TABLESAMPLE``: what a refused node is, in words an analyst recognises."""
    return node.key.upper().replace("_", " ")


def _first_word(text: str) -> str:
    """The statement's first keyword (``DROP``, ``INSTALL``), comments aside."""
    tokens = sqlglot.tokenize(text, read=DIALECT)
    return tokens[0].text.upper() if tokens else "an empty statement"


def _local_text(tree: exp.Query) -> str:
    """DuckDB's text of a checked tree, read back and checked for tables again (a translation
    that named another table would be a bug of the translator: refused all the same)."""
    text = _named_as_athena(tree).sql(dialect=LOCAL_DIALECT, comments=False)
    again = [t for t in _parse(text, LOCAL_DIALECT) if t is not None]
    if len(again) != 1 or not isinstance(again[0], exp.Query):
        raise InvalidSql("the statement cannot be translated for the local engine")
    defined = {cte.alias_or_name.lower() for cte in again[0].find_all(exp.CTE)}
    for table in again[0].find_all(exp.Table):
        _check_table(table, defined)
    return text


def _named_as_athena(tree: exp.Query) -> exp.Query:
    """A copy whose unnamed result columns are named as Athena names them (``_col0``, ``_col1``,
    by position), so both engines answer the same column names."""
    named = tree.copy()
    first: exp.Expr | None = named
    while not isinstance(first, exp.Select):
        if first is None:
            return named
        first = first.left if isinstance(first, exp.SetOperation) else first.this
    if any(isinstance(e, exp.Star) or e.is_star for e in first.expressions):
        return named  # positions after a * are not known before it runs
    for position, expression in enumerate(first.expressions):
        if not isinstance(expression, (exp.Alias, exp.Column)):
            expression.replace(exp.alias_(expression.copy(), f"_col{position}"))
    return named
