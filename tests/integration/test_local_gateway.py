"""API Gateway and SQS event source behaviour of the local stack, without sockets.

Given a request or a function result, the local stack must do what AWS documents for HTTP APIs
(payload format 2.0, CORS) and for SQS event sources (ReportBatchItemFailures).
"""

from __future__ import annotations

import base64
import json

import pytest

from theeye_local.apigw import CorsPolicy, HttpRequest, IntegrationError, build_event, to_http_response
from theeye_local.lambdas import HttpRoute
from theeye_local.poller import batch_item_failures
from theeye_local.routes import RouteMatch
from theeye_local.settings import LocalSettings

ROUTE = HttpRoute("HttpApi", "GET", "/events/{event_id}", "QueryFunction", 30.0)


def _request(**overrides: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "GET",
        "target": "/events/e1?b=2&a=1&a=3&empty=",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("User-Agent", "pytest"),
            ("X-Repeat", "one"),
            ("x-repeat", "two"),
            ("Cookie", "c1=v1; c2=v2"),
        ],
        "body": b"",
        "source_ip": "127.0.0.1",
        "source_port": 50000,
        "server_port": 3000,
    }
    fields.update(overrides)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def _event(request: HttpRequest) -> dict[str, object]:
    return build_event(
        request,
        RouteMatch(ROUTE, {"event_id": "e1"}),
        api_id="api",
        account_id="123456789012",
        request_id="r",
    )


def test_request_becomes_a_payload_format_2_event() -> None:
    event = _event(_request())

    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /events/{event_id}"
    assert event["rawPath"] == "/events/e1"
    assert event["rawQueryString"] == "b=2&a=1&a=3&empty="
    assert event["queryStringParameters"] == {"a": "1,3", "b": "2", "empty": ""}
    assert event["pathParameters"] == {"event_id": "e1"}
    assert event["cookies"] == ["c1=v1", "c2=v2"]
    headers = event["headers"]
    assert isinstance(headers, dict)
    assert headers["x-repeat"] == "one,two"
    assert "cookie" not in headers
    assert headers["user-agent"] == "pytest"
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert isinstance(context, dict)
    assert context["stage"] == "$default"
    assert context["http"] == {
        "method": "GET",
        "path": "/events/e1",
        "protocol": "HTTP/1.1",
        "sourceIp": "127.0.0.1",
        "userAgent": "pytest",
    }


def test_request_without_query_has_no_query_parameters() -> None:
    event = _event(_request(target="/events/e1"))

    assert "queryStringParameters" not in event
    assert event["rawQueryString"] == ""


def test_text_bodies_pass_as_text_and_binary_ones_as_base64() -> None:
    text = _event(_request(body='{"é": 1}'.encode()))
    binary = _event(_request(body=b"\xff\x00\xfe"))

    assert text["body"] == '{"é": 1}'
    assert text["isBase64Encoded"] is False
    assert binary["body"] == base64.b64encode(b"\xff\x00\xfe").decode()
    assert binary["isBase64Encoded"] is True


def test_proxy_result_maps_to_status_headers_cookies_and_body() -> None:
    result = {
        "statusCode": 201,
        "headers": {"Content-Type": "text/plain", "X-Count": 2},
        "multiValueHeaders": {"X-Many": ["a", "b"]},
        "cookies": ["s=1; HttpOnly"],
        "body": "created",
    }

    response = to_http_response(json.dumps(result))

    assert response.status == 201
    assert ("Content-Type", "text/plain") in response.headers
    assert ("X-Count", "2") in response.headers
    assert [v for k, v in response.headers if k == "X-Many"] == ["a", "b"]
    assert ("Set-Cookie", "s=1; HttpOnly") in response.headers
    assert response.body == b"created"


def test_result_without_status_code_is_a_json_200() -> None:
    response = to_http_response('{"status": "ok"}')

    assert response.status == 200
    assert ("Content-Type", "application/json") in response.headers
    assert json.loads(response.body) == {"status": "ok"}


