"""Reading ``template.yaml``: CloudFormation short tags and SAM's ``Globals`` merging.

PyYAML does not know ``!Ref`` and friends, so the loader turns every short tag into the long
form CloudFormation itself uses (``!GetAtt A.Arn`` -> ``{"Fn::GetAtt": ["A", "Arn"]}``); the
rest of the package then only deals with one representation. Globals are merged with the
algorithm of the SAM translator (``samtranslator.plugins.globals``) so a function sees exactly
the properties it gets when deployed.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# Short tag -> long form. ``!Ref`` and ``!Condition`` are not ``Fn::`` functions.
_SHORT_TAGS = {
    "Ref": "Ref",
    "Condition": "Condition",
    "GetAtt": "Fn::GetAtt",
    "Sub": "Fn::Sub",
    "If": "Fn::If",
    "Not": "Fn::Not",
    "Equals": "Fn::Equals",
}

SERVERLESS_FUNCTION = "AWS::Serverless::Function"
# Resource type -> its section of SAM's ``Globals``.
_GLOBALS_SECTIONS = {
    SERVERLESS_FUNCTION: "Function",
    "AWS::Serverless::HttpApi": "HttpApi",
    "AWS::Serverless::Api": "Api",
    "AWS::Serverless::SimpleTable": "SimpleTable",
    "AWS::Serverless::LayerVersion": "LayerVersion",
    "AWS::Serverless::StateMachine": "StateMachine",
}

# The repository's template: theeye_local/ sits next to it.
DEFAULT_TEMPLATE = Path(__file__).resolve().parent.parent / "template.yaml"


class TemplateError(ValueError):
    """The template uses something the local stack cannot reproduce, or is malformed."""


# libyaml's parser when PyYAML was built with it (its wheels are): the same documents, parsed
# several times faster than by the pure-Python reader.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CloudFormationLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that knows the short tags and keeps dates as text (CloudFormation does)."""


# CloudFormation reads ``2012-10-17`` as a string; YAML 1.1 would make it a date.
_CloudFormationLoader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _construct_short_tag(loader: _CloudFormationLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    long_name = _SHORT_TAGS.get(suffix)
    if long_name is None:
        raise TemplateError(f"unknown CloudFormation tag !{suffix} at {node.start_mark}")
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if long_name == "Fn::GetAtt":
            logical_id, _, attribute = str(value).partition(".")
            value = [logical_id, attribute]
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    elif isinstance(node, yaml.MappingNode):
        value = loader.construct_mapping(node, deep=True)
    else:  # pragma: no cover - PyYAML has no other node kinds
        raise TemplateError(f"unsupported node for !{suffix} at {node.start_mark}")
    return {long_name: value}


_CloudFormationLoader.add_multi_constructor("!", _construct_short_tag)


@dataclass(frozen=True)
class Template:
    """A parsed template and the directory its relative paths (``CodeUri``...) start from."""

    path: Path
    body: Mapping[str, Any]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def parameters(self) -> Mapping[str, Any]:
        return self.body.get("Parameters") or {}

    @property
    def conditions(self) -> Mapping[str, Any]:
        return self.body.get("Conditions") or {}

    @property
    def resources(self) -> Mapping[str, Mapping[str, Any]]:
        resources = self.body.get("Resources")
        if not isinstance(resources, Mapping) or not resources:
            raise TemplateError(f"{self.path} has no Resources")
        return resources

    def resource_type(self, logical_id: str) -> str:
        resource = self.resources.get(logical_id)
        if resource is None:
            raise TemplateError(f"{self.path} has no resource {logical_id!r}")
        return str(resource.get("Type", ""))

    def of_type(self, *types: str) -> Iterator[tuple[str, Mapping[str, Any]]]:
        """``(logical id, resource)`` of every resource of one of ``types``, in template order."""
        for logical_id, resource in self.resources.items():
            if resource.get("Type") in types:
                yield logical_id, resource

    def included(self, logical_id: str, condition: Callable[[str], bool]) -> bool:
        """False when the resource has a ``Condition`` that ``condition`` evaluates to false."""
        name = self.resources[logical_id].get("Condition")
        return name is None or condition(str(name))

    def properties(self, logical_id: str) -> dict[str, Any]:
        """A resource's Properties, with its ``Globals`` section (``Function``, ``HttpApi``...) merged in."""
        resource = self.resources[logical_id]
        return self.with_globals(str(resource.get("Type", "")), resource.get("Properties") or {})

    def with_globals(self, resource_type: str, properties: Mapping[str, Any]) -> dict[str, Any]:
        """``properties`` of a resource of ``resource_type`` merged with the matching Globals."""
        section = _GLOBALS_SECTIONS.get(resource_type)
        globals_ = ((self.body.get("Globals") or {}).get(section) or {}) if section else {}
        merged = merge_globals(globals_, dict(properties))
        assert isinstance(merged, dict)
        return merged


def load_template(path: Path | str = DEFAULT_TEMPLATE) -> Template:
    """Parse ``path`` (YAML or JSON) into a :class:`Template` with long-form intrinsics."""
    template_path = Path(path).resolve()
    with template_path.open(encoding="utf-8") as stream:
        try:
            body = yaml.load(stream, Loader=_CloudFormationLoader)  # noqa: S506 - SafeLoader subclass
        except yaml.YAMLError as exc:
            raise TemplateError(f"{template_path} is not valid YAML: {exc}") from None
    if not isinstance(body, dict):
        raise TemplateError(f"{template_path} is not a CloudFormation template")
    return Template(path=template_path, body=body)


def is_intrinsic(value: Any) -> bool:
    """True for ``{"Ref": ...}`` / ``{"Fn::X": ...}`` / ``{"Condition": ...}`` one-key maps."""
    if not isinstance(value, Mapping) or len(value) != 1:
        return False
    (key,) = value.keys()
    return key in ("Ref", "Condition") or str(key).startswith("Fn::")


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """Merge a Globals value with a resource's own, as the SAM translator does.

    Maps merge key by key (the resource wins on conflicts, recursively), lists concatenate
    with the Globals entries first (so ``Layers`` gets the global layers, then the function's),
    and anything else - scalars, intrinsics, mismatched kinds - is taken from the resource.
    """
    if _is_plain_map(global_value) and _is_plain_map(local_value):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return [*global_value, *local_value]
    return local_value


def _is_plain_map(value: Any) -> bool:
    return isinstance(value, Mapping) and not is_intrinsic(value)
