"""The zero-dependency client repeats the server's vocabulary; these tests tie each copy to it."""

from __future__ import annotations

from typing import get_args

from theeye_client import query

from theeye.records import ERROR_SOURCES, ERROR_TYPES


def test_the_clients_error_types_are_the_servers() -> None:
    assert get_args(query.ErrorType) == ERROR_TYPES


def test_the_clients_error_sources_are_the_servers() -> None:
    assert get_args(query.ErrorSource) == ERROR_SOURCES
