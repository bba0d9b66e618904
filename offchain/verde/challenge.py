"""`ape run challenge` and `ape run defend`: recompute a JobMarket job locally and, where a solver's checkpoint
is wrong, dispute it on the VerdeReferee and play the game to the verdict; or answer the disputes against a
solver from its own run.

    job = load_spec("job.json")                                    # the VerdeJob the job's specHash commits
    report = challenge(deployment, job_id, account, job, echo=print)
    report.winner, report.moves, report.dispute_id
    defend(deployment, job_id, solver, trainer, once=True)         # the disputes against `solver` open now

The challenger trains the job itself (RepOps is bitwise reproducible, so an honest recomputation equals an
honest solver's), finds the first checkpoint where an unslashed solver's root differs from its own while the
one before agrees, opens the dispute (as that job's solver, or as a watcher), and answers every move from
its own trace. A challenger restarted mid-game finds its own live dispute on the job and plays on.

Both sides wait by the chain's clock (block timestamps), never the local one: a side whose on-chain deadline
passes loses by `timeout`, which either side claims; the side that loses that race sees the dispute resolved
and reports the verdict. A move the referee refuses is reported by its custom error and not sent again until
the dispute has moved on.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from offchain.chain import client
from offchain.chain.reverts import describe_revert
from offchain.verde.game import (
    CHALLENGER,
    COMMITTEE,
    DESCENT,
    OP_TRACE,
    PHASES,
    REDUCTION,
    RESOLVED,
    STEPS,
    DisputeAgent,
)
from offchain.verde.job import VerdeJob, load_spec
from offchain.verde.market import JobError, JobInfo, check_job_id, check_spec
from offchain.verde.trainer import VerdeTrainer

RESOLUTIONS = ("None", "Leaf", "Timeout", "Committee", "BothWrong", "Expired")
PARTIES = ("None", "Challenger", "Defender")


class ChallengeError(JobError):
    """The job cannot be challenged or defended as asked (wrong spec, no program, the opening refused)."""


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


def divergences(
    market, job_id: int, trainer: VerdeTrainer, *, echo: Callable[[str], None] = lambda _m: None
) -> list[Divergence]:
    """For every solver that can still be disputed, the first posted checkpoint whose root differs from the
    local run's. A slashed solver is skipped (the market refuses any dispute over it), and so is a wrong
    checkpoint whose challenge window has closed (it is final)."""
    info = JobInfo.of(market, job_id)
    out = []
    for solver in market.solversOf(job_id):
        me = market.solverOf(job_id, solver)
        if me.slashed:
            echo(f"solver {solver}: slashed already, skipped")
            continue
        for k in range(1, int(me.posted) + 1):
            theirs, posted_at = market.checkpointOf(job_id, solver, k)
            mine = trainer.roots[info.checkpoint_step(k)]
            if bytes(theirs) == mine:
                continue
            if client.pending_timestamp() >= int(posted_at) + info.window:
                echo(f"solver {solver}: checkpoint {k} is wrong but final (its challenge window closed), skipped")
            else:
                out.append(Divergence(str(solver), k, bytes(theirs), mine))
            break
    return out


def open_dispute(referee, market, job_id: int, account, d: Divergence):
    """Open the dispute as the job's solver (if the account is one) or as a watcher; returns the receipt."""
    bond = referee.BOND()
    if market.solverOf(job_id, account.address).joined:
        opener, args = referee.openSolverDispute, (job_id, d.solver, d.index)
    elif int(JobInfo.of(market, job_id).requester, 16) == int(account.address, 16):  # RefereeRequesterIsWatcher
        raise ChallengeError(f"job {job_id}: its requester cannot dispute its own solvers as a watcher")
    else:
        opener, args = referee.openWatcherDispute, (job_id, d.solver, d.index, d.mine)
    try:
        return opener(*args, sender=account, value=bond)
    except client.TransactionError as err:
        raise ChallengeError(f"job {job_id}: opening the dispute was refused: {describe_revert(err)}") from None


def check_job(market, referee, job_id: int, job: VerdeJob) -> None:
    """The local spec is the job's, and it was posted with this spec's program (else only a committee could
    decide, or the chain would judge the trace against other rules)."""
    try:
        check_spec(market, job_id, job)
    except JobError as err:
        raise ChallengeError(str(err)) from None


