"""`make swarm NODES=4 ROUNDS=3`: a whole RL Swarm on this machine, every node its own process.

Starts anvil on 127.0.0.1 (a block a second, so the chain's clock follows the wall clock), deploys the
contract set with short stages, makes (or reuses) the warm-up checkpoint, starts node 0, publishes its
multiaddr as the coordinator's bootnode, starts the other nodes (they find each other through it), streams
their progress, and when they are done prints what the chain recorded per round: participants, votes
committed and revealed, the winner, and every node's reward commitment. Each node's folder (identity,
weights, `progress.jsonl`, `curves.png`) is kept in `out/swarm/nodes/node<i>/` (`--workdir` elsewhere) and
emptied when the next run starts: a new run is a new chain.

`--mixed` (`make swarm MIXED=1`) starts a heterogeneous swarm instead (offchain/swarm/mixed.py, the
benchmark's heterogeneous setting): node i warms its own model on the task family, width 32 or 64 by turns
(depth 2) on its own three of six tasks, and asks its own question mix (`--mix`); every warm-up is kept in
`out/swarm/warmup-<key>.pt`, the key a hash of its config, so the next run reuses it.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


# anvil funds the 10 accounts of the test mnemonic; account 0 deploys, so nodes sign with accounts 1..9.
MAX_NODES = 9


@dataclass(frozen=True)
class SwarmConfig:
    nodes: int = 4
    rounds: int = 3
    stage_s: int = 20  # seconds per stage (answer, critique, vote)
    warmup: Path = ROOT / "out" / "swarm" / "warmup.pt"  # made once, reused
    # node<i>/ folders and the run's deployments/ record; kept after the run, since progress.jsonl and curves.png
    # are what a user opens afterwards (a temporary folder deleted them as the run ended)
    workdir: Path = ROOT / "out" / "swarm" / "nodes"
    start_margin_s: float | None = None  # seconds from deployment to the first round played; None: 45 + 5 a node
    impl: str = "repops"  # what the nodes train: RepOpsGPT (reproducible bit for bit) or "native" (the torch twin)
    mixed: bool = False  # a heterogeneous swarm: per-node family warm-ups, widths and question mixes (mixed.py)
    mixed_target: float = 0.55  # a mixed node's warm-up stops at this probe accuracy over its warm mix (the bench's)
    mixed_steps: int = 1500  # or after this many steps

    def __post_init__(self) -> None:
        # Refused before the warm-up and anvil start: a node without a funded account would fail mid-swarm.
        if not 1 <= self.nodes <= MAX_NODES:
            raise ValueError(f"NODES={self.nodes}: a local swarm runs 1 to {MAX_NODES} nodes (anvil funds 10 "
                             f"accounts and account 0 deploys)")  # fmt: skip
        if self.rounds < 1 or self.stage_s < 1:
            raise ValueError(f"ROUNDS={self.rounds}, stage seconds {self.stage_s}: both must be at least 1")


def _stream(proc: subprocess.Popen, prefix: str, echo: Callable[[str], None], sink: list[str]) -> None:
    for line in proc.stdout:  # type: ignore[union-attr]
        line = line.rstrip()
        sink.append(line)
        echo(f"{prefix} {line}")


@dataclass(frozen=True)
class NodeStart:
    """What one node starts from: its warm-up checkpoint and, for a family node, its `--mix`."""

    init: Path
    mix: str | None = None
    args: tuple[str, ...] = ()  # more node options, e.g. ("--weighting", "critique")


def start_node(i: int, rpc: str, workdir: Path, cfg: SwarmConfig, deployments: Path, *, rounds: int | None = None,
               bootnodes: list[str] | None = None, start_round: int | None = None,
               start: NodeStart | None = None) -> subprocess.Popen:  # fmt: skip
    """Start node i (signing with Ape's test account i + 1) as its own process, from `start` (default:
    `cfg.warmup`, the checkpoint's own task mix)."""
    start = start or NodeStart(cfg.warmup)
    cmd = [sys.executable, "-m", "offchain.swarm", "--rpc", rpc, "--account", str(i + 1),
           "--workdir", str(workdir), "--init", str(start.init), "--deployments", str(deployments),
           "--impl", cfg.impl]  # fmt: skip
    if start.mix is not None:
        cmd += ["--mix", start.mix]
    cmd += list(start.args)
    if rounds is not None:
        cmd += ["--rounds", str(rounds)]
    if start_round is not None:
        cmd += ["--start-round", str(start_round)]
    for b in bootnodes or []:
        cmd += ["--bootnode", b]
    # TQDM_DISABLE: on a network that waits for confirmations (the L2) Ape draws a progress bar per transaction;
    # read through a pipe, each redraw became a line of the node's output.
    env = dict(os.environ, PYTHONUNBUFFERED="1", TQDM_DISABLE="1")
    return subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env,
                            start_new_session=True)  # fmt: skip


