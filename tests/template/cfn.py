"""Reading a CloudFormation template in tests: intrinsic references, parameter resolution, S3 packaging.

Not a CloudFormation engine: just enough to follow Ref / Fn::GetAtt / Fn::Sub to the logical ids they
name, and to turn a function's Environment into the strings Lambda would see (parameters at their
defaults, resources as recognisable placeholders).
"""

from __future__ import annotations

import copy
import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ARTIFACT_BUCKET = "zsb-artifacts"
_SUB_VAR = re.compile(r"\$\{([A-Za-z0-9_.:]+)\}")


def refs(value: Any) -> set[str]:
    """Logical ids (resources or parameters) that a value references through Ref, GetAtt or Sub."""
    found: set[str] = set()
    if isinstance(value, dict):
        if "Ref" in value and isinstance(value["Ref"], str):
            found.add(value["Ref"])
        if "Fn::GetAtt" in value:
            target = value["Fn::GetAtt"]
            found.add(target[0] if isinstance(target, list) else target.split(".")[0])
        if "Fn::Sub" in value:
            sub = value["Fn::Sub"]
            text, mapping = (sub[0], sub[1]) if isinstance(sub, list) else (sub, {})
            for name in _SUB_VAR.findall(text):
                if name not in mapping and not name.startswith("AWS::"):
                    found.add(name.split(".")[0])
            found |= refs(mapping)
        for key, item in value.items():
            if key not in ("Ref", "Fn::GetAtt", "Fn::Sub"):
                found |= refs(item)
    elif isinstance(value, list):
        for item in value:
            found |= refs(item)
    return found


def as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def resources_of_type(template: dict[str, Any], type_: str) -> dict[str, dict[str, Any]]:
    return {name: res for name, res in template["Resources"].items() if res["Type"] == type_}


def parameter_default(template: dict[str, Any], name: str, overrides: dict[str, str] | None = None) -> str:
    if overrides and name in overrides:
        return overrides[name]
    return str(template["Parameters"][name]["Default"])


def resolve_env(template: dict[str, Any], variables: dict[str, Any],
                overrides: dict[str, str] | None = None) -> dict[str, str]:
    """Environment as Lambda would see it: parameters at their defaults (or overrides), a resource
    reference as a placeholder string naming the resource, e.g. 'resource:BlocksTable'."""
    resolved: dict[str, str] = {}
    for key, value in variables.items():
        if isinstance(value, str):
            resolved[key] = value
        elif isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in template.get("Parameters", {}):
            resolved[key] = parameter_default(template, value["Ref"], overrides)
        else:
            names = refs(value)
            assert names and names <= set(template["Resources"]), f"{key}: cannot resolve {value!r}"
            resolved[key] = "resource:" + "+".join(sorted(names))
    return resolved


def packaged(sam: dict[str, Any]) -> dict[str, Any]:
    """What `sam package` / `aws cloudformation package` do: local CodeUri/ContentUri -> S3 URIs."""
    out = copy.deepcopy(sam)
    for res in out["Resources"].values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str) and not props[key].startswith("s3://"):
                props[key] = f"s3://{ARTIFACT_BUCKET}/{artifact_key(props[key])}"
    return out


def artifact_key(local_path: str) -> str:
    return local_path.strip("/") + ".zip"


def local_artifacts(sam: dict[str, Any]) -> dict[str, str]:
    """S3 key -> the local directory the template points at (CodeUri / ContentUri)."""
    found = {}
    for res in sam["Resources"].values():
        props = res.get("Properties", {})
        for key in ("CodeUri", "ContentUri"):
            if isinstance(props.get(key), str):
                found[artifact_key(props[key])] = props[key]
    return found


def table_shapes() -> dict[str, dict[str, Any]]:
    """Every table shape in adapters/tables.py, by the logical id the template gives it
    (RATE_LIMIT_TABLE -> RateLimitTable)."""
    from spam_blocker.adapters import tables

    shapes = {}
    for attr, value in vars(tables).items():
        if attr.endswith("_TABLE") and isinstance(value, dict) and "KeySchema" in value:
            logical = "".join(word.capitalize() for word in attr.split("_")[:-1]) + "Table"
            shapes[logical] = value
    return shapes