def test_base64_result_is_decoded() -> None:
    response = to_http_response(json.dumps({"statusCode": 200, "isBase64Encoded": True, "body": "AAEC"}))

    assert response.body == b"\x00\x01\x02"


@pytest.mark.parametrize(
    "result",
    [{"statusCode": "200"}, {"statusCode": 700}, {"statusCode": 200, "body": {"not": "text"}}],
)
def test_malformed_results_are_integration_errors(result: dict[str, object]) -> None:
    with pytest.raises(IntegrationError):
        to_http_response(json.dumps(result))


def test_cors_preflight_for_an_allowed_origin() -> None:
    policy = CorsPolicy(
        allow_origins=("https://app.example",),
        allow_headers=("authorization", "content-type"),
        allow_methods=("GET", "POST"),
        max_age=600,
    )
    preflight = _request(
        method="OPTIONS",
        headers=[("Origin", "https://app.example"), ("Access-Control-Request-Method", "POST")],
    )

    response = policy.preflight(preflight)

    assert CorsPolicy.is_preflight(preflight)
    assert response.status == 204
    assert dict(response.headers) == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
        "Access-Control-Allow-Methods": "GET,POST",
        "Access-Control-Allow-Headers": "authorization,content-type",
        "Access-Control-Max-Age": "600",
    }


def test_cors_refuses_other_origins_and_replaces_function_cors_headers() -> None:
    policy = CorsPolicy(allow_origins=("https://app.example",), expose_headers=("x-total",))
    foreign = _request(
        method="OPTIONS",
        headers=[("Origin", "https://evil.example"), ("Access-Control-Request-Method", "GET")],
    )
    allowed = _request(headers=[("Origin", "https://app.example")])
    from_function = to_http_response(
        json.dumps({"statusCode": 200, "headers": {"Access-Control-Allow-Origin": "*"}, "body": ""})
    )

    refused = policy.preflight(foreign)
    decorated = policy.decorate(allowed, from_function)

    assert refused.status == 204
    assert refused.headers == []
    assert dict(decorated.headers) == {
        "Access-Control-Allow-Origin": "https://app.example",
        "Vary": "Origin",
        "Access-Control-Expose-Headers": "x-total",
    }


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ("null", set()),
        ("{}", set()),
        ('{"batchItemFailures": []}', set()),
        ('{"batchItemFailures": null}', set()),
        ('{"batchItemFailures": [{"itemIdentifier": "m2"}]}', {"m2"}),
        ('{"batchItemFailures": [{"itemIdentifier": "unknown"}]}', None),
        ('{"batchItemFailures": [{"itemIdentifier": ""}]}', None),
        ('{"batchItemFailures": [{"id": "m1"}]}', None),
        ('{"batchItemFailures": "m1"}', None),
        ('"m1"', None),
        ("not json", None),
    ],
)
def test_report_batch_item_failures_is_read_as_lambda_reads_it(
    payload: str, expected: set[str] | None
) -> None:
    assert batch_item_failures(payload, ["m1", "m2"]) == expected


def test_worker_and_poller_counts_follow_the_environment() -> None:
    settings = LocalSettings.from_environ(
        {"THEEYE_INGEST_WORKERS": "5", "THEEYE_PROCESSOR_CONCURRENCY": "4", "MAX_CLOCK_SKEW_SECONDS": "5"}
    )

    assert settings.http_workers("IngestFunction") == 5
    assert settings.http_workers("QueryFunction") == 2
    assert settings.pollers("ProcessorFunction", maximum_concurrency=10) == 4
    assert settings.pollers("ProcessorFunction", maximum_concurrency=3) == 3
    assert settings.function_overrides({"MAX_CLOCK_SKEW_SECONDS": "60", "LOG_LEVEL": "INFO"}) == {
        "MAX_CLOCK_SKEW_SECONDS": "5"
    }
