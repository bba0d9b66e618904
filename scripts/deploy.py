"""Deploy the contract set to the chosen network and record it in deployments/.

    ape run deploy --network ethereum:local:test --account TEST::0
    ape run deploy --network ethereum:local:node --account TEST::0     # anvil from `make chain`
    ape run deploy --network ethereum:sepolia:node --account my-wallet --autosign  # any configured network
    ape run deploy --rollup --network ethereum:local:node --account TEST::0   # the rollup's L1 contracts instead

Running it again on the same chain reuses what is deployed; `--fresh` deploys a new set. `--rollup` deploys the
L1 side of our L2 (L2OutputOracle, RollupPortal, BatchInbox, OutputDispute; docs/rollup.md) with the settings of
the `--rollup` options, grants PROPOSER_ROLE and BATCHER_ROLE to `--proposer` and `--batcher` (the deployer by
default) and the oracle's DISPUTE_ROLE to the dispute game, and sets the game's committee to the `--committee`
addresses with `--committee-threshold` (none by default: disputes then expire, deleting the output).
"""

from __future__ import annotations

from pathlib import Path

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
@click.option(
    "--genesis",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="--rollup: the L2's genesis file; the dispute game starts from its genesis output root "
    "[default: rollup/genesis.json].",
)
@click.option(
    "--dispute-bond",
    type=click.IntRange(min=1),
    default=_DEMO.dispute_bond_wei,
    show_default=True,
    help="--rollup: wei a challenger posts to dispute an output.",
)
@click.option(
    "--dispute-clock",
    type=click.IntRange(min=1),
    default=_DEMO.dispute_clock_s,
    show_default=True,
    help="--rollup: seconds on each side's clock in an output dispute, and the committee's.",
)
@click.option(
    "--committee",
    multiple=True,
    metavar="ADDRESS",
    callback=_addresses,
    help="--rollup: a member of the output dispute committee (repeatable). Default: no committee is set, and "
    "every output dispute then expires (the output is deleted) instead of being judged.",
)
@click.option(
    "--committee-threshold",
    type=click.IntRange(min=1),
    default=None,
    metavar="N",
    help="--rollup: signatures of --committee members a verdict needs (required with --committee).",
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
    genesis: Path | None,
    dispute_bond: int,
    dispute_clock: int,
    committee: tuple[str, ...],
    committee_threshold: int | None,
) -> None:
    if bool(committee) != (committee_threshold is not None):
        raise click.UsageError("--committee and --committee-threshold go together")
    try:
        if rollup:
            config = RollupConfig(
                submission_interval=submission_interval,
                finalization_period_s=finalization_period,
                proof_maturity_delay_s=proof_maturity_delay,
                proposer_bond_wei=proposer_bond,
                dispute_bond_wei=dispute_bond,
                dispute_clock_s=dispute_clock,
                **({"genesis": genesis} if genesis is not None else {}),
            )
            deployment = deploy_rollup(
                account,
                config=config,
                proposers=proposers,
                batchers=batchers,
                committee=committee,
                committee_threshold=committee_threshold or 0,
                fresh=fresh,
            )
        else:
            deployment = deploy_all(account, config=DeployConfig(stage_durations=(stage_seconds,) * 3), fresh=fresh)
    except DeployError as err:
        raise click.ClickException(str(err)) from None
    for name, contract in deployment.contracts.items():
        how = "reused" if name in deployment.reused else "deployed"
        click.echo(f"{name:18} {contract.address}  ({how})")
    click.echo(f"recorded in {deployments_file()}")
    if rollup:
        _rollup_next_steps(deployment)


def _rollup_next_steps(deployment) -> None:
    """What the operators run next, with this deployment's addresses: every process needs the portal's block."""
    from ape import chain

    c = deployment.contracts
    start = _creation_block(chain, c["RollupPortal"])
    l1 = chain.provider.uri if hasattr(chain.provider, "uri") else "http://127.0.0.1:8545"
    click.echo(f"the rollup starts at L1 block {start} (the portal's); its processes, each in a terminal:")
    click.echo(f"  python -m rollup.node --l1-rpc {l1} --portal {c['RollupPortal'].address} --l1-start {start} "
               "--datadir .l2")  # fmt: skip
    click.echo(f"  python -m rollup.batcher --l1-rpc {l1} --l2-rpc http://127.0.0.1:9545 --inbox "
               f"{c['BatchInbox'].address} --datadir .batcher --account BATCHER")  # fmt: skip
    click.echo(
        f"  python -m rollup.verifier --l1-rpc {l1} --portal {c['RollupPortal'].address} --inbox "
        f"{c['BatchInbox'].address} --batcher BATCHER_ADDRESS --oracle {c['L2OutputOracle'].address} "
        f"--game {c['OutputDispute'].address} --l1-start {start} --datadir .verifier --account CHALLENGER"
    )
    click.echo(f"  python -m rollup.proposer --l1-rpc {l1} --l2-rpc http://127.0.0.1:9546 --oracle "
               f"{c['L2OutputOracle'].address} --datadir .proposer   # key: $ROLLUP_PROPOSER_KEY")  # fmt: skip


def _creation_block(chain, contract) -> int | str:
    """The L1 block where `contract` got its code: its deployment receipt's, or (reused from the record) a binary
    search over eth_getCode, which needs the L1 node's old state; failing that, what to look for."""
    if getattr(contract, "txn_hash", None):
        return chain.get_receipt(contract.txn_hash).block_number
    w3 = chain.provider.web3
    lo, hi = 0, w3.eth.block_number
    try:
        while lo < hi:
            mid = (lo + hi) // 2
            if w3.eth.get_code(contract.address, mid):
                hi = mid
            else:
                lo = mid + 1
    except Exception:  # an L1 node without old state: the user looks the block up
        return "<the portal's deployment block>"
    return lo