def candidates(d) -> int:
    """What is still open after a move: steps or ops in (lo, hi], elements under the descent's node pair,
    partial sums in (lo, hi]; 1 once a single op, element or term is pinned."""
    if d.phase in (STEPS, OP_TRACE, REDUCTION):
        return int(d.hi - d.lo)
    if d.phase == DESCENT:
        return 8 << int(d.height)
    return 1


def deadline_of(referee, d, did: int) -> int:
    """When the side to move (or the committee) runs out of time, in block time; 0 when nobody's clock runs."""
    if d.phase == COMMITTEE:
        return int(d.turnStartedAt) + int(referee.CLOCK_SECONDS())
    return int(referee.moveDeadline(did))


def claim_timeout(referee, did: int, agent: DisputeAgent, echo: Callable[[str], None]) -> bool:
    """Resolve against the side whose clock ran out; True if our claim went through. The other side may claim
    it first (or move at its last second): that is a race lost, not a failure, and the state is re-read."""
    try:
        receipt = referee.timeout(did, sender=agent.account)
    except client.TransactionError as err:
        echo(f"{'anyone':<10} timeout not claimed: {describe_revert(err)}")
        return False
    agent.receipts.append(receipt)
    echo(f"{'anyone':<10} {'timeout (the side to move ran out of time)':<48} gas {receipt.gas_used:>8,}")
    return True


def opened_block(referee, did: int) -> int:
    """The block the dispute was opened in (its events are all from there on)."""
    head = client.head_number()
    logs = list(referee.DisputeCreated.range(0, head + 1, search_topics={"disputeId": did}))
    return int(logs[0].block_number) if logs else 0


def play_dispute(
    referee,
    challenger: DisputeAgent,
    *,
    partners: Sequence[DisputeAgent] = (),
    poll_s: float = 1.0,
    timeout_s: float = 600.0,
    echo: Callable[[str], None] = print,
) -> Report:
    """Play `challenger` (whichever side it is) and any in-process `partners` until the dispute resolves.

    Waiting is by block time: while the side to move is within its on-chain deadline the client waits however
    long that takes; once the deadline has passed it claims the timeout. `timeout_s` is how many seconds of
    block time past that deadline it keeps trying before it gives up (TimeoutError) with the dispute open."""
    did = challenger.dispute_id
    d0 = referee.disputeOf(did)
    report = Report(did, str(d0.defender), int(d0.checkpointIndex))
    agents = [challenger, *partners]
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
        deadline, now = deadline_of(referee, d, did), client.pending_timestamp()
        if deadline and now > deadline:
            if claim_timeout(referee, did, challenger, echo):
                continue
            if now > deadline + timeout_s:
                raise TimeoutError(f"dispute {did}: still open {now - deadline} s of block time after its deadline")
        time.sleep(poll_s)
    d = referee.disputeOf(did)
    resolved = list(
        referee.DisputeResolved.range(
            challenger.from_block, client.head_number() + 1, search_topics={"disputeId": did}
        )
    )
    if resolved:
        report.resolution = RESOLUTIONS[int(resolved[-1].how)]
    report.winner = PARTIES[d.winner]
    report.moves = int(d.moves)
    report.gas = sum(r.gas_used for a in agents for r in a.receipts)
    for a in agents:
        for r in a.receipts:
            report.fees[str(r.sender)] = report.fees.get(str(r.sender), 0) + r.total_fees_paid
    return report


def live_disputes(referee, job_id: int, *, challenger: str | None = None, defender: str | None = None) -> list[int]:
    """Unresolved disputes of job `job_id` opened by `challenger` / against `defender` (oldest first)."""
    out = []
    for did in range(1, referee.disputeCount() + 1):
        d = referee.disputeOf(did)
        if d.jobId != job_id or d.phase == RESOLVED:
            continue
        if challenger is not None and int(str(d.challenger), 16) != int(challenger, 16):
            continue
        if defender is not None and int(str(d.defender), 16) != int(defender, 16):
            continue
        out.append(did)
    return out


