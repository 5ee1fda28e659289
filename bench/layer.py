"""The runtime layer's size: its requirements installed for the Lambda platform as `sam build`
installs them (python3.11, arm64 wheels only, no Docker), for this tree and for earlier commits.

    .venv/bin/python -m bench.layer

Each requirements file (``layers/runtime/requirements.txt``, read from git for a commit) is
installed with pip into a scratch directory for manylinux2014_aarch64 and CPython 3.11; the size is
every installed file's bytes, without bytecode (Lambda compiles none in a layer), before zipping.
The data files event context reads (functions/theeye/data, written from packages that are not in
the layer) ship with the functions' code instead; their bytes are reported beside.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import ROOT, stamp

REQUIREMENTS = "layers/runtime/requirements.txt"
CONTEXT_DATA = ROOT / "functions" / "theeye" / "data"
# The commits this tree's layer is compared with.
EARLIER = {
    "without event context": "b511269",
    "event context through user-agents-ng": "769323d",
    "event context, the referer database's package in the layer": "a012b5a",
}
PIP_INSTALL = ("-m", "pip", "install", "--quiet", "--no-compile", "--only-binary=:all:")
PLATFORM = ("--platform", "manylinux2014_aarch64", "--implementation", "cp", "--python-version", "3.11")


def installed_bytes(requirements: str) -> dict[str, Any]:
    """Bytes and distributions of ``requirements`` (a requirements file's text) installed for the
    layer's platform."""
    with tempfile.TemporaryDirectory() as scratch:
        listed = Path(scratch) / "requirements.txt"
        listed.write_text(requirements)
        target = Path(scratch) / "python"
        subprocess.run(
            [sys.executable, *PIP_INSTALL, *PLATFORM, "--target", str(target), "-r", str(listed)],
            check=True,
            capture_output=True,
        )
        files = [path for path in target.rglob("*") if path.is_file() and path.suffix != ".pyc"]
        return {
            "bytes": sum(path.stat().st_size for path in files),
            "distributions": sorted(path.name.split("-")[0] for path in target.glob("*.dist-info")),
        }


def measure() -> dict[str, Any]:
    layers: dict[str, Any] = {}
    for label, commit in EARLIER.items():
        text = subprocess.run(
            ["git", "show", f"{commit}:{REQUIREMENTS}"], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        layers[label] = {"commit": commit, **installed_bytes(text)}
    layers["this tree"] = {"commit": None, **installed_bytes((ROOT / REQUIREMENTS).read_text())}
    data = sum(path.stat().st_size for path in CONTEXT_DATA.glob("*.json"))
    return stamp("python -m bench.layer", {"layers": layers, "context_data_bytes": data})


def main() -> None:
    print(json.dumps(measure(), indent=2))


if __name__ == "__main__":
    main()
