"""The browser snippet and the console, end to end, in headless Chromium against the local stack.

A page on another origin loads ``snippet/theeye.js``; it is viewed, a call to action is clicked
and a form is submitted. Those three events travel by ``fetch`` (CORS, bearer key) and by
``sendBeacon`` (``?key=``) while the page goes away. The console, opened at ``/console`` with
the query key typed into its prompt, must then show them in every view, with a broken event
in the errors view, and the browser must log no error. Screenshots go to test-output/console/.
"""

from __future__ import annotations

import json
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver import Chrome

from tests.browser.chromium import (
    BrowserLog,
    choose,
    click,
    find_all,
    loaded,
    rendered,
    screenshot,
    text,
    texts,
    type_text,
    wait_script,
)
from tests.browser.conftest import Site
from tests.e2e.local_stack import LocalStackHandle
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a first run may install Chromium

ROOT = Path(__file__).resolve().parents[2]
SNIPPET = ROOT / "snippet"
OUTPUT = ROOT / "test-output" / "console"
SESSION = "browser-e2e-session-0001"
LAPTOP = (1280, 900)
PHONE = (390, 844)

PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Test shop</title>
  <link rel="icon" href="data:,">
  <script src="{script}"></script>
  <script>theeye.init({{key: {key}, endpoint: {endpoint}, session: {session}}});</script>
</head>
<body>
  <h1>Test shop</h1>
  <button id="chat" type="button" data-theeye-cta="chat bubble">Chat with us</button>
  <form id="signup" action="thanks.html" method="get" data-theeye-form-values>
    <label for="first_name">First name</label> <input id="first_name" name="first_name">
    <label for="plan">Plan</label>
    <select id="plan" name="plan"><option>free</option><option>pro</option></select>
    <label for="secret">Password</label> <input id="secret" name="secret" type="password">
    <button id="send" type="submit">Sign up</button>
  </form>
</body>
</html>
"""
# Where the visitor comes from: a link with a campaign's utm parameters and a fragment.
CAMPAIGN = "utm_source=newsletter&utm_medium=email&utm_campaign=spring"
LINKS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Newsletter</title><link rel="icon" href="data:,"></head>
<body><a id="to-shop" href="page.html?{campaign}#signup">Spring offers</a></body></html>
"""
THANKS = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Thanks</title><link rel="icon" href="data:,"></head>
<body><p>Thanks!</p></body></html>
"""


def api(stack: LocalStackHandle, path: str) -> Any:
    answer = stack.request("GET", path, headers={"Authorization": f"Bearer {stack.query_key}"})
    assert answer.status == 200, answer.body
    return answer.json()


def stored(stack: LocalStackHandle, session: str, count: int) -> list[dict[str, Any]]:
    def check() -> list[dict[str, Any]] | None:
        items: list[dict[str, Any]] = api(stack, f"/sessions/{quote(session)}/events")["items"]
        return items if len(items) >= count else None

    return list(eventually(f"{count} stored events of session {session}", check))


def write_page(site: Site, name: str, script: str, stack: LocalStackHandle, session: str) -> str:
    (site.root / name).write_text(
        PAGE.format(
            script=script,
            key=json.dumps(stack.ingest_key),
            endpoint=json.dumps(stack.base_url),
            session=json.dumps(session),
        )
    )
    return f"{site.url}/{name}"


def shot(browser: Chrome, name: str) -> None:
    screenshot(browser, OUTPUT / f"{name}.png")


def fits_a_phone(console: Chrome, name: str, shown: str | None = None) -> bool:
    """Whether the page fits a phone's width without scrolling sideways; a screenshot of it
    there (scrolled to ``shown`` when given), and the laptop's size again after."""
    console.set_window_size(*PHONE)
    if shown:
        console.execute_script("document.querySelector(arguments[0]).scrollIntoView()", shown)
    shot(console, name)
    fits = console.execute_script("return document.documentElement.scrollWidth <= window.innerWidth + 1")
    console.set_window_size(*LAPTOP)
    return bool(fits)


def open_view(browser: Chrome, view: str) -> None:
    click(browser, f'#nav a[data-view="{view}"]')
    wait_script(browser, f"the {view} view", f"return !document.getElementById('view-{view}').hidden")


def submit(browser: Chrome, view: str) -> None:
    """Submit a view's form and wait until its result shows the new answer."""
    rendered(browser, f"{view}-result", lambda: click(browser, f"#{view}-form button[type=submit]"))


