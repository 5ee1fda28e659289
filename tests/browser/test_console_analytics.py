"""The console's SQL and Insights views, end to end, in headless Chromium against the local stack.

Known events are sent to the API (their own sessions, so the other browser tests' events do not
count), and the views must show what ``POST /sql`` and ``POST /insights`` answer for them: a
statement typed and run with Ctrl+Enter, its table (types, NULL, numbers), its CSV download, an
invalid statement's error in place, a statement still running (Athena's ``202``) polled, and each
kind of insight as a chart and a table. Screenshots of each go to test-output/console/ for a
person to look at; README's console section shows copies of them kept in docs/images/.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from selenium.webdriver import Chrome
from selenium.webdriver.common.keys import Keys

from tests.browser.chromium import (
    BrowserLog,
    choose,
    click,
    downloads_to,
    find,
    interactable,
    page_screenshot,
    rendered,
    screenshot,
    text,
    texts,
    wait_script,
)
from tests.e2e.local_stack import LocalStackHandle
from tests.support import eventually

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]  # a first run may install Chromium

ROOT = Path(__file__).resolve().parents[2]
# Screenshots for a person to look at (the README shows copies of them, from docs/images/).
IMAGES = ROOT / "test-output" / "console"
LAPTOP = (1280, 900)
PREFIX = "browser-sql-"
FIREFOX = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:121.0) Gecko/20100101 Firefox/121.0"
CRAWLER = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
SHOP = "https://shop.example"

# What the statement of the SQL test reads, in order: NULL where an event has no note or title.
LISTING = (
    "SELECT session_id, name, json_extract_scalar(data, '$.note') AS note, page_title, bot, "
    "length(session_id) AS id_length\nFROM events\nWHERE session_id LIKE 'browser-sql-%'\n"
    "ORDER BY event_time, event_id"
)
BY_CATEGORY = (
    "SELECT category, count(*) AS n\nFROM events\nWHERE session_id LIKE 'browser-sql-%'\n"
    "GROUP BY category\nORDER BY n DESC, category"
)


def visits(now: datetime) -> list[dict[str, Any]]:
    """Three people's visits to a shop and a crawler's: pageview → cta click → submit, each
    visit going a step less far; notes with a comma, a quote and a line break for the CSV."""
    events: list[dict[str, Any]] = []
    plan = [
        ("a", ["/", "/pricing", "/signup"], FIREFOX, {"note": 'says "hi", twice'}),
        ("b", ["/", "/pricing"], FIREFOX, {"note": "line one\nline two"}),
        ("c", ["/pricing"], FIREFOX, {}),
        ("bot", ["/", "/pricing"], CRAWLER, {}),
    ]
    steps = [
        ("page interaction", "pageview"),
        ("page interaction", "cta click"),
        ("form interaction", "submit"),
    ]
    for v, (who, paths, agent, extra) in enumerate(plan):
        session = f"{PREFIX}{who}"
        for k, path in enumerate(paths):
            category, name = steps[k]
            data: dict[str, Any] = {"host": "shop.example", "path": path}
            if name == "cta click":
                data["element"] = "buy"
            if name == "submit":
                data["form"] = {"plan": "pro"}
            if k == 0:
                data.update(extra)
            events.append(
                {
                    "event_id": f"{session}-{k}",
                    "session_id": session,
                    "category": category,
                    "name": name,
                    "data": data,
                    "timestamp": (now - timedelta(minutes=40 - 10 * v, seconds=-30 * k)).isoformat(),
                    "context": {
                        "user_agent": agent,
                        "page": {"url": f"{SHOP}{path}", **({"title": "Shop, home"} if path == "/" else {})},
                    },
                }
            )
    return events


def sql(stack: LocalStackHandle, statement: str) -> Any:
    answer = stack.request(
        "POST", "/sql", body={"sql": statement}, headers={"Authorization": f"Bearer {stack.query_key}"}
    )
    if answer.status == 503:
        pytest.skip(f"no SQL engine on this stack: {answer.json()['error']['message']}")
    assert answer.status == 200, answer.body
    return answer.json()


@pytest.fixture(scope="module")
def shop(local_stack: LocalStackHandle) -> list[dict[str, Any]]:
    """The visits, stored and in the table ``POST /sql`` reads."""
    events = visits(datetime.now(UTC).replace(microsecond=0))
    answer = local_stack.request(
        "POST", "/events", body=events, headers={"Authorization": f"Bearer {local_stack.ingest_key}"}
    )
    assert answer.status == 202 and answer.json()["accepted"] == len(events), answer.body
    count = "SELECT count(*) AS n FROM events WHERE session_id LIKE 'browser-sql-%'"
    eventually(
        f"the {len(events)} events in /sql", lambda: sql(local_stack, count)["rows"] == [[len(events)]]
    )
    return events


@pytest.fixture(scope="module")
def analyst(shop: list[dict[str, Any]], local_stack: LocalStackHandle, browser: Chrome) -> Chrome:
    """The console, signed in, at a laptop's size."""
    browser.set_window_size(*LAPTOP)
    browser.get(f"{local_stack.base_url}/console")
    wait_script(browser, "the console to load", "return document.readyState === 'complete'")
    browser.execute_script(
        "sessionStorage.setItem('theeye.console.queryKey', arguments[0])", local_stack.query_key
    )
    browser.get(f"{local_stack.base_url}/console#sql")
    wait_script(browser, "the signed-in console", "return !document.getElementById('nav').hidden")
    return browser


