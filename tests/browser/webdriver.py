"""A small WebDriver client on the standard library: JSON over HTTP to chromedriver.

Only what the browser tests need: open a page, find elements, click, type, run a script, wait,
take screenshots and read the browser's console log (``goog:loggingPrefs``).
"""

from __future__ import annotations

import base64
import contextlib
import json
import shutil
import socket
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
ELEMENT = "element-6066-11e4-a52e-4f735466cecf"  # the W3C web element identifier
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--window-size=1280,900",
)


class WebDriverError(AssertionError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ChromeDriver:
    """A chromedriver process on a free loopback port."""

    def __init__(self, log_file: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._log = log_file.open("wb")
        self.process = subprocess.Popen(
            [CHROMEDRIVER, f"--port={self.port}", f"--log-path={log_file.with_suffix('.verbose.log')}"],
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise WebDriverError(f"chromedriver exited with {self.process.returncode}")
            try:
                with urllib.request.urlopen(f"{self.url}/status", timeout=2) as answer:
                    if json.loads(answer.read())["value"].get("ready"):
                        return
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise WebDriverError("chromedriver did not become ready within 20 s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


class Browser:
    """One WebDriver session of headless Chromium."""

    def __init__(self, driver: ChromeDriver, profile: Path) -> None:
        self.driver = driver
        self.profile = profile
        capabilities = {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": [*CHROMIUM_FLAGS, f"--user-data-dir={profile}"],
            },
            "goog:loggingPrefs": {"browser": "ALL"},
            "timeouts": {"pageLoad": 30_000, "script": 30_000, "implicit": 0},
        }
        answer = self._call("POST", f"{driver.url}/session", {"capabilities": {"alwaysMatch": capabilities}})
        self.session_url = f"{driver.url}/session/{answer['sessionId']}"
        self.console: list[dict[str, Any]] = []  # every browser log entry read so far

    # -- transport
    def _call(self, method: str, url: str, body: Any = None) -> Any:
        data = json.dumps(body if body is not None else {}).encode() if method == "POST" else None
        request = urllib.request.Request(
            url, data=data, method=method, headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=60) as answer:
                return json.loads(answer.read())["value"]
        except urllib.error.HTTPError as error:
            detail = error.read().decode(errors="replace")[:2000]
            raise WebDriverError(f"{method} {url}: {error.code} {detail}") from None

    def command(self, method: str, path: str, body: Any = None) -> Any:
        return self._call(method, self.session_url + path, body)

    # -- navigation and scripts
    def get(self, url: str) -> None:
        self.command("POST", "/url", {"url": url})

    def execute(self, script: str, *args: Any) -> Any:
        return self.command("POST", "/execute/sync", {"script": script, "args": list(args)})

    def wait_for(self, description: str, check: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll ``check`` until it returns something truthy; fail with ``description`` otherwise."""
        deadline = time.monotonic() + timeout
        last: Any = None
        while True:
            try:
                last = check()
            except WebDriverError as error:
                last = error
            if last and not isinstance(last, WebDriverError):
                return last
            if time.monotonic() > deadline:
                raise WebDriverError(f"timed out waiting for {description}; last: {last!r}")
            time.sleep(0.1)

    def wait_script(self, description: str, script: str, *args: Any, timeout: float = 60.0) -> Any:
        return self.wait_for(description, lambda: self.execute(script, *args), timeout)

    # -- elements
    def find(self, css: str) -> str:
        return str(self.command("POST", "/element", {"using": "css selector", "value": css})[ELEMENT])

    def find_all(self, css: str) -> list[str]:
        found = self.command("POST", "/elements", {"using": "css selector", "value": css})
        return [str(e[ELEMENT]) for e in found]

    def click(self, css: str) -> None:
        self.command("POST", f"/element/{self.find(css)}/click")

    def type(self, css: str, text: str, *, clear: bool = True) -> None:
        element = self.find(css)
        if clear:
            self.command("POST", f"/element/{element}/clear")
        self.command("POST", f"/element/{element}/value", {"text": text})

    def select(self, css: str, value: str) -> None:
        self.execute(
            "const el = document.querySelector(arguments[0]); el.value = arguments[1];"
            "el.dispatchEvent(new Event('change', {bubbles: true}));",
            css,
            value,
        )

    def text(self, css: str) -> str:
        return str(self.command("GET", f"/element/{self.find(css)}/text"))

    def texts(self, css: str) -> list[str]:
        return [str(self.command("GET", f"/element/{e}/text")) for e in self.find_all(css)]

    # -- window, screenshots, console
    def resize(self, width: int, height: int) -> None:
        self.command("POST", "/window/rect", {"width": width, "height": height})

    def screenshot(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(self.command("GET", "/screenshot")))
        return path

    def read_console(self) -> list[dict[str, Any]]:
        """The browser log entries since the last read (chromedriver's ``goog:loggingPrefs`` log)."""
        entries: list[dict[str, Any]] = self.command("POST", "/se/log", {"type": "browser"})
        self.console.extend(entries)
        return entries

    def console_errors(self) -> list[dict[str, Any]]:
        self.read_console()
        return [e for e in self.console if e.get("level") == "SEVERE"]

    def quit(self) -> None:
        with contextlib.suppress(WebDriverError, OSError):
            self.command("DELETE", "")
        shutil.rmtree(self.profile, ignore_errors=True)
