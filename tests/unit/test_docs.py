"""The documents that describe the code are held to it: they cannot drift unnoticed."""

from __future__ import annotations

import ast
import gzip
import re
from pathlib import Path

import pytest

from theeye_local.template import load_template

ROOT = Path(__file__).resolve().parents[2]
MAPPED_ROOTS = ("functions", "theeye_local", "theeye_cli")


def code_blocks(markdown: str) -> list[list[str]]:
    return [
        block.splitlines() for block in re.findall(r"^```\n(.*?)^```$", markdown, re.MULTILINE | re.DOTALL)
    ]


def mapped_paths(markdown: str) -> list[str]:
    """Every path a module map names: each line of a map (a code block starting with one of the
    mapped folders) is indented under its folder and begins with one or more names, each ending
    in ``/`` (a folder) or ``.py`` (a module), then two or more spaces and what it is."""
    paths: list[str] = []
    for block in code_blocks(markdown):
        if not block or block[0].split("/")[0] not in MAPPED_ROOTS:
            continue
        folders: list[tuple[int, str]] = []  # (indentation, path) of the enclosing folders
        for line in block:
            indent = len(line) - len(line.lstrip(" "))
            names = re.split(r"\s{2,}", line.strip(), maxsplit=1)[0].split()
            assert names and all(n.endswith(("/", ".py")) for n in names), f"not a map line: {line!r}"
            while folders and folders[-1][0] >= indent:
                folders.pop()
            parent = folders[-1][1] if folders else ""
            for name in names:
                path = parent + name
                paths.append(path.rstrip("/"))
                if name.endswith("/"):
                    assert len(names) == 1, f"a folder has a line of its own: {line!r}"
                    folders.append((indent, path))
    return paths


def holds_code(module: Path) -> bool:
    tree = ast.parse(module.read_text(encoding="utf-8"))
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)) for node in tree.body
    )


def test_the_module_map_names_every_module_and_only_modules_that_exist() -> None:
    """docs/ARCHITECTURE.md maps every module of ``functions/``, ``theeye_local/`` and
    ``theeye_cli/`` on a line of its own, and every folder on the way: a ``.py`` file is in the
    map unless it is an ``__init__.py`` with nothing but a docstring; a path the map names must
    exist. A module added, moved or removed fails here until its line is added, moved or removed."""
    named = mapped_paths((ROOT / "docs" / "ARCHITECTURE.md").read_text(encoding="utf-8"))
    assert len(named) == len(set(named)), f"named twice: {sorted({p for p in named if named.count(p) > 1})}"
    tree = {
        str(module.relative_to(ROOT))
        for root in MAPPED_ROOTS
        for module in (ROOT / root).rglob("*.py")
        if module.name != "__init__.py" or holds_code(module)
    }
    folders = {str(Path(module).parent) for module in tree} | set(MAPPED_ROOTS)
    folders |= {
        str(parent) for folder in list(folders) for parent in Path(folder).parents if str(parent) != "."
    }
    assert sorted(tree - set(named)) == [], "modules missing from docs/ARCHITECTURE.md's map"
    assert sorted(set(named) - tree - folders) == [], "the map names what the tree does not hold"
    assert sorted(folders - set(named)) == [], "folders missing from docs/ARCHITECTURE.md's map"


DATA_MODEL = ROOT / "docs" / "DATA_MODEL.md"
INDEX = re.compile(r"`(\w+)` \(([^;)]*); ([^)]*)\)")


def backticked(text: str) -> list[str]:
    return re.findall(r"`([^`]+)`", text)


def documented_tables() -> dict[str, dict[str, object]]:
    """The first table of docs/DATA_MODEL.md: table, key, indexes (keys; projection)."""
    lines = DATA_MODEL.read_text(encoding="utf-8").splitlines()
    start = lines.index("| table | key | indexes | holds |") + 2
    tables: dict[str, dict[str, object]] = {}
    for row in lines[start:]:
        if not row.startswith("|"):
            break
        table, key, indexes, _holds = (cell.strip() for cell in row.strip("|").split("|"))
        tables[backticked(table)[0]] = {
            "key": backticked(key),
            "indexes": {
                name: (backticked(keys), "ALL" if projection == "ALL" else backticked(projection))
                for name, keys, projection in INDEX.findall(indexes)
            },
        }
    return tables


def template_tables() -> dict[str, dict[str, object]]:
    def projection(index: dict[str, dict[str, object]]) -> object:
        kept = index["Projection"]
        return "ALL" if kept["ProjectionType"] == "ALL" else kept.get("NonKeyAttributes", [])

    return {
        table_id: {
            "key": [k["AttributeName"] for k in table["Properties"]["KeySchema"]],
            "indexes": {
                index["IndexName"]: ([k["AttributeName"] for k in index["KeySchema"]], projection(index))
                for index in table["Properties"].get("GlobalSecondaryIndexes", [])
            },
        }
        for table_id, table in load_template().of_type("AWS::DynamoDB::Table")
    }


def test_the_data_models_tables_and_indexes_are_the_templates() -> None:
    """Every DynamoDB table of template.yaml is a row of docs/DATA_MODEL.md's first table, with
    its key, and every global secondary index with its key attributes and projection; and the
    row names nothing else."""
    assert documented_tables() == template_tables()


SNIPPET = ROOT / "snippet"
# Where the READMEs state the snippet's sizes, and of which file. The minified figure is exact;
# the gzipped one may differ by 1 % from what this interpreter's zlib makes at level 9, because
# snippet/build.mjs measures with Node's zlib, whose output differs by a few bytes.
SIZE_CLAIMS = [
    (
        ROOT / "README.md",
        r"`snippet/theeye.js`.*?\(([\d,]+) bytes minified, ([\d,]+) gzipped\)",
        "theeye.min.js",
    ),
    (
        SNIPPET / "README.md",
        r"`theeye.min.js` is the same code minified \(([\d,]+) bytes, ([\d,]+) gzipped\)",
        "theeye.min.js",
    ),
    (SNIPPET / "README.md", r"\ntheeye\.js +(\d+) bytes, +(\d+) gzipped", "theeye.js"),
    (SNIPPET / "README.md", r"\ntheeye\.min\.js +(\d+) bytes, +(\d+) gzipped", "theeye.min.js"),
]


@pytest.mark.parametrize(("readme", "claim", "name"), SIZE_CLAIMS)
def test_a_readme_states_the_snippets_size_as_built(readme: Path, claim: str, name: str) -> None:
    found = re.search(claim, readme.read_text(encoding="utf-8"))
    assert found is not None, f"{readme.relative_to(ROOT)} no longer states the size of {name}: {claim}"
    stated_bytes, stated_gzipped = (int(figure.replace(",", "")) for figure in found.groups())
    built = (SNIPPET / name).read_bytes()
    assert stated_bytes == len(built), f"{readme.relative_to(ROOT)}: {name} is {len(built)} bytes"
    gzipped = len(gzip.compress(built, 9))
    assert abs(stated_gzipped - gzipped) <= gzipped / 100, (
        f"{readme.relative_to(ROOT)}: {name} gzips to {gzipped}"
    )


@pytest.mark.parametrize("readme", sorted({readme for readme, _claim, _name in SIZE_CLAIMS}))
def test_every_size_a_readme_states_is_checked(readme: Path) -> None:
    text = readme.read_text(encoding="utf-8")
    checked = sum(1 for path, claim, _name in SIZE_CLAIMS if path == readme and re.search(claim, text))
    assert len(re.findall(r"[\d,]+ gzipped", text)) == checked
