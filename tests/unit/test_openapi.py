"""The OpenAPI document: generated from the code, complete, and committed without drift."""

import json
from typing import get_args

from theeye.checks import CheckType
from tools.openapi import TARGET, render

DOCUMENT = json.loads(render())


def test_the_committed_document_matches_the_code() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


def test_every_route_of_the_contract_is_documented() -> None:
    routes = {(method.upper(), path) for path, ops in DOCUMENT["paths"].items() for method in ops}
    assert {
        ("POST", "/events"),
        ("POST", "/events/validate"),
        ("GET", "/events"),
        ("GET", "/events/{event_id}"),
        ("GET", "/sessions/{session_id}/events"),
        ("GET", "/errors"),
        ("GET", "/errors/{error_id}"),
        ("GET", "/schemas"),
        ("GET", "/schemas/{category}/{name}"),
        ("GET", "/health"),
    } <= routes


def test_parameters_responses_and_errors_are_described() -> None:
    listing = DOCUMENT["paths"]["/events"]["get"]
    names = {p["name"] for p in listing["parameters"]}
    assert names == {"session_id", "category", "name", "from", "to", "limit", "cursor", "order"}
    assert {"200", "400", "401", "403"} <= set(listing["responses"])
    ingest = DOCUMENT["paths"]["/events"]["post"]
    assert {"202", "400", "401", "403", "413", "503"} <= set(ingest["responses"])
    assert "oneOf" in ingest["requestBody"]["content"]["application/json"]["schema"]
    assert "ErrorBody" in DOCUMENT["components"]["schemas"]
    assert DOCUMENT["paths"]["/events"]["get"]["security"]


def test_the_dry_run_takes_the_ingest_body_and_answers_a_report() -> None:
    dry_run = DOCUMENT["paths"]["/events/validate"]["post"]
    ingest = DOCUMENT["paths"]["/events"]["post"]
    assert dry_run["requestBody"] == ingest["requestBody"]
    assert set(dry_run["responses"]) == {"200", "400", "401", "403", "413", "503"}
    report = dry_run["responses"]["200"]["content"]["application/json"]["schema"]
    assert report == {"$ref": "#/components/schemas/ValidationReport"}
    problem = DOCUMENT["components"]["schemas"]["ValidationProblem"]["properties"]["type"]
    assert problem["enum"] == list(get_args(CheckType))
    assert dry_run["security"]