@pytest.fixture(scope="module")
def journey(
    local_stack: LocalStackHandle, site: Site, browser: Chrome, browser_log: BrowserLog
) -> dict[str, Any]:
    """A visitor's journey on another origin, plus one broken event sent directly to the API."""
    shutil.rmtree(OUTPUT, ignore_errors=True)
    OUTPUT.mkdir(parents=True)
    shutil.copy(SNIPPET / "theeye.js", site.root / "theeye.js")
    shutil.copy(SNIPPET / "theeye.min.js", site.root / "theeye.min.js")
    (site.root / "thanks.html").write_text(THANKS)
    browser.set_window_size(*LAPTOP)

    write_page(site, "page.html", "theeye.js", local_stack, SESSION)
    (site.root / "links.html").write_text(LINKS.format(campaign=CAMPAIGN.replace("&", "&amp;")))
    browser.get(f"{site.url}/links.html?from=archive")
    click(browser, "#to-shop")
    wait_script(browser, "the shop page", "return document.title === 'Test shop' && !!window.theeye")
    assert browser.execute_script("return theeye.session()") == SESSION
    visit = browser.execute_script(
        "return {user_agent: navigator.userAgent, locale: navigator.language,"
        " timezone: Intl.DateTimeFormat().resolvedOptions().timeZone,"
        " screen: {width: screen.width, height: screen.height}}"
    )
    click(browser, "#chat")
    # Both wait in the snippet's batch and leave by fetch (keepalive, bearer key, CORS preflight).
    stored(local_stack, SESSION, 2)
    initiators = browser.execute_script(
        "return performance.getEntriesByType('resource')"
        ".filter(e => e.name.startsWith(arguments[0])).map(e => e.initiatorType)",
        f"{local_stack.base_url}/events",
    )
    assert "fetch" in initiators
    shot(browser, "00-test-page")

    type_text(browser, "#first_name", "Ada")
    choose(browser, "#plan", "pro")
    type_text(browser, "#secret", "hunter2")
    click(browser, "#send")  # navigates away: the submit event leaves by sendBeacon on pagehide
    wait_script(browser, "the thanks page", "return document.title === 'Thanks'")
    events = stored(local_stack, SESSION, 3)
    page_errors = [e for e in browser_log.read(browser) if e.get("level") == "SEVERE"]

    broken = {
        "session_id": SESSION,
        "category": "page interaction",
        "name": "cta click",
        "data": {"host": "127.0.0.1", "path": "/page.html"},  # no element: breaks the schema
        "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "event_id": "browser-e2e-broken-0001",
    }
    answer = local_stack.request(
        "POST", "/events", body=broken, headers={"Authorization": f"Bearer {local_stack.ingest_key}"}
    )
    assert answer.status == 202, answer.body

    def broken_recorded() -> Any:
        page = api(local_stack, "/errors?type=schema_violation")
        return [e for e in page["items"] if e["event_id"] == broken["event_id"]]

    error = eventually("the broken event's error", broken_recorded)[0]
    return {"events": events, "error": error, "page_errors": page_errors, "visit": visit}


@pytest.fixture(scope="module")
def console(journey: dict[str, Any], local_stack: LocalStackHandle, browser: Chrome) -> Chrome:
    """The console in the same browser, signed in by typing the query key into its prompt."""
    browser.get(f"{local_stack.base_url}/console")
    wait_script(browser, "the console to load", "return document.readyState === 'complete'")
    timing = browser.execute_script("return performance.getEntriesByType('navigation')[0].toJSON()")
    resources = browser.execute_script(
        "return performance.getEntriesByType('resource').map(e => "
        "({name: e.name, duration: e.duration, transferSize: e.transferSize}))"
    )
    (OUTPUT / "navigation-timing.json").write_text(
        json.dumps({"navigation": timing, "resources": resources}, indent=2)
    )
    print(
        f"\nconsole first load: DOMContentLoaded {timing['domContentLoadedEventEnd']:.0f} ms, "
        f"load {timing['loadEventEnd']:.0f} ms, {timing['transferSize']} bytes transferred for the page"
    )
    assert browser.execute_script("return document.getElementById('view-key').hidden") is False
    assert browser.execute_script("return document.getElementById('nav').hidden") is True
    shot(browser, "01-key-prompt")

    type_text(browser, "#key-input", local_stack.query_key)
    click(browser, "#key-form button[type=submit]")
    wait_script(browser, "the signed-in console", "return !document.getElementById('nav').hidden")
    return browser


