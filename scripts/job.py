"""A Verde job from both sides of the JobMarket: post it, join it, solve it, read its spec.

    ape run job post  --account TEST::1 --spec examples/job.json --network ethereum:local:node
    ape run job join  --account TEST::2 --job-id 1 --spec examples/job.json --network ethereum:local:node
    ape run job solve --account TEST::2 --job-id 1 --spec examples/job.json --network ethereum:local:node
    ape run job spec  --job-id 1 --spec examples/job.json --out job-1.json --network ethereum:local:node

The spec file is docs/verde-cli.md's JSON of the VerdeJob fields (examples/job.json is the default job). Every
command checks what it can before sending anything (the job exists, it is the spec's, with its program), and a
refusal is one line naming the contract's error. `ape run challenge` and `ape run defend` play the disputes.
"""

from __future__ import annotations

from pathlib import Path

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.chain.wallet import signer
from offchain.verde.cli import job_id_option, one_line, poll_option, spec_option, terms_options
from offchain.verde.job import load_spec, spec_json
from offchain.verde.market import (
    JobError,
    JobInfo,
    Terms,
    check_job_id,
    describe,
    join_job,
    mismatches,
    post_job,
    sender,
)
from offchain.verde.market import solve as solve_job


@click.group()
def cli() -> None:
    """Post, join, solve and inspect Verde jobs.

    A Verde job is RepOps training of a tiny GPT whose disputes are judged on chain down to one float32 op
    (docs/verde-cli.md)."""


@cli.command(cls=ChainCommand)
@signer("The requester: pays the payment now and gets back whatever the solvers do not earn.")
@spec_option
@terms_options
@click.option("--interval", type=click.IntRange(1), default=None, metavar="STEPS",
              help="Steps between checkpoints on the market (default: the spec's checkpoint_interval).")  # fmt: skip
def post(account, spec, payment, stake, solvers, join_within, complete_within, window, interval) -> None:
    """Post a Verde job with the spec's program, paying in ETH."""
    with one_line():
        job = load_spec(spec)
        deployment = load_deployment()
        terms = Terms(payment_wei=payment, stake_wei=stake, num_solvers=solvers, join_s=join_within,
                      complete_s=complete_within, window_s=window, interval=interval)  # fmt: skip
        job_id = post_job(deployment.JobMarket, account, job, terms, send=sender(click.echo))
    click.echo(f"posted job {job_id}: {job.steps} steps, {solvers} solver(s) to join, each staking {stake / 10**18:g}"
               " ETH")  # fmt: skip
    click.echo(f"solvers: ape run job join --job-id {job_id}{' --spec ' + spec if spec else ''} --account ...")


@cli.command(cls=ChainCommand)
@signer("The solver: stakes the job's stake.")
@job_id_option
@spec_option
def join(account, job_id: int, spec: str | None) -> None:
    """Stake in a Verde job as a solver.

    Nothing is staked unless the job is the spec's (specHash, steps) and was posted with the spec's program
    and data: a solver joins under the rules it will be judged by."""
    with one_line():
        job = load_spec(spec)
        info = join_job(load_deployment().JobMarket, account, job_id, job, send=sender(click.echo))
    click.echo(f"joined job {job_id}: {info.joined} of {info.num_solvers} solvers")


@cli.command(cls=ChainCommand)
@signer("The solver (it must have joined the job).")
@job_id_option
@spec_option
@poll_option
@click.option(
    "--defend",
    is_flag=True,
    help="Then keep answering disputes against this account from this run (as ape run defend does).",
)
@click.option("--cheat-step", type=click.IntRange(1), default=None, metavar="STEP",
              help="Post a cheater's run instead: one ulp wrong in one softmax exp at this step (for trying out "
                   "ape run challenge; this account will be slashed).")  # fmt: skip
def solve(account, job_id: int, spec: str | None, poll: float, defend: bool, cheat_step: int | None) -> None:
    """Train a joined job and post its checkpoints.

    Trains the spec's job with RepOps (bitwise reproducible), waits until every solver has joined, and posts
    each checkpoint root; a restarted solver posts the ones still missing."""
    from offchain.verde.challenge import defend as defend_disputes

    with one_line():
        job = load_spec(spec)
        deployment = load_deployment()
        trainer = solve_job(deployment.JobMarket, account, job_id, job, send=sender(click.echo), cheat_step=cheat_step,
                        poll_s=poll, echo=click.echo)  # fmt: skip
        if defend:
            click.echo(f"watching job {job_id} for disputes against {account.address} (Ctrl-C stops)")
            defend_disputes(deployment, job_id, account, trainer, echo=click.echo, poll_s=poll)


@cli.command("spec", cls=ChainCommand)
@job_id_option
@spec_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write the spec here as JSON when it is the job's.")  # fmt: skip
def show_spec(job_id: int, spec: str | None, out: Path | None) -> None:
    """Print a job's terms and check a spec.

    Prints the job's JobParams from the chain and checks the spec (default: the default VerdeJob) against
    them: specHash, steps, program and data. Exits 1 when they differ; with --out, writes the spec file."""
    with one_line():
        job = load_spec(spec)
        market = load_deployment().JobMarket
        check_job_id(market, job_id)
        info = JobInfo.of(market, job_id)
        for line in describe(info, job_id):
            click.echo(line)
        wrong = mismatches(info, job)
        name = spec or "the default VerdeJob"
        if wrong:
            raise JobError(f"spec {name} is not job {job_id}'s: {'; '.join(wrong)}")
        click.echo(f"spec {name}: matches job {job_id} (specHash, steps, program and data)")
        if out is not None:
            out.write_text(spec_json(job))
            click.echo(f"wrote {out}")