def open_view(browser: Chrome, view: str) -> None:
    click(browser, f'#nav a[data-view="{view}"]')
    wait_script(browser, f"the {view} view", f"return !document.getElementById('view-{view}').hidden")


def run_typed(browser: Chrome, statement: str) -> None:
    """Type ``statement`` into the editor and run it with Ctrl+Enter."""
    editor = interactable(browser, "#sql-text")
    editor.clear()
    editor.send_keys(statement)
    outcome(browser, lambda: editor.send_keys(Keys.CONTROL, Keys.ENTER))


def outcome(browser: Chrome, action: Callable[[], object]) -> None:
    """Do ``action``, then wait until what the SQL view showed before is gone and the new
    outcome is in: a result, or the error under the editor."""
    # kept in the page: a detached element cannot be handed back to it (Selenium calls it stale)
    browser.execute_script(
        "window.__shownBefore = [document.getElementById('sql-result').firstElementChild,"
        " document.getElementById('sql-error').firstChild].filter(Boolean)"
    )
    action()
    wait_script(
        browser,
        "the statement's outcome",
        "if (window.__shownBefore.some(node => document.contains(node))) return false;"
        "const out = document.getElementById('sql-result');"
        "return !document.getElementById('sql-error').hidden"
        " || (!!out.firstChild && !out.textContent.startsWith('Loading'));",
    )


def shown_table(browser: Chrome) -> dict[str, Any]:
    table: dict[str, Any] = browser.execute_script(
        "const t = document.getElementById('sql-table');"
        "return {columns: [...t.querySelectorAll('thead th')].map(th => ["
        "  th.querySelector('.col-name').textContent, th.dataset.type, th.classList.contains('num')]),"
        " rows: [...t.querySelectorAll('tbody tr')].map(tr => [...tr.cells].map(td => ["
        "  td.textContent, td.className]))}"
    )
    return table