def test_the_query_key_is_kept_only_in_session_storage(
    console: Chrome, local_stack: LocalStackHandle
) -> None:
    kept = console.execute_script(
        "return {session: sessionStorage.getItem('theeye.console.queryKey'),"
        " local: localStorage.length, cookie: document.cookie}"
    )
    assert kept == {"session": local_stack.query_key, "local": 0, "cookie": ""}


def test_the_snippet_sent_what_the_visitor_did(journey: dict[str, Any]) -> None:
    events = journey["events"]
    assert [(e["category"], e["name"]) for e in events] == [
        ("page interaction", "pageview"),
        ("page interaction", "cta click"),
        ("form interaction", "submit"),
    ]
    assert events[0]["data"] == {"host": "127.0.0.1", "path": "/page.html"}
    assert events[1]["data"] == {"host": "127.0.0.1", "path": "/page.html", "element": "chat bubble"}
    # opted in: field values as strings; never a password
    assert events[2]["data"] == {
        "host": "127.0.0.1",
        "path": "/page.html",
        "form": {"first_name": "Ada", "plan": "pro"},
    }
    assert all(len(e["event_id"]) == 36 for e in events)  # crypto.randomUUID
    assert journey["page_errors"] == []


def test_each_event_keeps_who_sent_it_and_from_which_page(journey: dict[str, Any], site: Site) -> None:
    visit = journey["visit"]
    for event in journey["events"]:
        context = event["context"]
        # the browser, from the request's User-Agent: headless Chromium is a bot
        assert context["user_agent"] == visit["user_agent"] and "HeadlessChrome" in visit["user_agent"]
        assert context["bot"] is True
        assert context["browser"]["family"] == "HeadlessChrome"
        # the page without its query and fragment, its campaign read from the query, the
        # referrer without its query (a page of the same site: internal)
        assert context["page"] == {
            "url": f"{site.url}/page.html",
            "host": "127.0.0.1",
            "path": "/page.html",
            "title": "Test shop",
            "referrer": f"{site.url}/links.html",
        }
        assert context["campaign"] == {"source": "newsletter", "medium": "email", "name": "spring"}
        assert context["referrer"] == {"host": "127.0.0.1", "medium": "internal"}
        # what the page said of the visitor
        assert context["screen"] == visit["screen"] and context["timezone"] == visit["timezone"]
        assert context["locale"] == visit["locale"]
        assert "country" not in context  # a loopback address is in no country


def test_the_timeline_shows_the_session_in_order(console: Chrome, journey: dict[str, Any]) -> None:
    open_view(console, "timeline")
    type_text(console, "#timeline-session", SESSION)
    click(console, "#timeline-form button[type=submit]")
    wait_script(
        console,
        "three events in the timeline",
        "return document.querySelectorAll('#timeline-events .event').length === 3",
    )
    assert texts(console, "#timeline-events .event .what") == [
        "page interaction · pageview",
        "page interaction · cta click",
        "form interaction · submit",
    ]
    ids = console.execute_script(
        "return [...document.querySelectorAll('#timeline-events .event')].map(e => e.dataset.eventId)"
    )
    assert ids == [e["event_id"] for e in journey["events"]]
    assert len(find_all(console, "#timeline-events .gap")) == 2  # the time between events is shown
    assert text(console, "#timeline-count") == "3"
    # who sent each event: headless Chromium, a bot
    browser = journey["events"][0]["context"]["browser"]
    assert texts(console, "#timeline-events .event .badge.bot") == ["bot"] * 3
    assert (
        texts(console, "#timeline-events .event .chip.browser")
        == [f"{browser['family']} {browser['version']}"] * 3
    )
    assert texts(console, "#timeline-events .event .chip.campaign") == ["campaign spring"] * 3

    summaries = find_all(console, "#timeline-events .event details > summary")
    summaries[2].click()  # expand the submit's payload
    payload = texts(console, "#timeline-events .event details[open] pre")[0]
    assert '"first_name": "Ada"' in payload and "hunter2" not in payload
    shot(console, "02-timeline")

    assert fits_a_phone(console, "02-timeline-phone"), "the timeline scrolls sideways on a phone"


