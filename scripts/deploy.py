"""Deploy the contract set to the chosen network and record it in deployments/.

    ape run deploy --network ethereum:local:test --account TEST::0
    ape run deploy --network ethereum:local:node --account TEST::0     # anvil from `make chain`
    ape run deploy --network ethereum:sepolia:node --account my-wallet --autosign  # any configured network

Running it again on the same chain reuses what is deployed; `--fresh` deploys a new set.
"""

from __future__ import annotations

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import DeployConfig, DeployError, deploy_all, deployments_file
from offchain.chain.wallet import signer


@click.command(cls=ChainCommand)
@signer("The deployer: holds the admin roles of every contract.")
@click.option("--fresh", is_flag=True, help="Deploy a new set even if one is recorded for this chain.")
@click.option("--stage-seconds", type=int, default=60, show_default=True, help="Duration of each swarm stage.")
def cli(account, fresh: bool, stage_seconds: int) -> None:
    config = DeployConfig(stage_durations=(stage_seconds,) * 3)
    try:
        deployment = deploy_all(account, config=config, fresh=fresh)
    except DeployError as err:
        raise click.ClickException(str(err)) from None
    for name, contract in deployment.contracts.items():
        how = "reused" if name in deployment.reused else "deployed"
        click.echo(f"{name:18} {contract.address}  ({how})")
    click.echo(f"recorded in {deployments_file()}")
