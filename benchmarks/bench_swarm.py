"""SAPO experience sharing against isolated training, on a homogeneous and a heterogeneous swarm: the SAPO
configurations 8/0 (solo), 6/2, 4/4, 2/6 (local / external groups per step) side by side, plus the best sharing
one with the critique/vote weighting (issue 16), each over several seeds, same warm-ups, seeds and compute.

    make bench-swarm        # or: .venv/bin/python benchmarks/bench_swarm.py [--rounds 100] [--seeds 3]
    .venv/bin/python benchmarks/bench_swarm.py --rounds 20 --seeds 2                 # a short run
    .venv/bin/python benchmarks/bench_swarm.py --settings homogeneous --seeds 1      # today's setting alone
    .venv/bin/python benchmarks/bench_swarm.py --impl native     # the torch twin the nodes trained before

Settings (`--settings`, both by default):
  * homogeneous: the benchmark as it always was. Every node starts from one supervised warm-up checkpoint
    (offchain/swarm/warmup.py) of the 2-digit addition GPT; node k draws its Q = 8 questions from
    `round_seed(chain_id, coordinator, r)` (Philox words k*Q.., so nodes differ and node k asks the same
    questions in every arm). With seed index 0 its 4/4 and 8/0 arms are the old swarm and solo arms bit for
    bit (`--rounds 3`: swarm_acc=0.407 solo_acc=0.410 reward_ratio=1.021, before and after).
  * heterogeneous: four nodes that differ as real participants do, on six tasks of the task family
    (offchain/model/family.py: cmp, add1, parity, count, sort, add2; one 28-token vocabulary). Two model sizes
    (widths 32 and 64, depth 2), each node warmed up (`FamilyWarmupConfig`, its own init seed) on its own task
    mix until `--het-target` probe accuracy over that mix, so it starts strong on some tasks and weak on the
    others (HET_NODES), and each asks RL questions over its own mix (weight 4 on its warm tasks, 1 on the
    rest) from its own seed `family.node_seed(round seed, "node<k>")`. Held-out accuracy is measured on every
    task (`--heldout` ids each, rl.heldout_by_task); overall = mean over tasks and nodes.

Each round r, in each arm, every node samples G completions of each of its questions at temperature 1 (a
generator seeded from (round seed, k)) and scores them with the rule-based reward; then each node takes one
GRPO step on 8 question groups: I of its own plus J drawn from the other three nodes' groups of that round
(zero-advantage external groups dropped; SAPO). 8/0 is the isolated node: all 8 of its own. Sampling, groups
trained on and optimizer steps per node per round are the same in every arm (compute per node equal). The
"+cv" arm adds the critique and the vote (rl.sapo_batch's opt-in weighting): every node critiques every
peer's rollouts as node.py's stage 1 does (rl.critique_score: half verifiable reward, half its own model's
likelihood), the tally and each node's vote are node.py's (rl.vote_tally, rl.vote_for), the round's winner
the most voted (rl.round_winner); each node then takes up to J/2 of the winner's groups first and fills the
rest by softmax(mean critique of the author / `--critique-t`) (the critique's forward passes are the only
extra compute). Seeds (`--seeds`): seed index i uses warm-up seed `--seed` + i (heterogeneous: 100 (seed + i)
+ k per node) and chain id `--chain-id` + i (other round seeds).

Variants tried for issue 16 (docs/swarm-node.md has what each gave): `--het-mix OWN,OTHER` (a node's RL
question weights on its warm and its other tasks; default 4,1), `--format-credit` (0: the strict 0/1 reward,
so a task a node cannot solve gives it no signal at all), `--external-advantage reader` (an external group's
advantages are reward minus the READER's running mean reward on that task, decay BASE_DECAY, instead of the
author's group normalisation: a strong peer's all-correct group, which SAPO drops, becomes a lesson for a weak
reader; rl.sapo_batch's `baseline`), `--external-pick gain` (the J external groups of the highest mean
advantage instead of a uniform draw), `--lr`, `--epochs` (PPO-clipped steps per round), and
`--sharing 4/4 --no-cv` to run fewer arms.

Printed per setting: per configuration, mean ± sd over seeds of the cumulative reward (sum over nodes and
rounds of the rewards of the nodes' own completions) and of the final held-out accuracy, the reward ratio to
8/0, the start accuracy, signal groups per node and round (groups trained on whose advantage is not all
zero), and (several tasks) the final accuracy per task. Plots: out/bench-swarm-<setting>.png (accuracy and
cumulative reward per round, mean over seeds, min-max band). Last line: `swarm: rounds=<r> swarm_acc=<a>
solo_acc=<b> reward_ratio=<swarm/solo>` for the best sharing configuration (highest mean cumulative reward,
the +cv arm included) of the heterogeneous setting (of the last setting run when it is left out) against
8/0, means over seeds. The published anchor (SAPO paper, Qwen2.5-0.5B on ReasoningGYM) is +94% cumulative
reward for 4/4 over 8/0, i.e. a ratio of 1.94; issue 16 aims for 1.5 with higher held-out accuracy.

Measured before issue 16, homogeneous 4/4 against 8/0 only (2 CPU threads; native ~1.5 min, RepOps ~3 min,
docs/swarm-node.md "Measured"): ratio 0.967, final held-out accuracy 0.449 swarm against 0.492 solo (chain
id 1337); chain id 1: 0.973, 0.462 against 0.509. Why no gain there: (1) SAPO's gain comes from its filter
(external groups with no learning signal are dropped); from the middling warm-up (~40% held-out) almost every
group of 8 samples already mixes right and wrong answers (~7.3 signal groups swarm against ~7.0 solo), so the
filter has nothing to remove. (2) All nodes are the same small model from the same checkpoint on the same task,
so a peer's rollouts are no better than one's own and, once the nodes drift apart, slightly off-policy. (3)
RL is slow on this model (exact-match reward, 64 samples a step: +5-10 points in 100 rounds). With a
sparse-reward start (`--target 0.05`) the filter bites (signal ~3.5 against ~1.5) but RL barely moves either
arm: ratio 1.018. The heterogeneous setting and the critique/vote weighting, and what they give, are in
docs/swarm-node.md "Heterogeneous swarm".
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys
import time
from dataclasses import dataclass, field

import torch

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from offchain.model.family import Family, node_seed  # noqa: E402
from offchain.swarm import mixed, rl  # noqa: E402
from offchain.swarm.warmup import FamilyWarmupConfig, WarmupConfig, warmup  # noqa: E402

COORDINATOR = "0x" + "5a" * 20  # a fixed stand-in SwarmCoordinator address (only the seed depends on it)
SETTINGS = ("homogeneous", "heterogeneous")
BASE_DECAY = 0.9  # decay of a node's running mean reward per task (`--external-advantage reader`)
# The heterogeneous swarm (offchain/swarm/mixed.py, shared with `make swarm MIXED=1`): six family tasks; per node
# (model width, warm-up mix); RL question weights 4 on the warm tasks, 1 on the others (`--het-mix`).
HET_TASKS, HET_NODES = mixed.TASKS, mixed.NODES


@dataclass
class Node:
    """One in-process node of an arm: its policy and optimizer, and (heterogeneous) its RL task mix."""

    model: torch.nn.Module
    opt: torch.optim.Optimizer
    mix: list[int] | None = None
    base: dict[str, float] = field(default_factory=dict)  # running mean own reward per task (reader baseline)


@dataclass
class Start:
    """What every arm of one (setting, seed) starts from: the task, per-node warm-up states, the chain id."""

    task: object
    states: list[tuple[dict, dict, dict]]  # per node: (model state, warm-up optimizer state, warm-up info)
    cfgs: list  # per node: GPTConfig
    mixes: list[list[int] | None]
    chain_id: int
    info: list[dict] = field(default_factory=list)


def log(msg: str) -> None:
    """Progress to stderr (the tables and the last line go to stdout)."""
    print(msg, file=sys.stderr, flush=True)


def gen(seed: int, k: int, salt: int) -> torch.Generator:
    """A torch generator for node k's draws (salt 0: sampling, 1: SAPO picks) of the round with `seed`."""
    return torch.Generator().manual_seed(rl.round_seed(seed % 2**256, COORDINATOR, 4 * k + salt) >> 1)