def test_the_explorer_filters_pages_and_links(console: Chrome, journey: dict[str, Any]) -> None:
    open_view(console, "explorer")
    type_text(console, "#explorer-session", SESSION)
    choose(console, "#explorer-limit", "25")
    submit(console, "explorer")
    ids = console.execute_script(
        "return [...document.querySelectorAll('#explorer-table tbody tr')].map(r => r.dataset.eventId)"
    )
    assert ids == [e["event_id"] for e in journey["events"]][::-1]  # newest first by default
    hrefs = console.execute_script(
        "return [...document.querySelectorAll('#explorer-table tbody a')].map(a => a.getAttribute('href'))"
    )
    assert f"#timeline?session={SESSION}" in hrefs
    assert all(f"#event/{i}" in hrefs for i in ids)

    choose(console, "#explorer-limit", "25")
    type_text(console, "#explorer-category", "page interaction")
    click(console, "#explorer-form button[type=submit]")
    wait_script(
        console,
        "two page interactions",
        "return document.querySelectorAll('#explorer-table tbody tr').length === 2",
    )
    shot(console, "03-explorer")

    # paging with next_cursor: one event per page
    rendered(
        console,
        "explorer-result",
        lambda: console.execute_script(
            "location.hash = '#explorer?session_id=' + encodeURIComponent(arguments[0]) + '&limit=1&order=asc'",
            SESSION,
        ),
    )
    seen = []
    for _ in range(3):
        seen += console.execute_script(
            "return [...document.querySelectorAll('#explorer-table tbody tr')].map(r => r.dataset.eventId)"
        )
        if not find_all(console, "#explorer-next"):
            break
        rendered(console, "explorer-result", lambda: click(console, "#explorer-next"))
    assert seen == [e["event_id"] for e in journey["events"]]

    click(console, "#explorer-table tbody a[href^='#event/']")
    wait_script(console, "the event view", "return !!document.getElementById('event-detail')")
    assert SESSION in text(console, "#event-detail")
    shot(console, "04-event")


def test_the_volume_chart_counts_the_events(console: Chrome) -> None:
    open_view(console, "volume")
    loaded(console, "volume-result")
    totals = console.execute_script(
        "return Object.fromEntries([...document.querySelectorAll('#volume-legend li')]"
        ".map(li => [li.dataset.category, Number(li.dataset.total)]))"
    )
    assert totals == {"form interaction": 1, "page interaction": 2}  # the broken event is not stored
    assert text(console, "#volume-total").startswith("3 stored events")
    assert len(find_all(console, "#volume-chart rect.bar")) >= 2
    shot(console, "05-volume")

    choose(console, "#volume-interval", "minute")
    click(console, "#volume-form button[type=submit]")
    wait_script(
        console,
        "minute buckets",
        "return (document.getElementById('volume-total') || {}).textContent === '3 stored events by minute'",
    )
    console.set_window_size(*PHONE)
    wait_script(
        console,
        "the chart redrawn for a phone",
        "return document.getElementById('volume-chart').width.baseVal.value < 400",
    )
    console.execute_script("document.getElementById('volume-legend').scrollIntoView()")
    shot(console, "05-volume-phone")
    console.set_window_size(*LAPTOP)


def test_the_errors_view_shows_the_broken_event(console: Chrome, journey: dict[str, Any]) -> None:
    open_view(console, "errors")
    choose(console, "#errors-type", "schema_violation")
    choose(console, "#errors-source", "processor")
    submit(console, "errors")
    error_id = journey["error"]["error_id"]
    card = f'#errors-list .card[data-error-id="{error_id}"]'
    shown = text(console, card)
    assert "schema_violation" in shown and "data.element" in shown and SESSION in shown
    click(console, card + " details > summary")
    assert '"cta click"' in text(console, card + " details pre")
    shot(console, "06-errors")

    click(console, card + " a[href^='#error/']")
    wait_script(console, "the error view", "return !!document.getElementById('error-detail')")
    assert "is required" in text(console, "#error-detail")
    shot(console, "07-error")


def expected_fields(schema: dict[str, Any]) -> dict[str, str]:
    """The rows the schemas view shows for a schema: each property (required or not), and
    ``<field>.*`` for the values of an object property that constrains any other name."""
    rows: dict[str, str] = {}
    for name, field in schema.get("properties", {}).items():
        rows[name] = "yes" if name in schema.get("required", []) else "no"
        if isinstance(field.get("additionalProperties"), dict):
            rows[f"{name}.*"] = "no"
    return rows