def challenge(
    deployment,
    job_id: int,
    account,
    job: VerdeJob,
    *,
    echo: Callable[[str], None] = print,
    partners: Callable[[int, str], Sequence[DisputeAgent]] | None = None,
    poll_s: float = 1.0,
    timeout_s: float = 600.0,
) -> Report | None:
    """Recompute job `job_id`, dispute the first wrong checkpoint found, and play it out; or, when `account`
    already has a live dispute on this job (a challenger restarted mid-game), play that one on.

    `partners(dispute_id, defender)` may give agents to run in this process (the demo's defender); without
    them the defender plays from wherever it runs, and loses by timeout if it does not. Returns None when
    every posted checkpoint of an unslashed solver matches the local run.
    """
    market, referee = deployment.JobMarket, deployment.VerdeReferee
    check_job(market, referee, job_id, job)
    mine = live_disputes(referee, job_id, challenger=account.address)
    echo(f"recomputing job {job_id}: {job.steps} steps of RepOps training")
    trainer = VerdeTrainer(job)
    trainer.train()
    if mine:
        did = mine[0]
        d = referee.disputeOf(did)
        echo(f"resuming dispute {did} (opened by this account against {d.defender}, checkpoint "
             f"{d.checkpointIndex}, now in {PHASES[d.phase]})")  # fmt: skip
        agent = DisputeAgent(referee, account, trainer, role="challenger", dispute_id=did, log=echo,
                             from_block=opened_block(referee, did))  # fmt: skip
        defender = str(d.defender)
    else:
        found = divergences(market, job_id, trainer, echo=echo)
        if not found:
            echo(f"job {job_id}: every checkpoint that can be disputed matches the local run; nothing to dispute")
            return None
        d = found[0]
        echo(
            f"solver {d.solver}: checkpoint {d.index} is {d.theirs.hex()[:16]}.., "
            f"the local run gives {d.mine.hex()[:16]}.."
        )
        opened = open_dispute(referee, market, job_id, account, d)
        did = int(opened.events.filter(referee.DisputeCreated)[0].disputeId)
        echo(f"opened dispute {did} (bond {referee.BOND() / 1e18:g} ETH, gas {opened.gas_used:,})")
        agent = DisputeAgent(referee, account, trainer, role="challenger", dispute_id=did, log=echo,
                             from_block=int(opened.block_number))  # fmt: skip
        agent.receipts.append(opened)
        defender = d.solver
    extra = partners(did, defender) if partners else ()
    report = play_dispute(referee, agent, partners=extra, poll_s=poll_s, timeout_s=timeout_s, echo=echo)
    echo(verdict_line(report))
    return report


def verdict_line(report: Report) -> str:
    who = "nobody wins" if report.winner == "None" else f"{report.winner} wins"
    return f"verdict: {who} by {report.resolution} after {report.moves} moves ({report.gas:,} gas sent from here)"


def defend(
    deployment,
    job_id: int,
    account,
    trainer: VerdeTrainer,
    *,
    echo: Callable[[str], None] = print,
    poll_s: float = 2.0,
    once: bool = False,
    timeout_s: float = 600.0,
) -> list[Report]:
    """Watch job `job_id` for disputes against `account` and answer each from `trainer`'s run until it is
    resolved (one opened before a restart too). With `once`, return after the disputes open now are played;
    otherwise keep watching."""
    referee = deployment.VerdeReferee
    check_job_id(deployment.JobMarket, job_id)
    reports: list[Report] = []
    seen: set[int] = set()
    while True:
        for did in live_disputes(referee, job_id, defender=account.address):
            if did in seen:
                continue
            seen.add(did)
            echo(f"dispute {did} against {account.address[:10]}: defending from the local run")
            agent = DisputeAgent(referee, account, trainer, role="defender", dispute_id=did, log=echo,
                                 from_block=opened_block(referee, did))  # fmt: skip
            report = play_dispute(referee, agent, poll_s=poll_s, timeout_s=timeout_s, echo=echo)
            echo(f"dispute {did}: {verdict_line(report).removeprefix('verdict: ')}")
            reports.append(report)
        if once:
            if not reports:
                echo(f"job {job_id}: no open dispute against {account.address}")
            return reports
        time.sleep(poll_s)


def dispute_moves(referee, dispute_id: int, parties: dict[str, str]) -> list[tuple[str, int]]:
    """(party, gas) of every move of dispute `dispute_id`, in chain order, read back from the blocks between its
    opening and its verdict: the Report knows what each move left open, not who sent it or what it cost."""
    opened = opened_block(referee, dispute_id)
    topics = {"disputeId": dispute_id}
    head = client.head_number()
    resolved = next(iter(referee.DisputeResolved.range(opened, head + 1, search_topics=topics))).block_number
    return [(parties.get(who, "anyone"), gas) for who, gas in client.calls_to(referee, opened + 1, resolved)]


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


__all__ = [
    "CHALLENGER",
    "ChallengeError",
    "Report",
    "challenge",
    "defend",
    "dispute_moves",
    "load_spec",
    "plot_dispute",
]
