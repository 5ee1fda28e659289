"""A local lake of many realistic events, written through the lake's own writer
(``LocalLake.apply``, as the local feeder writes it), for benchmarks that read the ``events`` table.

Visits of a shop over ``SPAN_DAYS`` days: each session lands on a page, views 1 to 12 pages a
few seconds to minutes apart, may click a call to action and may submit the signup form (so
funnels narrow step by step). Contexts are what ingest derives: browser and OS with versions,
device, country, page URL / host / path / title (paths by a long-tailed popularity), referrer
host / medium / source, campaign parameters on some landings, locale and time zone; about 3 %
of sessions are crawlers (``bot``). Everything is drawn from a seeded ``random.Random``, so a
size always gives the same lake.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Final

from theeye.analytics.local_lake import LocalLake
from theeye.analytics.table import row_of
from theeye.clock import format_timestamp
from theeye.ports import LakeUpsert

SPAN_DAYS: Final = 30
BATCH: Final = 50_000  # events per apply (the feeder's are smaller; the files end up alike after compaction)
SEED: Final = 20261201
HOST: Final = "shop.example"
PATHS: Final = (
    ["/", "/pricing", "/signup", "/docs", "/blog", "/about", "/contact", "/careers"]
    + [f"/blog/post-{n}" for n in range(1, 61)]
    + [f"/docs/page-{n}" for n in range(1, 41)]
)
BROWSERS: Final = [
    ("Chrome", "120.0", 60),
    ("Safari", "17.1", 20),
    ("Firefox", "121.0", 10),
    ("Edge", "120.0", 10),
]
SYSTEMS: Final = [("Windows", "10", 40), ("Mac OS X", "14.1", 20), ("iOS", "17.1", 20), ("Android", "14", 20)]
DEVICES: Final = [("desktop", 60), ("mobile", 35), ("tablet", 5)]
COUNTRIES: Final = [
    ("US", 30),
    ("DE", 12),
    ("GB", 10),
    ("FR", 8),
    ("NL", 6),
    ("IN", 8),
    ("BR", 6),
    ("JP", 5),
] + [
    (code, 1)
    for code in ("ES", "IT", "SE", "PL", "CA", "AU", "MX", "KR", "CH", "BE", "AT", "DK", "NO", "FI", "IE")
]
REFERRERS: Final = [
    (None, None, None, 40),  # direct
    ("www.google.com", "search", "Google", 30),
    ("www.bing.com", "search", "Bing", 5),
    ("t.co", "social", "Twitter", 8),
    ("www.linkedin.com", "social", "LinkedIn", 5),
    ("news.ycombinator.com", "unknown", None, 7),
    ("mail.example.org", "email", None, 5),
]
CAMPAIGNS: Final = [
    ("newsletter", "email", "winter-sale"),
    ("google", "cpc", "brand"),
    ("twitter", "social", "launch"),
]
LOCALES: Final = [("en-US", "America/New_York"), ("de-DE", "Europe/Berlin"), ("en-GB", "Europe/London"),
                  ("fr-FR", "Europe/Paris"), ("ja-JP", "Asia/Tokyo"), ("pt-BR", "America/Sao_Paulo")]  # fmt: skip
CRAWLER: Final = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
PLANS: Final = ["free", "pro", "team"]


def _weighted(rng: random.Random, choices: list[Any]) -> Any:
    return rng.choices(choices, weights=[c[-1] for c in choices])[0]


def _path(rng: random.Random) -> str:
    """A page by long-tailed popularity: the first few pages get most views."""
    return PATHS[min(len(PATHS) - 1, int(rng.paretovariate(1.2)) - 1)]


def _context(rng: random.Random, bot: bool) -> dict[str, Any]:
    """What a session keeps on every event: agent, device, place, language, and its landing's
    referrer and campaign."""
    if bot:
        return {
            "user_agent": CRAWLER,
            "bot": True,
            "device": "other",
            "browser": {"family": "Googlebot", "version": "2.1"},
        }
    browser, version, _ = _weighted(rng, BROWSERS)
    system, system_version, _ = _weighted(rng, SYSTEMS)
    locale, zone = rng.choice(LOCALES)
    context: dict[str, Any] = {
        "ip": f"203.0.113.{rng.randrange(256)}",
        "country": _weighted(rng, COUNTRIES)[0],
        "user_agent": f"Mozilla/5.0 ({system} {system_version}) {browser}/{version}",
        "browser": {"family": browser, "version": version},
        "os": {"family": system, "version": system_version},
        "device": _weighted(rng, DEVICES)[0],
        "bot": False,
        "locale": locale,
        "timezone": zone,
    }
    host, medium, source, _ = _weighted(rng, REFERRERS)
    if host:
        context["referrer"] = {"host": host, "medium": medium, **({"source": source} if source else {})}
    if rng.random() < 0.15:
        source, medium, name = rng.choice(CAMPAIGNS)
        context["campaign"] = {"source": source, "medium": medium, "name": name}
    return context


def _page(path: str) -> dict[str, Any]:
    return {"url": f"https://{HOST}{path}", "host": HOST, "path": path, "title": f"Shop {path}"}


def sessions(events: int, end: datetime, seed: int = SEED) -> Iterator[dict[str, Any]]:
    """Event views (``theeye.views.event_view``'s shape) of whole sessions, ``events`` in all,
    their starts spread over the ``SPAN_DAYS`` days before ``end``."""
    rng = random.Random(seed)
    span = SPAN_DAYS * 86_400
    made = number = 0
    while made < events:
        number += 1
        session = f"s-{number:08d}"
        bot = rng.random() < 0.03
        context = _context(rng, bot)
        application = "ios" if context.get("os", {}).get("family") == "iOS" and rng.random() < 0.5 else "web"
        moment = end - timedelta(seconds=rng.uniform(600, span))
        planned: list[tuple[str, str, dict[str, Any], str]] = []
        for view in range(rng.randint(1, 12)):
            path = "/" if view == 0 and rng.random() < 0.5 else _path(rng)
            planned.append(("page interaction", "pageview", {"path": path}, path))
            if path == "/pricing" and rng.random() < 0.35:
                planned.append(("page interaction", "cta click", {"path": path, "element": "buy"}, path))
                if rng.random() < 0.4:
                    form = {"plan": rng.choice(PLANS), "seats": rng.randint(1, 50)}
                    planned.append(
                        ("form interaction", "submit", {"path": "/signup", "form": form}, "/signup")
                    )
        for k, (category, name, data, path) in enumerate(planned[: events - made]):
            moment += timedelta(seconds=rng.expovariate(1 / 40) + 1)
            stamp = format_timestamp(min(moment, end - timedelta(seconds=1)))
            yield {
                "event_id": f"{session}-{k:03d}",
                "application_id": application,
                "session_id": session,
                "category": category,
                "name": name,
                "data": data,
                "timestamp": stamp,
                "client_timestamp": stamp,
                "received_at": stamp,
                "context": {**context, "page": _page(path)},
            }
            made += 1


def build(directory: Path, events: int, end: datetime, batch: int = BATCH) -> LocalLake:
    """A lake in ``directory`` holding ``events`` events of ``sessions`` (``end`` as its as_of)."""
    lake = LocalLake(directory)
    pending: list[LakeUpsert] = []
    for sequence, view in enumerate(sessions(events, end), start=1):
        pending.append(LakeUpsert(sequence, row_of(view)))
        if len(pending) == batch:
            lake.apply(pending, as_of=end)
            pending = []
    lake.apply(pending, as_of=end)
    return lake
