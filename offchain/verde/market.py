"""A Verde job on the JobMarket from each side: the requester posts it with its program, a solver joins it,
trains it with RepOps and posts its checkpoint roots, and anyone reads its terms and checks a spec against
them. `ape run job` (scripts/job.py) and `make demo` (offchain/demo.py) both run this code.

    job_id = post_job(market, requester, job, Terms(payment_wei=ETH))     # JobParams from the spec
    join_job(market, solver, job_id, job)                                 # refuses a job that is not the spec's
    trainer = train(job); post_checkpoints(market, solver, job_id, trainer.roots)

Everything that can be checked is checked before a transaction is sent; a refused one raises JobError with
the contract's custom error (offchain/chain/reverts.py), so a command fails with one line and nothing changed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from offchain.chain import client
from offchain.chain.reverts import describe_revert
from offchain.verde.adversary import Cheater, corrupt
from offchain.verde.game import Program, program_of
from offchain.verde.job import VerdeJob, spec_hash
from offchain.verde.trainer import VerdeTrainer

ETH = 10**18
ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
STATUSES = ("None", "Open", "Running", "Cancelled", "Voided")  # IJobMarket.JobStatus
OPEN, RUNNING = 1, 2

Send = Callable[..., Any]  # send(what, method, *args, sender=..., value=0) -> receipt


class JobError(RuntimeError):
    """A request about a job that cannot be honoured as asked; the message is one line, nothing was sent."""


@dataclass(frozen=True)
class Terms:
    """The market's side of a job (JobParams besides the spec and its program)."""

    payment_wei: int = ETH  # split evenly over solvers and checkpoints
    stake_wei: int = ETH // 2  # each solver's stake (its collateral in disputes)
    num_solvers: int = 2  # the job starts when this many have joined
    join_s: int = 600  # seconds from posting to the join deadline
    complete_s: int = 7_200  # seconds from posting to the completion deadline (the last checkpoint's)
    window_s: int = 600  # seconds each checkpoint stays disputable after it is posted
    interval: int | None = None  # steps between checkpoints on the market (None: the spec's checkpoint_interval)


@dataclass(frozen=True)
class JobInfo:
    """A job as the market keeps it (Ape returns the struct as a tuple on some providers)."""

    spec_hash: bytes
    steps: int
    interval: int
    num_solvers: int
    token: str
    payment: int
    stake: int
    join_deadline: int
    completion_deadline: int
    window: int
    program_tree: bytes
    data_tree: bytes
    num_ops: int
    requester: str
    status: int
    joined: int

    @classmethod
    def of(cls, market, job_id: int) -> JobInfo:
        p, requester, status, joined = market.jobOf(job_id)
        return cls(bytes(p[0]), int(p[1]), int(p[2]), int(p[3]), str(p[4]), int(p[5]), int(p[6]), int(p[7]),
                   int(p[8]), int(p[9]), bytes(p[10]), bytes(p[11]), int(p[12]), str(requester), int(status),
                   int(joined))  # fmt: skip

    @property
    def checkpoints(self) -> int:
        return math.ceil(self.steps / self.interval)

    def checkpoint_step(self, index: int) -> int:
        """The step after which checkpoint `index` is taken."""
        return min(index * self.interval, self.steps)


def transact(what: str, method, *args, sender, value: int = 0, echo: Callable[[str], None] = print):
    """Send one transaction and print it; a refusal is a JobError naming the contract's error."""
    try:
        tx = method(*args, sender=sender, value=value) if value else method(*args, sender=sender)
    except client.TransactionError as err:
        raise JobError(f"{what}: refused by the chain: {describe_revert(err)}") from None
    echo(f"{what:<58} gas {tx.gas_used:>9,}")
    return tx


def sender(echo: Callable[[str], None] = print) -> Send:
    """`transact` printing through `echo` (the demo passes its own Ledger.send instead)."""
    return lambda what, method, *args, **kw: transact(what, method, *args, echo=echo, **kw)


# ---------------------------------------------------------------- reading a job


def check_job_id(market, job_id: int) -> None:
    count = market.jobCount()
    if not 1 <= job_id <= count:
        raise JobError(f"job {job_id} does not exist: this market has {count} job{'' if count == 1 else 's'}")