def build_start(setting: str, i: int, args: argparse.Namespace) -> Start:
    """Warm-ups of seed index i: homogeneous, one addition warm-up (seed args.seed + i) every node starts from,
    as the benchmark always did; heterogeneous, one family warm-up per node (its width and mix, seed
    100 * (args.seed + i) + k, family split seed 0 for all)."""
    chain_id = args.chain_id + i
    if setting == "homogeneous":
        base, opt, task, info = warmup(WarmupConfig(target=args.target, seed=args.seed + i), log=False)
        st = ({k: v.clone() for k, v in base.state_dict().items()}, opt.state_dict(), info)
        log(f"homogeneous seed {i}: warm-up {int(info['steps'])} steps, held-out {info['heldout_acc']:.3f}, "
            f"{info['seconds']:.1f}s")  # fmt: skip
        return Start(task, [st] * args.nodes, [base.cfg] * args.nodes, [None] * args.nodes, chain_id, [info])
    states, cfgs, mixes, infos = [], [], [], []
    task = None
    for k in range(args.nodes):
        width, warm = HET_NODES[k % len(HET_NODES)]
        wcfg = FamilyWarmupConfig(names=HET_TASKS, mix=warm, seed=100 * (args.seed + i) + k, n_layer=2, width=width,
                                  target=args.het_target, steps=1500, heldout=args.heldout)  # fmt: skip
        model, opt, task, info = warmup(wcfg, log=False)
        states.append(({n: v.clone() for n, v in model.state_dict().items()}, opt.state_dict(), info))
        cfgs.append(model.cfg)
        mixes.append(mixed.rl_mix(warm, *args.het_mix))
        infos.append(info)
        per = " ".join(f"{t} {a:.2f}" for t, a in info["heldout_by_task"].items())
        log(f"heterogeneous seed {i} node{k} (width {width}, warm mix {warm}): {int(info['steps'])} steps, "
            f"{info['seconds']:.1f}s, held-out {per}")  # fmt: skip
    if args.format_credit is not None:
        task = CreditFamily(task.names, task.seed, task.test_size, args.format_credit)
    return Start(task, states, cfgs, mixes, chain_id, infos)


