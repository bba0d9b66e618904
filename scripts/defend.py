"""Defend a solver's checkpoints: watch a JobMarket job for Verde disputes against the account and answer
every move from the local (RepOps, bitwise reproducible) run until each is resolved.

    ape run defend --job-id 2 --account my-wallet --network ethereum:local:node [--spec job.json] [--once]
"""

from __future__ import annotations

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.chain.wallet import signer
from offchain.verde.challenge import check_job, defend
from offchain.verde.cli import one_line, poll_option, spec_option
from offchain.verde.job import load_spec
from offchain.verde.trainer import VerdeTrainer


@click.command(cls=ChainCommand)
@signer("The solver whose checkpoints are disputed (it answers every move).")
@click.option("--job-id", type=int, required=True, help="The JobMarket job this account solves.")
@spec_option
@poll_option
@click.option("--once", is_flag=True, help="Play the disputes open now, then stop (default: keep watching).")
def cli(account, job_id: int, spec: str | None, poll: float, once: bool) -> None:
    """Answer Verde disputes against a solver.

    Trains the job locally (the run the solver posted, bitwise), then answers every move of every dispute
    against this account on the job, open ones included, until each is resolved; a side whose on-chain clock
    runs out loses by timeout, which this client claims. `ape run job solve --defend` does the same from the
    run it has just posted.
    """
    with one_line():
        deployment = load_deployment()
        job = load_spec(spec)
        check_job(deployment.JobMarket, deployment.VerdeReferee, job_id, job)
        trainer = VerdeTrainer(job)
        click.echo(f"training job {job_id} locally ({job.steps} steps) to answer from")
        trainer.train()
        if not once:
            click.echo(f"watching job {job_id} for disputes against {account.address} (Ctrl-C stops)")
        defend(deployment, job_id, account, trainer, echo=click.echo, poll_s=poll, once=once)