def as_shown(value: Any) -> str:
    """How the table writes a JSON cell of the API's answer."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def as_csv(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def test_a_typed_statement_runs_with_ctrl_enter_and_its_table_is_the_answer(
    analyst: Chrome, local_stack: LocalStackHandle, shop: list[dict[str, Any]]
) -> None:
    # Given the statement the API answers for the shop's events
    expected = sql(local_stack, LISTING)
    assert len(expected["rows"]) == len(shop)
    # When it is typed into the SQL view and run with Ctrl+Enter
    open_view(analyst, "sql")
    run_typed(analyst, LISTING)
    # Then the table has its columns with their types, NULL shown as such, numbers on the right
    table = shown_table(analyst)
    assert [c[:2] for c in table["columns"]] == [[c["name"], c["type"]] for c in expected["columns"]]
    assert [c[2] for c in table["columns"]] == [False, False, False, False, False, True]
    assert [[cell[0] for cell in row] for row in table["rows"]] == [
        [as_shown(v) for v in row] for row in expected["rows"]
    ]
    first = table["rows"][0]
    assert first[2] == ['says "hi", twice', ""] and first[3] == ["Shop, home", ""]
    assert table["rows"][1][2] == ["NULL", "null"]  # the cta click has no note
    assert table["rows"][0][5][1] == "num"
    assert text(analyst, "#sql-rows") == str(len(shop))
    assert text(analyst, "#sql-engine") == expected["engine"]
    assert text(analyst, "#sql-elapsed").endswith(" ms")
    assert not analyst.find_elements("css selector", "#sql-truncated")
    # And the URL holds the statement: the link runs it again
    assert f"q={quote(LISTING, safe='')}" in analyst.execute_script("return location.hash").replace(
        "+", "%20"
    )
    analyst.refresh()
    wait_script(analyst, "the table again", "return !!document.querySelector('#sql-table tbody tr')")
    assert analyst.execute_script("return document.getElementById('sql-text').value") == LISTING
    assert [[cell[0] for cell in row] for row in shown_table(analyst)["rows"]] == [
        [as_shown(v) for v in row] for row in expected["rows"]
    ]
    IMAGES.mkdir(parents=True, exist_ok=True)
    screenshot(analyst, IMAGES / "console-sql.png")


def test_the_result_downloads_as_csv(analyst: Chrome, local_stack: LocalStackHandle, tmp_path: Path) -> None:
    # Given a result on screen
    downloads_to(analyst, tmp_path)
    expected = sql(local_stack, LISTING)
    open_view(analyst, "sql")
    run_typed(analyst, LISTING)
    # When its CSV is downloaded
    click(analyst, "#sql-csv")
    saved = eventually(
        "the CSV file",
        lambda: [p for p in tmp_path.iterdir() if p.suffix == ".csv"],
    )
    # Then it is named with the moment and holds the header and every row, quoted as RFC 4180 says
    assert len(saved) == 1 and re.fullmatch(r"theeye-sql-\d{8}-\d{6}Z\.csv", saved[0].name), saved
    raw = saved[0].read_bytes().decode("utf-8")
    assert '"says ""hi"", twice"' in raw and '"line one\nline two"' in raw and raw.endswith("\r\n")
    read = list(csv.reader(io.StringIO(raw, newline="")))
    assert read[0] == [c["name"] for c in expected["columns"]]
    assert read[1:] == [[as_csv(v) for v in row] for row in expected["rows"]]


def test_an_invalid_statement_shows_its_error_under_the_editor(analyst: Chrome) -> None:
    open_view(analyst, "sql")
    run_typed(analyst, "SELECT no_such_column FROM events")
    error = text(analyst, "#sql-error")
    assert error.startswith("invalid_sql: ") and "no_such_column" in error
    assert analyst.execute_script("return document.getElementById('sql-result').children.length") == 0

    run_typed(analyst, "DELETE FROM events")
    assert text(analyst, "#sql-error").startswith("invalid_sql: only a SELECT")
    assert analyst.execute_script("return document.getElementById('sql-text').value") == "DELETE FROM events"
    screenshot(analyst, ROOT / "test-output" / "console" / "20-sql-error.png")

    # a statement that runs clears the error
    run_typed(analyst, BY_CATEGORY)
    assert analyst.execute_script("return document.getElementById('sql-error').hidden") is True
    assert texts(analyst, "#sql-table tbody tr td:first-child") == ["page interaction", "form interaction"]


def test_an_example_runs_when_clicked(analyst: Chrome) -> None:
    open_view(analyst, "sql")
    outcome(analyst, lambda: click(analyst, "#sql-examples li:first-child button"))
    table = shown_table(analyst)
    assert [c[0] for c in table["columns"]] == ["category", "events"]
    assert "page interaction" in [row[0][0] for row in table["rows"]]


# Athena's answer for a statement still running after 20 s, then its result: the page's fetch is
# wrapped so the first two answers are 202 (the local engine answers at once).
STILL_RUNNING = """
const real = window.fetch;
let asked = 0;
window.__polls = 0;
const running = () => new Response(JSON.stringify({query_id: 'q-browser', status: 'running'}),
  {status: 202, headers: {'Content-Type': 'application/json'}});
