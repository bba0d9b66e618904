"""Deploy the contract set to the chosen network and record it in deployments/.

    ape run deploy --network ethereum:local:test --account TEST::0
    ape run deploy --network ethereum:local:node --account TEST::0     # anvil from `make chain`
    ape run deploy --network ethereum:sepolia:node --account my-wallet --autosign  # any configured network
    ape run deploy --rollup --network ethereum:local:node --account TEST::0   # the rollup's L1 contracts instead

Running it again on the same chain reuses what is deployed; `--fresh` deploys a new set. `--rollup` deploys the
L1 side of our L2 (L2OutputOracle, RollupPortal, BatchInbox; docs/rollup.md) with the settings of the `--rollup`
options, and grants PROPOSER_ROLE and BATCHER_ROLE to `--proposer` and `--batcher` (the deployer by default).
"""

from __future__ import annotations

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.deploy import DeployConfig, DeployError, RollupConfig, deploy_all, deploy_rollup, deployments_file
from offchain.chain.wallet import signer

_DEMO = RollupConfig()


def _addresses(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> tuple[str, ...]:
    """Checksummed addresses, or a usage error naming the bad one."""
    from eth_utils import is_address, to_checksum_address

    for value in values:
        if not is_address(value):
            raise click.BadParameter(f"{value!r} is not an address", ctx=ctx, param=param)
    return tuple(to_checksum_address(value) for value in values)


@click.command(cls=ChainCommand)
@signer("The deployer: holds the admin roles of every contract.")
@click.option("--fresh", is_flag=True, help="Deploy a new set even if one is recorded for this chain.")
@click.option("--stage-seconds", type=int, default=60, show_default=True, help="Duration of each swarm stage.")
@click.option("--rollup", is_flag=True, help="Deploy the rollup's L1 contracts (oracle, portal, inbox) instead.")
@click.option(
    "--submission-interval",
    type=click.IntRange(min=1),
    default=_DEMO.submission_interval,
    show_default=True,
    help="--rollup: L2 blocks between two output proposals.",
)
@click.option(
    "--finalization-period",
    type=click.IntRange(min=0),
    default=_DEMO.finalization_period_s,
    show_default=True,
    help="--rollup: seconds before an undisputed output is final.",
)
@click.option(
    "--proof-maturity-delay",
    type=click.IntRange(min=0),
    default=_DEMO.proof_maturity_delay_s,
    show_default=True,
    help="--rollup: seconds between proving a withdrawal and finalizing it.",
)
@click.option(
    "--proposer-bond",
    type=click.IntRange(min=0),
    default=_DEMO.proposer_bond_wei,
    show_default=True,
    help="--rollup: wei posted with every output.",
)
@click.option(
    "--proposer",
    "proposers",
    multiple=True,
    metavar="ADDRESS",
    callback=_addresses,
    help="--rollup: an address given PROPOSER_ROLE (repeatable; default: the deployer).",
)
@click.option(
    "--batcher",
    "batchers",
    multiple=True,
    metavar="ADDRESS",
    callback=_addresses,
    help="--rollup: an address given BATCHER_ROLE (repeatable; default: the deployer).",
)
def cli(
    account,
    fresh: bool,
    stage_seconds: int,
    rollup: bool,
    submission_interval: int,
    finalization_period: int,
    proof_maturity_delay: int,
    proposer_bond: int,
    proposers: tuple[str, ...],
    batchers: tuple[str, ...],
) -> None:
    try:
        if rollup:
            config = RollupConfig(
                submission_interval=submission_interval,
                finalization_period_s=finalization_period,
                proof_maturity_delay_s=proof_maturity_delay,
                proposer_bond_wei=proposer_bond,
            )
            deployment = deploy_rollup(account, config=config, proposers=proposers, batchers=batchers, fresh=fresh)
        else:
            deployment = deploy_all(account, config=DeployConfig(stage_durations=(stage_seconds,) * 3), fresh=fresh)
    except DeployError as err:
        raise click.ClickException(str(err)) from None
    for name, contract in deployment.contracts.items():
        how = "reused" if name in deployment.reused else "deployed"
        click.echo(f"{name:18} {contract.address}  ({how})")
    click.echo(f"recorded in {deployments_file()}")
