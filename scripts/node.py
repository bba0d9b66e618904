"""Run an RL Swarm node with an Ape account, on any network: `ape run node`.

    ape run node --network ethereum:local:node --account TEST::1 --workdir nodes/a --init out/swarm/warmup.pt
    ape run node --network ethereum:sepolia:node --account my-wallet --workdir ~/swarm-node --rounds 10

The deployment comes from deployments/ (`ape run deploy`). The node creates its hivemind identity in the
workdir on first start and reuses it (and its weights) after; see offchain/swarm/node.py.
"""

from __future__ import annotations

from pathlib import Path

import click
from ape.cli import ConnectedProviderCommand, account_option

from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.swarm.node import NodeConfig, NodeError, SwarmNode


@click.command(cls=ConnectedProviderCommand)
@account_option()
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--init", "init", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="warm-up checkpoint (used until the workdir has weights)")  # fmt: skip
@click.option("--rounds", type=int, default=None, help="stop after this many rounds (default: run until stopped)")
@click.option("--bootnode", multiple=True, help="multiaddr (default: the coordinator's list)")
def cli(account, workdir: Path, init: Path | None, rounds: int | None, bootnode: tuple[str, ...]) -> None:
    import torch

    torch.set_num_threads(1)
    cfg = NodeConfig(workdir=workdir, init_checkpoint=init, rounds=rounds, bootnodes=bootnode)
    try:
        SwarmNode(cfg, account, load_deployment(), echo=click.echo).run()
    except NodeError as err:
        raise click.ClickException(str(err)) from None
