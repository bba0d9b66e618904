"""Deposit ether, or a call, from L1 into our L2 through the RollupPortal: `ape run deposit`.

    ape run deposit --network ethereum:local:node --account TEST::3 --eth 1          # to the same address on L2
    ape run deposit --network ethereum:local:node --account me --to 0x... --eth 0.5 --data 0x1234 --gas 200000
    ape run deposit ... --l2-rpc http://127.0.0.1:9545                               # and wait until L2 has it

The portal is the one `ape run deploy --rollup` recorded for this L1. The deposit's L2 transaction hash is known
as soon as the L1 transaction is mined (it is derived from the L1 block hash and the log's index), so it is
printed at once; an L2 node following this L1 (`python -m rollup.node --l1-rpc ... --portal ...`) includes it.
A contract depositing is aliased on L2 (OP's rule: its address + 0x1111000000000000000000000000000000001111).
"""

from __future__ import annotations

import time

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.wallet import signer


def _hex(ctx: click.Context, param: click.Parameter, value: str) -> bytes:
    text = value[2:] if value.startswith("0x") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not hex data", ctx=ctx, param=param) from None


@click.command(cls=ChainCommand)
@signer("The depositor: pays on L1; the deposit's sender on L2.")
@click.option("--to", "to", default=None, help="L2 recipient (default: the depositor's own address).")
@click.option("--eth", type=click.FloatRange(min=0), default=0.0, show_default=True, help="Ether to move to L2.")
@click.option("--data", default="0x", callback=_hex, help="Calldata of the L2 call (hex).")
@click.option("--gas", type=click.IntRange(21_000), default=100_000, show_default=True, help="L2 gas limit.")
@click.option("--l2-rpc", default=None, help="Wait until this L2 node has included the deposit.")
@click.option("--timeout", type=click.FloatRange(min=1), default=120.0, show_default=True, help="With --l2-rpc.")
def cli(account, to: str | None, eth: float, data: bytes, gas: int, l2_rpc: str | None, timeout: float) -> None:
    from ape import chain, convert
    from ape.types import AddressType
    from web3 import Web3

    from offchain.chain.deploy import load_deployment_for_cli
    from rollup.deposits import deposit_from_log

    portal = load_deployment_for_cli().contracts.get("RollupPortal")
    if portal is None:
        raise click.ClickException("no RollupPortal is recorded for this chain: run `ape run deploy --rollup` first")
    try:
        recipient = convert(to, AddressType) if to is not None else account.address
    except Exception:  # Ape raises ConversionError subclasses for anything that is not an address
        raise click.ClickException(f"--to {to}: not an address") from None
    value = int(round(eth * 10**18))
    tx = portal.depositTransaction(recipient, value, gas, False, data, sender=account, value=value)
    raw = chain.provider.web3.eth.get_transaction_receipt(tx.txn_hash)
    (log,) = [entry for entry in raw["logs"] if entry["address"].lower() == portal.address.lower()]
    deposit = deposit_from_log(log)
    l2_hash = "0x" + deposit.hash.hex()
    click.echo(f"deposited {eth:g} ETH to {recipient} in L1 block {tx.block_number} (L1 tx {tx.txn_hash})")
    click.echo(f"its L2 transaction: {l2_hash}")
    if l2_rpc is None:
        return
    l2 = Web3(Web3.HTTPProvider(l2_rpc, request_kwargs={"timeout": 10}))
    if not l2.is_connected():
        raise click.ClickException(f"no L2 node answers at {l2_rpc}")
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        receipt = l2.provider.make_request("eth_getTransactionReceipt", [l2_hash]).get("result")
        if receipt:
            status = "succeeded" if receipt["status"] == "0x1" else "failed (the ether stays with the sender on L2)"
            click.echo(f"on L2 in block {int(receipt['blockNumber'], 16)}: {status}")
            return
        time.sleep(0.5)
    raise click.ClickException(f"the L2 at {l2_rpc} has not included {l2_hash} within {timeout:g} s: is it "
                               "following this L1 (--l1-rpc, --portal)?")  # fmt: skip
