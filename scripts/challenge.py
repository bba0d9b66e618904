"""Challenge a JobMarket job's result: recompute it locally and, if a solver's checkpoint is wrong, dispute
it on the VerdeReferee and play the game to the verdict, printing every move.

    ape run challenge --job-id 2 --account my-wallet --network ethereum:local:node
    ape run challenge --job-id 2 --spec examples/job.json --account TEST::4    # the job's VerdeJob fields as JSON

The spec must be the job's (its initial checkpoint root is the job's specHash) and the job must have been
posted with the spec's program (JobParams), else nothing is sent. Run again after a crash or Ctrl-C, it finds
the account's live dispute on the job and plays on. The dispute trace is also written as out/dispute-<id>.png.
"""

from __future__ import annotations

from pathlib import Path

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.chain.wallet import signer
from offchain.verde.challenge import challenge, dispute_moves, plot_dispute
from offchain.verde.cli import one_line, poll_option, spec_option
from offchain.verde.job import load_spec


@click.command(cls=ChainCommand)
@signer("The challenger: a solver of the job, or a watcher (not its requester); it posts the bond.")
@click.option("--job-id", type=int, required=True, help="The JobMarket job to recompute and check.")
@spec_option
@poll_option
def cli(account, job_id: int, spec: str | None, poll: float) -> None:
    """Recompute a Verde job and dispute a wrong checkpoint.

    Trains the job locally (RepOps is bitwise reproducible), compares every unslashed solver's checkpoint
    roots with the local run, opens a dispute on the first wrong one whose challenge window is open (bond:
    the referee's BOND), and plays it to the verdict. A live dispute of this account on the job is resumed.
    """
    with one_line():
        report = challenge(load_deployment(), job_id, account, load_spec(spec), echo=click.echo, poll_s=poll)
    if report is not None:
        parties = {account.address: "challenger", report.defender: "defender"}
        moves = dispute_moves(load_deployment().VerdeReferee, report.dispute_id, parties)  # all, a resume's too
        click.echo(f"plot: {plot_dispute(report, Path('out') / f'dispute-{report.dispute_id}.png', moves=moves)}")
