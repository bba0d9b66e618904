"""A SkipPipe run as a JobMarket job: its spec is the run's RunConfig, its checkpoints the runner's roots.

    cfg = load_spec("run.json")                       # a RunConfig as JSON (or a run's plans.json)
    spec_hash(cfg)                                    # JobParams.specHash: keccak of the spec's canonical JSON
    params = job_params(cfg, terms, now=...)          # steps = iterations, checkpointInterval = checkpoint_every
    mismatches(info, cfg)                             # how a posted job (verde.market.JobInfo) is not this config's
    roots = job_roots(run(cfg, echo=print))           # {step: root bytes}, what post_checkpoints posts

The same RunConfig gives the same roots (RepOps, a plan that is a function of the config), so the config is the
whole spec: specHash = keccak256 of the canonical JSON (sorted keys, no spaces) of

    {"kind": "skippipe-run", "version": 1, "corpus": "0x<keccak of the training text>", "config": {...}}

where config is every RunConfig field, numbers normalised (an int where a float belongs is the float: 0 and
0.0 are one config), except the two waiting limits (heartbeat_timeout_s, pg_timeout_s), which change how long a
run waits and no root. The corpus digest binds the training text the runner reads (a solver with another text
would post other roots). A SkipPipe job has no on-chain program (numOps 0, both trees zero): its disputes go to
the referee's committee (docs/market.md).

The JobMarket client itself (JobInfo, transactions, post_checkpoints) is offchain.verde.market's, which this
layer may not import (offchain.skippipe and offchain.verde are sibling layers); `ape run skippipe`
(scripts/skippipe.py) puts the two together. Nothing here touches a chain.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import asdict, fields
from pathlib import Path
from typing import Any

from offchain.commit import keccak256
from offchain.skippipe.corpus import DEFAULT_TEXT
from offchain.skippipe.model import Shape
from offchain.skippipe.runner import Coordinator, RunConfig, RunResult

SPEC_KIND = "skippipe-run"
SPEC_VERSION = 1
NOT_HASHED = ("heartbeat_timeout_s", "pg_timeout_s")  # how long a run waits; no root depends on them
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
NO_PROGRAM = (b"\x00" * 32, b"\x00" * 32, 0)  # programTree, dataTree, numOps: committee-judged


class SpecError(ValueError):
    """A spec file that is not a RunConfig; the message is one line and names the file."""


class RunNotPostable(RuntimeError):
    """A run whose roots are not the spec's (it lost a node and was re-planned); one line."""


# ---------------------------------------------------------------- the spec


def normalized(cfg: RunConfig) -> RunConfig:
    """`cfg` with every number as its field's type (0 -> 0.0 for a float field) and every node a full record
    (speed and memory filled in with the defaults RunConfig.geo uses): equal configs are equal JSON."""
    raw = asdict(cfg)
    for f in fields(RunConfig):
        if f.type == "float":
            raw[f.name] = float(raw[f.name])
    raw["nodes"] = [{"name": str(n["name"]), "region": str(n["region"]), "speed": float(n.get("speed", 1.0)),
                     "memory": int(n.get("memory", 3)), **{k: v for k, v in n.items()
                                                            if k not in ("name", "region", "speed", "memory")}}
                    for n in raw["nodes"]]  # fmt: skip
    raw["shape"] = asdict(Shape(**raw["shape"]))
    return RunConfig(**raw)


def corpus_digest(path: str | Path = DEFAULT_TEXT) -> str:
    """keccak256 of the training text's bytes, as the runner reads them (Corpus.load's default)."""
    return "0x" + keccak256(Path(path).read_bytes()).hex()


def spec_document(cfg: RunConfig) -> dict[str, Any]:
    """What specHash commits: the kind, the version, the corpus digest and the normalised config."""
    config = {k: v for k, v in asdict(normalized(cfg)).items() if k not in NOT_HASHED}
    return {"kind": SPEC_KIND, "version": SPEC_VERSION, "corpus": corpus_digest(), "config": config}


def canonical_json(doc: Any) -> str:
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False)


def spec_hash(cfg: RunConfig) -> bytes:
    """JobParams.specHash of a SkipPipe job: keccak256 of the canonical JSON of spec_document(cfg)."""
    return keccak256(canonical_json(spec_document(cfg)).encode())


def spec_json(cfg: RunConfig) -> str:
    """The spec file of `cfg` (every RunConfig field, normalised; load_spec reads it back)."""
    return json.dumps(asdict(normalized(cfg)), indent=1, sort_keys=True) + "\n"