def mismatches(info: JobInfo, job: VerdeJob, program: Program | None = None) -> list[str]:
    """How a job differs from `job` (its spec): empty when the job is the spec's, posted with its program."""
    out = []
    if info.spec_hash != spec_hash(job):
        out.append("its specHash is not this spec's initial checkpoint root")
    if info.steps != job.steps:
        out.append(f"it has {info.steps} steps, the spec {job.steps}")
    if info.num_ops == 0:
        out.append("it was posted without a program: a dispute would go to the committee")
    else:
        program = program or program_of(job)
        if (info.program_tree, info.data_tree, info.num_ops) != program.job_fields:
            out.append("the program or data it was posted with is not this spec's")
    return out


def check_spec(market, job_id: int, job: VerdeJob, program: Program | None = None) -> JobInfo:
    """The job's info when it exists and is `job`'s, posted with its program; else a JobError."""
    check_job_id(market, job_id)
    info = JobInfo.of(market, job_id)
    wrong = mismatches(info, job, program)
    if wrong:
        raise JobError(f"job {job_id}: {wrong[0]}")
    return info


def describe(info: JobInfo, job_id: int) -> list[str]:
    """The job's terms as printed by `ape run job spec`."""
    asset = "ETH" if int(info.token, 16) == 0 else f"units of {info.token}"
    return [
        f"job {job_id}: {STATUSES[info.status]}, requester {info.requester}, {info.joined} of {info.num_solvers} "
        f"solvers joined",
        f"  specHash            0x{info.spec_hash.hex()}",
        f"  steps               {info.steps}, a checkpoint every {info.interval} ({info.checkpoints} checkpoints)",
        f"  payment             {info.payment / ETH:g} {asset}, stake {info.stake / ETH:g} per solver",
        f"  join deadline       {info.join_deadline} (unix s), completion deadline {info.completion_deadline}",
        f"  challenge window    {info.window} s after each checkpoint",
        f"  program             programTree 0x{info.program_tree.hex()}",
        f"                      dataTree 0x{info.data_tree.hex()}, numOps {info.num_ops}",
    ]


# ---------------------------------------------------------------- the requester


def job_params(job: VerdeJob, terms: Terms, *, now: int, program: Program) -> tuple:
    """JobParams of `job` on `terms`, deadlines counted from `now`, with the spec's program and data."""
    interval = terms.interval or job.checkpoint_interval
    return (spec_hash(job), job.steps, interval, terms.num_solvers, ZERO_ADDRESS, terms.payment_wei,
            terms.stake_wei, now + terms.join_s, now + terms.complete_s, terms.window_s,
            *program.job_fields)  # fmt: skip


def post_job(market, requester, job: VerdeJob, terms: Terms = Terms(), *, send: Send, program=None) -> int:  # noqa: B008 (frozen)
    """Post `job` with its program (so that its disputes are judged on chain) and pay for it; its id."""
    program = program or program_of(job)
    params = job_params(job, terms, now=client.pending_timestamp(), program=program)
    tx = send(f"post a Verde job ({terms.payment_wei / ETH:g} ETH) with its program", market.postJob, params,
              sender=requester, value=terms.payment_wei)  # fmt: skip
    return int(tx.events.filter(market.JobPosted)[0].jobId)


# ---------------------------------------------------------------- a solver


def check_joinable(market, solver, job_id: int, info: JobInfo) -> None:
    """Refuse, before anything is sent, a join the market would revert (not Open, joined already, past the join
    deadline) or one these clients do not support (a token job); whatever the job's kind."""
    if info.status != OPEN:
        raise JobError(f"job {job_id} is {STATUSES[info.status]}: only an Open job can be joined")
    if market.solverOf(job_id, solver.address).joined:
        raise JobError(f"job {job_id}: {solver.address} has already joined it")
    if client.pending_timestamp() > info.join_deadline:
        raise JobError(f"job {job_id}: its join deadline {info.join_deadline} has passed")
    if int(info.token, 16) != 0:
        raise JobError(f"job {job_id} is paid in the token {info.token}: these clients post ETH jobs only")


def join_job(market, solver, job_id: int, job: VerdeJob, *, send: Send, program: Program | None = None) -> JobInfo:
    """Stake in job `job_id` after checking that it is `job`'s (spec, steps, program): a solver joins under
    the program it will be judged by."""
    info = check_spec(market, job_id, job, program)
    check_joinable(market, solver, job_id, info)
    send(f"join job {job_id} with a {info.stake / ETH:g} ETH stake", market.join, job_id, sender=solver,
         value=info.stake)  # fmt: skip
    return JobInfo.of(market, job_id)


