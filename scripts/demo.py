"""The whole story on a fresh local chain: `make demo` (or `ape run demo`).

Starts anvil on 127.0.0.1, deploys, registers three fresh hivemind peers with key proofs, crowdfunds a
training job, lets two solvers stake, train and commit checkpoints, plays a swarm round with
commit-reveal votes, closes the challenge window, pays everyone, catches a cheating Verde solver on chain,
prints balances before and after, and finally runs a short RL Swarm of three node processes (make swarm).
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import click

from offchain.chain.anvil import Anvil
from offchain.demo import format_table, plot_balances, run_demo


def quiet_hivemind() -> None:
    """hivemind's INFO lines (its DHT and p2pd start-up) broke up the story: WARNING for hivemind here and in the
    node processes the demo starts, which inherit the environment. HIVEMIND_LOGLEVEL set by the user wins."""
    level = os.environ.setdefault("HIVEMIND_LOGLEVEL", "WARNING")
    # hivemind reads the variable once, when first imported, which in this process has already happened.
    logging.getLogger("hivemind").setLevel(level)


@click.command()
@click.option("--port", type=int, default=None, help="anvil port on 127.0.0.1 (default: a free one).")
def cli(port: int | None) -> None:
    from ape.logging import logger

    logger.set_level("WARNING")  # the story prints each transaction itself; Ape's per-tx INFO lines are noise
    quiet_hivemind()
    with tempfile.TemporaryDirectory(prefix="verde-demo-") as tmp, Anvil.start(port=port) as anvil:
        click.echo(f"anvil on {anvil.uri} (prague, chain id 1337)")
        with anvil.connect():
            rows = run_demo(anvil, Path(tmp), echo=click.echo)
        click.echo("\n== Balances before and after")
        click.echo(format_table(rows))
        click.echo(f"plot: {plot_balances(rows, Path('out') / 'demo-balances.png')}")
    click.echo("\n== A short RL Swarm: three node processes, one round, on a fresh anvil")
    from offchain.swarm.local import SwarmConfig, run_swarm

    # Its own folder: the demo's nodes must not empty the ones `make swarm` left in out/swarm/nodes.
    result = run_swarm(SwarmConfig(nodes=3, rounds=1, stage_s=15, workdir=Path("out") / "demo-swarm"), echo=click.echo)
    if any(code != 0 for code in result["exit_codes"]):
        raise click.ClickException(f"a swarm node failed: exit codes {result['exit_codes']}")
