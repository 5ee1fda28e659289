"""``GET /console`` and ``GET /console/<asset>`` over HTTP: only the console's own files, public."""

from __future__ import annotations

import gzip

import pytest

from tests.e2e.local_stack import LocalStackHandle

pytestmark = pytest.mark.e2e


def test_the_console_page_is_public_html_with_a_strict_policy(local_stack: LocalStackHandle) -> None:
    answer = local_stack.request("GET", "/console")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == "text/html; charset=utf-8"
    policy = answer.headers["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "connect-src 'self'" in policy
    assert answer.headers["X-Content-Type-Options"] == "nosniff"
    page = answer.body.decode()
    assert 'href="console/console.css"' in page and 'src="console/console.js"' in page
    assert "://" not in page  # nothing from elsewhere: relative URLs only


@pytest.mark.parametrize(
    ("asset", "content_type"),
    [
        ("console.js", "text/javascript; charset=utf-8"),
        ("console.css", "text/css; charset=utf-8"),
        ("index.html", "text/html; charset=utf-8"),
    ],
)
def test_each_console_file_has_its_content_type(
    local_stack: LocalStackHandle, asset: str, content_type: str
) -> None:
    answer = local_stack.request("GET", f"/console/{asset}")
    assert answer.status == 200
    assert answer.headers["Content-Type"] == content_type
    assert answer.headers["Cache-Control"] == "no-cache"


def test_files_are_compressed_and_revalidated_by_etag(local_stack: LocalStackHandle) -> None:
    plain = local_stack.request("GET", "/console/console.js")
    zipped = local_stack.request("GET", "/console/console.js", headers={"Accept-Encoding": "gzip"})
    assert zipped.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(zipped.body) == plain.body
    etag = plain.headers["ETag"]
    again = local_stack.request("GET", "/console/console.js", headers={"If-None-Match": etag})
    assert again.status == 304 and again.body == b""
    changed = local_stack.request("GET", "/console/console.js", headers={"If-None-Match": '"other"'})
    assert changed.status == 200


@pytest.mark.parametrize(
    "path",
    [
        "/console/missing.js",
        "/console/handler.py",
        "/console/..%2Fhandler.py",
        "/console/%2e%2e%2fhandler.py",
        "/console/..",
        "/console/console.js%00",
        "/console/a/console.js",
        "/console/../query/handler.py",
    ],
)
def test_nothing_but_the_console_files_is_served(local_stack: LocalStackHandle, path: str) -> None:
    answer = local_stack.request("GET", path)
    assert answer.status == 404, (path, answer.body)
    assert answer.json()["error"]["code"] == "not_found"