def train(job: VerdeJob, *, cheat_step: int | None = None, echo: Callable[[str], None] = print) -> VerdeTrainer:
    """The run a solver posts: honest, or (`cheat_step`) one ulp wrong in one softmax exp at that step."""
    echo(f"training {job.steps} steps with RepOps")
    honest = VerdeTrainer(job)
    honest.train()
    if cheat_step is None:
        return honest
    bad = ulp_cheater(job, cheat_step, honest)
    d = bad.dishonest
    echo(f"cheating: op {d.op} ({bad.program[d.op].note}) element {d.element} is one ulp off at step {d.step}")
    return bad


def ulp_cheater(job: VerdeJob, step: int, honest: VerdeTrainer) -> Cheater:
    """A run that adds one ulp to one element of the first attention softmax exp at `step`: the first element
    whose error survives into the final root (AdamW rounds many one-ulp errors away)."""
    if not 1 <= step <= job.steps:
        raise JobError(f"cheat step {step} is outside the job's steps 1..{job.steps}")
    exp_op = next(i for i, op in enumerate(honest.program) if op.note.endswith("softmax exp"))
    for element in range(64):
        bad = Cheater(job, corrupt(step, exp_op, element=element, mode="ulp"))
        bad.train()
        if bad.roots[job.steps] != honest.roots[job.steps]:
            return bad
    raise JobError(f"no one-ulp error in op {exp_op} at step {step} changes the final root")


def wait_running(market, job_id: int, *, poll_s: float = 2.0, echo: Callable[[str], None] = print) -> JobInfo:
    """Wait until the job has all its solvers (it runs); a JobError when it never will."""
    told = False
    while True:
        info = JobInfo.of(market, job_id)
        if info.status == RUNNING:
            return info
        if info.status != OPEN:
            raise JobError(f"job {job_id} is {STATUSES[info.status]}: there is nothing to train for")
        if client.pending_timestamp() > info.join_deadline:
            raise JobError(f"job {job_id}: its join deadline passed with {info.joined} of {info.num_solvers} "
                           "solvers; it can only be cancelled")  # fmt: skip
        if not told:
            echo(f"job {job_id} waits for {info.num_solvers - info.joined} more solver(s) to join")
            told = True
        time.sleep(poll_s)


def post_checkpoints(market, solver, job_id: int, roots: Sequence[bytes], *, send: Send) -> list[int]:
    """Post the checkpoints not posted yet (a restarted solver goes on where it stopped); their indices."""
    info = JobInfo.of(market, job_id)
    me = market.solverOf(job_id, solver.address)
    if me.slashed:
        raise JobError(f"job {job_id}: {solver.address} was slashed; it posts nothing more")
    posted = int(me.posted)
    for k in range(1, posted + 1):
        if bytes(market.checkpointOf(job_id, solver.address, k)[0]) != roots[info.checkpoint_step(k)]:
            raise JobError(f"job {job_id}: checkpoint {k} on chain is not this run's (another spec or run?)")
    if posted < info.checkpoints and client.pending_timestamp() > info.completion_deadline:
        raise JobError(f"job {job_id}: its completion deadline {info.completion_deadline} has passed")
    done = []
    for k in range(posted + 1, info.checkpoints + 1):
        step = info.checkpoint_step(k)
        send(f"checkpoint {k} (step {step}): {roots[step].hex()[:16]}..", market.postCheckpoint, job_id, k,
             roots[step], sender=solver)  # fmt: skip
        done.append(k)
    return done


def solve(market, solver, job_id: int, job: VerdeJob, *, send: Send, cheat_step: int | None = None,
          poll_s: float = 2.0, echo: Callable[[str], None] = print) -> VerdeTrainer:  # fmt: skip
    """What a solver of job `job_id` does once joined: train it, wait for the job to run, post every
    checkpoint root. Returns the run, to answer disputes from (`defend`)."""
    check_spec(market, job_id, job)
    if not market.solverOf(job_id, solver.address).joined:
        raise JobError(f"job {job_id}: {solver.address} has not joined it (ape run job join)")
    trainer = train(job, cheat_step=cheat_step, echo=echo)
    wait_running(market, job_id, poll_s=poll_s, echo=echo)
    posted = post_checkpoints(market, solver, job_id, trainer.roots, send=send)
    info = JobInfo.of(market, job_id)
    echo(f"job {job_id}: {len(posted)} checkpoint(s) posted now, {info.checkpoints} of {info.checkpoints} on chain")
    return trainer