def test_the_schemas_view_lists_every_event_type_with_its_rules(console: Chrome) -> None:
    # Given the schema files the processor validates with
    schemas = [json.loads(path.read_text()) for path in (ROOT / "schemas").glob("*.json")]
    assert schemas
    types = sorted((s["x-event-type"]["category"], s["x-event-type"]["name"]) for s in schemas)
    # When the schemas view is opened
    open_view(console, "schemas")
    loaded(console, "schemas-result")
    # Then every type is listed, by category then name, each with its fields and their rules
    shown = console.execute_script(
        "return [...document.querySelectorAll('#schemas-list .schema')]"
        ".map(a => [a.dataset.category, a.dataset.name])"
    )
    assert [tuple(t) for t in shown] == types
    assert text(console, "#schemas-count") == f"{len(types)} event types with a schema"
    shot(console, "09-schemas")
    for schema in schemas:
        kind = schema["x-event-type"]
        panel = f'#schemas-list .schema[data-category="{kind["category"]}"][data-name="{kind["name"]}"]'
        assert text(console, f"{panel} h3") == f"{kind['category']} · {kind['name']}"
        assert schema["description"] in text(console, panel)
        rows = console.execute_script(
            "return Object.fromEntries([...document.querySelectorAll(arguments[0] + ' tbody tr')]"
            ".map(r => [r.dataset.field, r.dataset.required]))",
            panel,
        )
        assert rows == expected_fields(schema), kind
        for name, field in schema["properties"].items():
            row = text(console, f'{panel} tbody tr[data-field="{name}"]')
            assert field["type"] in row
            assert ("required" if name in schema["required"] else "optional") in row
            if "minLength" in field and "maxLength" in field:
                assert f"{field['minLength']}\N{EN DASH}{field['maxLength']} characters" in row
            if "description" in field:
                assert field["description"] in row
        # the raw schema, collapsed until asked for
        assert console.execute_script(f"return document.querySelector('{panel} details').open") is False
        click(console, panel + " details > summary")
        assert json.loads(text(console, f"{panel} details pre")) == schema
    form = '#schemas-list .schema[data-name="submit"] tbody tr[data-field="form.*"]'
    assert "string" in text(console, form)  # every value of the form is a string

    assert fits_a_phone(console, "09-schemas-phone"), "the schemas view scrolls sideways on a phone"


def test_the_health_panel_shows_a_balanced_ledger(console: Chrome) -> None:
    open_view(console, "health")
    loaded(console, "health-result")
    assert text(console, "#health-balanced") == "✓ balanced"
    assert text(console, "#health-accepted").split()[-1] == "4"
    assert text(console, "#health-stored").split()[-1] == "3"
    assert text(console, "#health-invalid").split()[-1] == "1"
    assert "0" in text(console, "#health-dlq .big")
    shot(console, "08-health")
    console.set_window_size(*PHONE)
    shot(console, "08-health-phone")
    console.set_window_size(*LAPTOP)