def wait_for_maddrs(workdir: Path, proc: subprocess.Popen, timeout: float = 120.0) -> list[str]:
    deadline = time.monotonic() + timeout
    f = workdir / "maddrs.json"
    while time.monotonic() < deadline:
        if f.exists():
            return json.loads(f.read_text())
        if proc.poll() is not None:
            raise RuntimeError(f"node in {workdir} exited with {proc.returncode} before its DHT was up")
        time.sleep(0.2)
    raise TimeoutError(f"node in {workdir} did not start its DHT within {timeout:.0f} s")


def ensure_warmup(path: Path, echo: Callable[[str], None]) -> Path:
    if path.exists():
        echo(f"warm-up checkpoint: {path} (reused)")
        return path
    from offchain.swarm import warmup

    echo(f"warm-up checkpoint: training {path} (supervised, one thread; about 5 s, once)")
    with _one_thread():
        warmup.write_warmup(path)
    return path


@contextlib.contextmanager
def _one_thread():
    """Warm-ups train on one thread, as `python -m offchain.swarm.warmup` does: the thread count changes float
    sums, so with this process's default of two the addition run took another path (725 steps, not 625) and, on
    a busy 2-core machine, 46 s instead of the 5 s the docs state."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def mixed_starts(cfg: SwarmConfig, echo: Callable[[str], None]) -> list[NodeStart]:
    """Each node's family warm-up (made once, then reused) and question mix: mixed.py's setting for node i."""
    from offchain.swarm import mixed
    from offchain.swarm.warmup import FamilyWarmupConfig

    starts = []
    for i in range(cfg.nodes):
        width, warm = mixed.node_setting(i)
        wcfg = FamilyWarmupConfig(names=mixed.TASKS, mix=warm, seed=i, n_layer=mixed.DEPTH, width=width,
                                  target=cfg.mixed_target, steps=cfg.mixed_steps)  # fmt: skip
        path = ensure_family_warmup(cfg.warmup.parent, wcfg, echo, f"node{i}")
        mix = ",".join(f"{t}={w}" for t, w in zip(mixed.TASKS, mixed.rl_mix(warm), strict=True))
        starts.append(NodeStart(path, mix))
    return starts


def ensure_family_warmup(folder: Path, wcfg, echo: Callable[[str], None], who: str) -> Path:
    """`folder`/warmup-<key>.pt, the key a hash of `wcfg` (a FamilyWarmupConfig): reused if there, else trained on
    one thread (as ensure_warmup does) with its progress echoed."""
    from offchain.swarm import warmup

    key = hashlib.sha256(json.dumps(asdict(wcfg), sort_keys=True).encode()).hexdigest()[:12]
    path = folder / f"warmup-{key}.pt"
    warm = ",".join(f"{t}={w}" for t, w in zip(wcfg.names, wcfg.mix, strict=True) if w)
    if path.exists():
        echo(f"{who} warm-up: {path} (reused; width {wcfg.width}, warm mix {warm})")
        return path
    echo(f"{who} warm-up: training {path} (width {wcfg.width}, depth {wcfg.n_layer}, warm mix {warm}, until probe "
         f"accuracy {wcfg.target} or {wcfg.steps} steps; once)")  # fmt: skip
    with _one_thread():
        info = warmup.write_warmup(path, wcfg, log=lambda line: echo(f"{who} {line}"))
    per = " ".join(f"{t} {a:.2f}" for t, a in info["heldout_by_task"].items())
    echo(f"{who} warm-up: {int(info['steps'])} steps, {info['seconds']:.0f} s, held-out {per}")
    return path


def first_common_round(coordinator, margin_s: float) -> int:
    """The first round whose answer stage starts at least `margin_s` from now: nodes launched now are all up
    by then, so they play it together from its first stage."""
    from offchain.chain import client

    round_, stage, started, _ = (int(x) for x in coordinator.schedule())
    durations = [int(d) for d in coordinator.stageDurations()]
    round_start = started - sum(durations[:stage])
    now = client.head_timestamp()
    k = 1
    while round_start + k * sum(durations) - now < margin_s:
        k += 1
    return round_ + k


def chain_report(coordinator, registry, peers: dict[str, bytes], rounds: list[int]) -> list[str]:
    """What the chain recorded for each round."""
    from offchain.identity import peer_id_from_digest

    lines = []
    for r in rounds:
        committed, revealed = (int(x) for x in coordinator.voteCounts(r))
        winner, votes = coordinator.roundWinner(r)
        win = peer_id_from_digest(bytes(winner)).to_base58()[:10] if int.from_bytes(bytes(winner), "big") else "-"
        lines.append(f"round {r}: participants {coordinator.participantCount(r)}, votes committed {committed}, "
                     f"revealed {revealed}, winner {win} ({votes} votes)")  # fmt: skip
        for name, digest in peers.items():
            c = coordinator.rewardCommitment(r, digest)
            if int(c.numQuestions):
                # A question's reward is 100 x its completions' mean reward (node.py): 100 = every answer right.
                lines.append(f"  {name[:10]} rewards root {bytes(c.rewardsRoot).hex()[:16]}..: "
                             f"{int(c.claimedTotal)} reward points over {int(c.numQuestions)} questions "
                             f"(100 a question = all right)")  # fmt: skip
    return lines


def run_swarm(cfg: SwarmConfig, *, echo: Callable[[str], None] = print, rpc: str | None = None) -> dict:
    """Play `cfg.rounds` rounds with `cfg.nodes` node processes and return a summary: on a fresh anvil, or on the
    running chain at `rpc` (`make demo`'s L2), which must mine on a timer: the stages follow its clock."""
    from offchain.chain.anvil import Anvil

    starts = mixed_starts(cfg, echo) if cfg.mixed else [NodeStart(ensure_warmup(cfg.warmup, echo))] * cfg.nodes
    base = cfg.workdir
    # Only the names this runner writes: a node resuming another chain's identity, weights and vote salts
    # would replay that chain's history on this one.
    for old in [base / "deployments", *(base / f"node{i}" for i in range(MAX_NODES))]:
        shutil.rmtree(old, ignore_errors=True)
    if rpc is not None:
        return play_swarm(cfg, rpc, echo=echo, starts=starts)
    with Anvil.start(block_time=1) as anvil:
        return play_swarm(cfg, anvil.uri, echo=echo, chain_name="anvil", starts=starts)


def play_swarm(cfg: SwarmConfig, rpc: str, *, echo: Callable[[str], None] = print, chain_name: str = "",
               starts: list[NodeStart] | None = None) -> dict:  # fmt: skip
    """The swarm on the running chain at `rpc`: Ape's test account 0 deploys the contract set (recorded in
    `cfg.workdir`/deployments), accounts 1..nodes run the node processes (node i from `starts[i]`, default
    `cfg.warmup`), and the chain's record of the rounds is reported."""
    from offchain.chain import client
    from offchain.chain.deploy import DeployConfig, deploy_all
    from offchain.identity import PeerIdentity

    base = cfg.workdir
    deployments = base / "deployments"
    previous = os.environ.get("VERDE_DEPLOYMENTS_DIR")
    os.environ["VERDE_DEPLOYMENTS_DIR"] = str(deployments)
    procs: list[subprocess.Popen] = []
    # Connected as the node processes connect (on the L2: ethereum:l2:node, not the demo's ethereum:l2:verde):
    # a deployment record is kept per network and provider, and the nodes look for theirs.
    with contextlib.ExitStack() as stack:
        stack.enter_context(client.connected(rpc, quiet=False))
        stack.callback(_stop, procs, previous)
        gov = client.test_account(0)
        d = deploy_all(gov, config=DeployConfig(stage_durations=(cfg.stage_s,) * 3), fresh=True)
        where = f"{chain_name or f'chain {client.chain_id()} at'} {rpc}"
        echo(f"{where}; SwarmCoordinator {d.SwarmCoordinator.address}, stages {cfg.stage_s} s")
        logs, threads = [], []
        margin = cfg.start_margin_s if cfg.start_margin_s is not None else 45 + 5 * cfg.nodes
        first_round = first_common_round(d.SwarmCoordinator, margin_s=margin)
        echo(f"every node plays from round {first_round} on")
        for i in range(cfg.nodes):
            wd = base / f"node{i}"
            proc = start_node(i, rpc, wd, cfg, deployments, rounds=cfg.rounds, start_round=first_round,
                              start=starts[i] if starts else None)  # fmt: skip
            sink: list[str] = []
            t = threading.Thread(target=_stream, args=(proc, f"[node{i}]", echo, sink), daemon=True)
            t.start()
            procs.append(proc)
            logs.append(sink)
            threads.append(t)
            if i == 0:
                maddrs = wait_for_maddrs(wd, proc)
                d.SwarmCoordinator.addBootnodes(maddrs[:1], sender=gov)
                echo(f"bootnode on chain: {maddrs[0]}")
        budget = (cfg.rounds + 2) * 3 * cfg.stage_s + 180
        for proc in procs:
            proc.wait(timeout=budget)
        for t in threads:
            t.join(timeout=5)
        peers = {PeerIdentity.load(base / f"node{i}" / "identity.key").peer_id.to_base58():
                 PeerIdentity.load(base / f"node{i}" / "identity.key").peer_id_digest
                 for i in range(cfg.nodes)}  # fmt: skip
        last = int(d.SwarmCoordinator.currentRound())
        report = chain_report(d.SwarmCoordinator, d.IdentityRegistry, peers, list(range(first_round, last)))
        echo("== recorded on chain")
        for line in report:
            echo(line)
        echo(f"node folders (progress.jsonl, curves.png): {_shown(base)}/node0 .. node{cfg.nodes - 1}")
        return {"exit_codes": [p.returncode for p in procs], "logs": logs, "report": report}


def _stop(procs: list[subprocess.Popen], deployments_dir: str | None) -> None:
    # A node still running after a failure would hold its DHT port and keep sending to a chain that, on anvil,
    # is about to go, and on the L2 would outlive the demo.
    for proc in procs:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
    if deployments_dir is None:
        os.environ.pop("VERDE_DEPLOYMENTS_DIR", None)
    else:
        os.environ["VERDE_DEPLOYMENTS_DIR"] = deployments_dir


def _shown(path: Path) -> str:
    """`path` relative to the working directory when it lies under it (what a user types), else absolute."""
    path = path.resolve()
    return str(path.relative_to(Path.cwd())) if path.is_relative_to(Path.cwd()) else str(path)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="a local RL Swarm")
    p.add_argument("--nodes", type=int, default=4, help=f"node processes, 1 to {MAX_NODES}")
    p.add_argument("--rounds", type=int, default=3)
    p.add_argument("--stage-seconds", type=int, default=20)
    p.add_argument("--impl", choices=["repops", "native"], default=SwarmConfig.impl,
                   help="what the nodes train: RepOpsGPT with RepOps AdamW, or the native torch twin")  # fmt: skip
    p.add_argument("--mixed", action="store_true",
                   help="a heterogeneous swarm: per-node family warm-ups of widths 32 and 64 and per-node task "
                        "mixes (offchain/swarm/mixed.py); warm-ups kept in out/swarm/warmup-<key>.pt")  # fmt: skip
    p.add_argument("--workdir", type=Path, default=SwarmConfig.workdir,
                   help="node<i>/ folders, kept until the next run (default: out/swarm/nodes)")  # fmt: skip
    args = p.parse_args(argv)
    try:
        cfg = SwarmConfig(nodes=args.nodes, rounds=args.rounds, stage_s=args.stage_seconds, workdir=args.workdir,
                          impl=args.impl, mixed=args.mixed)  # fmt: skip
    except ValueError as err:
        p.error(str(err))
    out = run_swarm(cfg)
    return 0 if all(c == 0 for c in out["exit_codes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
