"""SAPO experience sharing against isolated training: four nodes sharing rollouts (4 local / 4 external)
against four isolated nodes (8 local / 0 external), same warm-up checkpoint, seeds and compute.

    make bench-swarm        # or: .venv/bin/python benchmarks/bench_swarm.py [--rounds 100] [--threads 1]
    .venv/bin/python benchmarks/bench_swarm.py --impl native     # the torch twin the nodes trained before

Both arms start every node from one supervised warm-up checkpoint (offchain/swarm/warmup.py, trained here
in-process, ~10-20 s) of the 2-digit addition GPT. Each round r, in each arm, node k draws its Q = 8
questions from `round_seed(chain_id, coordinator, r)` (Philox words k*Q.., so nodes differ and node k asks
the same questions in both arms), samples G completions each at temperature 1 with a generator seeded from
(round seed, k), and scores them with the rule-based reward. Then each node takes one GRPO step on 8
question groups: swarm arm, SAPO with I = 4 of its own groups plus J = 4 drawn from the other three nodes'
groups of that round (zero-advantage ones dropped); solo arm, all 8 of its own. Sampling, groups trained
on and optimizer steps per node per round are the same in both arms. The rollouts are exchanged in
process here; the networked node (offchain/swarm/node.py) exchanges them over hivemind.

Printed per round: held-out accuracy (greedy exact match on the 500 held-out pairs, mean over nodes) and
cumulative reward (sum over nodes and rounds of the rewards of the nodes' own completions) of both arms,
and the signal groups per node (groups trained on whose advantage is not all zero). Plot: out/bench-swarm.png.

The nodes train what a swarm node trains (rl.RLConfig.impl): RepOpsGPT with RepOps AdamW, or with
`--impl native` the NativeGPT twin with torch AdamW. Last lines: the milliseconds per node and round spent
sampling, training and on the held-out evaluation, then `swarm: rounds=<r> impl=<impl> swarm_acc=<a>
solo_acc=<b> reward_ratio=<swarm/solo> round_s=<s>` (final accuracies, ratio of final cumulative rewards,
seconds per round of both arms without the warm-up). The published anchor (SAPO paper, Qwen2.5-0.5B on
ReasoningGYM) is +94% cumulative reward for 4/4 over 8/0, i.e. a ratio of 1.94.

What it shows here (2 CPU threads; native ~1.5 min, RepOps ~3 min, docs/swarm-node.md "Measured"; RepOps
and native give the same table but for one cell): no such gain. Default run (chain id 1337): ratio 0.967, final
held-out accuracy 0.449 swarm against 0.492 solo; chain id 1 (other round seeds): 0.973, 0.462 against
0.509. Why: (1) SAPO's gain comes from its filter, external groups with no learning signal are dropped, so
a sharing node trains on more informative groups; from the middling warm-up (~40% held-out) almost every
group of 8 samples already mixes right and wrong answers (signal groups trained on per node per round:
~7.3 swarm against ~7.0 solo), so the filter has nothing to remove. (2) All nodes are the same small model
from the same checkpoint on the same task, so a peer's rollouts are no better than one's own, and once the
nodes drift apart they are slightly off-policy (treated as on-policy, as SAPO does). (3) RL is slow on this
model (exact-match reward, 64 samples a step: +5-10 points of accuracy in 100 rounds), so a better batch
changes the reward curve little. With a sparse-reward start (`--target 0.05`, ~5% held-out) the filter does
bite (signal groups ~3.5 swarm against ~1.5 solo) but RL barely moves either arm: ratio 1.018, accuracy
0.049 against 0.067. These are two runs of the default and one of the sparse start: the ~3% shortfall of
the swarm has the same sign in both default runs, but too few runs to call it significant.
"""

from __future__ import annotations

import argparse
import pathlib
import sys
import time
from dataclasses import dataclass

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from offchain.model.task import AdditionTask  # noqa: E402
from offchain.swarm import rl  # noqa: E402
from offchain.swarm.warmup import WarmupConfig, warmup  # noqa: E402