def test_the_sessions_view_lists_sessions_newest_first_and_opens_their_timeline(
    console: Chrome, local_stack: LocalStackHandle
) -> None:
    # Given four sessions of the last 24 hours, each later one with a later first event and one
    # more event, sent in one request, oldest session last
    now = datetime.now(UTC).replace(microsecond=0)
    plan = {
        f"browser-e2e-sessions-{n}": [now - timedelta(hours=8 - n, minutes=-5 * k) for k in range(n + 1)]
        for n in range(4)
    }
    events = [
        {
            "event_id": f"{session}-event-{k}",
            "session_id": session,
            "category": "page interaction",
            "name": "pageview",
            "data": {"host": "127.0.0.1", "path": f"/visit/{k}"},
            "timestamp": moment.isoformat(),
        }
        for session, moments in reversed(plan.items())
        for k, moment in enumerate(moments)
    ]
    answer = local_stack.request(
        "POST", "/events", body=events, headers={"Authorization": f"Bearer {local_stack.ingest_key}"}
    )
    assert answer.status == 202, answer.body
    for session, moments in plan.items():
        stored(local_stack, session, len(moments))
    newest_first = list(reversed(plan))

    # When the sessions view is opened (the last 24 hours by default)
    open_view(console, "sessions")
    loaded(console, "sessions-result")
    rows = console.execute_script(
        "return [...document.querySelectorAll('#sessions-table tbody tr')].map(r => ({"
        " id: r.dataset.sessionId, events: Number(r.dataset.events),"
        " cells: [...r.cells].map(c => c.textContent),"
        " first: r.cells[1].querySelector('time').getAttribute('datetime'),"
        " last: r.cells[2].querySelector('time').getAttribute('datetime')}))"
    )
    # Then every session is there, newest first, with its events' count and time span
    assert [r["first"] for r in rows] == sorted((r["first"] for r in rows), reverse=True)
    ours = [r for r in rows if r["id"] in plan]
    assert [r["id"] for r in ours] == newest_first
    for row in ours:
        moments = plan[row["id"]]
        assert row["events"] == len(moments) and row["cells"][3] == str(len(moments))
        assert row["first"] == moments[0].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert row["last"] == moments[-1].strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        assert row["cells"][0] == row["id"] and row["cells"][4] == "local-app"
    assert SESSION in [r["id"] for r in rows]  # the visitor's journey began later: above ours
    assert [r["id"] for r in rows].index(SESSION) < [r["id"] for r in rows].index(newest_first[0])
    shot(console, "10-sessions")

    # A range that holds only these sessions, two per page: "load more" pages with next_cursor
    console.execute_script(
        "location.hash = '#sessions?' + new URLSearchParams({from: arguments[0], to: arguments[1], limit: '2'})",
        (now - timedelta(hours=9)).isoformat(),
        (now - timedelta(hours=4)).isoformat(),
    )
    wait_script(
        console,
        "the first page of two",
        "return document.querySelectorAll('#sessions-table tbody tr').length === 2"
        " && !!document.getElementById('sessions-more')",
    )
    assert console.execute_script("return document.getElementById('sessions-from').value") != ""
    click(console, "#sessions-more")
    wait_script(
        console,
        "four sessions, nothing more to load",
        "return document.querySelectorAll('#sessions-table tbody tr').length === 4"
        " && !document.getElementById('sessions-more')",
    )
    shown = console.execute_script(
        "return [...document.querySelectorAll('#sessions-table tbody tr')].map(r => r.dataset.sessionId)"
    )
    assert shown == newest_first
    assert text(console, "#sessions-count") == "4 sessions, newest first"

    assert fits_a_phone(console, "10-sessions-phone"), "the sessions view scrolls sideways on a phone"

    # Clicking a session opens its timeline, its events in the order they occurred
    session = newest_first[1]
    click(console, f'#sessions-table tbody tr[data-session-id="{session}"] a')
    wait_script(
        console,
        "the session's timeline",
        "return !document.getElementById('view-timeline').hidden"
        " && document.querySelectorAll('#timeline-events .event').length === arguments[0]",
        len(plan[session]),
    )
    assert console.execute_script("return document.getElementById('timeline-session').value") == session
    ids = console.execute_script(
        "return [...document.querySelectorAll('#timeline-events .event')].map(e => e.dataset.eventId)"
    )
    assert ids == [f"{session}-event-{k}" for k in range(len(plan[session]))]
    assert text(console, "#timeline-count") == str(len(plan[session]))
    shot(console, "11-session-timeline")


# Visitors of a shop, as a server would forward them (each event's context names its own user
# agent and address): browser, OS, device and country differ, and one is a crawler.
SHOP = "https://shop.example"
VISITORS: dict[str, dict[str, Any]] = {
    "phone": {
        "user_agent": "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "ip": "81.2.69.142",
        "page": {
            "url": f"{SHOP}/?utm_source=google&utm_campaign=winter",
            "title": "Shop",
            "referrer": "https://www.google.com/search?q=shop",
        },
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 390, "height": 844},
    },
    "laptop": {
        "user_agent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0",
        "ip": "85.214.132.117",
        "page": {"url": f"{SHOP}/", "title": "Shop", "referrer": "https://www.facebook.com/"},
        "locale": "de-DE",
        "timezone": "Europe/Berlin",
        "screen": {"width": 1920, "height": 1080},
    },
    "tablet": {
        "user_agent": "Mozilla/5.0 (iPad; CPU OS 17_1 like Mac OS X) AppleWebKit/605.1.15 "
        "(KHTML, like Gecko) Version/17.1 Mobile/15E148 Safari/604.1",
        "ip": "90.84.0.1",
        "page": {"url": f"{SHOP}/", "title": "Shop", "referrer": ""},
        "locale": "fr-FR",
        "timezone": "Europe/Paris",
        "screen": {"width": 820, "height": 1180},
    },
    "crawler": {
        "user_agent": "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)",
        "ip": "66.249.66.1",
        "page": {"url": f"{SHOP}/", "title": "Shop", "referrer": ""},
    },
}
COUNTRIES = {"phone": "GB", "laptop": "DE", "tablet": "FR", "crawler": "US"}


