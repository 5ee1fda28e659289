"""Fixtures of the browser tests: the local stack, headless Chromium (Selenium), its console
log, and a page on another origin.

``local_stack`` is the end-to-end suite's session fixture, re-exported so these tests share its
behaviour (one stack per test session, started on a free port with fixed keys).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome

from tests.browser.chromium import BrowserLog, start_chromium
from tests.e2e.conftest import embedded_stack, local_stack, moto_stack

__all__ = ["browser", "browser_log", "embedded_stack", "local_stack", "moto_stack", "site"]

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="session")
def chromium_installed() -> None:
    """Debian's chromium and chromium-driver, installed by apt when missing (CI runs as root)."""
    subprocess.run(["bash", str(HERE / "ensure_chromium.sh")], check=True, timeout=900)


@pytest.fixture(scope="session")
def browser(chromium_installed: None, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chrome]:
    workdir = tmp_path_factory.mktemp("chromium")
    driver = start_chromium(workdir)
    yield driver
    driver.quit()  # the session, then chromedriver
    shutil.rmtree(workdir / "profile", ignore_errors=True)


@pytest.fixture(scope="session")
def browser_log() -> BrowserLog:
    return BrowserLog()


@dataclass(frozen=True)
class Site:
    """A static site on its own loopback port: a different origin from the API."""

    root: Path
    url: str


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        self.send_header("Cache-Control", "no-store")
        super().end_headers()


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("site")
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, name="test-site", daemon=True)
    thread.start()
    yield Site(root, f"http://127.0.0.1:{server.server_address[1]}")
    server.shutdown()
    server.server_close()
    thread.join(5)
