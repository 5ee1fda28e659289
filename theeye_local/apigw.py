"""API Gateway HTTP API behaviour: payload format 2.0 events, response mapping, CORS.

Kept free of sockets so it reads like the AWS documentation it follows
("Working with AWS Lambda proxy integrations for HTTP APIs" and "Configuring CORS for an
HTTP API") and can be checked without a server.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from theeye_local.routes import RouteMatch

MAX_REQUEST_BYTES: Final = 10 * 1024 * 1024  # API Gateway's payload limit
STAGE: Final = "$default"
JSON_TYPE: Final = "application/json"


class IntegrationError(Exception):
    """The function answered with something API Gateway cannot turn into an HTTP response."""


@dataclass(frozen=True)
class HttpRequest:
    """A request as it arrived: the raw target (path and query, still encoded) and raw headers."""

    method: str
    target: str
    headers: Sequence[tuple[str, str]]
    body: bytes
    source_ip: str
    source_port: int
    server_port: int
    protocol: str = "HTTP/1.1"

    @property
    def raw_path(self) -> str:
        return urlsplit(self.target).path or "/"

    @property
    def raw_query(self) -> str:
        return urlsplit(self.target).query

    def header(self, name: str) -> str | None:
        """All values of one header, comma-joined (as API Gateway merges repeats), or None."""
        values = [value for key, value in self.headers if key.lower() == name]
        return ",".join(values) if values else None


@dataclass(frozen=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes


def new_request_id() -> str:
    """An id shaped like API Gateway's ``apigw-requestid`` (``AbCdEfGhIjKlMnO=``)."""
    return base64.b64encode(secrets.token_bytes(11)).decode()[:15] + "="


def build_event(
    request: HttpRequest, match: RouteMatch, *, api_id: str, account_id: str, request_id: str
) -> dict[str, Any]:
    """The payload-format-2.0 event API Gateway sends to the route's function."""
    now = time.time()
    headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":  # 2.0 moves cookies out of the headers
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-forwarded-proto", "http")
    headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now):08x}-{secrets.token_hex(12)}")
    domain = headers.get("host", "127.0.0.1").rsplit(":", 1)[0]
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": match.route.route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": account_id,
            "apiId": api_id,
            "domainName": domain,
            "domainPrefix": domain.split(".")[0],
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": match.route.route_key,
            "stage": STAGE,
            "time": datetime.fromtimestamp(now, UTC).strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now * 1000),
        },
        "isBase64Encoded": False,
    }
    if cookies:
        event["cookies"] = cookies
    query = _query_parameters(request.raw_query)
    if query:
        event["queryStringParameters"] = query
    if match.path_parameters:
        event["pathParameters"] = match.path_parameters
    if request.body:
        try:
            event["body"] = request.body.decode("utf-8")
        except UnicodeDecodeError:
            event["body"] = base64.b64encode(request.body).decode("ascii")
            event["isBase64Encoded"] = True
    return event


def _query_parameters(raw_query: str) -> dict[str, str]:
    parameters: dict[str, str] = {}
    for key, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[key] = f"{parameters[key]},{value}" if key in parameters else value
    return parameters