@dataclass(frozen=True)
class CreditFamily(Family):
    """The family with another format credit for wrong answers (`--format-credit`; 0: the strict 0/1 reward)."""

    format_credit: float = 0.1

    def reward(self, gid, completion, *, format_credit=None):  # noqa: ANN001 - Family.reward's signature
        credit = self.format_credit if format_credit is None else format_credit
        return super().reward(gid, completion, format_credit=credit)


def task_name(task, pair_id: int) -> str:
    """The task a question belongs to (the reader baseline is kept per task)."""
    return task.task_of(pair_id).name if isinstance(task, Family) else "add"


def fresh(start: Start, cfg: rl.RLConfig) -> list[Node]:
    """The arm's nodes, each from its warm-up state as a node loads its warm-up checkpoint (rl.rl_policy)."""
    nodes = []
    for (state, opt_state, info), gcfg, mix in zip(start.states, start.cfgs, start.mixes, strict=True):
        m = rl.make_model(gcfg, cfg.impl)
        m.load_state_dict(state)
        ckpt = rl.Checkpoint(m, start.task, opt_state, {"warmup": {"steps": info["steps"]}})
        nodes.append(Node(*rl.rl_policy(ckpt, cfg), mix=mix))
    return nodes


def node_questions(task, node: Node, seed: int, k: int, q: int) -> list[int]:
    """Node k's questions of the round: homogeneous, Philox words k*Q.. of the round seed (as before);
    heterogeneous, its own seed family.node_seed(round seed, "node<k>") over its task mix."""
    if isinstance(task, Family):
        return rl.questions(task, node_seed(seed, f"node{k}"), q, mix=node.mix)
    return rl.questions(task, seed, q, offset=k * q)


def evaluate(nodes: list[Node], task, n: int | None) -> dict[str, float]:
    """Held-out accuracy per task (mean over nodes) plus "overall" (mean over tasks; the addition's own)."""
    per: dict[str, float] = {}
    for node in nodes:
        by = rl.heldout_by_task(node.model, task, n if isinstance(task, Family) else None)
        for t, a in by.items():
            per[t] = per.get(t, 0.0) + a / len(nodes)
    per["overall"] = sum(per.values()) / len(per)
    return per


