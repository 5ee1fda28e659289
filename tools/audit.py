"""pip-audit that never reports a pass for what it could not audit.

    python tools/audit.py --pip-audit .venv-check/bin/pip-audit [--allow-unreachable] -- -r requirements.txt

Runs ``pip-audit -f json`` with the arguments after ``--`` and reads every dependency it lists:
audited (with or without known vulnerabilities) or skipped (``skip_reason``: pip-audit prints
"No known vulnerabilities found" even when it could audit none). Prints what was audited, what
is vulnerable and ``not audited: N of M``, and exits

* 1 when a dependency is vulnerable;
* 1 when one could not be audited - unless ``--allow-unreachable`` is given *and* the
  vulnerability service (PyPI's JSON API, what pip-audit asks by default) cannot answer from
  here for a dependency it skipped (a package index stand-in may answer for some names and not
  for our pins: the probe asks for the skipped pin itself), in which case the run says so and
  exits 0;
* 0 when every dependency was audited and none is vulnerable.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Final

SERVICE_PROBE: Final = "https://pypi.org/pypi/{name}/{version}/json"
SERVICE_PROJECT_PROBE: Final = "https://pypi.org/pypi/{name}/json"
PROBE_TIMEOUT_SECONDS: Final = 5


@dataclass
class Audit:
    audited: list[str] = field(default_factory=list)
    vulnerable: dict[str, list[str]] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return len(self.audited) + len(self.skipped)

    @classmethod
    def from_report(cls, report: dict[str, Any]) -> Audit:
        audit = cls()
        for dependency in report.get("dependencies", []):
            reason = str(dependency.get("skip_reason") or "")
            # pip-audit gives a skipped dependency no version; its reason ends "name (version)"
            stated = re.search(r"\(([^()\s]+)\)\s*$", reason)
            version = dependency.get("version") or (stated.group(1) if stated else "?")
            name = f"{dependency.get('name')}=={version}"
            if reason:
                audit.skipped[name] = str(dependency["skip_reason"])
                continue
            audit.audited.append(name)
            vulns = [str(v.get("id")) for v in dependency.get("vulns", [])]
            if vulns:
                audit.vulnerable[name] = vulns
        return audit


def probe_url(dependency: str) -> str:
    """The service's page of one pin, ``name==version`` (of the project when pip-audit did not
    report the version of what it skipped)."""
    name, _, version = dependency.partition("==")
    if version in ("", "?"):
        return SERVICE_PROJECT_PROBE.format(name=name)
    return SERVICE_PROBE.format(name=name, version=version)


def service_reachable(dependency: str) -> bool:
    """Whether the vulnerability service answers for this pin (which pip did install)."""
    try:
        url = probe_url(dependency)  # always https://pypi.org/...
        with urllib.request.urlopen(url, timeout=PROBE_TIMEOUT_SECONDS) as answer:  # noqa: S310
            return bool(answer.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def verdict(
    audit: Audit, *, allow_unreachable: bool, reachable: Callable[[str], bool]
) -> tuple[int, list[str]]:
    """The exit status and the lines to print."""
    lines = [f"audited: {len(audit.audited)} of {audit.total}"]
    for name, ids in sorted(audit.vulnerable.items()):
        lines.append(f"VULNERABLE {name}: {', '.join(ids)}")
    status = 1 if audit.vulnerable else 0
    if audit.skipped:
        reasons = sorted(set(audit.skipped.values()))
        lines.append(f"not audited: {len(audit.skipped)} of {audit.total} ({'; '.join(reasons)[:300]})")
        sample = min(audit.skipped)
        if allow_unreachable and not reachable(sample):
            lines.append(
                f"allowed: the vulnerability service cannot answer from here ({probe_url(sample)} did not)"
            )
        else:
            lines.append("FAILED: dependencies that were not audited are not a pass")
            status = 1
    elif audit.total == 0:
        lines.append("FAILED: pip-audit listed no dependency at all")
        status = 1
    return status, lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pip-audit", default="pip-audit", help="the pip-audit executable")
    parser.add_argument("--allow-unreachable", action="store_true")
    parser.add_argument("arguments", nargs=argparse.REMAINDER, help="-- then pip-audit's own arguments")
    options = parser.parse_args(argv)
    arguments = [a for a in options.arguments if a != "--"]
    done = subprocess.run(
        [options.pip_audit, "-f", "json", "--progress-spinner", "off", *arguments],
        capture_output=True,
        text=True,
        check=False,
    )
    try:
        report = json.loads(done.stdout or "{}")
    except ValueError:
        report = {}
    if not report.get("dependencies") and done.returncode != 0:
        print(done.stderr.strip()[-2000:], file=sys.stderr)
        print("not audited: pip-audit itself failed (see above)")
        return 1
    status, lines = verdict(
        Audit.from_report(report), allow_unreachable=options.allow_unreachable, reachable=service_reachable
    )
    print("\n".join(lines))
    return status


if __name__ == "__main__":
    raise SystemExit(main())
