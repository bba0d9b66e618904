"""Run an RL Swarm node with an Ape account, on any network: `ape run node`.

    ape run node --network ethereum:local:node --account TEST::1 --workdir nodes/a --init out/swarm/warmup.pt
    ape run node --network ethereum:sepolia:node --account my-wallet --autosign --workdir ~/swarm-node \\
        --host 0.0.0.0 --port 31337 --announce node.example.org

The deployment comes from deployments/ (`ape run deploy`). The node creates its hivemind identity in the
workdir on first start and reuses it (its weights and its port too) after; it lists its address on chain so
that other nodes find it. Stop it with Ctrl-C or SIGTERM; see docs/swarm-node.md.
"""

from __future__ import annotations

from pathlib import Path

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import load_deployment_for_cli as load_deployment
from offchain.chain.wallet import signer
from offchain.swarm.node import NodeConfig, NodeError, SwarmNode


@click.command(cls=ChainCommand)
@signer("The node's wallet: registers its peer id and sends its votes and reward commitments.")
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), required=True,
              help="identity, weights, votes and progress live here (reuse it to resume)")  # fmt: skip
@click.option("--init", "init", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="warm-up checkpoint (used until the workdir has weights)")  # fmt: skip
@click.option("--rounds", type=int, default=None, help="stop after this many rounds (default: run until stopped)")
@click.option("--bootnode", multiple=True, help="multiaddr to join through (besides the chain's lists)")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on (0.0.0.0: all)")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="TCP port to listen on [default: the last run's, else a free one]")  # fmt: skip
@click.option("--announce", default=None, help="host, host:port or multiaddr other machines dial to reach this node")
def cli(account, workdir: Path, init: Path | None, rounds: int | None, bootnode: tuple[str, ...],
        host: str, port: int | None, announce: str | None) -> None:  # fmt: skip
    import torch

    torch.set_num_threads(1)
    cfg = NodeConfig(workdir=workdir, init_checkpoint=init, rounds=rounds, bootnodes=bootnode, host=host, port=port,
                     announce=announce)  # fmt: skip
    try:
        SwarmNode(cfg, account, load_deployment(), echo=click.echo).run()
    except NodeError as err:
        raise click.ClickException(str(err)) from None
    except KeyboardInterrupt:
        click.echo("stopped: the DHT and p2pd are down; restart with the same --workdir to resume")
