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

from offchain.verde.game import (
    CHALLENGER,
    DESCENT,
    OP_TRACE,
    PHASES,
    REDUCTION,
    RESOLVED,
    STEPS,
    DisputeAgent,
    Program,
)
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
    history: list[tuple[str, int]] = field(default_factory=list)  # (phase, candidates left) after each move
    fees: dict[str, int] = field(default_factory=dict)  # wei of gas each account paid in the game


@dataclass(frozen=True)
class JobInfo:
    """The fields of a job's JobParams this module reads (Ape returns the struct as a tuple on some providers)."""

    spec_hash: bytes
    steps: int
    interval: int

    @classmethod
    def of(cls, market, job_id: int) -> JobInfo:
        p = market.jobOf(job_id)[0]
        return cls(bytes(p[0]), int(p[1]), int(p[2]))


def checkpoint_step(info: JobInfo, index: int) -> int:
    """The step after which checkpoint `index` is taken: min(index * interval, steps)."""
    return min(index * info.interval, info.steps)


def divergences(market, job_id: int, trainer: VerdeTrainer) -> list[Divergence]:
    """For every solver, the first posted checkpoint whose root differs from the local run's."""
    info = JobInfo.of(market, job_id)
    out = []
    for solver in market.solversOf(job_id):
        posted = market.solverOf(job_id, solver).posted
        for k in range(1, posted + 1):
            theirs = bytes(market.checkpointOf(job_id, solver, k)[0])
            mine = trainer.roots[checkpoint_step(info, k)]
            if theirs != mine:
                out.append(Divergence(str(solver), k, theirs, mine))
                break
    return out


def open_dispute(referee, market, job_id: int, account, d: Divergence):
    """Open the dispute as the job's solver (if the account is one) or as a watcher; returns the receipt."""
    bond = referee.BOND()
    if market.solverOf(job_id, account.address).joined:
        return referee.openSolverDispute(job_id, d.solver, d.index, sender=account, value=bond)
    if int(str(market.jobOf(job_id)[1]), 16) == int(account.address, 16):  # RefereeRequesterIsWatcher
        raise ChallengeError(f"job {job_id}: its requester cannot dispute its own solvers as a watcher")
    return referee.openWatcherDispute(job_id, d.solver, d.index, d.mine, sender=account, value=bond)


def check_job(market, referee, job_id: int, job: VerdeJob) -> None:
    """The local spec is the job's, and it was posted with this spec's program (else only a committee could
    decide, or the chain would judge the trace against other rules)."""
    if not 1 <= job_id <= market.jobCount():
        raise ChallengeError(f"job {job_id} does not exist: this market has {market.jobCount()} jobs")
    info = JobInfo.of(market, job_id)
    if info.spec_hash != spec_hash(job):
        raise ChallengeError(f"job {job_id}: its specHash is not this spec's initial checkpoint root")
    if info.steps != job.steps:
        raise ChallengeError(f"job {job_id} has {info.steps} steps, the spec {job.steps}")
    registered = referee.programOf(job_id)
    if registered.numOps == 0:
        raise ChallengeError(f"job {job_id} was posted without a program: a dispute would go to the committee")
    local = Program(VerdeTrainer(job))
    if bytes(registered.programTree) != local.tree or bytes(registered.dataTree) != local.data_tree:
        raise ChallengeError(f"job {job_id}: the program or data it was posted with is not this spec's")


def candidates(d) -> int:
    """What is still open after a move: steps or ops in (lo, hi], elements under the descent's node pair,
    partial sums in (lo, hi]; 1 once a single op, element or term is pinned."""
    if d.phase in (STEPS, OP_TRACE, REDUCTION):
        return int(d.hi - d.lo)
    if d.phase == DESCENT:
        return 8 << int(d.height)
    return 1


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
                report.history.append((PHASES[d.phase], candidates(d)))
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
    for a in agents:
        for r in a.receipts:
            report.fees[str(r.sender)] = report.fees.get(str(r.sender), 0) + r.total_fees_paid
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
    opened = open_dispute(referee, market, job_id, account, d)
    did = int(opened.events.filter(referee.DisputeCreated)[0].disputeId)
    echo(f"opened dispute {did} (bond {referee.BOND() / 1e18:g} ETH)")
    agent = DisputeAgent(referee, account, trainer, role="challenger", dispute_id=did, log=echo)
    agent.receipts.append(opened)
    extra = partners(did, d.solver) if partners else ()
    report = play_dispute(referee, agent, partners=extra, poll_s=poll_s, echo=echo)
    echo(
        f"verdict: {report.winner} wins by {report.resolution} after {report.moves} moves ({report.gas:,} gas in all)"
    )
    return report


