"""Cost of a Verde dispute for jobs of T = 16, 64, 256 and 1024 steps, at narrowing arities 2, 4, 8 and 16.

    make bench-verde     # or: .venv/bin/python benchmarks/bench_verde.py [--steps 16,64,256,1024] [--arities 2,4,8,16]

On Ape's `test` network (py-evm, Prague), with `deploy_all` (JobMarket, OpAdjudicator, VerdeReferee holding
the market's DISPUTE_ROLE), for each T: one ETH JobMarket job with steps = T and checkpointInterval = T (a
single checkpoint, so the Steps narrowing runs over all T steps), solved by two VerdeTrainers of the tiny GPT
job `VerdeJob(steps=T, checkpoint_interval=16)`: an honest one, and a cheater that writes a big error
(+1000) into one element of an AdamW SQRT output at the last step T (the worst case for the Steps narrowing;
the first element that changes the root at T). The honest solver disputes the cheater's checkpoint and the two
`DisputeAgent`s play the game to the end.

Arity sweep: for each k, a VerdeRefereeArity with k in every narrowing phase (Steps, OpTrace, the descent;
min(k, 8) for the partial sums, which this cheat never reaches) is appointed to the market (granting
DISPUTE_ROLE moves it), and the same jobs are played against it. Then the deployed VerdeReferee (its own
arities, `referee.arity()`) plays them: that is the chosen configuration and the last line.

* `moves`: `referee.disputeOf(id).moves`; `gas`: the gas of every receipt of the game, the opening included;
  `max_move`: the largest move (the opening, ~345k gas with the market's calls, is not a move); per phase: the
  moves and gas of the Steps and OpTrace narrowing and of the descent (the leaf data included), from the
  receipts' `ValuesRevealed` events.
* `dispute_s`: wall time from opening the dispute to its resolution (py-evm executing every move in Python).

Each game must end with the honest challenger winning by Resolution.Leaf (on-chain recomputation).
Progress goes to stderr, the tables to stdout, and a plot to out/bench-verde.png (moves and gas against T per
arity). Last line (the deployed referee, the largest T):
`verde: T=<n> moves=<n> gas=<n> max_move=<n> arity=<steps>/<ops>/<descent>/<partials> dispute_s=<x.xx>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ETH = 10**18
ZERO = "0x0000000000000000000000000000000000000000"
STEPS = (16, 64, 256, 1024)
ARITIES = (2, 4, 8, 16)
KEEP_EVERY = 16  # VerdeJob.checkpoint_interval: full states kept every 16 steps, so a replay redoes < 16
PAYMENT = ETH  # per job
STAKE = ETH // 10  # per solver
DAY = 86_400
LEAF = 1  # IVerdeTypes.Resolution.Leaf
CHALLENGER = 1  # IVerdeTypes.Party.Challenger
RESOLVED = 8  # IVerdeTypes.Phase.Resolved
PHASE_NAMES = {1: "steps", 2: "ops", 4: "descent", 5: "partials"}  # IVerdeTypes.Phase of a narrow move


@dataclass
class Row:
    label: str  # the arities, steps/ops/descent/partials
    steps: int
    moves: int
    gas: int  # every receipt of the game, the opening included
    max_move: int  # the largest move (the opening, ~345k, is not a move)
    dispute_s: float
    phases: dict[str, tuple[int, int]] = field(default_factory=dict)  # phase -> (moves, gas)


def progress(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def timed(label: str, fn):
    """Run `fn()` with a progress line on stderr; returns (result, seconds)."""
    progress(f"{label} ...")
    t = time.perf_counter()
    out = fn()
    dt = time.perf_counter() - t
    progress(f"{label} ... {dt:.1f} s")
    return out, dt


def cheater(job, honest):
    """A trainer with a big error in one element of an AdamW SQRT output at the last step: the first
    element (of 32) whose corruption changes the root at T (a value that rounds away is no cheat)."""
    from offchain.verde import ir
    from offchain.verde.adversary import Cheater, corrupt

    t = job.steps
    sqrt = next(i for i, op in enumerate(honest.program) if op.opcode == ir.SQRT and op.note.startswith("adamw"))
    for element in range(32):
        bad = Cheater(job, corrupt(t, sqrt, element=element, mode="big"))
        bad.train()
        if bad.roots[t] != honest.roots[t]:
            return bad
    raise AssertionError(f"T={t}: no element of op {sqrt} changes the root at step {t}")


def trainers(steps: int):
    """The honest and the cheating trainer of a T-step job (trained once, played against every referee)."""
    from offchain.verde.job import VerdeJob
    from offchain.verde.trainer import VerdeTrainer

    job = VerdeJob(steps=steps, checkpoint_interval=KEEP_EVERY)
    honest = VerdeTrainer(job)
    timed(f"T={steps}: training honest", honest.train)
    bad, _ = timed(f"T={steps}: training cheater (AdamW sqrt, big, step {steps})", lambda: cheater(job, honest))
    return job, honest, bad


def label_of(referee) -> str:
    a = referee.arity()
    return f"{a.steps}/{a.ops}/{a.descent}/{a.partials}"


def run_one(market, referee, accts, job, honest, bad) -> Row:
    """One job of `job.steps` steps, its checkpoints, and the dispute played to the end against `referee`."""
    from ape import chain

    from offchain.verde.game import DisputeAgent, play, program_of
    from offchain.verde.job import spec_hash

    steps = job.steps
    _, requester, bob, carol = accts
    now = chain.pending_timestamp
    params = (spec_hash(job), steps, steps, 2, ZERO, PAYMENT, STAKE, now + DAY, now + 7 * DAY, 7 * DAY,
              *program_of(job).job_fields)  # fmt: skip
    tx = market.postJob(params, sender=requester, value=PAYMENT)
    job_id = tx.events.filter(market.JobPosted)[0].jobId
    assert market.refereeOf(job_id) == referee.address
    for s in (bob, carol):
        market.join(job_id, sender=s, value=STAKE)
    market.postCheckpoint(job_id, 1, honest.roots[steps], sender=bob)
    market.postCheckpoint(job_id, 1, bad.roots[steps], sender=carol)

    def dispute():
        opened = referee.openSolverDispute(job_id, carol, 1, sender=bob, value=referee.BOND())
        did = opened.events.filter(referee.DisputeCreated)[0].disputeId
        a = DisputeAgent(referee, bob, honest, role="challenger", dispute_id=did)
        b = DisputeAgent(referee, carol, bad, role="defender", dispute_id=did)
        play([a, b])
        return did, [opened, *a.receipts, *b.receipts]

    label = label_of(referee)
    (did, receipts), dispute_s = timed(f"T={steps} arity {label}: dispute (open + play)", dispute)
    g = referee.disputeOf(did)
    resolved = [ev for r in receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert g.phase == RESOLVED and g.winner == CHALLENGER, f"T={steps}: the honest challenger did not win"
    assert resolved and resolved[-1].how == LEAF, f"T={steps}: not resolved by Resolution.Leaf"
    assert market.solverOf(job_id, carol).slashed, f"T={steps}: the cheater was not slashed"
    phases: dict[str, tuple[int, int]] = {}
    for r in receipts:
        for ev in r.events.filter(referee.ValuesRevealed):
            name = PHASE_NAMES[int(ev.phase)]
            n, gas = phases.get(name, (0, 0))
            phases[name] = (n + 1, gas + r.gas_used)
    gas = [r.gas_used for r in receipts]
    row = Row(label, steps, g.moves, sum(gas), max(gas[1:]), dispute_s, phases)
    progress(f"T={steps} arity {label}: moves {row.moves}, gas {row.gas:,}, largest move {row.max_move:,}")
    return row


def measure(steps: tuple[int, ...], arities: tuple[int, ...]) -> list[Row]:
    from ape import accounts, chain, networks, project

    from offchain.chain.deploy import deploy_all

    with networks.ethereum.local.use_provider("test"):
        a = accounts.test_accounts
        gov, requester, bob, carol = a[0], a[1], a[2], a[3]
        games = len(steps) * (len(arities) + 1) + 1
        need = {requester: games * (PAYMENT + ETH // 10), bob: games * (STAKE + ETH // 10), carol: games * STAKE}
        for acct, wei in need.items():  # payments, stakes, bonds and gas, with room to spare
            have = chain.provider.get_balance(acct.address)
            assert have >= wei, f"{acct.address} holds {have} wei, needs {wei}"
        d, _ = timed("deploy_all", lambda: deploy_all(gov, fresh=True))
        market, chosen = d.JobMarket, d.VerdeReferee
        accts = (gov, requester, bob, carol)
        referees = []
        for k in arities:
            config = (chosen.BOND(), chosen.CLOCK_SECONDS(), chosen.REWARD_BPS(), (k, k, k, min(k, 8)))
            referees.append(gov.deploy(project.VerdeRefereeArity, market, d.OpAdjudicator, gov, *config))
        referees.append(chosen)
        rows = []
        for t in steps:
            job, honest, bad = trainers(t)
            if not rows:  # one untimed game first: the first dispute of a process pays for lazy imports
                market.grantRole(market.DISPUTE_ROLE(), chosen, sender=gov)
                progress("warm-up game (not reported)")
                run_one(market, chosen, accts, job, honest, bad)
            for r in referees:
                market.grantRole(market.DISPUTE_ROLE(), r, sender=gov)  # moves the role: new jobs are r's
                rows.append(run_one(market, r, accts, job, honest, bad))
        return rows


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    labels = list(dict.fromkeys(r.label for r in rows))
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for label in labels:
        mine = [r for r in rows if r.label == label]
        ts = [r.steps for r in mine]
        left.plot(ts, [r.moves for r in mine], "o-", label=f"arity {label}")
        right.plot(ts, [r.gas / 1e6 for r in mine], "o-", label=f"arity {label}")
    ts = sorted({r.steps for r in rows})
    left.set(xscale="log", xlabel="T (steps)", ylabel="moves", title="moves per dispute")
    right.set(xscale="log", xlabel="T (steps)", ylabel="gas (millions)", title="gas per dispute (opening included)")
    for ax in (left, right):
        ax.set_xticks(ts, [str(t) for t in ts])
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", default=",".join(map(str, STEPS)), help="comma-separated T values")
    p.add_argument("--arities", default=",".join(map(str, ARITIES)), help="comma-separated arities to sweep")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = p.parse_args()
    steps = tuple(int(s) for s in args.steps.split(","))
    arities = tuple(int(s) for s in args.arities.split(","))
    import torch

    torch.set_num_threads(args.threads)

    os.chdir(ROOT)  # Ape finds the project from the working directory
    from ape.logging import logger

    logger.set_level("WARNING")
    rows = measure(steps, arities)
    out = ROOT / "out" / "bench-verde.png"
    plot(rows, out)
    progress(f"plot: {out.relative_to(ROOT)}")

    cols = ("steps", "ops", "descent")
    head = "".join(f"{c + ' m/gas':>18}" for c in cols)
    print(f"{'arity':>12}{'T':>6}{'moves':>7}{'gas':>12}{'max_move':>10}{head}{'dispute_s':>11}")
    for r in rows:
        per = "".join(f"{r.phases.get(c, (0, 0))[0]:>7}{r.phases.get(c, (0, 0))[1]:>11,}" for c in cols)
        print(f"{r.label:>12}{r.steps:>6}{r.moves:>7}{r.gas:>12,}{r.max_move:>10,}{per}{r.dispute_s:>11.2f}")
    last = rows[-1]
    print(
        f"verde: T={last.steps} moves={last.moves} gas={last.gas} max_move={last.max_move} arity={last.label} "
        f"dispute_s={last.dispute_s:.2f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
