"""The whole story: `make demo` (or `ape run demo`) plays it on our own rollup, `ape run demo --l1-only` on one anvil.

On the rollup: starts anvil as L1, deploys the rollup's L1 contracts, starts our L2 node (following that L1), the
batcher and the proposer (and the verifier, where it exists) as processes, funds ten fresh wallets by L1 deposits,
deploys the system on the L2 and plays the story there through Ape's `ethereum:l2:verde`: three fresh hivemind peers
register with key proofs, a crowdfund pays for a training job, two solvers stake, train and commit checkpoints, a
swarm round with commit-reveal votes, everyone is paid after the challenge window, a cheating Verde solver is caught
on chain; then a solver withdraws its earnings to L1 after the challenge period. Balances before and after. The
processes' logs stay in `out/demo-l2/rollup/` until the next run.

With `--l1-only`: the same story on one anvil, whose clock jumps over every deadline.

Both end with a short RL Swarm of three node processes (offchain/swarm/local.py, as `make swarm`): on the rollup on
the same L2, its contracts deployed there through Ape; with `--l1-only` on a fresh anvil. `--no-swarm` leaves it out.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from pathlib import Path

import click

from offchain.chain.anvil import Anvil
from offchain.demo import format_table, l2_demo, plot_balances, run_demo

L2_WORKDIR = Path("out") / "demo-l2"


def quiet_hivemind() -> None:
    """hivemind's INFO lines (its DHT and p2pd start-up) broke up the story: WARNING for hivemind here and in the
    node processes the demo starts, which inherit the environment. HIVEMIND_LOGLEVEL set by the user wins."""
    level = os.environ.setdefault("HIVEMIND_LOGLEVEL", "WARNING")
    # hivemind reads the variable once, when first imported, which in this process has already happened.
    logging.getLogger("hivemind").setLevel(level)


@click.command()
@click.option("--l1-only", is_flag=True, help="The story on one anvil (no rollup), deadlines passed by time travel.")
@click.option(
    "--port", type=int, default=None, help="With --l1-only: anvil's port on 127.0.0.1 (default: a free one)."
)
@click.option("--no-swarm", is_flag=True, help="Leave out the closing RL Swarm of three node processes.")
def cli(l1_only: bool, port: int | None, no_swarm: bool) -> None:
    from ape.logging import logger

    logger.set_level("WARNING")  # the story prints each transaction itself; Ape's per-tx INFO lines are noise
    quiet_hivemind()
    if l1_only:
        with tempfile.TemporaryDirectory(prefix="verde-demo-") as tmp, Anvil.start(port=port) as anvil:
            click.echo(f"anvil on {anvil.uri} (prague, chain id 1337)")
            with anvil.connect():
                rows = run_demo(anvil, Path(tmp), echo=click.echo)
        show_balances(rows, None)
        if not no_swarm:
            closing_swarm("on a fresh anvil")
        return
    shutil.rmtree(L2_WORKDIR, ignore_errors=True)  # a new L1 each run: the last run's L2 cannot follow it
    with l2_demo(L2_WORKDIR, echo=click.echo) as (system, rows, withdrawn):
        show_balances(rows, withdrawn)
        if not no_swarm:
            # Inside the block: the rollup stays up until the nodes are done.
            closing_swarm(f"on the same L2 ({system.l2_uri})", rpc=system.l2_uri)


def show_balances(rows: list, withdrawn) -> None:
    click.echo("\n== Balances before and after" + ("" if withdrawn is None else " (on the L2, before the withdrawal)"))
    click.echo(format_table(rows))
    click.echo(f"plot: {plot_balances(rows, Path('out') / 'demo-balances.png')}")
    if withdrawn is not None:
        click.echo(f"withdrawn to L1: {withdrawn.amount / 10**18:.4f} ETH by the {withdrawn.role}; L1 balance "
                   f"{withdrawn.l1_before / 10**18:.4f} -> {withdrawn.l1_after / 10**18:.4f} ETH")  # fmt: skip


def closing_swarm(where: str, rpc: str | None = None) -> None:
    """Three node processes, one round: on a fresh anvil, or on the running chain at `rpc`."""
    from offchain.swarm.local import SwarmConfig, run_swarm

    click.echo(f"\n== A short RL Swarm: three node processes, one round, {where}")
    # Its own folder: the demo's nodes must not empty the ones `make swarm` left in out/swarm/nodes.
    cfg = SwarmConfig(nodes=3, rounds=1, stage_s=15, workdir=Path("out") / "demo-swarm")
    result = run_swarm(cfg, echo=click.echo, rpc=rpc)
    if any(code != 0 for code in result["exit_codes"]):
        raise click.ClickException(f"a swarm node failed: exit codes {result['exit_codes']}")