def disputes_against(referee, job_id: int, defender: str) -> list[int]:
    """Open disputes of job `job_id` against `defender` (newest last)."""
    out = []
    for did in range(1, referee.disputeCount() + 1):
        d = referee.disputeOf(did)
        if d.jobId == job_id and str(d.defender) == str(defender) and d.phase != RESOLVED:
            out.append(did)
    return out


def defend(
    deployment,
    job_id: int,
    account,
    trainer: VerdeTrainer,
    *,
    echo: Callable[[str], None] = print,
    poll_s: float = 2.0,
    once: bool = False,
) -> list[Report]:
    """Watch job `job_id` for disputes against `account` and answer each from `trainer`'s run until it is
    resolved. With `once`, return after the disputes open now are played; otherwise keep watching."""
    referee = deployment.VerdeReferee
    reports: list[Report] = []
    seen: set[int] = set()
    while True:
        for did in disputes_against(referee, job_id, account.address):
            if did in seen:
                continue
            seen.add(did)
            echo(f"dispute {did} against {account.address[:10]}: defending from the local run")
            agent = DisputeAgent(referee, account, trainer, role="defender", dispute_id=did, log=echo)
            report = play_dispute(referee, agent, poll_s=poll_s, echo=echo)
            echo(f"dispute {did}: {report.winner} wins by {report.resolution} after {report.moves} moves")
            reports.append(report)
        if once:
            return reports
        time.sleep(poll_s)


def plot_dispute(report: Report, path: Path, *, moves: Sequence[tuple[str, int]] = ()) -> Path:
    """The dispute as a PNG, one column per move. Above (when `moves`, each `(party, gas)` in chain order, is
    given): the gas of every move, coloured by the side that sent it, so the defender's moves show as well as
    ours. Below: log2 of what is still open after each move, coloured by phase, with a dot on every move, so the
    moves that leave one candidate (log2 = 0, once a bar of no height) are visible too."""
    import math

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    sides = {"challenger": "C0", "defender": "C3"}
    phases: dict[str, str] = {}
    for phase, _ in report.history:
        phases.setdefault(phase, f"C{len(phases) + 4}")  # C0 and C3 stay the parties' colours
    rows = 2 if moves else 1
    fig, axes = plt.subplots(rows, 1, figsize=(10, 1.6 + 2.4 * rows), sharex=True, squeeze=False)
    if moves:
        ax = axes[0, 0]
        for i, (party, gas) in enumerate(moves, start=1):
            ax.bar(i, gas, color=sides.get(party.lower(), "grey"))
        ax.set_ylabel("gas")
        ax.yaxis.set_major_formatter(lambda v, _pos: f"{v / 1000:.0f}k")
        shown = [name for name in sides if any(p.lower() == name for p, _ in moves)]
        ax.legend([plt.Rectangle((0, 0), 1, 1, color=sides[n]) for n in shown], shown, loc="upper left", fontsize=8)
    ax = axes[-1, 0]
    for i, (phase, width) in enumerate(report.history, start=1):
        height = math.log2(max(width, 1))
        ax.bar(i, height, color=phases[phase], alpha=0.6)
        ax.plot(i, height, "o", color=phases[phase], markersize=4)
    ax.set_ylim(bottom=-0.5)
    handles = [plt.Rectangle((0, 0), 1, 1, color=c) for c in phases.values()]
    ax.legend(handles, list(phases), loc="upper right", fontsize=8)
    ax.set_xlabel("move")
    ax.set_ylabel("log2(candidates left)")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    axes[0, 0].set_title(
        f"dispute {report.dispute_id}: {report.winner} wins by {report.resolution} in {report.moves} moves"
    )
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


__all__ = ["CHALLENGER", "ChallengeError", "Report", "challenge", "defend", "load_spec", "plot_dispute"]
