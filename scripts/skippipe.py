"""A SkipPipe run as a JobMarket job: post it, join it, solve it (train with the runner, post every checkpoint
root), check a spec against it.

    ape run skippipe post  --account TEST::1 --spec run.json --network ethereum:local:node
    ape run skippipe join  --account TEST::2 --job-id 1 --spec run.json --network ethereum:local:node
    ape run skippipe solve --account TEST::2 --job-id 1 --spec run.json --network ethereum:local:node
    ape run skippipe spec  --job-id 1 --spec run.json --network ethereum:local:node

The spec file is the run's RunConfig as JSON (offchain/skippipe/job.py: `spec_json`), or the plans.json that
`python -m offchain.skippipe run --out DIR` writes. specHash is keccak of its canonical JSON (with the training
text's digest), steps are its iterations and the checkpoint interval its checkpoint_every; the job has no
on-chain program (committee-judged). `solve` starts the coordinator and one local worker per node (as
`python -m offchain.skippipe run` does; --no-spawn waits for workers started elsewhere) and posts the roots the
run took. Every command checks what it can before sending anything, and a refusal is one line.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import click

from offchain.chain import client
from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.chain.wallet import signer
from offchain.skippipe import job as sj
from offchain.verde.cli import job_id_option, one_line, poll_option, terms_options
from offchain.verde.market import (
    ETH,
    OPEN,
    RUNNING,
    STATUSES,
    JobError,
    JobInfo,
    Terms,
    check_job_id,
    check_joinable,
    describe,
    post_checkpoints,
    sender,
    wait_running,
)

spec_option = click.option(
    "--spec", type=click.Path(exists=True, dir_okay=False), required=True, metavar="FILE",
    help="The run's RunConfig as JSON (or a run's plans.json): the job's spec.",
)  # fmt: skip


@contextmanager
def errors() -> Iterator[None]:
    """one_line's errors and SkipPipe's (a bad spec file, a run that failed or cannot be posted) as one line."""
    with one_line():
        try:
            yield
        except (sj.SpecError, sj.RunNotPostable) as err:
            raise click.ClickException(str(err)) from None


def check_spec(market, job_id: int, cfg) -> JobInfo:
    """The job's info when it exists and is `cfg`'s SkipPipe job; else a JobError naming the first difference."""
    check_job_id(market, job_id)
    info = JobInfo.of(market, job_id)
    if wrong := sj.mismatches(info, cfg):
        raise JobError(f"job {job_id}: {wrong[0]}")
    return info


@click.group()
def cli() -> None:
    """Post, join, solve and inspect SkipPipe jobs.

    A SkipPipe job is a pipeline run over far-apart nodes (docs/skippipe.md) whose checkpoint roots are posted
    to the JobMarket; its spec is the run's config."""


@cli.command(cls=ChainCommand)
@signer("The requester: pays the payment now and gets back whatever the solvers do not earn.")
@spec_option
@terms_options
def post(account, spec, payment, stake, solvers, join_within, complete_within, window) -> None:
    """Post a SkipPipe job for a run's config, paying in ETH."""
    with errors():
        cfg = sj.load_spec(spec)
        market = load_deployment().JobMarket
        terms = Terms(payment_wei=payment, stake_wei=stake, num_solvers=solvers, join_s=join_within,
                      complete_s=complete_within, window_s=window)  # fmt: skip
        params = sj.job_params(cfg, terms, now=client.pending_timestamp())
        tx = sender(click.echo)(f"post a SkipPipe job ({payment / ETH:g} ETH), committee-judged", market.postJob,
                                params, sender=account, value=payment)  # fmt: skip
        job_id = int(tx.events.filter(market.JobPosted)[0].jobId)
    click.echo(f"posted job {job_id}: {cfg.iterations} iterations over {len(cfg.nodes)} nodes, a checkpoint every "
               f"{cfg.checkpoint_every}, {solvers} solver(s) to join, each staking {stake / ETH:g} ETH")  # fmt: skip
    click.echo(f"solvers: ape run skippipe join --job-id {job_id} --spec {spec} --account ...")


