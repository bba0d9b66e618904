"""`ape run challenge`: recompute a JobMarket job locally and, where a solver's checkpoint is wrong, dispute
it on the VerdeReferee and play the game to the verdict.

    job = load_spec("job.json")                                    # the VerdeJob the job's specHash commits
    report = challenge(deployment, job_id, account, job, echo=print)
    report.winner, report.moves, report.dispute_id

The challenger trains the job itself (RepOps is bitwise reproducible, so an honest recomputation equals an
honest solver's), finds the first checkpoint where a solver's root differs from its own while the one
before agrees, opens the dispute (as that job's solver, or as a watcher), and answers every move from its
own trace. A defender that stops answering loses by timeout, which the challenger claims once the
defender's clock has run out.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path

from offchain.verde.game import CHALLENGER, PHASES, RESOLVED, DisputeAgent, Program
from offchain.verde.job import VerdeJob, spec_hash
from offchain.verde.trainer import VerdeTrainer

RESOLUTIONS = ("None", "Leaf", "Timeout", "Committee", "BothWrong", "Expired")
PARTIES = ("None", "Challenger", "Defender")


class ChallengeError(RuntimeError):
    """The job cannot be challenged as asked (wrong spec, nothing wrong, no program)."""


def load_spec(path: str | Path | None) -> VerdeJob:
    """A VerdeJob from a JSON object of its fields (missing fields keep their defaults); None: the default job."""
    if path is None:
        return VerdeJob()
    raw = json.loads(Path(path).read_text())
    known = {f.name for f in fields(VerdeJob)}
    unknown = set(raw) - known
    if unknown:
        raise ChallengeError(f"{path}: unknown job fields {sorted(unknown)}")
    if "betas" in raw:
        raw["betas"] = tuple(raw["betas"])
    return VerdeJob(**raw)


@dataclass
class Divergence:
    solver: str
    index: int  # first checkpoint whose root differs from ours
    theirs: bytes
    mine: bytes


@dataclass
class Report:
    dispute_id: int
    defender: str
    index: int
    winner: str = "None"
    resolution: str = "None"
    moves: int = 0
    gas: int = 0
    history: list[tuple[str, int, int]] = field(default_factory=list)  # (phase, lo, hi) after each move


def checkpoint_step(params, index: int) -> int:
    """The step after which checkpoint `index` is taken: min(index * interval, steps)."""
    return min(index * params.checkpointInterval, params.steps)


def divergences(market, job_id: int, trainer: VerdeTrainer) -> list[Divergence]:
    """For every solver, the first posted checkpoint whose root differs from the local run's."""
    params = market.jobOf(job_id).params_
    out = []
    for solver in market.solversOf(job_id):
        posted = market.solverOf(job_id, solver).posted
        for k in range(1, posted + 1):
            theirs = bytes(market.checkpointOf(job_id, solver, k).root_)
            mine = trainer.roots[checkpoint_step(params, k)]
            if theirs != mine:
                out.append(Divergence(str(solver), k, theirs, mine))
                break
    return out


def open_dispute(referee, market, job_id: int, account, d: Divergence) -> int:
    """Open the dispute as the job's solver (if the account is one) or as a watcher; returns its id."""
    bond = referee.BOND()
    if market.solverOf(job_id, account.address).joined:
        receipt = referee.openSolverDispute(job_id, d.solver, d.index, sender=account, value=bond)
    else:
        receipt = referee.openWatcherDispute(job_id, d.solver, d.index, d.mine, sender=account, value=bond)
    return int(receipt.events.filter(referee.DisputeCreated)[0].disputeId)


def check_job(market, referee, job_id: int, job: VerdeJob) -> None:
    """The local spec is the job's, and its program is registered (else only a committee could decide)."""
    params = market.jobOf(job_id).params_
    if bytes(params.specHash) != spec_hash(job):
        raise ChallengeError(f"job {job_id}: its specHash is not this spec's initial checkpoint root")
    if params.steps != job.steps:
        raise ChallengeError(f"job {job_id} has {params.steps} steps, the spec {job.steps}")
    if referee.programOf(job_id).numOps == 0:
        raise ChallengeError(f"job {job_id} has no registered program: a dispute would go to the committee")


