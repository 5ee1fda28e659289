"""The OpenAPI document of the whole API, generated from the route definitions.

Routes live in two functions (ingest and query); each resolver describes its own, and this
module merges both into one document. The interactive page uses the Swagger UI files that
ship inside Powertools, so it works with no internet access.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from aws_lambda_powertools.event_handler.openapi.models import Server

from theeye.api_models import Accepted, EventIn

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
def openapi_document() -> dict[str, Any]:
    from ingest.handler import app as ingest_app
    from query.handler import app as query_app

    merge = OpenAPIMerge(title=TITLE, version=VERSION, description=DESCRIPTION, on_conflict="error")
    for app in (query_app, ingest_app):
        schema = app.get_openapi_schema(title=TITLE, version=VERSION, servers=[Server(url="/")])
        merge.add_schema(schema.model_dump(by_alias=True, exclude_none=True, mode="json"))
    document: dict[str, Any] = json.loads(merge.get_openapi_json_schema())
    _describe_ingest(document)
    _secure(document)
    return document


def openapi_json() -> str:
    return json.dumps(openapi_document(), separators=(",", ":"))


def _describe_ingest(document: dict[str, Any]) -> None:
    """POST /events reads its body itself (per-event rejections); describe that body here."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for model in (EventIn, Accepted):
        schema = model.model_json_schema(ref_template="#/components/schemas/{model}")
        schemas.update(schema.pop("$defs", {}))
        schemas[model.__name__] = schema
    operation = document["paths"]["/events"]["post"]
    event = {"$ref": "#/components/schemas/EventIn"}
    body_schema = {"oneOf": [event, {"type": "array", "items": event, "minItems": 1, "maxItems": 500}]}
    operation["requestBody"] = {
        "required": True,
        "description": "One event, or an array of 1-500. At most 1 MiB; one event at most 32 KiB.",
        "content": {"application/json": {"schema": body_schema}, "text/plain": {"schema": body_schema}},
    }
    operation["responses"]["202"] = {
        "description": "At least one event was accepted and durably queued.",
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Accepted"}}},
    }
    operation["responses"].pop("200", None)


def _secure(document: dict[str, Any]) -> None:
    document.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
    public = {"/health"}
    for path, operations in document["paths"].items():
        for operation in operations.values():
            operation["responses"].pop("422", None)  # validation failures are answered 400
            if path not in public:
                operation["security"] = [{"bearer": []}, {"apiKey": []}]


@lru_cache(maxsize=1)
def swagger_html() -> str:
    from aws_lambda_powertools.event_handler.openapi import swagger_ui
    from aws_lambda_powertools.event_handler.openapi.swagger_ui.html import generate_swagger_html

    assets = Path(swagger_ui.__file__).parent
    return generate_swagger_html(
        spec=openapi_json().replace("</", "<\\/"),
        swagger_js=(assets / "swagger-ui-bundle.min.js").read_text(encoding="utf-8"),
        swagger_css=(assets / "swagger-ui.min.css").read_text(encoding="utf-8"),
        swagger_base_url="",
        oauth2_config=None,
    )