@cli.command(cls=ChainCommand)
@signer("The solver: stakes the job's stake.")
@job_id_option
@spec_option
def join(account, job_id: int, spec: str) -> None:
    """Stake in a SkipPipe job as a solver.

    Nothing is staked unless the job is the spec's (specHash, steps, checkpoint interval, no program)."""
    with errors():
        cfg = sj.load_spec(spec)
        market = load_deployment().JobMarket
        info = check_spec(market, job_id, cfg)
        check_joinable(market, account, job_id, info)
        sender(click.echo)(f"join job {job_id} with a {info.stake / ETH:g} ETH stake", market.join, job_id,
                           sender=account, value=info.stake)  # fmt: skip
        info = JobInfo.of(market, job_id)
    click.echo(f"joined job {job_id}: {info.joined} of {info.num_solvers} solvers")


@cli.command(cls=ChainCommand)
@signer("The solver (it must have joined the job).")
@job_id_option
@spec_option
@poll_option
@click.option("--out", type=click.Path(file_okay=False), default=None, metavar="DIR",
              help="Also write the run's outputs here (roots.json, plans.json, model.pt, PNGs...).")  # fmt: skip
@click.option("--host", default="127.0.0.1", show_default=True, help="Address the coordinator's store listens on.")
@click.option("--port", type=click.IntRange(0, 65535), default=0, show_default=True, help="0: any free port.")
@click.option("--spawn/--no-spawn", default=True, show_default=True,
              help="Start the workers on this machine (--no-spawn: they join with `python -m offchain.skippipe "
                   "worker --coordinator HOST:PORT`).")  # fmt: skip
def solve(account, job_id: int, spec: str, poll: float, out, host, port, spawn) -> None:
    """Train a joined SkipPipe job and post its checkpoints.

    Runs the spec's config with the SkipPipe runner (RepOps: the same config gives the same roots), waits until
    every solver has joined, and posts each checkpoint root; a restarted solver posts the ones still missing. A
    run that lost a node was re-planned and posts nothing."""
    with errors():
        cfg = sj.load_spec(spec)
        market = load_deployment().JobMarket
        info = check_spec(market, job_id, cfg)
        if not market.solverOf(job_id, account.address).joined:
            raise JobError(f"job {job_id}: {account.address} has not joined it (ape run skippipe join)")
        if info.status not in (OPEN, RUNNING):
            raise JobError(f"job {job_id} is {STATUSES[info.status]}: there is nothing to train for")
        try:
            result = sj.run(cfg, echo=click.echo, out=Path(out) if out else None, host=host, port=port, spawn=spawn)
        except (ValueError, RuntimeError) as err:
            why = str(err).splitlines()[0] if str(err) else repr(err)
            raise JobError(f"job {job_id}: the run failed: {why}") from None
        roots = sj.job_roots(result)
        wait_running(market, job_id, poll_s=poll, echo=click.echo)
        posted = post_checkpoints(market, account, job_id, roots, send=sender(click.echo))
        info = JobInfo.of(market, job_id)
    click.echo(f"job {job_id}: {len(posted)} checkpoint(s) posted now, {info.checkpoints} of {info.checkpoints} on "
               "chain")  # fmt: skip


@cli.command("spec", cls=ChainCommand)
@job_id_option
@spec_option
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None, metavar="FILE",
              help="Write the spec here (normalised RunConfig JSON) when it is the job's.")  # fmt: skip
def show_spec(job_id: int, spec: str, out: Path | None) -> None:
    """Print a SkipPipe job's terms and check a spec.

    Prints the job's JobParams from the chain and checks the spec against them (no program, steps, checkpoint
    interval, specHash). Exits 1 when they differ."""
    with errors():
        cfg = sj.load_spec(spec)
        market = load_deployment().JobMarket
        check_job_id(market, job_id)
        info = JobInfo.of(market, job_id)
        for line in describe(info, job_id):
            click.echo(line)
        if wrong := sj.mismatches(info, cfg):
            raise JobError(f"spec {spec} is not job {job_id}'s: {'; '.join(wrong)}")
        click.echo(f"spec {spec}: matches job {job_id} (specHash, steps, checkpoint interval, no program)")
        if out is not None:
            out.write_text(sj.spec_json(cfg))
            click.echo(f"wrote {out}")
