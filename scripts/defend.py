"""Defend a solver's checkpoints: watch a JobMarket job for Verde disputes against the account and answer
every move from the local (RepOps, bitwise reproducible) run until each is resolved.

    ape run defend --job-id 2 --account my-wallet --network ethereum:local:node [--spec job.json] [--once]
"""

from __future__ import annotations

import click
from ape.cli import ConnectedProviderCommand, account_option

from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.verde.challenge import ChallengeError, check_job, defend, load_spec
from offchain.verde.trainer import VerdeTrainer


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--job-id", type=int, required=True, help="The JobMarket job this account solves.")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON of the job's VerdeJob fields (default: the default VerdeJob).")  # fmt: skip
@click.option("--poll", type=float, default=2.0, show_default=True, help="Seconds between looks at the chain.")
@click.option("--once", is_flag=True, help="Play the disputes open now, then stop.")
def cli(account, job_id: int, spec: str | None, poll: float, once: bool) -> None:
    deployment = load_deployment()
    job = load_spec(spec)
    try:
        check_job(deployment.JobMarket, deployment.VerdeReferee, job_id, job)
    except ChallengeError as err:
        raise click.ClickException(str(err)) from err
    trainer = VerdeTrainer(job)
    click.echo(f"training job {job_id} locally ({job.steps} steps) to answer from")
    trainer.train()
    defend(deployment, job_id, account, trainer, echo=click.echo, poll_s=poll, once=once)