def run_round(
    nodes: list[Node],
    task,
    cfg: rl.RLConfig,
    seed: int,
    *,
    share: bool,
    weighted: bool,
    reader: bool = False,
    pick: str = "uniform",
    clock: dict[str, float],
    critique_t: float = 0.1,
) -> tuple[float, float, str | None]:
    """One round of one arm: (sum of the nodes' own rewards, mean signal groups per node, round winner).

    weighted: every node critiques every peer's rollouts with rl.critique_score (node.py's stage 1), the tally
    and each node's vote are node.py's (rl.vote_tally, rl.vote_for), the winner the most voted; each node then
    draws its external groups by the mean critique of their author (softmax / T) with the winner's groups
    first (at most J // 2 of them). Seconds spent sampling, critiquing and training are added to `clock`.
    """
    q = cfg.questions
    groups: list[list[rl.Rollout]] = []
    total = 0.0
    t = time.perf_counter()
    for k, node in enumerate(nodes):  # stage 0: answer
        qs = node_questions(task, node, seed, k, q)
        mine = rl.play_answer(node.model, task, qs, cfg, gen(seed, k, 0), peer=f"node{k}")
        total += sum(sum(r.rewards) for r in mine)
        groups.append(mine)
        for r in mine if reader else ():  # the reader baseline: running mean (decay BASE_DECAY) of own reward per task
            t_name, m = task_name(task, r.pair_id), sum(r.rewards) / len(r.rewards)
            node.base[t_name] = m if t_name not in node.base else BASE_DECAY * node.base[t_name] + (1 - BASE_DECAY) * m
    t = tick(clock, "sample", t)
    scores, winner = None, None
    if weighted:  # stage 1: critique, then the vote
        names = [f"node{k}" for k in range(len(nodes))]
        critiques = {names[k]: {names[j]: rl.critique_score(node.model, task, groups[j])
                                for j in range(len(nodes)) if j != k}
                     for k, node in enumerate(nodes)}  # fmt: skip
        tally = rl.vote_tally(critiques)
        winner = rl.round_winner({me: rl.vote_for(tally, me) for me in names})
        scores = rl.mean_critique(critiques)
        t = tick(clock, "critique", t)
    signal = 0
    for k, node in enumerate(nodes):  # stage 2: revise
        external = [r for j, g in enumerate(groups) if j != k for r in g] if share else None
        baseline = (lambda r, node=node: node.base.get(task_name(task, r.pair_id), 0.0)) if reader else None
        _, stats = rl.play_revise(node.model, node.opt, task, groups[k], external, cfg, gen(seed, k, 1),
                                  baseline=baseline, pick=pick,
                                  scores=scores, winner=winner, score_temperature=critique_t,
                                  winner_slots=cfg.external // 2)  # fmt: skip
        signal += int(stats.get("signal_groups", 0))
    tick(clock, "train", t)
    return total, signal / len(nodes), winner


def tick(clock: dict[str, float], what: str, since: float) -> float:
    """Add the seconds since `since` to clock[what]; return now."""
    now = time.perf_counter()
    clock[what] = clock.get(what, 0.0) + now - since
    return now


def run_arm(start: Start, name: str, I: int, J: int, weighted: bool, args, clock) -> dict:  # noqa: E741
    """R rounds of one configuration from `start`: curves of accuracy (at eval rounds) and cumulative reward."""
    d = rl.RLConfig()
    cfg = rl.RLConfig(group_size=args.group_size, lr=args.lr, temperature=args.temperature, impl=args.impl,
                      epochs=args.epochs,
                      local=I if J else d.local, external=J if J else d.external)  # fmt: skip
    share = J > 0
    nodes = fresh(start, cfg)
    acc = {0: evaluate(nodes, start.task, args.heldout)}
    cum, signal, wins = [0.0], [], []
    for r in range(1, args.rounds + 1):
        seed = rl.round_seed(start.chain_id, COORDINATOR, r)
        total, sig, win = run_round(nodes, start.task, cfg, seed, share=share, weighted=weighted, clock=clock,
                                    reader=args.external_advantage == "reader", pick=args.external_pick,
                                    critique_t=args.critique_t)  # fmt: skip
        cum.append(cum[-1] + total)
        signal.append(sig)
        wins.append(win)
        if r % args.eval_every == 0 or r == args.rounds:
            t = time.perf_counter()
            acc[r] = evaluate(nodes, start.task, args.heldout)
            tick(clock, "eval", t)
    return {"acc": acc, "cum": cum, "signal": signal, "wins": wins}


def mean_sd(xs: list[float]) -> tuple[float, float]:
    return statistics.fmean(xs), (statistics.stdev(xs) if len(xs) > 1 else 0.0)


def report(setting: str, results: dict[str, list[dict]], rounds: int) -> dict[str, dict[str, float]]:
    """Print the table of one setting; return per configuration mean cum, mean final overall acc."""
    tasks = [t for t in next(iter(results.values()))[0]["acc"][rounds] if t != "overall"]
    solo_cum = statistics.fmean(r["cum"][-1] for r in results["8/0"])
    print(f"\n== {setting}: {len(next(iter(results.values())))} seed(s), {rounds} rounds; mean ± sd over seeds; "
          f"ratio = mean cum / mean cum of 8/0; sig = signal groups per node and round")  # fmt: skip
    head = f"{'config':>9} {'cum reward':>16} {'ratio':>6} {'acc overall':>14} {'acc r0':>6} {'sig':>5}"
    head += "".join(f" {t[:7]:>7}" for t in tasks) if len(tasks) > 1 else ""
    print(head)
    out = {}
    for name, runs in results.items():
        cm, cs = mean_sd([r["cum"][-1] for r in runs])
        am, asd = mean_sd([r["acc"][rounds]["overall"] for r in runs])
        a0 = statistics.fmean(r["acc"][0]["overall"] for r in runs)
        sig = statistics.fmean(statistics.fmean(r["signal"]) for r in runs)
        line = f"{name:>9} {cm:>9.1f} ± {cs:>4.1f} {cm / solo_cum:>6.3f} {am:>7.3f} ± {asd:.3f} {a0:>6.3f} {sig:>5.2f}"
        if len(tasks) > 1:
            line += "".join(f" {statistics.fmean(r['acc'][rounds][t] for r in runs):>7.3f}" for t in tasks)
        print(line, flush=True)
        out[name] = {"cum": cm, "acc": am}
    return out


def plot(setting: str, results: dict[str, list[dict]], path: str) -> None:
    """Held-out accuracy and cumulative reward per round of every configuration (mean over seeds, band min-max)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(1, 2, figsize=(11, 4))
    for name, runs in results.items():
        xs = sorted(runs[0]["acc"])
        ys = [[r["acc"][x]["overall"] for r in runs] for x in xs]
        ax[0].plot(xs, [statistics.fmean(y) for y in ys], marker=".", label=name)
        ax[0].fill_between(xs, [min(y) for y in ys], [max(y) for y in ys], alpha=0.15)
        n = len(runs[0]["cum"])
        cs = [[r["cum"][j] for r in runs] for j in range(n)]
        ax[1].plot(range(n), [statistics.fmean(c) for c in cs], label=name)
        ax[1].fill_between(range(n), [min(c) for c in cs], [max(c) for c in cs], alpha=0.15)
    ax[0].set(xlabel="round", ylabel="exact match (mean over nodes and tasks)", title="held-out accuracy")
    ax[1].set(xlabel="round", ylabel="sum over nodes of own rewards", title="cumulative reward")
    for a in ax:
        a.legend(fontsize=8)
    fig.suptitle(f"SAPO local/external configurations, {setting} swarm (mean over seeds, band: min-max)")
    fig.tight_layout()
    pathlib.Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    plt.close(fig)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    d = rl.RLConfig()
    ap.add_argument("--rounds", type=int, default=100)
    ap.add_argument("--seeds", type=int, default=3, help="seeds per configuration (warm-ups and round seeds)")
    ap.add_argument("--settings", default=",".join(SETTINGS), help="comma-separated: homogeneous,heterogeneous")
    ap.add_argument("--nodes", type=int, default=4)
    ap.add_argument("--group-size", type=int, default=d.group_size)
    ap.add_argument("--lr", type=float, default=d.lr)
    ap.add_argument("--temperature", type=float, default=d.temperature)
    ap.add_argument("--epochs", type=int, default=d.epochs, help="clipped GRPO steps per round on the same batch")
    ap.add_argument("--target", type=float, default=WarmupConfig.target, help="addition warm-up stopping accuracy")
    ap.add_argument("--het-target", type=float, default=0.55, help="family warm-up stopping accuracy (own mix)")
    ap.add_argument("--heldout", type=int, default=100, help="held-out ids per family task measured")
    ap.add_argument("--eval-every", type=int, default=5, help="rounds between held-out evaluations")
    ap.add_argument("--critique-t", type=float, default=0.1, help="softmax temperature of the critique weighting")
    ap.add_argument("--sharing", default="6/2,4/4,2/6", help="the sharing configurations I/J run besides 8/0")
    ap.add_argument("--no-cv", action="store_true", help="leave out the critique/vote weighted arm")
    ap.add_argument("--het-mix", type=lambda v: tuple(int(x) for x in v.split(",")), default=(4, 1),
                    metavar="OWN,OTHER", help="heterogeneous RL question weights: warm, other tasks")  # fmt: skip
    ap.add_argument("--format-credit", type=float, default=None,
                    help="heterogeneous: a wrong answer's format credit (default 0.1; 0: strict)")  # fmt: skip
    ap.add_argument("--external-advantage", choices=("group", "reader"), default="group",
                    help="external groups' advantages: SAPO's group normalisation, or reward minus the reader's "
                         "running mean reward on the question's task (rl.sapo_batch baseline)")  # fmt: skip
    ap.add_argument("--external-pick", choices=("uniform", "gain"), default="uniform",
                    help="external groups drawn uniformly (SAPO) or the highest mean advantage first")  # fmt: skip
    ap.add_argument("--chain-id", type=int, default=1337)
    ap.add_argument("--seed", type=int, default=0, help="warm-up seed of seed index 0")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--impl", choices=rl.IMPLS, default=d.impl,
                    help="what the nodes train: RepOpsGPT with RepOps AdamW, or the native torch twin")
    ap.add_argument("--png", default="out/bench-swarm-{setting}.png")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    settings = [s for s in args.settings.split(",") if s]
    assert all(s in SETTINGS for s in settings), f"--settings: one or more of {SETTINGS}"
    t0 = time.perf_counter()
    print(f"torch {torch.__version__}; {args.threads} thread(s); {args.impl}; {args.nodes} nodes per arm; "
          f"G={args.group_size}, Q={d.questions}, 8 groups trained per node and round in every arm; lr {args.lr}, "
          f"T {args.temperature}; critique weighting T {args.critique_t}, winner's groups first (<= J/2)")  # fmt: skip
    summary, clock = {}, {}
    for setting in settings:
        starts = [build_start(setting, i, args) for i in range(args.seeds)]
        sharing = [tuple(int(x) for x in c.split("/")) for c in args.sharing.split(",") if c]
        configs = [("8/0", 8, 0, False)] + [(f"{i}/{j}", i, j, False) for i, j in sharing]
        results: dict[str, list[dict]] = {}

        def run(name, I, J, weighted, starts=starts, results=results, setting=setting):  # noqa: E741
            for i, st in enumerate(starts):
                t = time.perf_counter()
                results.setdefault(name, []).append(run_arm(st, name, I, J, weighted, args, clock))
                log(f"{setting} {name} seed {i}: cum {results[name][-1]['cum'][-1]:.1f}, "
                    f"{time.perf_counter() - t:.0f}s (total {time.perf_counter() - t0:.0f}s)")  # fmt: skip

        for c in configs:
            run(*c)
        best = max(sharing, key=lambda ij: statistics.fmean(r["cum"][-1] for r in results[f"{ij[0]}/{ij[1]}"]))
        if not args.no_cv:
            run(f"{best[0]}/{best[1]}+cv", best[0], best[1], True)
        summary[setting] = report(setting, results, args.rounds)
        if setting == "heterogeneous" and not args.no_cv:
            wins = [w for r in results[f"{best[0]}/{best[1]}+cv"] for w in r["wins"] if w]
            print("round winners (+cv arm, all seeds): "
                  + ", ".join(f"{p} {wins.count(p)}" for p in sorted(set(wins))))  # fmt: skip
        path = args.png.format(setting=setting)
        plot(setting, results, path)
        log(f"wrote {path}")
    per = {k: f"{v:.0f}s" for k, v in clock.items()}
    print(f"seconds spent (all settings, configs, seeds): {per}; total {time.perf_counter() - t0:.0f}s")
    last = "heterogeneous" if "heterogeneous" in summary else settings[-1]
    res = summary[last]
    best = max((n for n in res if n != "8/0"), key=lambda n: res[n]["cum"])
    ratio = res[best]["cum"] / res["8/0"]["cum"] if res["8/0"]["cum"] else float("nan")
    print(f"best sharing configuration ({last}): {best}")
    print(f"swarm: rounds={args.rounds} swarm_acc={res[best]['acc']:.3f} solo_acc={res['8/0']['acc']:.3f} "
          f"reward_ratio={ratio:.3f}")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
