"""The web console's static files: read once, served with a strict policy, revalidated by ETag.

Only the regular files directly in ``console/`` with a known suffix are ever served; every
other name is a 404, so no request can reach another file of the package.
"""

from __future__ import annotations

import hashlib
import pathlib
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from aws_lambda_powertools.event_handler import Response

from theeye.http import error_response

CONSOLE_DIR = pathlib.Path(__file__).resolve().parent / "console"
CONSOLE_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
CONSOLE_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


@dataclass(frozen=True)
class ConsoleFile:
    content_type: str
    body: str
    etag: str


@lru_cache(maxsize=1)
def console_files() -> dict[str, ConsoleFile]:
    """The console's static files by name, read once per container. Only these are ever served."""
    files: dict[str, ConsoleFile] = {}
    for path in sorted(CONSOLE_DIR.iterdir()) if CONSOLE_DIR.is_dir() else []:
        content_type = CONSOLE_TYPES.get(path.suffix)
        if content_type and path.is_file() and not path.is_symlink():
            body = path.read_text(encoding="utf-8")
            digest = hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]
            files[path.name] = ConsoleFile(content_type, body, f'"{digest}"')
    return files


def console_response(name: str, request_headers: Mapping[str, str] | None) -> Response[str]:
    """The answer to ``GET`` of the console file ``name``: 200 (compressible), 304 when the
    request's ``If-None-Match`` names the file's ETag, or 404 when there is no such file."""
    file = console_files().get(name)
    if file is None:
        return error_response(404, "not_found", "no such console file")
    headers = {**CONSOLE_HEADERS, "ETag": file.etag}
    if_none_match = {k.lower(): v for k, v in (request_headers or {}).items()}.get("if-none-match")
    if if_none_match and file.etag in (tag.strip() for tag in if_none_match.split(",")):
        return Response(304, None, "", headers=headers)
    return Response(200, file.content_type, file.body, headers=headers, compress=True)
