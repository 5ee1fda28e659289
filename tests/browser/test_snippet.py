"""The browser snippet on its own, in headless Chromium, with ``fetch`` and ``sendBeacon`` stubbed.

What leaves the page is recorded instead of sent, so batching, retries, the beacon fallback,
ids without ``crypto.randomUUID``, the per-tab session and the form opt-in are checked exactly.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver import Chrome

from tests.browser.chromium import click, until, wait_script
from tests.browser.conftest import Site
from theeye.context import MAX_CONTEXT_BYTES, check_context
from theeye.events import MAX_BODY_BYTES, compact_json

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a first run may install Chromium

ROOT = Path(__file__).resolve().parents[2]
ENDPOINT = "https://api.example"
EVENT_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
TIMESTAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")

HARNESS = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Snippet harness</title>
  <link rel="icon" href="data:,">
  <script>
    // Record what would leave the page. fetch answers with the statuses queued in `answers`.
    window.sent = [];
    window.answers = [];
    Crypto.prototype.randomUUID = undefined; // the fallback id generator must do
    navigator.sendBeacon = function (url, blob) {
      sent.push(blob.text().then(function (body) {
        return {via: "beacon", url: url, type: blob.type, events: JSON.parse(body)};
      }));
      return true;
    };
    window.fetch = function (url, options) {
      sent.push(Promise.resolve({via: "fetch", url: url, keepalive: options.keepalive,
        headers: options.headers, bytes: new Blob([options.body]).size, events: JSON.parse(options.body)}));
      return Promise.resolve({status: answers.shift() || 202});
    };
  </script>
  <script src="theeye.js"></script>
</head>
<body>
  <a id="cta" href="#" data-theeye-cta>  Book a   demo </a>
  <form id="some" onsubmit="return false" data-theeye-form-values="first_name plan">
    <input name="first_name" value="Ada"> <input name="last_name" value="Lovelace">
    <select name="plan"><option>free</option><option selected>pro</option></select>
  </form>
  <form id="all" onsubmit="return false" data-theeye-form-values>
    <input name="first_name" value="Grace"> <input name="secret" type="password" value="hunter2">
    <input name="token" type="hidden" value="csrf"> <input name="news" type="checkbox" value="yes">
    <input name="terms" type="checkbox" value="ok" checked>
    <select name="tags" multiple><option selected>a</option><option>b</option><option selected>c</option></select>
  </form>
  <form id="none" onsubmit="return false"><input name="email" value="ada@example.com"></form>
</body>
</html>
"""

SENT = "return Promise.all(window.sent)"

REFERRING = """<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>Referring page</title><link rel="icon" href="data:,"></head>
<body><a id="go" href="harness.html?utm_source=newsletter&amp;utm_campaign=spring#offer">On</a></body>
</html>
"""
# A page whose URL, referrer and title are each as long as the API allows, or longer.
OVERSIZED_PAGE = """
history.replaceState(null, "", "?utm_source=news&pad=" + "x".repeat(3000) + "#offer");
document.title = "\u00e9".repeat(301) + "\ud83d\ude00".repeat(300);
Object.defineProperty(document, "referrer",
  {value: "https://www.google.com/" + "r".repeat(3000) + "?q=private", configurable: true});
"""


@pytest.fixture
def harness(browser: Chrome, site: Site) -> Chrome:
    shutil.copy(ROOT / "snippet" / "theeye.js", site.root / "theeye.js")
    (site.root / "harness.html").write_text(HARNESS)
    browser.get(f"{site.url}/harness.html")
    browser.execute_script("sessionStorage.clear()")  # a new tab's storage; the snippet reads it at init
    return browser


def sent(browser: Chrome, count: int) -> list[dict[str, Any]]:
    def check(driver: Chrome) -> list[dict[str, Any]] | None:
        found: list[dict[str, Any]] = driver.execute_script(SENT)
        return found if len(found) >= count else None

    return list(until(browser, f"{count} requests", check))


def events_sent(browser: Chrome, count: int) -> list[dict[str, Any]]:
    def check(driver: Chrome) -> list[dict[str, Any]] | None:
        events = [e for request in driver.execute_script(SENT) for e in request["events"]]
        return events if len(events) >= count else None

    return list(until(browser, f"{count} events sent", check))


