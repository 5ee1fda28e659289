"""The zero-dependency client repeats the server's vocabulary; these tests tie each copy to it."""

from __future__ import annotations

from typing import get_args

import pytest
from pydantic import BaseModel
from theeye_client import query

from theeye import api_models
from theeye.api_models import SessionOut
from theeye.records import ERROR_SOURCES, ERROR_TYPES


def test_the_clients_error_types_are_the_servers() -> None:
    assert get_args(query.ErrorType) == ERROR_TYPES


def test_the_clients_error_sources_are_the_servers() -> None:
    assert get_args(query.ErrorSource) == ERROR_SOURCES


def test_the_clients_session_summary_has_the_servers_fields() -> None:
    assert set(query.SessionSummary.__annotations__) == set(SessionOut.model_fields)


@pytest.mark.parametrize(
    ("typed", "model"),
    [
        (query.StoredEvent, api_models.EventOut),
        (query.ErrorRecord, api_models.ErrorOut),
        (query.Status, api_models.Status),
        (query.QueueDepth, api_models.QueueDepth),
        (query.SessionSummary, api_models.SessionOut),
    ],
)
def test_each_typed_answer_has_exactly_the_servers_fields(typed: type, model: type[BaseModel]) -> None:
    assert set(typed.__annotations__) == set(model.model_fields)
