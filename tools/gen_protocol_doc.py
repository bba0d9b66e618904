"""Generate docs/protocol.md: every message that crosses a process boundary, from the sources the code uses.

Off-chain messages come from the JSON Schemas the code validates against (offchain/protocol/schemas); on-chain
calls and events from Ape's compiled ABIs (.build/__local__.json, `ape compile`), with each contract's `version`
and constants read from its Solidity source. A contract's functions and events are listed when the workers'
code (offchain/, scripts/) names them; the dispute moves (VerdeReferee and the Verde move contracts its fallback
serves) are listed whole, so the section follows the contracts as they change.

    .venv/bin/python tools/gen_protocol_doc.py           # rewrite docs/protocol.md
    .venv/bin/python tools/gen_protocol_doc.py --check   # exit 1 if docs/protocol.md is stale

tests/protocol/test_protocol_doc.py asserts the file equals this output.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from offchain import protocol  # noqa: E402
from tools import generated  # noqa: E402

OUT = ROOT / "docs" / "protocol.md"
BUILD = ROOT / ".build" / "__local__.json"
WORKER_CODE = ("offchain", "scripts")
CONTRACTS = ("IdentityRegistry", "SwarmCoordinator", "JobMarket", "Crowdfund")  # calls the workers make
REFEREE = "VerdeReferee"  # the dispute moves: this and the contracts/verde/Verde* facets, listed whole
OFFCHAIN = (  # (schema, what crosses, between whom)
    ("swarm-envelope", "gossip record", "swarm node -> hivemind DHT -> swarm nodes"),
    ("swarm-rollouts", "gossip body", "inside a swarm envelope of kind `rollouts`"),
    ("swarm-critiques", "gossip body", "inside a swarm envelope of kind `critiques`"),
    ("job-spec", "file", "requester -> `ape run job` / `ape run challenge` (its specHash goes on chain)"),
)
_SKIP = re.compile(r"^(grantRole|revokeRole|renounceRole|getRoleAdmin|hasRole|DEFAULT_ADMIN_ROLE|Role\w+)$")


# ------------------------------------------------------------ off-chain: schemas


def _constraints(node: dict[str, Any]) -> str:
    out = []
    for key, fmt in (
        ("const", "= {}"),
        ("enum", "one of {}"),
        ("minimum", ">= {}"),
        ("maximum", "<= {}"),
        ("minItems", "items >= {}"),
        ("maxItems", "items <= {}"),
        ("minLength", "chars >= {}"),
        ("maxLength", "chars <= {}"),
        ("maxProperties", "entries <= {}"),
        ("pattern", "matches `{}`"),
        ("format", "format {}"),
        ("default", "default {}"),
    ):
        if key in node:
            value = node[key]
            out.append(fmt.format(json.dumps(value) if key in ("const", "enum", "default") else value))
    if "propertyNames" in node:
        out.append(f"keys: {_constraints(node['propertyNames'])}")
    return ", ".join(out)


def _rows(node: dict[str, Any], path: str) -> list[tuple[str, str, str, str]]:
    kind = node.get("type", "const" if "const" in node else "enum" if "enum" in node else "")
    rows = [(path, kind, _constraints(node), node.get("description", ""))] if path else []
    for name, child in node.get("properties", {}).items():
        rows += _rows(child, f"{path}.{name}" if path else name)
    if isinstance(node.get("items"), dict):
        rows += _rows(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        rows += _rows(node["additionalProperties"], f"{path}{{key}}")
    return rows


def _schema_section(name: str, what: str, route: str) -> list[str]:
    s = protocol.schema(name)
    lines = [f"### `{name}` (version {s['x-version']}): {s['title']}", ""]
    lines += [f"{what}; {route}. {s['description']}", ""]
    limits = [f"required: {', '.join(f'`{r}`' for r in s['required'])}"] if s.get("required") else []
    if s.get("additionalProperties") is False:
        limits.append("no other fields")
    if "x-max-bytes" in s:
        limits.append(f"at most {s['x-max-bytes']} bytes encoded")
    lines += [f"Limits: {'; '.join(limits)}.", ""] if limits else []
    lines += ["| field | type | limits | meaning |", "|---|---|---|---|"]
    for path, kind, limit, desc in _rows(s, ""):
        limit = limit.replace("|", "\\|")  # a regex alternation inside a table cell
        lines.append(f"| `{path}` | {kind} | {limit} | {desc} |")
    lines.append("")
    if s.get("x-invariants"):
        lines += ["Checked in code beyond the schema:", ""] + [f"* {i}" for i in s["x-invariants"]] + [""]
    lines += [
        f"<details><summary>offchain/protocol/schemas/{name}.schema.json</summary>",
        "",
        "```json",
        json.dumps(s, indent=2),
        "```",
        "",
        "</details>",
        "",
    ]
    return lines


# ------------------------------------------------------------ on-chain: ABIs


def _worker_names() -> set[str]:
    names: set[str] = set()
    for folder in WORKER_CODE:
        for path in sorted((ROOT / folder).rglob("*.py")):
            text = path.read_text()
            names |= set(re.findall(r"\.([A-Za-z_]\w*)\b", text))
            names |= set(re.findall(r"[\"']([A-Za-z_]\w*)[\"']", text))
    return names


def _sig(item: dict[str, Any]) -> str:
    def arg(a: dict[str, Any]) -> str:
        typ = a.get("internalType", a["type"]).replace("contract ", "").replace("struct ", "")
        return f"{typ}{' indexed' if a.get('indexed') else ''} {a.get('name', '')}".strip()

    out = f"{item['name']}({', '.join(arg(a) for a in item.get('inputs', []))})"
    if item["type"] == "function":
        if item.get("stateMutability") in ("view", "pure", "payable"):
            out += f" {item['stateMutability']}"
        if item.get("outputs"):
            out += f" returns ({', '.join(arg(a) for a in item['outputs'])})"
    return out


def _constants(source_ids: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    texts = [(ROOT / s).read_text() for s in source_ids if (ROOT / s).is_file()]
    for text in texts:
        for name, value in re.findall(r"\bconstant\s+(?:override\s+)?([A-Za-z_]\w*)\s*=\s*([^;]+);", text):
            found.setdefault(name, f"`{' '.join(value.split())}`")
        for name in re.findall(r"\bimmutable\s+(?:override\s+)?_?([A-Za-z_]\w*)\s*;", text):
            found.setdefault(name, "set at deployment")
    return found


def _contract_section(name: str, ct: dict[str, Any], used: set[str] | None, sources: list[str]) -> list[str]:
    abi = [a for a in ct["abi"] if a.get("name") and not _SKIP.match(a["name"])]
    consts = _constants(sources)
    version = consts.get("version", "(none)").strip("`")
    lines = [f"### {name} (`{ct['sourceId']}`, version {version})", ""]
    limits = [
        f"`{a['name']}` = {consts.get(a['name'], 'see the source')}"
        for a in abi
        if a["type"] == "function" and not a["inputs"] and re.fullmatch(r"[A-Z][A-Z0-9_]*", a["name"])
    ]
    if limits:
        lines += [f"Constants: {', '.join(limits)}.", ""]
    for kind, title in (("function", "Calls"), ("event", "Events")):
        items = [a for a in abi if a["type"] == kind]
        if used is not None:
            items = [a for a in items if a["name"] in used]
        elif kind == "function":  # dispute moves: every state-changing call
            items = [a for a in items if a.get("stateMutability") not in ("view", "pure")]
        if items:
            lines += [f"{title}:", "", "```solidity"] + [_sig(a) for a in sorted(items, key=_sig)] + ["```", ""]
    return lines


def _onchain() -> list[str]:
    if not BUILD.is_file():
        raise FileNotFoundError(f"{BUILD} is missing: run `.venv/bin/ape compile` first")
    types = json.loads(BUILD.read_text())["contractTypes"]
    used = _worker_names()
    lines = ["## On chain", ""]
    lines += [
        "Contract calls and events the workers' code (offchain/, scripts/) uses, from the compiled ABIs; "
        "AccessControl's role functions are left out. Each contract states its version (`version()`).",
        "",
    ]
    for name in CONTRACTS:
        lines += _contract_section(name, types[name], used, [types[name]["sourceId"]])
    types = {n: t for n, t in types.items() if (ROOT / t["sourceId"]).is_file()}  # .build keeps deleted ones
    referee_calls = {a["name"] for a in types[REFEREE]["abi"] if a["type"] == "function"}
    facets = sorted(  # the Verde contracts with calls the referee's own ABI lacks (served by its fallback)
        n
        for n, t in types.items()
        if t["sourceId"].startswith("contracts/verde/Verde") and n != REFEREE
        and {a["name"] for a in t["abi"] if a["type"] == "function"} - referee_calls
    )  # fmt: skip
    lines += [
        "## Dispute moves",
        "",
        f"Every state-changing call and every event of {REFEREE}"
        + (f" and of the move contracts its fallback serves at its address ({', '.join(facets)})" if facets else "")
        + ": the Verde dispute game (docs/verde.md).",
        "",
    ]
    base = [t["sourceId"] for n, t in types.items() if n.startswith(REFEREE)]
    lines += _contract_section(REFEREE, types[REFEREE], None, [types[REFEREE]["sourceId"], *base])
    for name in facets:
        lines += _contract_section(name, types[name], None, [types[name]["sourceId"], *base])
    return lines


# ------------------------------------------------------------ the page


def render() -> str:
    lines = [
        "# Protocol: every message that crosses a process boundary",
        "",
        "<!-- GENERATED by tools/gen_protocol_doc.py from offchain/protocol/schemas and .build; do not edit. -->",
        "",
        "Each message has a version and a schema. Off chain the schemas are the JSON Schema files the code "
        "validates against (`offchain.protocol.validate`): gossip envelopes and bodies in "
        "offchain/swarm/payloads.py, job specs in offchain/verde/job.py. Every payload carries its version: "
        "a gossip envelope its signed `v` (which also versions the body inside), a job spec its `version` "
        "(a spec without one is read as version 1). Integers are JSON numbers written without fraction or "
        "exponent; `format: float` numbers are written with one (`1.0`, never `1`).",
        "",
        "Regenerate with `.venv/bin/python tools/gen_protocol_doc.py` (after `ape compile`); "
        "tests/protocol/test_protocol_doc.py fails when this page is stale.",
        "",
        "## Off chain",
        "",
        "| schema | version | what | route |",
        "|---|---|---|---|",
    ]
    for name, what, route in OFFCHAIN:
        lines.append(f"| [`{name}`](#{name}) | {protocol.schema(name)['x-version']} | {what} | {route} |")
    lines.append("")
    assert sorted(n for n, _, _ in OFFCHAIN) == protocol.names(), "a schema is missing from OFFCHAIN"
    for name, what, route in OFFCHAIN:
        lines += _schema_section(name, what, route)
    lines += _onchain()
    return "\n".join(lines).rstrip() + "\n"


def main() -> int:
    return generated.main(OUT, render, __doc__.splitlines()[0], "tools/gen_protocol_doc.py")


if __name__ == "__main__":
    raise SystemExit(main())
