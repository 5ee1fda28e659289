"""template.yaml as CloudFormation receives it, translated by the SAM CLI's own samtranslator.

What a function may do is decided by the ``AWS::IAM::Role`` SAM generates for it (policy
templates expanded, managed policies added for ``Tracing`` and event sources), so the
permission tests read the translation, not the SAM source.

The translator runs in the SAM CLI's virtualenv (``.venv-sam``, made by ``make venv``): it is
the very version ``sam build`` and ``sam deploy`` use, and it cannot live in ``.venv``, since
aws-sam-translator 1.115.0 requires pydantic ~=2.13.3 while the runtime layer pins pydantic
2.14.3 (pip reports the two as impossible to install together).
"""

from __future__ import annotations

import json
import subprocess
from functools import cache
from pathlib import Path
from typing import Final

from theeye_local.template import DEFAULT_TEMPLATE, Template

ROOT: Final = Path(__file__).resolve().parents[1]
SAM_PYTHON: Final = ROOT / ".venv-sam" / "bin" / "python"
REGION: Final = "us-east-1"

# Run by .venv-sam's Python: argv = template path, region. As `sam validate` does, local paths
# become S3 URIs first, because the translator accepts nothing else; no AWS call is made.
_TRANSLATE: Final = """
import json, sys
import boto3
from samtranslator.parser.parser import Parser
from samtranslator.translator.translator import Translator
from samtranslator.yaml_helper import yaml_parse

with open(sys.argv[1], encoding="utf-8") as stream:
    sam = yaml_parse(stream.read())
sections = [sam.get("Globals", {}).get("Function", {})]
sections += [resource.get("Properties", {}) for resource in sam["Resources"].values()]
# The translator accepts only the S3 locations `sam package` writes; the code itself plays no
# part in the roles read from the output, so local paths become the location they would get.
for properties in sections:
    for key in ("CodeUri", "ContentUri"):
        if isinstance(properties.get(key), str):
            properties[key] = "s3://theeye-packaged-code/" + properties[key].strip("./") + ".zip"
translator = Translator(None, Parser(), boto_session=boto3.session.Session(region_name=sys.argv[2]))
print(json.dumps(translator.translate(sam, parameter_values={}, get_managed_policy_map=dict)))
"""


class TranslationError(RuntimeError):
    """The SAM translator is missing or rejected the template."""


@cache
def translated_template(path: Path = DEFAULT_TEMPLATE) -> Template:
    """``path`` translated to plain CloudFormation (cached: a translation takes about a second)."""
    if not SAM_PYTHON.exists():
        raise TranslationError(f"{SAM_PYTHON} is missing: `make venv` creates the SAM CLI's virtualenv")
    done = subprocess.run(
        [str(SAM_PYTHON), "-c", _TRANSLATE, str(path), REGION],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise TranslationError(f"samtranslator failed on {path}:\n{done.stderr.strip()}")
    return Template(path=path, body=json.loads(done.stdout))
