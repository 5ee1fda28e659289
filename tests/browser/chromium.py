"""Headless Chromium for the browser tests, driven by Selenium.

Debian's ``chromium`` and ``chromedriver`` (installed by ``ensure_chromium.sh``) are named
explicitly, so Selenium Manager never looks for, or downloads, a browser or a driver. Every
lookup that depends on the page having caught up waits for it (``WebDriverWait``) with the
suites' generous deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import base64
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal, TypeVar, cast

from selenium.common.exceptions import (
    JavascriptException,
    NoSuchElementException,
    StaleElementReferenceException,
)
from selenium.webdriver import Chrome, ChromeOptions, ChromeService
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support import expected_conditions
from selenium.webdriver.support.select import Select
from selenium.webdriver.support.wait import WebDriverWait

from tests.support import OUTCOME_DEADLINE_SECONDS

T = TypeVar("T")

CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
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
# what a page may throw at a check while it is still navigating or re-rendering
STILL_CHANGING = (JavascriptException, NoSuchElementException, StaleElementReferenceException)


def start_chromium(workdir: Path) -> Chrome:
    """One WebDriver session of headless Chromium, its profile and chromedriver's log in ``workdir``."""
    options = ChromeOptions()
    options.binary_location = CHROMIUM
    for flag in (*CHROMIUM_FLAGS, f"--user-data-dir={workdir / 'profile'}"):
        options.add_argument(flag)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    deadline_ms = int(OUTCOME_DEADLINE_SECONDS * 1000)
    options.timeouts = {"pageLoad": deadline_ms, "script": deadline_ms, "implicit": 0}
    service = ChromeService(CHROMEDRIVER, log_output=str(workdir / "chromedriver.log"))
    return Chrome(options=options, service=service)


def until(driver: Chrome, description: str, condition: Callable[[Chrome], T | Literal[False] | None]) -> T:
    """``condition``'s first truthy answer; fails with ``description`` after the deadline."""
    wait = WebDriverWait(
        driver, OUTCOME_DEADLINE_SECONDS, poll_frequency=0.1, ignored_exceptions=STILL_CHANGING
    )
    return cast(T, wait.until(condition, message=f"timed out waiting for {description}"))


def wait_script(driver: Chrome, description: str, script: str, *args: Any) -> Any:
    """Run ``script`` until it returns something truthy, and return that."""
    return until(driver, description, lambda d: d.execute_script(script, *args))


def find(driver: Chrome, css: str) -> WebElement:
    """The first element ``css`` selects, once the page has one."""
    located = expected_conditions.presence_of_element_located((By.CSS_SELECTOR, css))
    return until(driver, css, located)


def find_all(driver: Chrome, css: str) -> list[WebElement]:
    """Every element ``css`` selects now (none is an answer too: this does not wait)."""
    return driver.find_elements(By.CSS_SELECTOR, css)


def interactable(driver: Chrome, css: str) -> WebElement:
    """The element ``css`` selects, once it is displayed and enabled."""
    return until(
        driver,
        f"{css} to be interactable",
        expected_conditions.element_to_be_clickable((By.CSS_SELECTOR, css)),
    )


def click(driver: Chrome, css: str) -> None:
    interactable(driver, css).click()


def type_text(driver: Chrome, css: str, text: str) -> None:
    """Replace what the field holds with ``text``, typed."""
    field = interactable(driver, css)
    field.clear()
    field.send_keys(text)


def choose(driver: Chrome, css: str, value: str) -> None:
    """Pick the option of a ``<select>`` whose value (its text, when it has no value) is ``value``."""
    select = Select(interactable(driver, css))
    values = [option.get_attribute("value") for option in select.options]
    select.select_by_index(values.index(value))


def text(driver: Chrome, css: str) -> str:
    """The text of the first element ``css`` selects, once there is one (read again if the page
    replaced the element meanwhile)."""
    return until(driver, css, lambda d: (d.find_element(By.CSS_SELECTOR, css).text,))[0]


def texts(driver: Chrome, css: str) -> list[str]:
    """The text of every element ``css`` selects now (read again if one was replaced meanwhile)."""
    return until(driver, css, lambda d: ([e.text for e in d.find_elements(By.CSS_SELECTOR, css)],))[0]


def rendered(driver: Chrome, result_id: str, action: Callable[[], object]) -> None:
    """Do ``action``, then wait until the result element ``result_id`` shows its new outcome.

    The console renders after a ``hashchange``, a task after the click or the script that
    changed the hash: what was shown before must be gone (replaced by "Loading…") and the new
    answer in, or a lookup would read the old one.
    """
    before = driver.execute_script(
        "return document.getElementById(arguments[0]).firstElementChild", result_id
    )
    action()
    if before is not None:
        until(driver, f"#{result_id} to start over", expected_conditions.staleness_of(before))
    loaded(driver, result_id)


def loaded(driver: Chrome, result_id: str) -> None:
    """Wait until a view's result holds something other than "Loading…"."""
    wait_script(
        driver,
        f"#{result_id} to load",
        "const el = document.getElementById(arguments[0]);"
        "return el.firstChild !== null && !el.textContent.startsWith('Loading');",
        result_id,
    )


def downloads_to(driver: Chrome, directory: Path) -> None:
    """Save every download of the session into ``directory``, without asking."""
    directory.mkdir(parents=True, exist_ok=True)
    driver.execute_cdp_cmd(
        "Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(directory)}
    )


def screenshot(driver: Chrome, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    driver.save_screenshot(str(path))
    return path


def page_screenshot(driver: Chrome, path: Path) -> Path:
    """The whole page, what lies below the window too (Chrome's DevTools protocol)."""
    height = driver.execute_cdp_cmd("Page.getLayoutMetrics", {})["cssContentSize"]["height"]
    # the capture lays the page out without a scroll bar: as wide as the window
    width = driver.execute_script("return window.innerWidth")
    clip = {"x": 0, "y": 0, "width": width, "height": height, "scale": 1}
    shot = driver.execute_cdp_cmd(
        "Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True, "clip": clip}
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(base64.b64decode(shot["data"]))
    return path


class BrowserLog:
    """Every entry of the browser's console log read so far (``goog:loggingPrefs``)."""

    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def read(self, driver: Chrome) -> list[dict[str, Any]]:
        """The entries logged since the last read."""
        entries: list[dict[str, Any]] = driver.get_log("browser")
        self.entries.extend(entries)
        return entries

    def errors(self, driver: Chrome) -> list[dict[str, Any]]:
        self.read(driver)
        return [entry for entry in self.entries if entry.get("level") == "SEVERE"]
