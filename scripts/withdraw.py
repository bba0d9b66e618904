"""Withdraw ether (or send a call) from our L2 to L1 through the RollupPortal: `ape run withdraw`.

    ape run withdraw --network ethereum:local:node --account TEST::3 --value 1        # to the same address on L1
    ape run withdraw ... --value 0.5 --to 0x... --data 0x1234 --gas-limit 200000      # a call on L1
    ape run withdraw ... --tx 0x<L2 tx hash>                                          # continue one
    ape run withdraw ... --value 1 --no-wait                                          # start, prove when possible

With `--value` it sends `initiateWithdrawal` to the L2's message passer (0x4200…0016) from the account's own key
on the L2 (`--l2-rpc`; Ape's test accounts and keyfile accounts sign on both chains), then, on L1 (`--network`),
waits for the proposer to post an output covering the withdrawal's L2 block, proves the withdrawal against it,
waits for the proof's maturity delay and the output's finalization period, finalizes it and prints the L1 balance
change. `--tx` takes up a withdrawal where it stands, whoever initiated it (anyone may prove and finalize; the
ether goes to its target only). `--no-wait` proves if an output covers it and says from when it is finalizable;
run again with `--tx` then. The portal and oracle are the ones `ape run deploy --rollup` recorded for this L1.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from types import SimpleNamespace
from typing import Any

import click

from offchain.chain.cli import ChainCommand
from offchain.chain.wallet import signer
from rollup import withdraw as w

L2_RPC = "http://127.0.0.1:9545"  # ape-config.yaml's ethereum:l2 node uri, when that cannot be read
DEFAULT_GAS_LIMIT = 100_000  # OP's default for a plain ether withdrawal (the message passer's receive())
# Refusals that pass with time (or a dispute ending): keep waiting on these.
WAIT_ERRORS = ("PortalProofNotMatured", "PortalOutputNotFinalized")


def _l2_rpc_default() -> str:
    try:
        from ape import config

        l2 = config.get_config("node").ethereum.l2
        return (l2.get("uri") if isinstance(l2, dict) else l2.uri) or L2_RPC
    except Exception:  # no such entry in this project's config: the OP devnet port our node uses
        return L2_RPC


def _hex(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    if value is None:
        return None
    text = value[2:] if value.startswith("0x") else value
    try:
        return bytes.fromhex(text)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not hex data", ctx=ctx, param=param) from None


def _tx_hash(ctx: click.Context, param: click.Parameter, value: str | None) -> bytes | None:
    raw = _hex(ctx, param, value)
    if raw is not None and len(raw) != 32:
        raise click.BadParameter(f"{value!r} is not a transaction hash (32 bytes)", ctx=ctx, param=param)
    return raw


def _ether(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    if value is None:
        return None
    try:
        wei = Decimal(value) * 10**18
    except InvalidOperation:
        raise click.BadParameter(f"{value!r} is not an amount of ether", ctx=ctx, param=param) from None
    if wei < 0 or wei != wei.to_integral_value():
        raise click.BadParameter(f"{value!r}: ether down to the wei (18 decimals), not negative", ctx=ctx, param=param)
    return int(wei)


class _ApeKey:
    """An Ape account as rollup.withdraw's key: it signs transactions for any chain id, the L2's included."""

    def __init__(self, account: Any) -> None:
        self.account, self.address = account, account.address

    def sign_transaction(self, tx: dict[str, Any]) -> Any:
        from ape_ethereum.transactions import DynamicFeeTransaction

        txn = DynamicFeeTransaction(**{k: v for k, v in tx.items() if k not in ("from", "type")})
        signed = self.account.sign_transaction(txn)
        if signed is None or not signed.signature:
            raise click.ClickException("the transaction was not signed; nothing was sent")
        return SimpleNamespace(raw_transaction=signed.serialize_transaction())


def _when(timestamp: int) -> str:
    return datetime.fromtimestamp(timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _eth(wei: int) -> str:
    return f"{(Decimal(wei) / 10**18).normalize():f} ETH"


@click.command(cls=ChainCommand)
@signer("Sends the withdrawal on L2 (with --value) and pays for proving and finalizing it on L1.")
@click.option("--l2-rpc", default=_l2_rpc_default, show_default=L2_RPC, help="The L2 node's JSON-RPC URL.")
@click.option(
    "--value", callback=_ether, default=None, metavar="ETHER", help="Ether to withdraw (starts a new withdrawal)."
)
@click.option(
    "--to",
    "to",
    default=None,
    metavar="ADDRESS",
    help="L1 recipient of the ether and the call (default: the account).",
)
@click.option("--data", callback=_hex, default=None, metavar="HEX", help="Calldata of the L1 call (hex).")
@click.option(
    "--gas-limit",
    type=click.IntRange(min=0),
    default=None,
    help=f"The least gas the L1 call gets [default: {DEFAULT_GAS_LIMIT:,}].",
)
@click.option(
    "--tx",
    "tx_hash",
    callback=_tx_hash,
    default=None,
    metavar="L2_TX_HASH",
    help="Continue the withdrawal of this L2 tx.",
)
@click.option("--no-wait", is_flag=True, help="Prove if possible, say when finalizing becomes possible, and exit.")
@click.option("--poll-seconds", type=click.FloatRange(min=0.1), default=2.0, show_default=True)
def cli(
    account,
    l2_rpc: str,
    value: int | None,
    to: str | None,
    data: bytes | None,
    gas_limit: int | None,
    tx_hash: bytes | None,
    no_wait: bool,
    poll_seconds: float,
) -> None:
    """Withdraw ether (and a call) from the L2 to L1: initiate it on the L2 (--value), or continue one (--tx);
    then wait for an output covering it, prove it, wait until it is final, and finalize it on L1."""
    from ape import chain, convert, project
    from ape.types import AddressType
    from web3 import Web3

    from offchain.chain.deploy import load_deployment_for_cli

    starting = value is not None or to is not None or data is not None or gas_limit is not None
    if tx_hash is not None and starting:
        raise click.UsageError("--tx continues a withdrawal: it takes no --value, --to, --data or --gas-limit")
    if tx_hash is None and value is None:
        raise click.UsageError("give --value (with --to, --data) to start a withdrawal, or --tx to continue one")
    target = None
    if to is not None:
        try:
            target = convert(to, AddressType)
        except Exception:  # Ape raises ConversionError subclasses for anything that is not an address
            raise click.BadParameter(f"{to!r} is not an address", param_hint="--to") from None

    portal_instance = load_deployment_for_cli().contracts.get("RollupPortal")
    if portal_instance is None:
        raise click.ClickException("no RollupPortal is recorded for this chain: run `ape run deploy --rollup` first")
    l1 = chain.provider.web3
    portal = l1.eth.contract(address=portal_instance.address, abi=_abi(portal_instance.contract_type))
    oracle = l1.eth.contract(address=portal_instance.L2_ORACLE(), abi=_abi(project.L2OutputOracle.contract_type))
    l2 = Web3(Web3.HTTPProvider(l2_rpc, request_kwargs={"timeout": 30}))
    if not l2.is_connected():
        raise click.ClickException(f"no L2 node answers at {l2_rpc}")
    if l2.eth.chain_id == l1.eth.chain_id:
        raise click.ClickException(f"--l2-rpc {l2_rpc} is a chain with the L1's chain id {l1.eth.chain_id}")
    key = _ApeKey(account)

    try:
        if tx_hash is not None:
            withdrawal = w.withdrawal_of(l2, tx_hash)
            if w.status(portal, oracle, withdrawal).stage is w.Stage.FINALIZED:
                raise click.ClickException(f"the withdrawal of L2 tx 0x{tx_hash.hex()} is already finalized; "
                                           "nothing was sent")  # fmt: skip
        else:
            withdrawal = w.initiate(l2, key, target or account.address, value, _gas(gas_limit), data or b"")
        t = withdrawal.tx
        click.echo(f"withdrawal of {_eth(t.value)} from {t.sender} (L2) to {t.target} (L1): L2 tx "
                   f"0x{withdrawal.l2_tx_hash.hex()} in L2 block {withdrawal.l2_block}")  # fmt: skip
        click.echo(f"  continue it any time with: ape run withdraw --tx 0x{withdrawal.l2_tx_hash.hex()} "
                   "(same --network, --l2-rpc)")  # fmt: skip
        _follow(l1, l2, portal, oracle, key, withdrawal, no_wait=no_wait, poll_seconds=poll_seconds)
    except w.WithdrawalError as err:
        raise click.ClickException(str(err)) from None


def _follow(l1, l2, portal, oracle, key, withdrawal, *, no_wait: bool, poll_seconds: float) -> None:
    """Move the withdrawal on until it is finalized (or, with no_wait, as far as it goes now)."""
    import requests

    said = None
    while True:
        try:
            st = w.status(portal, oracle, withdrawal)
        except requests.ConnectionError as err:  # an L1 node briefly away: a wait is no reason to give up
            click.echo(f"retrying after: {err}", err=True)
            time.sleep(poll_seconds)
            continue
        # One line per change, not per poll (the proof is announced by the prove below).
        news = (st.stage, st.output_index, st.latest_output_block, st.finalizable_at, st.held_by_dispute)
        if news != said and st.stage is not w.Stage.PROVABLE:
            click.echo(_describe(st, withdrawal))
            said = news
        if st.stage is w.Stage.FINALIZED:
            return
        if st.stage is w.Stage.PROVABLE:
            try:
                proof = w.proof_for(l2, oracle, withdrawal)
            except w.NotCovered:  # its output was deleted since the status was read
                continue
            receipt = w.prove(portal, key, withdrawal, proof)
            click.echo(f"proven against output {proof.output_index} (L2 block "
                       f"{_output_block(oracle, proof.output_index)}): L1 tx "
                       f"0x{bytes(receipt['transactionHash']).hex()}, gas {receipt['gasUsed']:,}")  # fmt: skip
            continue
        if st.stage is w.Stage.PROVEN and st.l1_time >= st.finalizable_at and not st.held_by_dispute:
            if _finalize(l1, portal, key, withdrawal):
                return
        if no_wait:
            if st.stage is w.Stage.INITIATED:
                click.echo(f"no output covers L2 block {withdrawal.l2_block} yet: run again with --tx once the "
                           "proposer has posted one")  # fmt: skip
            elif st.held_by_dispute:
                click.echo("run again with --tx once the dispute has ended")
            else:
                click.echo(f"finalizable from {_when(st.finalizable_at)} (L1 time {st.finalizable_at}): run again "
                           "with --tx then")  # fmt: skip
            return
        time.sleep(poll_seconds)


def _describe(st: w.Status, withdrawal: w.Withdrawal) -> str:
    if st.stage is w.Stage.INITIATED:
        latest = "none yet" if st.latest_output_block is None else f"L2 block {st.latest_output_block}"
        removed = "; the output it was proven against was removed" if st.proof_removed else ""
        return (
            f"waiting for an output covering L2 block {withdrawal.l2_block} (the oracle's latest: {latest}){removed}"
        )
    if st.stage is w.Stage.PROVEN and not st.held_by_dispute:
        return (f"proven against output {st.output_index} at {_when(st.proven_at)}; finalizable from "
                f"{_when(st.finalizable_at)} (in {max(0, st.finalizable_at - st.l1_time)} s)")  # fmt: skip
    return st.describe()


def _finalize(l1, portal, key, withdrawal) -> bool:
    """Finalize and print what reached the target; False when the portal says to wait a little longer."""
    target = withdrawal.tx.target
    before = l1.eth.get_balance(target)
    try:
        receipt = w.finalize(portal, key, withdrawal)
    except w.Refused as err:
        if err.error in WAIT_ERRORS:
            return False
        if err.error == "PortalInsufficientBalance":
            raise click.ClickException(f"{err}: the portal holds less than the withdrawal until more is deposited; "
                                       "run again with --tx later") from None  # fmt: skip
        raise
    after = l1.eth.get_balance(target)
    click.echo(f"finalized: L1 tx 0x{bytes(receipt['transactionHash']).hex()}, gas {receipt['gasUsed']:,}")
    if not w.call_succeeded(receipt, withdrawal):
        click.echo(f"the L1 call to {target} failed: the withdrawal is final and its {_eth(withdrawal.tx.value)} "
                   "stays in the portal (OP's rule)")  # fmt: skip
    fee = receipt["gasUsed"] * receipt["effectiveGasPrice"] if target == key.address else 0
    paid = f", after {_eth(fee)} of gas for finalizing" if fee else ""
    click.echo(f"{target} on L1: {_eth(before)} -> {_eth(after)} ({_signed_eth(after - before)}{paid})")
    return True


def _signed_eth(wei: int) -> str:
    return ("+" if wei >= 0 else "-") + _eth(abs(wei))


def _output_block(oracle, index: int) -> int:
    return oracle.functions.getL2Output(index).call()[2]


def _gas(gas_limit: int | None) -> int:
    return DEFAULT_GAS_LIMIT if gas_limit is None else gas_limit


def _abi(contract_type: Any) -> list[dict[str, Any]]:
    return [item.model_dump(mode="json", by_alias=True) for item in contract_type.abi]