def init(browser: Chrome, **options: Any) -> str:
    return str(
        browser.execute_script(
            "return theeye.init(Object.assign({key: 'eye_k', endpoint: arguments[0] + '/'}, arguments[1]))",
            ENDPOINT,
            options,
        )
    )


def test_events_are_batched_and_sent_by_fetch_with_the_bearer_key(harness: Chrome) -> None:
    harness.execute_script("theeye.track('early', 'tracked before init', {n: 1})")
    session = init(harness, flushInterval=50)
    harness.execute_script("theeye.track('shop', 'added to cart', {sku: 'A-1', qty: 2})")
    [request] = sent(harness, 1)
    assert request["via"] == "fetch" and request["url"] == f"{ENDPOINT}/events"
    assert request["keepalive"] is True
    assert request["headers"] == {"Authorization": "Bearer eye_k", "Content-Type": "application/json"}
    events = request["events"]
    assert [(e["category"], e["name"]) for e in events] == [
        ("early", "tracked before init"),
        ("page interaction", "pageview"),
        ("shop", "added to cart"),
    ]
    assert events[1]["data"] == {"host": "127.0.0.1", "path": "/harness.html"}
    assert events[2]["data"] == {"sku": "A-1", "qty": 2}
    for event in events:
        assert event["session_id"] == session
        assert EVENT_ID.match(event["event_id"]) and TIMESTAMP.match(event["timestamp"])
        assert TIMESTAMP.match(event["sent_at"]) and event["sent_at"] >= event["timestamp"]
    assert len({e["event_id"] for e in events}) == 3
    # one session per tab: kept in sessionStorage, and the same after a reload
    assert harness.execute_script("return sessionStorage.getItem('theeye.session')") == session
    harness.execute_script("location.reload()")
    wait_script(harness, "the reloaded harness", "return !!window.theeye && window.sent.length === 0")
    assert init(harness, pageview=False) == session


def test_a_failed_batch_is_sent_again_with_the_same_ids_and_a_refused_one_is_not(harness: Chrome) -> None:
    harness.execute_script("window.answers.push(503)")
    init(harness, flushInterval=0, pageview=False)
    harness.execute_script("theeye.track('a', 'b', {})")
    first, again = sent(harness, 2)  # the retry waits a second
    assert [e["event_id"] for e in again["events"]] == [e["event_id"] for e in first["events"]]
    # each attempt says when it was sent; the rest of the event is what the first attempt sent
    assert again["events"][0]["sent_at"] > first["events"][0]["sent_at"]
    unstamped = [
        {k: v for k, v in e.items() if k != "sent_at"} for e in (first["events"][0], again["events"][0])
    ]
    assert unstamped[0] == unstamped[1]

    harness.execute_script("window.answers.push(400); theeye.track('a', 'c', {})")
    sent(harness, 3)
    # The answer is handled by now (a script runs after the page's pending promise callbacks):
    # a batch kept for a retry would leave at once on a flush.
    harness.execute_script("theeye.flush()")
    assert len(harness.execute_script(SENT)) == 3  # a 400 is final: never resent


def test_leaving_the_page_sends_by_beacon_with_the_key_in_the_url(harness: Chrome) -> None:
    init(harness, flushInterval=60_000)  # nothing leaves by timer
    harness.execute_script("theeye.track('a', 'b', {})")
    harness.execute_script(
        "Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});"
        "document.dispatchEvent(new Event('visibilitychange'))"
    )
    [request] = sent(harness, 1)
    assert request["via"] == "beacon"
    assert request["url"] == f"{ENDPOINT}/events?key=eye_k"
    assert request["type"] == "text/plain"
    assert [e["name"] for e in request["events"]] == ["pageview", "b"]


