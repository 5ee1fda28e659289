"""Event context: the envelope rules of ``context`` and the stored context built from it."""

from __future__ import annotations

import ipaddress
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from theeye.config import Settings
from theeye.context import (
    MAX_CONTEXT_BYTES,
    anonymised,
    check_context,
    country_of,
    enrich,
    parsed_user_agent,
    redact_addresses,
    referrer_of,
    without_address,
)
from theeye.events import FieldError

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
IPHONE = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_1_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko)"
    " Version/17.1.2 Mobile/15E148 Safari/604.1"
)
CHROME = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36"
)
SETTINGS = Settings()


def fields(errors: list[FieldError]) -> list[str]:
    return [error.field for error in errors]


# --- the envelope rules ----------------------------------------------------------------------


def test_a_context_with_every_field_keeps_the_rules() -> None:
    sent = {
        "page": {"url": "https://example.com/a?b=c", "referrer": "", "title": "A"},
        "user_agent": CHROME,
        "ip": "2001:db8::1",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 1920, "height": 1080},
    }
    assert check_context(sent) == []
    assert check_context({}) == []


@pytest.mark.parametrize(
    ("sent", "field"),
    [
        ([], "context"),
        ("ua", "context"),
        ({"campaign": {}}, "context.campaign"),
        ({"page": "https://example.com"}, "context.page"),
        ({"page": {"url": 1}}, "context.page.url"),
        ({"page": {"url": "x" * 2049}}, "context.page.url"),
        ({"page": {"referrer": "x" * 2049}}, "context.page.referrer"),
        ({"page": {"title": "x" * 513}}, "context.page.title"),
        ({"page": {"path": "/"}}, "context.page.path"),
        ({"user_agent": "x" * 513}, "context.user_agent"),
        ({"user_agent": None}, "context.user_agent"),
        ({"ip": "203.0.113.300"}, "context.ip"),
        ({"ip": 3405803777}, "context.ip"),
        ({"locale": "x" * 65}, "context.locale"),
        ({"timezone": ["UTC"]}, "context.timezone"),
        ({"screen": [1920, 1080]}, "context.screen"),
        ({"screen": {"width": 1920.5}}, "context.screen.width"),
        ({"screen": {"height": "1080"}}, "context.screen.height"),
        ({"screen": {"width": True}}, "context.screen.width"),
        ({"screen": {"depth": 24}}, "context.screen.depth"),
    ],
)
def test_a_broken_rule_names_the_key(sent: Any, field: str) -> None:
    assert fields(check_context(sent)) == [field]


def test_the_limits_are_inclusive() -> None:
    sent = {
        "page": {"url": "u" * 2048, "referrer": "r" * 2048, "title": "t" * 512},
        "user_agent": "a" * 512,
        "locale": "l" * 64,
        "timezone": "z" * 64,
    }
    assert fields(check_context(sent)) == ["context"]  # over 4 KiB as a whole, each field fits
    del sent["page"]["referrer"], sent["page"]["title"]
    assert check_context(sent) == []


def test_the_whole_context_is_at_most_4_kib_of_compact_json() -> None:
    frame = len(json.dumps({"page": {"url": "", "referrer": ""}, "user_agent": ""}, separators=(",", ":")))
    at_limit = {"page": {"url": "u" * 2048, "referrer": "r" * (MAX_CONTEXT_BYTES - frame - 2048 - 500)}}
    at_limit["user_agent"] = "a" * 500
    assert check_context(at_limit) == []
    over = {**at_limit, "user_agent": "a" * 501}
    (error,) = check_context(over)
    assert error.field == "context"
    assert str(MAX_CONTEXT_BYTES) in error.message


def test_every_problem_is_reported_at_once() -> None:
    errors = check_context({"ip": "nope", "screen": {"width": "1"}, "extra": 1})
    assert sorted(fields(errors)) == ["context.extra", "context.ip", "context.screen.width"]


def test_a_bad_address_is_not_repeated_in_the_error() -> None:
    (error,) = check_context({"ip": "198.51.100.777"})
    assert "198.51.100" not in error.message


# --- rejected payloads ----------------------------------------------------------------------


def test_a_rejected_payload_keeps_no_address() -> None:
    payload = {"session_id": "s", "context": {"ip": "198.51.100.23", "locale": "en"}}
    assert without_address(payload) == {"session_id": "s", "context": {"ip": "[redacted]", "locale": "en"}}
    assert payload["context"]["ip"] == "198.51.100.23"  # a copy: what is queued is not changed
    assert without_address({"context": {"ip": 5}})["context"]["ip"] == "[redacted]"
    for untouched in ([1], {"context": "x"}, {"context": {"locale": "en"}}, "text"):
        assert without_address(untouched) == untouched