def visitor_chips(console: Chrome, css: str) -> dict[str, Any]:
    """What the console shows of who sent the event ``css`` selects: each chip's text by kind."""
    shown: dict[str, Any] = console.execute_script(
        "const el = document.querySelector(arguments[0]);"
        "return Object.fromEntries([...el.querySelectorAll('.visitor [data-kind]')]"
        ".map(c => [c.dataset.kind, c.dataset.kind === 'country' ? c.title : c.textContent]))",
        css,
    )
    return shown


def expected_chips(context: dict[str, Any]) -> dict[str, Any]:
    """What the console should show of a stored context."""
    named = {
        kind: f"{part['family']} {part['version']}" if "version" in part else part["family"]
        for kind in ("browser", "os")
        if (part := context.get(kind))
    }
    if context["bot"]:
        named["bot"] = "bot"
    else:
        named["device"] = context["device"]
    if "country" in context:
        named["country"] = f"Country: {context['country']} (from the address)"
    referrer = context.get("referrer", {})
    if referrer.get("host") and referrer["medium"] != "internal":
        named["referrer"] = f"from {referrer.get('source') or referrer['host']}"
    if "campaign" in context and "name" in context["campaign"]:
        named["campaign"] = f"campaign {context['campaign']['name']}"
    return named


def explorer_rows(console: Chrome) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = console.execute_script(
        "return [...document.querySelectorAll('#explorer-table tbody tr')]"
        ".map(r => ({id: r.dataset.eventId, bot: r.dataset.bot === 'true'}))"
    )
    return rows


