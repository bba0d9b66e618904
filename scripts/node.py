"""Run an RL Swarm node with an Ape account, on any network: `ape run node`.

    ape run node --network ethereum:local:node --account TEST::1 --workdir nodes/a --init out/swarm/warmup.pt
    ape run node --network ethereum:sepolia:node --account my-wallet --autosign --workdir ~/swarm-node \\
        --host 0.0.0.0 --port 31337 --announce node.example.org

The deployment comes from deployments/ (`ape run deploy`). The node creates its hivemind identity in the
workdir on first start and reuses it (its weights and its port too) after; it lists its address on chain so
that other nodes find it. Stop it with Ctrl-C or SIGTERM; see docs/swarm-node.md. The node's options are
offchain/swarm/cli.py's, shared with `python -m offchain.swarm`.
"""

from __future__ import annotations

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.wallet import signer
from offchain.swarm.cli import node_options, run_node


@click.command(cls=ChainCommand)
@signer("The node's wallet: registers its peer id and sends its votes and reward commitments.")
@node_options
def cli(account, **options) -> None:
    run_node(account, **options)
