"""Challenge a JobMarket job's result: recompute it locally and, if a solver's checkpoint is wrong, dispute
it on the VerdeReferee and play the game to the verdict, printing every move.

    ape run challenge --job-id 2 --account my-wallet --network ethereum:local:node
    ape run challenge --job-id 2 --spec job.json --account TEST::7       # the job's VerdeJob fields as JSON

The spec must be the job's (its initial checkpoint root is the job's specHash) and the job must have been
posted with the spec's program (JobParams), else nothing is sent. The dispute trace is also written as
out/dispute-<id>.png.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option

from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.verde.challenge import ChallengeError, challenge, load_spec, plot_dispute


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--job-id", type=int, required=True, help="The JobMarket job to check.")
@click.option("--spec", type=click.Path(exists=True, dir_okay=False), default=None,
              help="JSON of the job's VerdeJob fields (default: the default VerdeJob).")  # fmt: skip
@click.option("--poll", type=float, default=2.0, show_default=True, help="Seconds between looks at the chain.")
def cli(account, job_id: int, spec: str | None, poll: float) -> None:
    try:
        report = challenge(load_deployment(), job_id, account, load_spec(spec), echo=click.echo, poll_s=poll)
    except ChallengeError as err:
        raise click.ClickException(str(err)) from err
    if report is not None:
        click.echo(f"plot: {plot_dispute(report, Path('out') / f'dispute-{report.dispute_id}.png')}")