def play_dispute(
    referee,
    challenger: DisputeAgent,
    *,
    partners: Sequence[DisputeAgent] = (),
    poll_s: float = 1.0,
    timeout_s: float = 3_600.0,
    echo: Callable[[str], None] = print,
) -> Report:
    """Play `challenger` (and any in-process `partners`) until the dispute resolves; claim a timeout when the
    side to move lets its clock run out. Returns the report with the verdict."""
    did = challenger.dispute_id
    d0 = referee.disputeOf(did)
    report = Report(did, str(d0.defender), int(d0.checkpointIndex))
    agents = [challenger, *partners]
    started = time.monotonic()
    while True:
        d = referee.disputeOf(did)
        if d.phase == RESOLVED:
            break
        moved = False
        for a in agents:
            if a.act():
                moved = True
                d = referee.disputeOf(did)
                report.history.append((PHASES[d.phase], int(d.lo), int(d.hi)))
                break
        if moved:
            continue
        from ape import chain

        deadline = referee.moveDeadline(did)
        if deadline and chain.pending_timestamp > deadline:
            receipt = referee.timeout(did, sender=challenger.account)
            challenger.receipts.append(receipt)
            echo(f"{'anyone':<10} {'timeout (the side to move ran out of time)':<48} gas {receipt.gas_used:>8,}")
            continue
        if time.monotonic() - started > timeout_s:
            raise TimeoutError(f"dispute {did}: no move for {timeout_s:.0f} s")
        time.sleep(poll_s)
    d = referee.disputeOf(did)
    for r in challenger.receipts:
        for ev in r.events.filter(referee.DisputeResolved):
            report.resolution = RESOLUTIONS[ev.how]
    report.winner = PARTIES[d.winner]
    report.moves = int(d.moves)
    report.gas = sum(r.gas_used for a in agents for r in a.receipts)
    return report


def challenge(
    deployment,
    job_id: int,
    account,
    job: VerdeJob,
    *,
    echo: Callable[[str], None] = print,
    partners: Callable[[int, str], Sequence[DisputeAgent]] | None = None,
    poll_s: float = 1.0,
) -> Report | None:
    """Recompute job `job_id`, dispute the first wrong checkpoint found, and play it out.

    `partners(dispute_id, defender)` may give agents to run in this process (the demo's defender); without
    them the defender plays from wherever it runs, and loses by timeout if it does not. Returns None when
    every posted checkpoint matches the local run.
    """
    market, referee = deployment.JobMarket, deployment.VerdeReferee
    check_job(market, referee, job_id, job)
    echo(f"recomputing job {job_id}: {job.steps} steps of RepOps training")
    trainer = VerdeTrainer(job)
    trainer.train()
    found = divergences(market, job_id, trainer)
    if not found:
        echo(f"job {job_id}: every posted checkpoint matches the local run; nothing to dispute")
        return None
    d = found[0]
    echo(
        f"solver {d.solver}: checkpoint {d.index} is {d.theirs.hex()[:16]}.., "
        f"the local run gives {d.mine.hex()[:16]}.."
    )
    did = open_dispute(referee, market, job_id, account, d)
    echo(f"opened dispute {did} (bond {referee.BOND() / 1e18:g} ETH)")
    agent = DisputeAgent(referee, account, trainer, role="challenger", dispute_id=did, log=echo)
    agent.program = Program(trainer)
    extra = partners(did, d.solver) if partners else ()
    report = play_dispute(referee, agent, partners=extra, poll_s=poll_s, echo=echo)
    echo(
        f"verdict: {report.winner} wins by {report.resolution} after {report.moves} moves ({report.gas:,} gas in all)"
    )
    return report


__all__ = ["CHALLENGER", "ChallengeError", "Report", "challenge", "load_spec"]
