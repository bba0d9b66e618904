"""Cost of a Verde dispute against re-running the whole training, for jobs of T = 16, 64, 256 and 1024 steps.

    make bench-verde        # or: .venv/bin/python benchmarks/bench_verde.py [--steps 16,64,256,1024] [--threads 1]

On Ape's `test` network (py-evm, Prague), with `deploy_all` (JobMarket, OpAdjudicator, VerdeReferee holding
the market's DISPUTE_ROLE), for each T: one ETH JobMarket job with steps = T and checkpointInterval = T (a
single checkpoint, so the step bisection runs over all T steps), solved by two VerdeTrainers of the tiny GPT
job `VerdeJob(steps=T, checkpoint_interval=16)`: an honest one, and a cheater that writes a big error
(+1000) into one element of an AdamW SQRT output at the last step T (the worst case for the step bisection;
the first element that changes the root at T). The requester registers the program; the honest solver
disputes the cheater's checkpoint and the two `DisputeAgent`s play the game to the end.

* `rerun_s`: wall time of one honest `VerdeTrainer(job).train()`: what a referee without Verde re-runs;
* `dispute_s`: wall time from opening the dispute to its resolution: the open transaction, both agents'
  set-up, their replays of the pinned step's trace and every move on py-evm (`play`);
* `moves`: `referee.disputeOf(id).moves`; `gas`: the gas of every receipt of the game, the open one too.

Torch runs on `--threads` threads (default 1: on a shared machine more threads make the times erratic).
Each game must end with the honest challenger winning by Resolution.Leaf (on-chain recomputation).
Progress goes to stderr, a table to stdout, and a plot to out/bench-verde.png (times and moves against T).
Last line (the largest T):
`verde: T=<n> moves=<n> gas=<n> dispute_s=<x.xx> rerun_s=<y.yy> ratio=<dispute/rerun, 3 decimals>`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

ETH = 10**18
ZERO = "0x0000000000000000000000000000000000000000"
STEPS = (16, 64, 256, 1024)
KEEP_EVERY = 16  # VerdeJob.checkpoint_interval: full states kept every 16 steps, so a replay redoes < 16
PAYMENT = ETH  # per job
STAKE = ETH // 10  # per solver
DAY = 86_400
LEAF = 1  # IVerdeTypes.Resolution.Leaf
CHALLENGER = 1  # IVerdeTypes.Party.Challenger
RESOLVED = 8  # IVerdeTypes.Phase.Resolved


@dataclass
class Row:
    steps: int
    moves: int
    gas: int
    dispute_s: float
    rerun_s: float

    @property
    def ratio(self) -> float:
        return self.dispute_s / self.rerun_s


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
    from offchain.verde.trainer import VerdeTrainer

    t = job.steps
    sqrt = next(i for i, op in enumerate(honest.program) if op.opcode == ir.SQRT and op.note.startswith("adamw"))
    for element in range(32):
        bad = Cheater(job, corrupt(t, sqrt, element=element, mode="big"))
        bad.train()
        if bad.roots[t] != honest.roots[t]:
            return bad
    raise AssertionError(f"T={t}: no element of op {sqrt} changes the root at step {t}")


def run_one(d, accts, steps: int) -> Row:
    """One job of `steps` steps, its checkpoints, and the dispute played to the end."""
    from ape import chain

    from offchain.verde.game import DisputeAgent, Program, play
    from offchain.verde.job import VerdeJob, spec_hash
    from offchain.verde.trainer import VerdeTrainer

    market, referee = d.JobMarket, d.VerdeReferee
    _, requester, bob, carol = accts
    job = VerdeJob(steps=steps, checkpoint_interval=KEEP_EVERY)

    honest = VerdeTrainer(job)
    _, rerun_s = timed(f"T={steps}: training honest (rerun_s)", honest.train)
    bad, _ = timed(f"T={steps}: training cheater (AdamW sqrt, big, step {steps})", lambda: cheater(job, honest))

    now = chain.pending_timestamp
    params = (spec_hash(job), steps, steps, 2, ZERO, PAYMENT, STAKE, now + DAY, now + 7 * DAY, 7 * DAY,
              *Program(honest).job_fields)  # fmt: skip
    tx = market.postJob(params, sender=requester, value=PAYMENT)
    job_id = tx.events.filter(market.JobPosted)[0].jobId
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

    (did, receipts), dispute_s = timed(f"T={steps}: dispute (open + play)", dispute)
    g = referee.disputeOf(did)
    resolved = [ev for r in receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert g.phase == RESOLVED and g.winner == CHALLENGER, f"T={steps}: the honest challenger did not win"
    assert resolved and resolved[-1].how == LEAF, f"T={steps}: not resolved by Resolution.Leaf"
    assert market.solverOf(job_id, carol).slashed, f"T={steps}: the cheater was not slashed"
    row = Row(steps, g.moves, sum(r.gas_used for r in receipts), dispute_s, rerun_s)
    progress(f"T={steps}: moves {row.moves}, gas {row.gas:,}, ratio {row.ratio:.3f}")
    return row


def warm_up() -> None:
    """Two untimed training steps and a replay, so the first rerun_s pays no import or first-call costs."""
    from offchain.verde.job import VerdeJob
    from offchain.verde.trainer import VerdeTrainer

    t = VerdeTrainer(VerdeJob(steps=2, checkpoint_interval=KEEP_EVERY))
    timed("warm-up (2 steps, one replay)", lambda: (t.train(), t.replay(2)))


def measure(steps: tuple[int, ...]) -> list[Row]:
    from ape import accounts, chain, networks

    from offchain.chain.deploy import deploy_all

    with networks.ethereum.local.use_provider("test"):
        a = accounts.test_accounts
        gov, requester, bob, carol = a[0], a[1], a[2], a[3]
        need = {requester: len(steps) * (PAYMENT + ETH), bob: len(steps) * (STAKE + ETH), carol: len(steps) * ETH}
        for acct, wei in need.items():  # payments, stakes, bonds and gas, with room to spare
            have = chain.provider.get_balance(acct.address)
            assert have >= wei, f"{acct.address} holds {have} wei, needs {wei}"
        d, _ = timed("deploy_all", lambda: deploy_all(gov, fresh=True))
        warm_up()
        # One untimed game first: the first dispute of a process pays for lazy imports in Ape and web3.
        progress("warm-up game (T=4, not reported)")
        run_one(d, (gov, requester, bob, carol), 4)
        return [run_one(d, (gov, requester, bob, carol), t) for t in steps]


def plot(rows: list[Row], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ts = [r.steps for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    left.plot(ts, [r.dispute_s for r in rows], "o-", label="dispute (open + play)")
    left.plot(ts, [r.rerun_s for r in rows], "s-", label="re-run the training")
    left.set(xscale="log", yscale="log", xlabel="T (steps)", ylabel="wall time (s)", title="Verde dispute vs re-run")
    left.set_xticks(ts, [str(t) for t in ts])
    left.legend()
    right.plot(ts, [r.moves for r in rows], "o-", color="C2")
    right.set(xscale="log", xlabel="T (steps)", ylabel="moves", title="moves per dispute")
    right.set_xticks(ts, [str(t) for t in ts])
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", default=",".join(map(str, STEPS)), help="comma-separated T values")
    p.add_argument("--threads", type=int, default=1, help="torch intra-op threads")
    args = p.parse_args()
    steps = tuple(int(s) for s in args.steps.split(","))
    import torch

    torch.set_num_threads(args.threads)

    os.chdir(ROOT)  # Ape finds the project from the working directory
    from ape.logging import logger

    logger.set_level("WARNING")
    rows = measure(steps)
    out = ROOT / "out" / "bench-verde.png"
    plot(rows, out)
    progress(f"plot: {out.relative_to(ROOT)}")

    print(f"{'T':>6}{'moves':>8}{'gas':>14}{'dispute_s':>12}{'rerun_s':>10}{'ratio':>8}")
    for r in rows:
        print(f"{r.steps:>6}{r.moves:>8}{r.gas:>14,}{r.dispute_s:>12.2f}{r.rerun_s:>10.2f}{r.ratio:>8.3f}")
    last = rows[-1]
    print(
        f"verde: T={last.steps} moves={last.moves} gas={last.gas} dispute_s={last.dispute_s:.2f} "
        f"rerun_s={last.rerun_s:.2f} ratio={last.ratio:.3f}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
