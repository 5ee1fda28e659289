"""ua-parser and crawlerdetect over their own rules, each rule compiled only when an agent can
match it.

Both libraries hold their knowledge as regular expressions: ua-parser's builtin rules (about
1,300, tried in order until one matches) and crawlerdetect's patterns (about 1,500, joined into
one expression). Compiling an expression costs far more than looking for a few texts in an
agent, and a first agent would compile hundreds of them. ``data/user_agent_prefilter.json``
(written by ``tools/context_data.py`` from the pinned packages, and checked against them by
tests/unit/test_context_data.py) holds, for every rule and pattern, the texts any match of it
contains; a rule whose texts an agent lacks cannot match it and is neither compiled nor tried.
The answers are the libraries' own: ua-parser's matchers (its ``$1`` replacements and all) in
its order, crawlerdetect's exclusions and patterns.

When the installed rules are not those the file was written from (a pin raised without running
``make context-data``), each library answers alone, compiling as it always does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from ua_parser import Domain, PartialResult

PREFILTER: Final = Path(__file__).parent / "data" / "user_agent_prefilter.json"

# A rule as the file gives it: (ignores case, clauses); every clause is a list of texts of which a
# matching agent contains at least one (lower-cased when the rule ignores case).
Rule = tuple[bool, list[list[str]]]


def _possible(clauses: list[list[str]], text: str) -> bool:
    """Whether ``text`` holds a text of every clause (whether the rule may match it)."""
    for clause in clauses:
        for needle in clause:
            if needle in text:
                break
        else:
            return False
    return True


def _candidates(rules: Sequence[Rule], agent: str, lowered: str | None) -> Iterator[int]:
    """Positions of the rules that may match ``agent``, in order; ``lowered`` is the agent in
    lower case, None when it is not ASCII (a rule that ignores case is then always tried)."""
    for position, (ignore_case, clauses) in enumerate(rules):
        if ignore_case:
            if lowered is None or _possible(clauses, lowered):
                yield position
        elif _possible(clauses, agent):
            yield position


@lru_cache(maxsize=1)
def _prefilter() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(PREFILTER.read_text(encoding="utf-8"))
    return loaded


def _rules(section: str, expressions: Sequence[str]) -> list[Rule] | None:
    """The rules of ``section`` of the file, or None when its expressions are not ``expressions``."""
    rows = _prefilter()[section]
    if len(rows) != len(expressions) or any(
        row[2] != text for row, text in zip(rows, expressions, strict=True)
    ):
        return None
    return [(row[0], row[1]) for row in rows]


class PrefilteredResolver:
    """A ua-parser resolver (``ua_parser.Resolver``): for each domain asked, the first of the
    library's matchers that matches, trying only those the prefilter lets through."""

    def __init__(self, matchers: Any) -> None:
        self.domains = []
        for section, domain_matchers in zip(("user_agent", "os", "device"), matchers, strict=True):
            rules = _rules(section, [matcher.regex for matcher in domain_matchers])
            self.domains.append((domain_matchers, rules))

    def __call__(self, ua: str, domains: Domain, /) -> PartialResult:
        from ua_parser import Domain, PartialResult

        lowered = ua.lower() if ua.isascii() else None
        found = [
            self._first(ua, lowered, *self.domains[number]) if domain in domains else None
            for number, domain in enumerate((Domain.USER_AGENT, Domain.OS, Domain.DEVICE))
        ]
        return PartialResult(domains=domains, string=ua, user_agent=found[0], os=found[1], device=found[2])

    @staticmethod
    def _first(ua: str, lowered: str | None, matchers: Sequence[Any], rules: Sequence[Rule] | None) -> Any:
        positions: Iterable[int] = range(len(matchers)) if rules is None else _candidates(rules, ua, lowered)
        for position in positions:
            found = matchers[position](ua)
            if found is not None:
                return found
        return None


@lru_cache(maxsize=1)
def user_agent_parser() -> Any:
    """ua-parser's ``Parser`` over its builtin rules (as lazy matchers, each compiling its
    expression on first use) through ``PrefilteredResolver``."""
    from ua_parser import Parser, load_lazy_builtins

    return Parser(PrefilteredResolver(load_lazy_builtins()))


class Crawlers:
    """crawlerdetect's answer to ``is_crawler``: its exclusions removed from the agent, then
    whether one of its patterns (matched without regard to case) is found in what is left."""

    def __init__(self) -> None:
        from crawlerdetect.providers.crawlers import data as patterns

        self.patterns: list[str] = patterns
        self.rules = _rules("crawlers", patterns)
        self.compiled: dict[int, re.Pattern[str]] = {}

    def is_crawler(self, user_agent: str) -> bool:
        from crawlerdetect.crawlerdetect import get_compiled_crawler_regex, get_compiled_exclusions_regex

        agent = get_compiled_exclusions_regex().sub("", user_agent.strip())
        if not agent:
            return False
        if self.rules is None or not agent.isascii():
            return get_compiled_crawler_regex().search(agent) is not None
        return any(
            self._pattern(position).search(agent)
            for position in _candidates(self.rules, agent, agent.lower())
        )

    def _pattern(self, position: int) -> re.Pattern[str]:
        pattern = self.compiled.get(position)
        if pattern is None:
            pattern = self.compiled[position] = re.compile(self.patterns[position], re.IGNORECASE)
        return pattern


@lru_cache(maxsize=1)
def crawlers() -> Crawlers:
    return Crawlers()