def test_a_body_kept_as_text_keeps_no_address() -> None:
    text = '[{"context": {"ip" : "198.51.100.23", "user_agent": "x"}}, {"ip":"2001:db8::7"}, from 203.0.113.9'
    kept = redact_addresses(text, "203.0.113.9", None)
    assert "198.51.100.23" not in kept and "2001:db8::7" not in kept and "203.0.113.9" not in kept
    assert kept.count("[redacted]") == 3
    assert '"user_agent": "x"' in kept


# --- the stored context ----------------------------------------------------------------------


def test_the_stored_context_has_every_field_of_the_contract() -> None:
    sent = {
        "page": {
            "url": "https://Shop.Example.com/p/lamp?utm_source=news&utm_medium=email&utm_campaign=spring"
            "&utm_term=lamp&utm_content=hero&id=7#reviews",
            "referrer": "https://www.google.co.uk/search?q=lamp#x",
            "title": "Lamp",
        },
        "ip": "81.2.69.142",
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 390, "height": 844},
    }
    stored = enrich(sent, IPHONE, "192.0.2.1", SETTINGS)
    assert stored == {
        "ip": "81.2.69.0",
        "country": "GB",
        "user_agent": IPHONE,
        "browser": {"family": "Mobile Safari", "version": "17.1"},
        "os": {"family": "iOS", "version": "17.1"},
        "device": "mobile",
        "bot": False,
        "page": {
            "url": "https://Shop.Example.com/p/lamp",
            "host": "shop.example.com",
            "path": "/p/lamp",
            "title": "Lamp",
            "referrer": "https://www.google.co.uk/search",
        },
        "referrer": {"host": "www.google.co.uk", "medium": "search", "source": "Google"},
        "campaign": {
            "source": "news",
            "medium": "email",
            "name": "spring",
            "term": "lamp",
            "content": "hero",
        },
        "locale": "en-GB",
        "timezone": "Europe/London",
        "screen": {"width": 390, "height": 844},
    }


def test_without_a_sent_context_the_request_gives_address_and_agent() -> None:
    stored = enrich(None, CHROME, "8.8.8.8", SETTINGS)
    assert stored["ip"] == "8.8.8.0"
    assert stored["country"] == "US"
    assert stored["browser"] == {"family": "Chrome", "version": "120.0"}
    assert stored["os"] == {"family": "Windows", "version": "10"}
    assert (stored["device"], stored["bot"]) == ("desktop", False)
    assert not {"page", "referrer", "campaign", "locale", "timezone", "screen"} & stored.keys()


def test_what_the_sender_says_wins_over_the_request() -> None:
    stored = enrich({"ip": "2001:4860:4860::8888", "user_agent": IPHONE}, CHROME, "81.2.69.142", SETTINGS)
    assert stored["ip"] == "2001:4860:4860::"
    assert stored["country"] == "US"
    assert stored["user_agent"] == IPHONE


def test_nothing_known_stores_nothing() -> None:
    assert enrich({}, None, None, SETTINGS) == {}
    assert enrich({"page": {"url": "", "referrer": "", "title": ""}}, "", "", SETTINGS) == {}


def test_drop_keeps_the_country_and_no_address() -> None:
    stored = enrich({"ip": "81.2.69.142"}, None, None, Settings(ip_anonymization="drop"))
    assert stored == {"country": "GB"}


def test_the_country_is_looked_up_before_the_address_is_truncated() -> None:
    # 81.2.69.0 is itself a British address: check with one whose /24 differs from its host.
    stored = enrich({"ip": "8.8.8.8"}, None, None, SETTINGS)
    assert stored == {"ip": "8.8.8.0", "country": "US"}


def test_private_and_documentation_addresses_have_no_country() -> None:
    for text in ("10.1.2.3", "192.168.1.10", "127.0.0.1", "203.0.113.5", "2001:db8::1", "::1"):
        assert "country" not in enrich({"ip": text}, None, None, SETTINGS), text


def test_an_ipv4_address_mapped_into_ipv6_is_stored_as_ipv4() -> None:
    assert enrich({"ip": "::ffff:8.8.4.4"}, None, None, SETTINGS) == {"ip": "8.8.4.0", "country": "US"}


def test_a_request_address_that_is_not_one_is_ignored() -> None:
    assert enrich({}, None, "unknown", SETTINGS) == {}