def to_http_response(payload_text: str) -> HttpResponse:
    """Map a function's result (its JSON text) to the HTTP response API Gateway would send.

    A result with ``statusCode`` is a proxy response; anything else is a ``200`` whose body is
    the result itself as JSON (API Gateway's inference for payload format 2.0).
    """
    try:
        payload = json.loads(payload_text)
    except ValueError as exc:
        raise IntegrationError(f"the function's result is not JSON: {exc}") from None
    if not isinstance(payload, dict) or "statusCode" not in payload:
        return HttpResponse(200, [("Content-Type", JSON_TYPE)], payload_text.encode("utf-8"))
    status = payload["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise IntegrationError(f"statusCode {status!r} is not an HTTP status")
    headers: list[tuple[str, str]] = []
    for name, value in _mapping(payload, "headers").items():
        headers.append((str(name), _header_text(value)))
    for name, values in _mapping(payload, "multiValueHeaders").items():
        if not isinstance(values, list):
            raise IntegrationError(f"multiValueHeaders[{name!r}] is not a list")
        headers.extend((str(name), _header_text(value)) for value in values)
    cookies = payload.get("cookies") or []
    if not isinstance(cookies, list):
        raise IntegrationError("cookies is not a list")
    headers.extend(("Set-Cookie", str(cookie)) for cookie in cookies)
    body = payload.get("body")
    if body is not None and not isinstance(body, str):
        raise IntegrationError("body is not a string")
    if payload.get("isBase64Encoded") and body:
        try:
            raw = base64.b64decode(body, validate=True)
        except ValueError:
            raise IntegrationError("isBase64Encoded is true but body is not base64") from None
    else:
        raw = (body or "").encode("utf-8")
    return HttpResponse(status, headers, raw)


def _mapping(payload: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = payload.get(key) or {}
    if not isinstance(value, Mapping):
        raise IntegrationError(f"{key} is not an object")
    return value


def _header_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def error_response(
    status: int, code: str, message: str, headers: Sequence[tuple[str, str]] = ()
) -> HttpResponse:
    """A response with the contract's error body (every 4xx/5xx carries it)."""
    body = json.dumps({"error": {"code": code, "message": message, "details": []}})
    return HttpResponse(status, [("Content-Type", JSON_TYPE), *headers], body.encode("utf-8"))


@dataclass(frozen=True)
class CorsPolicy:
    """The ``CorsConfiguration`` of an ``AWS::Serverless::HttpApi``, applied as API Gateway does.

    API Gateway answers preflights itself (no route needed), adds the allow headers to every
    response for an allowed origin, and drops CORS headers the function set.
    """

    allow_origins: tuple[str, ...]
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    max_age: int | None = None
    allow_credentials: bool = False

    @classmethod
    def from_configuration(cls, configuration: Any) -> CorsPolicy | None:
        """From the resolved ``CorsConfiguration`` (``true`` means every origin)."""
        if configuration is True:
            return cls(allow_origins=("*",))
        if not isinstance(configuration, Mapping):
            return None

        def texts(key: str) -> tuple[str, ...]:
            value = configuration.get(key) or []
            return tuple(str(item) for item in ([value] if isinstance(value, str) else value))

        max_age = configuration.get("MaxAge")
        return cls(
            allow_origins=texts("AllowOrigins"),
            allow_headers=texts("AllowHeaders"),
            allow_methods=texts("AllowMethods"),
            expose_headers=texts("ExposeHeaders"),
            max_age=int(max_age) if max_age is not None else None,
            allow_credentials=str(configuration.get("AllowCredentials", False)).lower() == "true",
        )

    def allows(self, origin: str) -> bool:
        return "*" in self.allow_origins or origin in self.allow_origins

    @staticmethod
    def is_preflight(request: HttpRequest) -> bool:
        return (
            request.method == "OPTIONS"
            and request.header("origin") is not None
            and request.header("access-control-request-method") is not None
        )

    def preflight(self, request: HttpRequest) -> HttpResponse:
        """``204``, with the allow headers when the origin is allowed (without them otherwise)."""
        origin = request.header("origin") or ""
        if not self.allows(origin):
            return HttpResponse(204, [], b"")
        headers = self._origin_headers(origin)
        requested_method = request.header("access-control-request-method") or ""
        requested_headers = request.header("access-control-request-headers") or ""
        methods = requested_method if "*" in self.allow_methods else ",".join(self.allow_methods)
        allowed_headers = requested_headers if "*" in self.allow_headers else ",".join(self.allow_headers)
        if methods:
            headers.append(("Access-Control-Allow-Methods", methods))
        if allowed_headers:
            headers.append(("Access-Control-Allow-Headers", allowed_headers))
        if self.max_age is not None:
            headers.append(("Access-Control-Max-Age", str(self.max_age)))
        return HttpResponse(204, headers, b"")

    def decorate(self, request: HttpRequest, response: HttpResponse) -> HttpResponse:
        """The function's response with CORS headers replaced by the configured ones."""
        own = [(k, v) for k, v in response.headers if not k.lower().startswith("access-control-")]
        origin = request.header("origin")
        if origin is not None and self.allows(origin):
            own.extend(self._origin_headers(origin))
            if self.expose_headers:
                own.append(("Access-Control-Expose-Headers", ",".join(self.expose_headers)))
        return HttpResponse(response.status, own, response.body)

    def _origin_headers(self, origin: str) -> list[tuple[str, str]]:
        if "*" in self.allow_origins and not self.allow_credentials:
            return [("Access-Control-Allow-Origin", "*")]
        headers = [("Access-Control-Allow-Origin", origin), ("Vary", "Origin")]
        if self.allow_credentials:
            headers.append(("Access-Control-Allow-Credentials", "true"))
        return headers