COORDINATOR = "0x" + "5a" * 20  # a fixed stand-in SwarmCoordinator address (only the seed depends on it)


@dataclass
class Node:
    """One in-process node of an arm: its policy and optimizer."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer


def log(msg: str) -> None:
    """Progress to stderr (the table and the last line go to stdout)."""
    print(msg, file=sys.stderr, flush=True)


def gen(seed: int, k: int, salt: int) -> torch.Generator:
    """A torch generator for node k's draws (salt 0: sampling, 1: SAPO picks) of the round with `seed`."""
    return torch.Generator().manual_seed(rl.round_seed(seed % 2**256, COORDINATOR, 4 * k + salt) >> 1)


def run_round(
    nodes: list[Node], task: AdditionTask, cfg: rl.RLConfig, seed: int, *, share: bool, clock: dict[str, float]
) -> tuple[float, float, float]:
    """One round of one arm: (sum of the nodes' own rewards, mean held-out acc, mean signal groups per node).

    Signal groups: groups trained on whose advantage is not all zero (the only ones that move the policy).
    Seconds spent sampling, training and measuring held-out accuracy are added to `clock`.
    """
    q = cfg.questions
    groups: list[list[rl.Rollout]] = []
    total = 0.0
    t = time.perf_counter()
    for k, node in enumerate(nodes):  # stage 0: answer
        qs = rl.questions(task, seed, q, offset=k * q)
        mine = rl.play_answer(node.model, task, qs, cfg, gen(seed, k, 0), peer=f"node{k}")
        total += sum(sum(r.rewards) for r in mine)
        groups.append(mine)
    t = tick(clock, "sample", t)
    signal = 0
    for k, node in enumerate(nodes):  # stage 2: revise
        external = [r for j, g in enumerate(groups) if j != k for r in g] if share else None
        _, stats = rl.play_revise(node.model, node.opt, task, groups[k], external, cfg, gen(seed, k, 1))
        signal += int(stats.get("signal_groups", 0))
    t = tick(clock, "train", t)
    acc = sum(rl.heldout_accuracy(n.model, task) for n in nodes) / len(nodes)
    tick(clock, "eval", t)
    return total, acc, signal / len(nodes)


def tick(clock: dict[str, float], what: str, since: float) -> float:
    """Add the seconds since `since` to clock[what]; return now."""
    now = time.perf_counter()
    clock[what] = clock.get(what, 0.0) + now - since
    return now