def test_the_explorer_shows_who_sent_each_event_and_hides_bots_on_request(
    console: Chrome, local_stack: LocalStackHandle
) -> None:
    # Given a pageview of each visitor in the last minutes, and two more events of the phone's visit
    now = datetime.now(UTC).replace(microsecond=0)
    since = (now - timedelta(minutes=30)).isoformat()
    place = {"host": "shop.example", "path": "/"}
    events = [
        {
            "event_id": f"browser-e2e-visitor-{who}",
            "session_id": f"browser-e2e-visitor-{who}",
            "category": "page interaction",
            "name": "pageview",
            "data": place,
            "timestamp": (now - timedelta(minutes=10 - k)).isoformat(),
            "context": context,
        }
        for k, (who, context) in enumerate(VISITORS.items())
    ]
    phone = events[0]
    events += [
        {
            **phone,
            "event_id": f"{phone['event_id']}-{n}",
            "category": category,
            "name": name,
            "data": {**place, **data},
            "timestamp": (now - timedelta(minutes=10, seconds=-seconds)).isoformat(),
        }
        for n, (category, name, data, seconds) in enumerate(
            (
                ("page interaction", "cta click", {"element": "winter sale"}, 14),
                ("form interaction", "submit", {"form": {"plan": "pro"}}, 95),
            ),
            start=1,
        )
    ]
    answer = local_stack.request(
        "POST", "/events", body=events, headers={"Authorization": f"Bearer {local_stack.ingest_key}"}
    )
    assert answer.status == 202 and answer.json()["accepted"] == len(events), answer.body
    stored_context = {}
    for who in VISITORS:
        [event] = stored(local_stack, f"browser-e2e-visitor-{who}", 1 if who != "phone" else 3)[:1]
        stored_context[event["event_id"]] = event["context"]
        assert event["context"]["country"] == COUNTRIES[who]
        assert event["context"]["bot"] is (who == "crawler")
        assert event["context"].get("ip") != VISITORS[who]["ip"]  # kept anonymised, if at all

    # When the explorer lists the pageviews of the last half hour
    open_view(console, "explorer")
    rendered(
        console,
        "explorer-result",
        lambda: console.execute_script(
            "location.hash = '#explorer?' + new URLSearchParams(arguments[0])",
            {"category": "page interaction", "name": "pageview", "from": since, "limit": "25"},
        ),
    )
    # Then each row shows who sent it: browser, OS, device, country, and a badge for a bot
    rows = explorer_rows(console)
    assert set(stored_context) <= {r["id"] for r in rows}
    for event_id, context in stored_context.items():
        assert visitor_chips(console, f'#explorer-table tr[data-event-id="{event_id}"]') == expected_chips(
            context
        )
    assert text(console, '#explorer-table tr[data-event-id="browser-e2e-visitor-phone"] .chip.country') == (
        "United Kingdom"
    )
    bots = [r["id"] for r in rows if r["bot"]]
    people = [r["id"] for r in rows if not r["bot"]]
    assert "browser-e2e-visitor-crawler" in bots and "browser-e2e-visitor-phone" in people
    shot(console, "12-explorer-visitors")

    # When bots are hidden, then only people's events are left, and the page says so
    choose(console, "#explorer-bots", "hide")
    submit(console, "explorer")
    assert explorer_rows(console) == [{"id": i, "bot": False} for i in people]
    assert texts(console, "#explorer-result .pager .hint") == [
        f"{len(people)} events on this page · {len(bots)} bots hidden on this page"
    ]
    assert "bots=hide" in console.execute_script("return location.hash")
    shot(console, "12-explorer-bots-hidden")
    assert fits_a_phone(console, "12-explorer-bots-hidden-phone", "#explorer-table"), (
        "the explorer scrolls sideways on a phone"
    )
    # When only bots are asked for, then only they are left
    choose(console, "#explorer-bots", "only")
    submit(console, "explorer")
    assert explorer_rows(console) == [{"id": i, "bot": True} for i in bots]
    # A page that holds only bots, with bots hidden, says why it is empty
    rendered(
        console,
        "explorer-result",
        lambda: console.execute_script(
            "location.hash = '#explorer?session_id=browser-e2e-visitor-crawler&bots=hide'"
        ),
    )
    assert text(console, "#explorer-filtered") == "No events left on this page: 1 bot hidden on this page."

    # The phone's visit in the timeline: every event shows where it came from
    session = "browser-e2e-visitor-phone"
    visit = [phone["event_id"], f"{phone['event_id']}-1", f"{phone['event_id']}-2"]
    console.execute_script("location.hash = '#timeline?session=' + encodeURIComponent(arguments[0])", session)
    wait_script(
        console,
        "the phone's visit",
        "return !document.getElementById('view-timeline').hidden && JSON.stringify("
        "[...document.querySelectorAll('#timeline-events .event')].map(e => e.dataset.eventId))"
        " === JSON.stringify(arguments[0])",
        visit,
    )
    context = stored_context[phone["event_id"]]
    for event_id in visit:
        assert visitor_chips(
            console, f'#timeline-events .event[data-event-id="{event_id}"]'
        ) == expected_chips(context)
    assert expected_chips(context)["referrer"] == "from Google"
    shot(console, "13-timeline-visitor")

    # The event view names the page and holds the whole context
    click(console, f'#timeline-events .event[data-event-id="{phone["event_id"]}"] a[href^="#event/"]')
    wait_script(
        console,
        "the phone's pageview",
        "const detail = document.getElementById('event-detail');"
        "return !document.getElementById('view-event').hidden && !!detail"
        " && detail.textContent.includes(arguments[0])",
        phone["event_id"],
    )
    shown = text(console, "#event-detail")
    assert "Shop" in shown and f"{SHOP}/" in shown and "Mobile Safari" in shown
    shot(console, "14-event-visitor")


def test_the_minified_snippet_works_too(console: Chrome, local_stack: LocalStackHandle, site: Site) -> None:
    session = f"{SESSION}-min"
    console.get(write_page(site, "min.html", "theeye.min.js", local_stack, session))
    click(console, "#chat")
    console.get(f"{site.url}/thanks.html")  # leaving the page sends the batch by sendBeacon
    events = stored(local_stack, session, 2)
    assert [e["name"] for e in events] == ["pageview", "cta click"]
    assert [e["context"]["page"]["url"] for e in events] == [f"{site.url}/min.html"] * 2


def test_the_browser_logged_no_errors(console: Chrome, browser_log: BrowserLog) -> None:
    errors = browser_log.errors(console)
    (OUTPUT / "browser-console.json").write_text(json.dumps(browser_log.entries, indent=2))
    assert errors == []
