"""The OpenAPI document of the whole API, generated from the route definitions.

Routes live in two functions (ingest and query). The query resolver describes its own routes;
``POST /events`` is described from what its route is declared with (``theeye.api_models``),
so no function imports the other. The interactive page uses the Swagger UI files that ship
inside Powertools, so it works with no internet access.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server
from pydantic import BaseModel, TypeAdapter

from theeye.api_models import (
    INGEST_BODY_DESCRIPTION,
    INGEST_OPERATION_ID,
    INGEST_RESPONSES,
    INGEST_SUMMARY,
    Accepted,
    EventBatch,
    EventIn,
)

TITLE = "The Eye"
VERSION = "1.0.0"
DESCRIPTION = (
    "Collects behaviour events from trusted applications and lets analysts query them. "
    "Authenticate with `Authorization: Bearer <key>` (or `X-Api-Key`). Every 4xx/5xx body is "
    '`{"error": {"code", "message", "details"}}`.'
)
SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer", "description": "An API key with the route's scope."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
}


@lru_cache(maxsize=1)
def openapi_document(query_app: ApiGatewayResolver) -> dict[str, Any]:
    """The whole API's document: ``query_app``'s routes and ``POST /events``."""
    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    schema = query_app.get_openapi_schema(title=TITLE, version=VERSION, servers=[Server(url="/")])
    merge.add_schema(schema.model_dump(by_alias=True, exclude_none=True, mode="json"))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _describe_ingest(document)
    _secure(document)
    return document


def openapi_json(query_app: ApiGatewayResolver) -> str:
    return json.dumps(openapi_document(query_app), separators=(",", ":"))


_REF = "#/components/schemas/{model}"


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


def _responses(schemas: dict[str, Any]) -> dict[str, Any]:
    """``INGEST_RESPONSES`` as OpenAPI answers: each ``model`` becomes a reference to its schema."""
    answers: dict[str, Any] = {}
    for status, declared in INGEST_RESPONSES.items():
        answer: dict[str, Any] = dict(declared)
        content: dict[str, Any] = {}
        for media_type, entry in declared.get("content", {}).items():
            described = dict(cast(dict[str, Any], entry))
            model = described.pop("model", None)
            if model is not None:
                if model.__name__ not in schemas:
                    _add_schema(schemas, model)
                described = {"schema": {"$ref": f"#/components/schemas/{model.__name__}"}, **described}
            content[media_type] = described
        if content:
            answer["content"] = content
        answers[str(status)] = answer
    return answers


def _describe_ingest(document: dict[str, Any]) -> None:
    """POST /events reads its body itself (per-event rejections); describe that body here."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (EventIn, Accepted):
        _add_schema(schemas, model)
    operation: dict[str, Any] = {
        "summary": INGEST_SUMMARY,
        "operationId": INGEST_OPERATION_ID,
        "responses": _responses(schemas),
    }
    document["paths"].setdefault("/events", {})["post"] = operation
    batch = TypeAdapter(EventBatch).json_schema(ref_template=_REF)
    batch.pop("$defs", None)  # EventIn, added above
    body_schema = {"oneOf": [{"$ref": _REF.format(model="EventIn")}, batch]}
    operation["requestBody"] = {
        "required": True,
        "description": INGEST_BODY_DESCRIPTION,
        "content": {"application/json": {"schema": body_schema}, "text/plain": {"schema": body_schema}},
    }
    operation["responses"]["202"] = {
        "description": "At least one event was accepted and durably queued.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
    }


def _secure(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    public = {"/health"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation["responses"].pop("422", None)  # validation failures are answered 400
            if path not in public:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]


@lru_cache(maxsize=1)
def swagger_html(query_app: ApiGatewayResolver) -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        spec=openapi_json(query_app).replace("</", "<\\/"),
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