window.fetch = (url, init) => {
  if (url === 'sql' && init.method === 'POST') { asked = JSON.parse(init.body); return Promise.resolve(running()); }
  if (url === 'sql/q-browser') {
    window.__polls += 1;
    if (window.__polls < 2) return Promise.resolve(running());
    window.fetch = real;
    const headers = Object.assign({}, init.headers, {'Content-Type': 'application/json'});
    return real('sql', Object.assign({}, init, {method: 'POST', headers, body: JSON.stringify(asked)}));
  }
  return real(url, init);
};
"""


def test_a_statement_still_running_is_polled_until_it_answers(analyst: Chrome) -> None:
    open_view(analyst, "sql")
    analyst.execute_script(STILL_RUNNING)
    editor = interactable(analyst, "#sql-text")
    editor.clear()
    editor.send_keys(BY_CATEGORY)
    click(analyst, "#sql-run")
    assert "(q-browser)" in text(analyst, "#sql-running")
    wait_script(analyst, "the result after polling", "return !!document.querySelector('#sql-table tbody tr')")
    assert analyst.execute_script("return window.__polls") == 2
    assert texts(analyst, "#sql-table tbody tr td:first-child") == ["page interaction", "form interaction"]


# -- Insights ------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def insights(analyst: Chrome) -> Chrome:
    return analyst


def insight(stack: LocalStackHandle, request: dict[str, Any]) -> Any:
    answer = stack.request(
        "POST", "/insights", body=request, headers={"Authorization": f"Bearer {stack.query_key}"}
    )
    assert answer.status == 200, answer.body
    return answer.json()


def period(shop: list[dict[str, Any]]) -> dict[str, str]:
    times = sorted(datetime.fromisoformat(e["timestamp"]) for e in shop)
    return {
        "from": (times[0] - timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
        "to": (times[-1] + timedelta(hours=1)).isoformat().replace("+00:00", "Z"),
    }


def show(browser: Chrome, request: dict[str, Any], chart: str = "") -> None:
    """Open the insight ``request`` by its link, and wait until it is drawn."""
    rendered(
        browser,
        "insights-result",
        lambda: browser.execute_script(
            "location.hash = '#insights?' + new URLSearchParams(arguments[0])",
            {"q": json.dumps(request), **({"chart": chart} if chart else {})},
        ),
    )
    assert browser.execute_script("return !!document.getElementById('insights-table')"), text(
        browser, "#insights-result"
    )


SHOP_ONLY = [{"field": "session_id", "op": "contains", "value": PREFIX}]


def test_trends_are_drawn_per_breakdown_value(
    insights: Chrome, local_stack: LocalStackHandle, shop: list[dict[str, Any]]
) -> None:
    request = {"kind": "trends", **period(shop), "interval": "hour", "breakdown": "name", "where": SHOP_ONLY}
    expected = insight(local_stack, request)
    open_view(insights, "insights")
    show(insights, request)
    totals = insights.execute_script(
        "return [...document.querySelectorAll('#insights-legend li')].map(li => [li.dataset.series, Number(li.dataset.total)])"
    )
    assert totals == [[s["breakdown"], s["total"]] for s in expected["series"]]
    assert totals[0] == ["pageview", 3]  # bots left out: three people's pageviews
    dots = insights.execute_script(
        "return [...document.querySelectorAll('#insights-chart-svg g.series')].map(g => "
        "[g.dataset.series, [...g.querySelectorAll('circle')].map(c => Number(c.dataset.value))])"
    )
    assert dots == [
        [s["breakdown"], [p["value"] for p in s["points"] if p["value"] is not None]]
        for s in expected["series"]
    ]
    titles = insights.execute_script(
        "return [...document.querySelectorAll('#insights-chart-svg circle title')].map(t => t.textContent)"
    )
    # each dot names its series and value (the three pageviews may straddle an hour)
    assert [title.split(" · ")[0] for title in titles] == [
        f"{s['breakdown']}: {p['value']}" for s in expected["series"] for p in s["points"]
    ]
    page_screenshot(insights, IMAGES / "console-insights-trends.png")
    # the same insight as stacked bars, chosen in the form
    choose(insights, "#insights-chart", "bars")
    rendered(insights, "insights-result", lambda: click(insights, "#insights-form button[type=submit]"))
    assert (
        insights.execute_script("return document.querySelectorAll('#insights-chart-svg rect.bar').length") > 0
    )


def test_a_funnel_shows_conversion_per_step(
    insights: Chrome, local_stack: LocalStackHandle, shop: list[dict[str, Any]]
) -> None:
    request = {
        "kind": "funnel",
        **period(shop),
        "steps": [
            {"category": "page interaction", "name": "pageview"},
            {"category": "page interaction", "name": "cta click"},
            {"category": "form interaction", "name": "submit"},
        ],
        "window_seconds": 3600,
        "where": SHOP_ONLY,
    }
    expected = insight(local_stack, request)
    assert [s["sessions"] for s in expected["steps"]] == [3, 2, 1]
    open_view(insights, "insights")
    show(insights, request)
    sessions = insights.execute_script(
        "return [...document.querySelectorAll('#funnel-chart g.step')].map(g => Number(g.dataset.sessions))"
    )
    assert sessions == [3, 2, 1]
    rows = texts(insights, "#insights-table tbody tr")
    assert rows[0].startswith("1. page interaction · pageview 3 100%")
    assert "67%" in rows[1] and "33%" in rows[2]
    assert text(insights, "#funnel-median") != "—"
    # the form shows the steps, picked from the period's event types
    steps = insights.execute_script(
        "return [...document.querySelectorAll('#insights-steps li')].map(li =>"
        " [li.querySelector('.step-category').value, li.querySelector('.step-name').value])"
    )
    assert steps == [[s["category"], s["name"]] for s in request["steps"]]
    page_screenshot(insights, IMAGES / "console-insights-funnel.png")


def test_top_values_are_listed_with_the_rest_as_other(
    insights: Chrome, local_stack: LocalStackHandle, shop: list[dict[str, Any]]
) -> None:
    request = {"kind": "top", **period(shop), "field": "page_path", "limit": 1, "where": SHOP_ONLY}
    expected = insight(local_stack, request)
    open_view(insights, "insights")
    show(insights, request)
    values = insights.execute_script(
        "return [...document.querySelectorAll('#insights-table tbody tr[data-value]')].map(r => r.dataset.value)"
    )
    assert values == [item["value"] for item in expected["items"]] == ["/pricing"]
    assert text(insights, "#top-other").split()[2:4] == [
        str(expected["other"]["events"]),
        str(expected["other"]["sessions"]),
    ]
    wide = {**request, "limit": 10}
    show(insights, wide)
    page_screenshot(insights, IMAGES / "console-insights-top.png")


def test_sessions_show_count_bounce_rate_and_medians(
    insights: Chrome, local_stack: LocalStackHandle, shop: list[dict[str, Any]]
) -> None:
    request = {"kind": "sessions", **period(shop), "interval": "hour", "where": SHOP_ONLY}
    expected = insight(local_stack, request)
    open_view(insights, "insights")
    show(insights, request)
    assert len(texts(insights, "#insights-table tbody tr")) == len(expected["points"])
    assert sum(p["sessions"] for p in expected["points"]) == 3
    assert text(insights, "#insights-summary") == "3 sessions by hour"
    for chart in ("sessions", "bounce-rate", "median-duration-seconds", "median-events"):
        find(insights, f"#sessions-{chart}")
    page_screenshot(insights, IMAGES / "console-insights-sessions.png")


def test_the_fields_of_the_period_are_offered(insights: Chrome, shop: list[dict[str, Any]]) -> None:
    open_view(insights, "insights")
    show(insights, {"kind": "trends", **period(shop)})
    offered = wait_script(
        insights,
        "fields offered",
        "const o = [...document.querySelectorAll('#insights-fields option')].map(o => o.value);"
        "return o.includes('data.element') ? o : null",
    )
    assert {"category", "name", "page_path", "user_agent", "data.path", "data.form.plan"} <= set(offered)


def test_the_browser_logged_no_errors(analyst: Chrome, browser_log: BrowserLog) -> None:
    # the invalid statements' 400s are logged by Chromium as failed loads: they were asked for
    refused = re.compile(r"/sql - Failed to load resource: .* status of 400 ")
    errors = [e for e in browser_log.errors(analyst) if not refused.search(e["message"])]
    assert errors == []
