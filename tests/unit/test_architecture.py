"""The seam between the use cases and storage stays narrow: checked on the import graph.

* The domain package and the use cases import the ports, never an adapter (``theeye.aws``,
  ``theeye.sqlite``), the AWS SDK or ``sqlite3``.
* Only ``theeye.wiring`` chooses a backend; handlers ask it and import no adapter.
* No function imports another function's package (each ships alone behind its own role).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

FUNCTIONS = Path(__file__).parents[2] / "functions"
FUNCTION_PACKAGES = ("admin", "feeder", "ingest", "processor", "query", "sweep")
ADAPTERS = ("theeye.aws", "theeye.sqlite", "boto3", "botocore", "sqlite3")


def imports(path: Path) -> set[str]:
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def modules(*patterns: str) -> list[Path]:
    return sorted(p for pattern in patterns for p in FUNCTIONS.glob(pattern))


def uses_adapter(names: set[str]) -> set[str]:
    return {n for n in names if any(n == a or n.startswith(a + ".") for a in ADAPTERS)}


DOMAIN_AND_USE_CASES = [
    p
    for p in modules("theeye/*.py", "*/logic.py", "processor/batch.py")
    if p.name != "wiring.py"  # the one place that chooses the backend
]


@pytest.mark.parametrize("path", DOMAIN_AND_USE_CASES, ids=lambda p: str(p.relative_to(FUNCTIONS)))
def test_the_domain_and_the_use_cases_depend_only_on_ports(path: Path) -> None:
    assert uses_adapter(imports(path)) == set()


@pytest.mark.parametrize("path", modules("*/handler.py"), ids=lambda p: str(p.relative_to(FUNCTIONS)))
def test_handlers_take_their_collaborators_from_the_wiring(path: Path) -> None:
    names = imports(path)
    assert uses_adapter(names) == set()
    assert "theeye.wiring" in names


@pytest.mark.parametrize("package", FUNCTION_PACKAGES)
def test_no_function_imports_another_function(package: str) -> None:
    others = tuple(p for p in FUNCTION_PACKAGES if p != package)
    for path in modules(f"{package}/*.py"):
        crossing = {n for n in imports(path) if n.split(".")[0] in others}
        assert crossing == set(), f"{path.relative_to(FUNCTIONS)} imports {crossing}"


def test_nothing_but_the_aws_package_builds_aws_clients() -> None:
    for path in modules("**/*.py"):
        if "aws" in path.relative_to(FUNCTIONS).parts[:2]:
            continue
        text = path.read_text(encoding="utf-8")
        assert "aws.client(" not in text and "boto3." not in text, path


def test_every_function_package_is_held_to_these_rules() -> None:
    """A new function's package is checked too: every package with a handler is listed."""
    assert {p.parent.name for p in modules("*/handler.py")} == set(FUNCTION_PACKAGES)
