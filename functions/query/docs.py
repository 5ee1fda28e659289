"""The OpenAPI document of the whole API, generated from the route definitions.

Routes live in three functions. The query resolver describes its own routes; the ingest
function's (``POST /events``, ``POST /events/validate`` and the Segment-compatible ``/v1/*``)
and the admin function's (``DELETE /sessions/{session_id}``) are described here from what those
routes are declared with (``theeye.api_models``, ``theeye.segment.ROUTES``), so no function
imports another. The interactive page uses the Swagger UI files that ship inside Powertools, so
it works with no internet access.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any, cast

from aws_lambda_powertools.event_handler.api_gateway import ApiGatewayResolver
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server
from aws_lambda_powertools.event_handler.openapi.types import OpenAPIResponse
from pydantic import BaseModel, TypeAdapter

from theeye.analytics.insights.request import InsightRequest
from theeye.api_models import (
    ERASE_OPERATION_ID,
    ERASE_RESPONSES,
    ERASE_SUMMARY,
    INGEST_BODY_DESCRIPTION,
    INGEST_OPERATION_ID,
    INGEST_RESPONSES,
    INGEST_SUMMARY,
    REPLAY_OPERATION_ID,
    REPLAY_RESPONSES,
    REPLAY_SUMMARY,
    SEGMENT_BODY_DESCRIPTION,
    SEGMENT_RESPONSES,
    VALIDATE_OPERATION_ID,
    VALIDATE_RESPONSES,
    VALIDATE_SUMMARY,
    Accepted,
    EventBatch,
    EventIn,
    ReplayIn,
    SegmentBatch,
    SegmentMessage,
    segment_operation_id,
    segment_summary,
)
from theeye.events import MAX_TEXT_LENGTH
from theeye.segment import ROUTES

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
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "The Segment-compatible routes only: the ingest key as user name, an empty password.",
    },
}


@lru_cache(maxsize=1)
def openapi_document(query_app: ApiGatewayResolver) -> dict[str, Any]:
    """The whole API's document: ``query_app``'s routes, then the ingest and admin functions'."""
    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    schema = query_app.get_openapi_schema(title=TITLE, version=VERSION, servers=[Server(url="/")])
    merge.add_schema(schema.model_dump(by_alias=True, exclude_none=True, mode="json"))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _describe_ingest(document)
    _describe_segment(document)
    _describe_admin(document)
    _describe_insights(document)
    _secure(document)
    return document


def openapi_json(query_app: ApiGatewayResolver) -> str:
    return json.dumps(openapi_document(query_app), separators=(",", ":"))


_REF = "#/components/schemas/{model}"


def _add_schema(schemas: dict[str, Any], model: type[BaseModel]) -> None:
    schema = model.model_json_schema(ref_template=_REF)
    schemas.update(schema.pop("$defs", {}))
    schemas[model.__name__] = schema


def _responses(schemas: dict[str, Any], responses: dict[int, OpenAPIResponse]) -> dict[str, Any]:
    """``INGEST_RESPONSES`` (or another route's) as OpenAPI answers: each ``model`` becomes a
    reference to its schema."""
    answers: dict[str, Any] = {}
    for status, declared in responses.items():
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
    """POST /events and POST /events/validate read their body themselves (per-event answers);
    describe both here."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (EventIn, Accepted):
        _add_schema(schemas, model)
    operation: dict[str, Any] = {
        "summary": INGEST_SUMMARY,
        "operationId": INGEST_OPERATION_ID,
        "responses": _responses(schemas, INGEST_RESPONSES),
    }
    document["paths"].setdefault("/events", {})["post"] = operation
    operation["requestBody"] = _ingest_body()
    operation["responses"]["202"] = {
        "description": "At least one event was accepted and durably queued.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
    }
    # The dry run takes the same body; its answers (the 200 report included) are all declared.
    document["paths"].setdefault("/events/validate", {})["post"] = {
        "summary": VALIDATE_SUMMARY,
        "operationId": VALIDATE_OPERATION_ID,
        "requestBody": _ingest_body(),
        "responses": _responses(schemas, VALIDATE_RESPONSES),
    }


def _describe_segment(document: dict[str, Any]) -> None:
    """The Segment-compatible routes, served by the ingest function (``theeye.segment.ROUTES``)."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (SegmentMessage, SegmentBatch):
        _add_schema(schemas, model)
    for path, kind in ROUTES.items():
        body_schema = {"$ref": _REF.format(model="SegmentBatch" if kind is None else "SegmentMessage")}
        document["paths"].setdefault(path, {})["post"] = {
            "summary": segment_summary(kind),
            "operationId": segment_operation_id(kind),
            "requestBody": {
                "required": True,
                "description": SEGMENT_BODY_DESCRIPTION,
                "content": {
                    "application/json": {"schema": body_schema},
                    "text/plain": {"schema": body_schema},
                },
            },
            "responses": _responses(schemas, SEGMENT_RESPONSES),
            "security": [{"basic": []}, {"bearer": []}, {"apiKey": []}],
        }


def _describe_admin(document: dict[str, Any]) -> None:
    """DELETE /sessions/{session_id} and POST /errors/replay, served by the admin function."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    _add_schema(schemas, ReplayIn)
    document["paths"].setdefault("/errors/replay", {})["post"] = {
        "summary": REPLAY_SUMMARY,
        "operationId": REPLAY_OPERATION_ID,
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": _REF.format(model="ReplayIn")}}},
        },
        "responses": _responses(schemas, REPLAY_RESPONSES),
    }
    document["paths"].setdefault("/sessions/{session_id}", {})["delete"] = {
        "summary": ERASE_SUMMARY,
        "operationId": ERASE_OPERATION_ID,
        "parameters": [
            {
                "name": "session_id",
                "in": "path",
                "required": True,
                "schema": {"type": "string", "minLength": 1, "maxLength": MAX_TEXT_LENGTH},
            }
        ],
        "responses": _responses(schemas, ERASE_RESPONSES),
    }


def _describe_insights(document: dict[str, Any]) -> None:
    """POST /insights reads its body itself (every problem is ``invalid_insight``, not a
    parameter error): its request schema, one of the four kinds, is added here."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    request = TypeAdapter(InsightRequest).json_schema(ref_template=_REF, by_alias=True)
    schemas.update(request.pop("$defs", {}))
    schemas["InsightRequest"] = request
    document["paths"]["/insights"]["post"]["requestBody"] = {
        "required": True,
        "content": {"application/json": {"schema": {"$ref": _REF.format(model="InsightRequest")}}},
    }


def _ingest_body() -> dict[str, Any]:
    """The request body of the ingest routes: one ``EventIn`` or an ``EventBatch`` of them."""
    batch = TypeAdapter(EventBatch).json_schema(ref_template=_REF)
    batch.pop("$defs", None)  # EventIn, added with the components
    body_schema = {"oneOf": [{"$ref": _REF.format(model="EventIn")}, batch]}
    return {
        "required": True,
        "description": INGEST_BODY_DESCRIPTION,
        "content": {"application/json": {"schema": body_schema}, "text/plain": {"schema": body_schema}},
    }


def _secure(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    public = {"/health"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation["responses"].pop("422", None)  # validation failures are answered 400
            if path not in public:
                operation.setdefault("security", [{"bearer": []}, {"apiKey": []}])


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