def load_spec(path: str | Path) -> RunConfig:
    """The RunConfig of a spec file: a RunConfig's JSON (`spec_json`, `RunConfig.dumps()`), or the plans.json a
    run writes to its --out folder (its "config"). Errors are one-line SpecErrors."""
    try:
        raw = json.loads(Path(path).read_text())
    except OSError as err:
        raise SpecError(f"{path}: {err.strerror or err}") from None
    except json.JSONDecodeError as err:
        raise SpecError(f"{path}: not JSON ({err.msg} at line {err.lineno} column {err.colno})") from None
    if isinstance(raw, dict) and "config" in raw and "nodes" not in raw:
        raw = raw["config"]  # a run's plans.json
    if not isinstance(raw, dict):
        raise SpecError(f"{path}: a SkipPipe spec is a JSON object of RunConfig fields, not {type(raw).__name__}")
    known = {f.name for f in fields(RunConfig)}
    if unknown := sorted(set(raw) - known):
        raise SpecError(f"{path}: unknown RunConfig fields {unknown}")
    if "nodes" not in raw:
        raise SpecError(f"{path}: a SkipPipe spec needs its nodes")
    nodes = raw["nodes"]
    if not isinstance(nodes, list) or not all(isinstance(n, dict) and {"name", "region"} <= set(n) for n in nodes):
        raise SpecError(f"{path}: nodes must be a list of objects with a name and a region")
    if not isinstance(raw.get("shape", {}), dict):
        raise SpecError(f"{path}: shape must be an object of Shape fields")
    for f in fields(RunConfig):
        v = raw.get(f.name)
        if f.type == "int" and f.name in raw and (isinstance(v, bool) or not isinstance(v, int)):
            raise SpecError(f"{path}: {f.name} must be a whole number, not {v!r}")
        if f.type == "float" and f.name in raw and (isinstance(v, bool) or not isinstance(v, int | float)):
            raise SpecError(f"{path}: {f.name} must be a number, not {v!r}")
    try:
        return normalized(RunConfig(**raw))
    except (TypeError, ValueError) as err:
        raise SpecError(f"{path}: {str(err).splitlines()[0] if str(err) else type(err).__name__}") from None


# ---------------------------------------------------------------- the job


def job_params(cfg: RunConfig, terms: Any, *, now: int) -> tuple:
    """JobParams of `cfg` on `terms` (verde.market.Terms: payment_wei, stake_wei, num_solvers, join_s,
    complete_s, window_s), deadlines counted from `now`: a step per iteration, a checkpoint every
    checkpoint_every (the runner's checkpoints), no on-chain program."""
    return (spec_hash(cfg), cfg.iterations, cfg.checkpoint_every, terms.num_solvers, ZERO_ADDRESS, terms.payment_wei,
            terms.stake_wei, now + terms.join_s, now + terms.complete_s, terms.window_s, *NO_PROGRAM)  # fmt: skip


def mismatches(info: Any, cfg: RunConfig) -> list[str]:
    """How a posted job (verde.market.JobInfo: spec_hash, steps, interval, num_ops) differs from `cfg`'s:
    empty when it is this config's SkipPipe job."""
    out = []
    if info.num_ops != 0:
        out.append("it was posted with a Verde program: it is not a SkipPipe job")
    if info.steps != cfg.iterations:
        out.append(f"it has {info.steps} steps, the config {cfg.iterations} iterations")
    if info.interval != cfg.checkpoint_every:
        out.append(f"it takes a checkpoint every {info.interval} steps, the config every {cfg.checkpoint_every}")
    if info.spec_hash != spec_hash(cfg):
        out.append("its specHash is not this SkipPipe config's")
    return out


def run(cfg: RunConfig, *, echo: Callable[[str], None] = print, out: str | Path | None = None,
        host: str = "127.0.0.1", port: int = 0, spawn: bool = True) -> RunResult:  # fmt: skip
    """Train `cfg` with the runner: a coordinator here and, with `spawn`, one local worker process per node
    (otherwise the workers join it: `python -m offchain.skippipe worker --coordinator HOST:PORT`)."""
    echo(f"training {cfg.iterations} iterations over {len(cfg.nodes)} nodes ({cfg.mode}) with RepOps")
    return Coordinator(cfg, host=host, port=port, out=out, echo=echo).run(spawn=spawn)


def job_roots(result: RunResult) -> dict[int, bytes]:
    """The checkpoint roots to post, by step. A run that lost a node was re-planned: from then on it trained
    another schedule than the spec's, and its roots are nobody else's; it posts nothing."""
    if len(result.generations) > 1:
        at = result.generations[1]["start"] + 1
        raise RunNotPostable(f"the run lost a node and was re-planned at iteration {at}: its roots from then on are "
                             "not the config's; run it again")  # fmt: skip
    return {step: bytes.fromhex(root.removeprefix("0x")) for step, root in result.roots.items()}
