"""The OpenAPI document: generated from the code, complete, and committed without drift."""

import json
from typing import get_args

from theeye.checks import CheckType
from theeye_local.intrinsics import LocalWorld, Resolver
from theeye_local.lambdas import load_functions
from theeye_local.template import load_template
from tools.openapi import TARGET, render

DOCUMENT = json.loads(render())


def test_the_committed_document_matches_the_code() -> None:
    assert TARGET.read_text(encoding="utf-8") == render(), "docs/openapi.json is stale: run `make openapi`"


# Served by the API but not operations of it: the document itself, its page and the console's files.
NOT_OPERATIONS = {
    ("GET", "/openapi.json"),
    ("GET", "/docs"),
    ("GET", "/console"),
    ("GET", "/console/{asset+}"),
}


def served_routes() -> set[tuple[str, str]]:
    """Every route of the HTTP API, as the local stack reads them from template.yaml."""
    template = load_template()
    resolver = Resolver(template, LocalWorld(), {logical_id: logical_id for logical_id in template.resources})
    return {
        (route.method, route.path)
        for spec in load_functions(template, resolver).values()
        for route in spec.routes
    }


def test_the_document_describes_exactly_the_routes_the_api_serves() -> None:
    """Every route of template.yaml (which the local stack serves as they are) is an operation of
    /openapi.json, and every operation of the document is a route, but for the four that serve
    the document, its page and the console."""
    documented = {(method.upper(), path) for path, ops in DOCUMENT["paths"].items() for method in ops}
    served = served_routes()
    assert served >= NOT_OPERATIONS
    assert sorted(served - NOT_OPERATIONS - documented) == [], "routes the document leaves out"
    assert sorted(documented - served) == [], "operations no route serves"


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