def test_the_user_agent_is_cut_to_512_characters() -> None:
    stored = enrich(None, CHROME + " x" * 300, None, SETTINGS)
    assert len(stored["user_agent"]) == 512
    assert stored["user_agent"].startswith(CHROME)


def test_an_agent_nobody_knows_is_other_and_no_bot() -> None:
    assert parsed_user_agent("SomethingNew/1.0 (nothing to see)") == {"device": "other", "bot": False}


def test_headless_chromium_is_a_bot() -> None:
    found = parsed_user_agent(
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
        " HeadlessChrome/120.0.6099.109 Safari/537.36"
    )
    assert (found["device"], found["bot"]) == ("bot", True)


def test_parsed_agents_are_cached_and_answers_are_copies() -> None:
    first = parsed_user_agent(CHROME)
    first["browser"]["family"] = "changed"
    assert parsed_user_agent(CHROME)["browser"]["family"] == "Chrome"


@pytest.mark.parametrize(
    ("page", "expected"),
    [
        ({"url": "https://example.com"}, {"url": "https://example.com", "host": "example.com", "path": "/"}),
        ({"title": "Only a title"}, {"title": "Only a title"}),
        ({"referrer": "https://a.example/x?y#z"}, {"referrer": "https://a.example/x"}),
    ],
)
def test_page_fields_are_present_only_when_known(page: dict[str, str], expected: dict[str, str]) -> None:
    assert enrich({"page": page}, None, None, SETTINGS)["page"] == expected


def test_a_url_that_cannot_be_parsed_is_kept_without_query_or_host() -> None:
    stored = enrich(
        {"page": {"url": "http://[oops/a?token=1#x", "referrer": "https://[::1/b?c"}}, None, None, SETTINGS
    )
    assert stored["page"]["url"] == "http://[oops/a"
    assert "host" not in stored["page"]
    assert stored["page"]["referrer"] == "https://[::1/b"
    assert stored["referrer"] == {"medium": "unknown"}


def test_a_referrer_from_the_page_s_own_host_is_internal() -> None:
    stored = enrich(
        {"page": {"url": "https://shop.example.com/cart", "referrer": "https://shop.example.com/p/1?a=1"}},
        None,
        None,
        SETTINGS,
    )
    assert stored["referrer"] == {"host": "shop.example.com", "medium": "internal"}


def test_a_campaign_stated_apart_wins_over_the_page_s_utm_parameters() -> None:
    page = {"url": "https://e.com/?utm_source=news&utm_campaign=spring&utm_term=lamp"}
    stated = {"name": "summer", "medium": "email", "content": "", "source": 7, "other": "x"}
    stored = enrich({"page": page}, None, None, SETTINGS, campaign=stated)
    assert stored["campaign"] == {"source": "news", "name": "summer", "term": "lamp", "medium": "email"}
    assert enrich({}, None, None, SETTINGS, campaign={"name": "only"}) == {"campaign": {"name": "only"}}


def test_campaign_values_left_empty_are_not_kept() -> None:
    stored = enrich({"page": {"url": "https://e.com/?utm_source=&utm_campaign=x"}}, None, None, SETTINGS)
    assert stored["campaign"] == {"name": "x"}


# --- the fixtures: what the chosen libraries must get right -----------------------------------

UA_FIXTURE = json.loads((FIXTURES / "user_agents.json").read_text())
# The agent of the fixture the chosen libraries class wrongly, and why (docs/ENRICHMENT.md):
KNOWN_DEVICE_MISSES = {
    # An Xbox sends a Windows NT desktop agent, and ua-parser names its OS Windows.
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; Xbox; Xbox One) AppleWebKit/537.36 (KHTML, like Gecko)"
    " Chrome/120.0.0.0 Safari/537.36 Edge/44.18363.8131": "desktop",
}


def neutral(family: str) -> str:
    aliases: dict[str, str] = UA_FIXTURE["aliases"]
    return aliases.get(family, family)


def same_version(expected: str | None, got: str | None) -> bool:
    if expected is None:
        return True
    want, have = expected.split("."), (got or "").split(".")
    return want[0] == have[0] and (len(want) < 2 or len(have) < 2 or want[1] == have[1])


def test_the_fixture_has_at_least_60_real_agents_of_every_kind() -> None:
    cases = UA_FIXTURE["user_agents"]
    assert len(cases) >= 60
    assert {case["device"] for case in cases} == {"desktop", "mobile", "tablet", "bot", "other"}