def test_calls_to_action_and_forms_are_tracked_and_only_opted_in_values_sent(harness: Chrome) -> None:
    init(harness, flushInterval=0, pageview=False)
    click(harness, "#cta")
    for form in ("some", "all", "none"):
        harness.execute_script(f"document.getElementById('{form}').requestSubmit()")
    events = events_sent(harness, 4)
    place = {"host": "127.0.0.1", "path": "/harness.html"}
    assert [(e["category"], e["name"], e["data"]) for e in events] == [
        ("page interaction", "cta click", {**place, "element": "Book a demo"}),
        ("form interaction", "submit", {**place, "form": {"first_name": "Ada", "plan": "pro"}}),
        (
            "form interaction",
            "submit",
            {**place, "form": {"first_name": "Grace", "terms": "ok", "tags": "a,c"}},
        ),
        ("form interaction", "submit", {**place, "form": {}}),
    ]


@pytest.fixture
def in_berlin(browser: Chrome) -> Iterator[str]:
    """The browser's time zone set to one the machine is unlikely to have."""
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": "Europe/Berlin"})
    yield "Europe/Berlin"
    browser.execute_cdp_cmd("Emulation.setTimezoneOverride", {"timezoneId": ""})


def test_every_event_says_what_the_page_knows_of_the_visit(
    harness: Chrome, site: Site, in_berlin: str
) -> None:
    # Given a visitor who followed a campaign link from another page of the site
    (site.root / "referring.html").write_text(REFERRING)
    harness.get(f"{site.url}/referring.html?from=mail#top")
    click(harness, "#go")
    wait_script(harness, "the harness", "return !!window.theeye && document.title === 'Snippet harness'")
    # When the page is viewed and something is tracked
    init(harness, flushInterval=0)
    harness.execute_script("theeye.track('shop', 'added to cart', {sku: 'A-1'})")
    events = events_sent(harness, 2)
    # Then each event carries the page (no fragment; the referrer without its query either), the
    # visitor's language, time zone and screen, within the API's rules
    known = harness.execute_script(
        "return {locale: navigator.language, screen: {width: screen.width, height: screen.height}}"
    )
    expected = {
        "page": {
            "url": f"{site.url}/harness.html?utm_source=newsletter&utm_campaign=spring",
            "referrer": f"{site.url}/referring.html",
            "title": "Snippet harness",
        },
        "locale": known["locale"],
        "screen": known["screen"],
        "timezone": in_berlin,
    }
    assert [e["context"] for e in events] == [expected, expected]
    assert known["locale"] and known["screen"]["width"] > 0 and known["screen"]["height"] > 0
    assert check_context(expected) == []


def test_a_page_too_large_for_the_api_is_cut_to_its_limits(harness: Chrome) -> None:
    # Given a page whose URL, referrer and title are each longer than the API takes
    harness.execute_script(OVERSIZED_PAGE)
    # When an event is tracked
    init(harness, flushInterval=0, pageview=False)
    harness.execute_script("theeye.track('a', 'b', {})")
    [event] = events_sent(harness, 1)
    context = event["context"]
    # Then the API would take its context: the URL and title are cut to their limits (the title
    # before the emoji that would have been halved), and the referrer gives way to fit 4 KiB
    assert check_context(context) == []
    page = context["page"]
    href = harness.execute_script("return location.href.split('#')[0]")
    assert page["url"] == href[:2048]
    assert page["title"] == "\u00e9" * 301 + "\N{GRINNING FACE}" * 105  # 511 UTF-16 units
    referrer = "https://www.google.com/" + "r" * 3000
    assert len(page["referrer"]) < 2048 and referrer.startswith(page["referrer"])
    assert len(compact_json(context).encode()) == MAX_CONTEXT_BYTES


def test_a_batch_too_large_for_the_api_is_split(harness: Chrome) -> None:
    # Given 300 events queued, each with a context of about 4 KiB: over 1 MiB in all
    harness.execute_script(OVERSIZED_PAGE)
    init(harness, batchSize=500, flushInterval=60_000, pageview=False)
    tracked = harness.execute_script(
        "const ids = []; for (let i = 0; i < 300; i++) ids.push(theeye.track('a', 'b', {i: i})); return ids"
    )
    # When they are sent
    harness.execute_script("theeye.flush()")
    events = events_sent(harness, 300)
    # Then they leave in requests the API takes, each event once and in order
    requests = harness.execute_script(SENT)
    assert len(requests) > 1
    assert all(request["bytes"] <= MAX_BODY_BYTES for request in requests)
    assert [e["event_id"] for e in events] == tracked