def plot(rounds: list[int], curves: dict[str, dict[str, list[float]]], path: str, *, title: str) -> None:
    """Held-out accuracy and cumulative reward per round of both arms to a PNG (Agg backend)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for arm, c in curves.items():
        ax[0].plot(rounds, c["acc"], marker=".", label=arm)
        ax[1].plot(rounds, c["cum"], marker=".", label=arm)
    ax[0].set(xlabel="round", ylabel="exact match (mean over nodes)", ylim=(0, 1), title="held-out accuracy")
    ax[1].set(xlabel="round", ylabel="sum over nodes of own rewards", title="cumulative reward")
    for a in ax:
        a.legend()
    fig.suptitle(title)
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = rl.RLConfig()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=d.group_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--temperature", type=float, default=d.temperature)
    ap.add_argument("--target", type=float, default=WarmupConfig.target, help="warm-up stopping accuracy")
    ap.add_argument("--chain-id", type=int, default=1337)
    ap.add_argument("--seed", type=int, default=0, help="warm-up seed (init, batches, task split)")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--impl", choices=rl.IMPLS, default=d.impl,
                    help="what the nodes train: RepOpsGPT with RepOps AdamW, or the native torch twin")
    ap.add_argument("--png", default="out/bench-swarm.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    cfg = rl.RLConfig(group_size=args.group_size, lr=args.lr, temperature=args.temperature, impl=args.impl)

    t0 = time.perf_counter()
    base, base_opt, task, info = warmup(WarmupConfig(target=args.target, seed=args.seed), log=False)
    log(f"warm-up: {int(info['steps'])} steps, held-out acc {info['heldout_acc']:.3f}, {info['seconds']:.1f}s")
    state = {k: v.clone() for k, v in base.state_dict().items()}

    def fresh() -> Node:
        # What a node does with the warm-up checkpoint file (rl.rl_policy), from the same bytes in memory.
        m = rl.make_model(base.cfg, cfg.impl)
        m.load_state_dict(state)
        ckpt = rl.Checkpoint(m, task, base_opt.state_dict(), {"warmup": info})
        return Node(*rl.rl_policy(ckpt, cfg))

    arms = {"swarm": [fresh() for _ in range(args.nodes)], "solo": [fresh() for _ in range(args.nodes)]}
    acc0 = rl.heldout_accuracy(arms["swarm"][0].model, task)  # the trained twin's (the warm-up's is native)
    curves = {a: {"acc": [acc0], "cum": [0.0], "signal": []} for a in arms}
    print(f"torch {torch.__version__}; {args.threads} thread(s); {args.impl}; {args.nodes} nodes per arm; "
          f"{task.digits}-digit "
          f"addition; G={cfg.group_size}, Q={cfg.questions}, swarm I/J={cfg.local}/{cfg.external}, "
          f"solo I/J={cfg.local + cfg.external}/0; lr {cfg.lr}, T {cfg.temperature}")  # fmt: skip
    print(f"{'round':>5} {'swarm acc':>9} {'solo acc':>9} {'swarm cum':>10} {'solo cum':>10} {'swarm sig':>9} "
          f"{'solo sig':>8}")  # fmt: skip
    print(f"{0:>5} {acc0:>9.3f} {acc0:>9.3f} {0.0:>10.1f} {0.0:>10.1f} {'-':>9} {'-':>8}")
    clock: dict[str, float] = {}
    for r in range(1, args.rounds + 1):
        seed = rl.round_seed(args.chain_id, COORDINATOR, r)
        for arm, nodes in arms.items():
            total, acc, signal = run_round(nodes, task, cfg, seed, share=arm == "swarm", clock=clock)
            curves[arm]["acc"].append(acc)
            curves[arm]["cum"].append(curves[arm]["cum"][-1] + total)
            curves[arm]["signal"].append(signal)
        sw, so = curves["swarm"], curves["solo"]
        print(f"{r:>5} {sw['acc'][-1]:>9.3f} {so['acc'][-1]:>9.3f} {sw['cum'][-1]:>10.1f} {so['cum'][-1]:>10.1f} "
              f"{sw['signal'][-1]:>9.2f} {so['signal'][-1]:>8.2f}", flush=True)  # fmt: skip
        log(f"round {r}/{args.rounds} done, {time.perf_counter() - t0:.0f}s")

    plot(list(range(args.rounds + 1)), curves, args.png,
         title=f"SAPO 4/4 (swarm) vs 8/0 (solo), {args.nodes} nodes each")  # fmt: skip
    log(f"wrote {args.png}")
    sw, so = curves["swarm"], curves["solo"]
    ratio = sw["cum"][-1] / so["cum"][-1] if so["cum"][-1] else float("nan")
    per = {k: 1000 * v / (args.rounds * len(arms) * args.nodes) for k, v in clock.items()}
    print(f"ms per node and round ({args.impl}): sample {per['sample']:.1f}, train {per['train']:.1f}, "
          f"held-out eval ({len(task.test_pairs())} pairs) {per['eval']:.1f}")  # fmt: skip
    print(f"swarm: rounds={args.rounds} impl={args.impl} swarm_acc={sw['acc'][-1]:.3f} solo_acc={so['acc'][-1]:.3f} "
          f"reward_ratio={ratio:.3f} round_s={sum(clock.values()) / args.rounds:.2f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