@pytest.mark.parametrize("case", UA_FIXTURE["user_agents"], ids=lambda case: case["about"])
def test_every_fixture_agent_is_classed_as_a_person_reads_it(case: dict[str, Any]) -> None:
    found = parsed_user_agent(case["user_agent"])
    assert found["bot"] is case["bot"]
    assert found["device"] == KNOWN_DEVICE_MISSES.get(case["user_agent"], case["device"])
    for key in ("browser", "os"):
        if case[key] is not None:
            assert neutral(found[key]["family"]) == case[key]["family"]
            assert same_version(case[key]["version"], found[key].get("version"))


@pytest.mark.parametrize(
    "case", json.loads((FIXTURES / "referrers.json").read_text())["referrers"], ids=lambda c: c["referrer"]
)
def test_every_fixture_referrer_has_its_medium_and_source(case: dict[str, Any]) -> None:
    found = referrer_of(case["referrer"], "shop.example.com")
    assert found["medium"] == case["medium"]
    assert found.get("source") == case["source"]


@pytest.mark.parametrize(
    "case", json.loads((FIXTURES / "addresses.json").read_text())["addresses"], ids=lambda c: c["ip"]
)
def test_every_fixture_address_is_in_its_country(case: dict[str, Any]) -> None:
    assert country_of(ipaddress.ip_address(case["ip"])) == case["country"]


def test_a_maxmind_database_named_by_the_setting_is_used_instead(tmp_path: Path) -> None:
    from mmdb_writer import MMDBWriter
    from netaddr import IPSet

    writer = MMDBWriter(ip_version=6, database_type="GeoIP2-Country", ipv4_compatible=True)
    writer.insert_network(IPSet(["8.8.8.0/24"]), {"country": {"iso_code": "IS"}})
    writer.insert_network(IPSet(["2001:4860::/32"]), {"registered_country": {"iso_code": "NZ"}})
    path = tmp_path / "countries.mmdb"
    writer.to_db_file(str(path))
    settings = Settings(geoip_database=str(path))
    assert enrich({"ip": "8.8.8.8"}, None, None, settings) == {"ip": "8.8.8.0", "country": "IS"}
    assert enrich({"ip": "2001:4860:4860::8888"}, None, None, settings)["country"] == "NZ"
    assert enrich({"ip": "1.0.16.1"}, None, None, settings) == {"ip": "1.0.16.0"}


def test_a_database_setting_that_names_no_database_says_so(tmp_path: Path) -> None:
    from theeye.config import ConfigurationError

    not_a_database = tmp_path / "countries.mmdb"
    not_a_database.write_text("nothing of the kind")
    for path in (tmp_path / "missing.mmdb", not_a_database):
        with pytest.raises(ConfigurationError, match="GEOIP_DATABASE"):
            enrich({"ip": "8.8.8.8"}, None, None, Settings(geoip_database=str(path)))


# --- properties ------------------------------------------------------------------------------


@given(st.ip_addresses(v=4))
def test_a_truncated_ipv4_address_keeps_only_its_first_three_octets(address: ipaddress.IPv4Address) -> None:
    kept = anonymised(address)
    assert kept.packed[:3] == address.packed[:3]
    assert kept.packed[3] == 0


@given(st.ip_addresses(v=6))
def test_a_truncated_ipv6_address_keeps_only_its_first_48_bits(address: ipaddress.IPv6Address) -> None:
    kept = anonymised(address)
    assert kept.packed[:6] == address.packed[:6]
    assert kept.packed[6:] == bytes(10)


@given(st.ip_addresses())
def test_the_stored_context_never_holds_the_host_part(address: Any) -> None:
    stored = enrich({"ip": str(address)}, None, None, SETTINGS)
    plain = address.ipv4_mapped if address.version == 6 and address.ipv4_mapped else address
    if stored.get("ip") != str(plain):  # an address whose host part is zero already is its own prefix
        assert str(plain) not in json.dumps(stored)
    assert "ip" not in enrich({"ip": str(address)}, None, None, Settings(ip_anonymization="drop"))


URL_TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@given(
    st.sampled_from(["http", "https", "android-app", ""]),
    URL_TEXT,
    URL_TEXT,
    URL_TEXT,
    URL_TEXT,
)
def test_stored_urls_never_keep_a_query_or_fragment(
    scheme: str, host: str, path: str, query: str, fragment: str
) -> None:
    url = f"{scheme}://{host}/{path}?{query}#{fragment}" if scheme else f"{host}/{path}?{query}#{fragment}"
    stored = enrich({"page": {"url": url, "referrer": url}}, None, None, SETTINGS)
    assert "?" not in stored["page"]["url"] and "#" not in stored["page"]["url"]
    assert "?" not in stored["page"]["referrer"] and "#" not in stored["page"]["referrer"]
