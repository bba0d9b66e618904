"""Writes result-schemas.json: the OpenRPC result schema of every method a speconly test calls, dereferenced the way
execution-apis' `specgen -deref` does it (the openrpc.json hive's rpc-compat validates speconly responses against).

    git -C /work/.mirror/ethereum+execution-apis/repo archive <commit> src | tar -x -C /tmp/ea
    .venv/bin/python tests/vectors/execution-apis/derive_result_schemas.py /tmp/ea --commit <commit>

openrpc.json is a build output that execution-apis does not commit, and building it takes Go (tools/specgen); this is
a port of that tool's two steps that matter for result schemas (tools/internal/specgen/dereference.go and
mergeallof.go), so the file can be remade offline from the YAML sources with PyYAML.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parents[2]))

from rollup.conformance import load_cases  # noqa: E402

# The folders hive's Dockerfile hands to specgen.
SCHEMA_DIRS = ("src/schemas", "src/engine/openrpc/schemas")
METHOD_DIRS = ("src/eth", "src/debug", "src/txpool", "src/engine/openrpc/methods", "src/testing")
REF_PREFIX = "#/components/schemas/"


class Yaml12Loader(yaml.SafeLoader):
    """go-yaml v3 reads YAML 1.2: only true/false are booleans and no scalar becomes a date; PyYAML's 1.1 rules
    would turn an enum value such as `on` or `no` into a bool."""


Yaml12Loader.yaml_implicit_resolvers = {
    first: [(tag, rx) for tag, rx in resolvers if tag not in ("tag:yaml.org,2002:bool", "tag:yaml.org,2002:timestamp")]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
Yaml12Loader.add_implicit_resolver("tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
                                   list("tTfF"))  # fmt: skip


def load_yaml(path: Path):
    return yaml.load(path.read_text(), Loader=Yaml12Loader)  # noqa: S506 - a SafeLoader subclass


def dereference(value, types: dict, visiting: frozenset = frozenset()):
    """dereference.go: every `$ref` replaced by its schema, sibling keys of the `$ref` winning; a cycle refused."""
    if isinstance(value, list):
        return [dereference(v, types, visiting) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: dereference(v, types, visiting) for k, v in value.items() if k != "$ref"}
    ref = value.get("$ref")
    if isinstance(ref, str):
        if not ref.startswith(REF_PREFIX):
            raise ValueError(f"unsupported $ref {ref!r}")
        name, _, pointer = ref[len(REF_PREFIX) :].partition("/")
        if name not in types:
            raise ValueError(f"$ref {ref!r}: schema not found")
        if pointer:
            node = types[name]
            for part in pointer.split("/"):
                node = node[int(part)] if isinstance(node, list) else node[part.replace("~1", "/").replace("~0", "~")]
            base = dereference(node, types, visiting)
        else:
            if name in visiting:
                raise ValueError(f"$ref {ref!r}: cycle detected")
            base = dereference(types[name], types, visiting | {name})
        for k, v in base.items():
            out.setdefault(k, v)
    return out


def merge_all_of(value):
    """mergeallof.go: each `allOf` folded into its object (properties united, required merged and sorted, the
    object's own keys winning)."""
    if isinstance(value, list):
        return [merge_all_of(v) for v in value]
    if not isinstance(value, dict):
        return value
    out = {k: merge_all_of(v) for k, v in value.items() if k != "allOf"}
    for sub in value.get("allOf", []):
        src = merge_all_of(sub)
        if isinstance(src.get("properties"), dict):
            props = out.setdefault("properties", {})
            for k, v in src["properties"].items():
                props.setdefault(k, v)
        if isinstance(src.get("required"), list):
            req = list(out.get("required", []))
            req += [r for r in src["required"] if r not in req]
            if req:
                out["required"] = sorted(req)
        for k, v in src.items():
            if k not in ("properties", "required"):
                out.setdefault(k, v)
    return out


def result_schemas(src: Path, wanted: set[str]) -> dict[str, dict]:
    raw_types: dict = {}
    for folder in SCHEMA_DIRS:
        for path in sorted((src / folder).rglob("*.yaml")):
            raw_types.update(load_yaml(path))
    types = {name: merge_all_of(dereference(schema, raw_types)) for name, schema in raw_types.items()}
    found = {}
    for folder in METHOD_DIRS:
        for path in sorted((src / folder).rglob("*.yaml")):
            for method in load_yaml(path):
                if method["name"] in wanted and "schema" in method.get("result", {}):
                    found[method["name"]] = merge_all_of(dereference(method["result"]["schema"], types))
    missing = wanted - found.keys()
    if missing:
        raise SystemExit(f"no result schema in {src} for {sorted(missing)}")
    return dict(sorted(found.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source", type=Path, help="an execution-apis tree holding src/")
    ap.add_argument("--commit", required=True, help="the execution-apis commit the tree is, recorded in the output")
    ap.add_argument("--out", type=Path, default=HERE / "result-schemas.json")
    args = ap.parse_args()
    wanted = {m.method for case in load_cases(HERE / "tests") if case.speconly for m in case.messages if m.send}
    doc = {
        "source": f"ethereum/execution-apis {args.commit} src/ (CC0 1.0), dereferenced like specgen -deref",
        "methods": result_schemas(args.source, wanted),
    }
    args.out.write_text(json.dumps(doc, indent=1, sort_keys=True) + "\n")
    print(f"{len(doc['methods'])} result schemas -> {args.out}")


if __name__ == "__main__":
    main()
