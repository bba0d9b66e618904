"""Our L2 node: py-evm execution, a sequencer, Ethereum JSON-RPC over HTTP, and an SQLite database.

    python -m rollup.node --datadir ~/.verde-l2                  # our chain, a block every 2 s, port 9545
    python -m rollup.node --block-time 0                          # in memory, a block per transaction (tests)
    python -m rollup.node --genesis g.json --import-chain c.rlp --no-sequencer    # serve a chain made elsewhere

It prints `rollup node: serving http://HOST:PORT ...` once it answers; SIGINT or SIGTERM stop it cleanly, and a
SIGKILL loses nothing committed (see rollup/store.py).
"""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
import time
from importlib.metadata import version
from pathlib import Path

import click
from aiohttp import web
from eth_utils import is_hex_address, to_canonical_address
from web3 import Web3

from rollup.chain import DEFAULT_FEE_RECIPIENT, BlockRefused, L2Chain
from rollup.cli import setup_logging
from rollup.derive import OP_MAINNET_RULES, SEQUENCING_WINDOW, L1Deposits, SequencingRules
from rollup.genesis import ChainFileError, Genesis, GenesisError
from rollup.rpc.api import Api
from rollup.rpc.server import MAX_BODY_BYTES, Server
from rollup.sequencer import Sequencer
from rollup.store import Store, StoreError

DEFAULT_GENESIS = Path(__file__).with_name("genesis.json")
DEFAULT_PORT = 9545  # the OP Stack devnet's L2 port; anvil keeps 8545 for L1
L1_POLL_SECONDS = 1.0
log = logging.getLogger("rollup.node")


def client_version() -> str:
    return f"verde-rollup/v0.1.0/py-evm-{version('py-evm')}/python-{sys.version.split()[0]}"


def open_node(
    genesis_path: Path,
    datadir: Path | None,
    *,
    block_time: float,
    producing: bool,
    fee_recipient: bytes = DEFAULT_FEE_RECIPIENT,
    synchronous: str = "NORMAL",
    dev: bool = False,
    l1: L1Deposits | None = None,
    rules: SequencingRules = OP_MAINNET_RULES,
) -> Sequencer:
    genesis = Genesis.load(genesis_path)
    store = Store.open(datadir, synchronous=synchronous) if datadir is not None else Store.memory()
    try:
        chain = L2Chain(genesis, store)
        return Sequencer(
            chain,
            block_time=block_time,
            producing=producing,
            fee_recipient=fee_recipient,
            dev=dev,
            l1=l1,
            rules=rules,
        )
    except BaseException:
        store.close()
        raise


async def start_server(
    sequencer: Sequencer, host: str, port: int, max_body_bytes: int = MAX_BODY_BYTES
) -> tuple[web.AppRunner, int]:
    """The JSON-RPC server over `sequencer`'s chain, listening; (its runner, to clean up; the port it got)."""
    api = Api(sequencer, client_version=client_version())
    runner = web.AppRunner(Server(api, max_body_bytes=max_body_bytes).app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, host, port)
    try:
        await site.start()
    except OSError as err:
        await runner.cleanup()
        raise click.ClickException(f"cannot listen on {host}:{port}: {err.strerror or err}") from None
    return runner, site._server.sockets[0].getsockname()[1]  # the real port when 0 asked for any free one


async def serve(sequencer: Sequencer, host: str, port: int, max_body_bytes: int) -> None:
    runner, bound = await start_server(sequencer, host, port, max_body_bytes)
    head = sequencer.chain.head
    print(
        f"rollup node: serving http://{host}:{bound} chain id {sequencer.chain.chain_id} "
        f"head #{head.block_number} 0x{head.hash.hex()}",
        flush=True,
    )
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    tasks = []
    if sequencer.producing and sequencer.block_time > 0:
        tasks.append(asyncio.create_task(_produce(sequencer)))
    if sequencer.producing and sequencer.block_time == 0 and sequencer.l1 is not None:
        tasks.append(asyncio.create_task(_follow_l1(sequencer, L1_POLL_SECONDS)))
    await stop.wait()
    for task in tasks:
        task.cancel()
    await runner.cleanup()


async def _produce(sequencer: Sequencer) -> None:
    period = sequencer.block_time
    next_at = time.monotonic() + period
    while True:
        await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        next_at += period
        try:
            sequencer.seal()
        except Exception:  # a block that cannot be built is logged; the next tick tries again
            log.exception("sealing a block failed")


async def _follow_l1(sequencer: Sequencer, poll: float) -> None:
    # With a block per transaction, nothing else would seal the blocks that bring L1's deposits in: seal one
    # whenever the next L1 block is due as an origin (one L2 block per L1 block, as OP's epochs go).
    while True:
        try:
            while sequencer.origin_due():
                sequencer.seal()
        except Exception as err:  # an L1 node away for a while: the next poll tries again
            log.warning("following L1: %s: %s", type(err).__name__, err)
        await asyncio.sleep(poll)


def _address(ctx, param, value: str) -> bytes:
    if not is_hex_address(value):
        raise click.BadParameter(f"{value!r} is not a 20-byte hex address")
    return to_canonical_address(value)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--genesis",
    "genesis_path",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_GENESIS,
    show_default=True,
    help="go-ethereum style genesis.json.",
)
@click.option(
    "--datadir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the chain is kept (created if missing). Without it the chain lives in memory and ends with the node.",
)
@click.option("--host", default="127.0.0.1", show_default=True, help="Interface to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="0: any free.")
@click.option(
    "--block-time",
    type=click.FloatRange(min=0),
    default=2.0,
    show_default=True,
    help="Seconds between blocks; 0 seals one block per transaction as it arrives.",
)
@click.option("--no-sequencer", is_flag=True, help="Produce no blocks: only import and serve (a replica).")
@click.option(
    "--import-chain",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    default=None,
    help="RLP-concatenated blocks to import before serving (`geth export` format); blocks already held are skipped.",
)
@click.option(
    "--fee-recipient",
    default="0x" + DEFAULT_FEE_RECIPIENT.hex(),
    show_default=True,
    callback=_address,
    help="Coinbase of sealed blocks (OP's SequencerFeeVault address by default).",
)
@click.option(
    "--sync",
    type=click.Choice(["normal", "full"]),
    default="normal",
    show_default=True,
    help="full: fsync every block (survives power loss, not only a killed process).",
)
@click.option("--max-body-bytes", type=click.IntRange(1024), default=MAX_BODY_BYTES, show_default=True)
@click.option(
    "--l1-rpc", default=None, help="Follow this L1: every block names an L1 origin and carries its deposits."
)
@click.option("--portal", default=None, help="The RollupPortal's address on that L1 (needed with --l1-rpc).")
@click.option(
    "--l1-start",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="The first L1 block the rollup reads (the portal's deployment block): the first block's origin.",
)
@click.option(
    "--sequencing-window",
    type=click.IntRange(1),
    default=SEQUENCING_WINDOW,
    show_default=True,
    help="L1 blocks within which an L1 block's deposits must reach the L2; past it the epoch is forced in (the "
    "verifier must use the same).",
)
@click.option(
    "--dev",
    is_flag=True,
    help="Answer the dev methods: evm_snapshot/evm_revert (rewinding history, for `ape test`), evm_mine, "
    "evm_increaseTime, evm_setNextBlockTimestamp. Never on a chain others follow.",
)
@click.option("-v", "--verbose", is_flag=True, help="Log every block and refused request.")
def main(
    genesis_path: Path,
    datadir: Path | None,
    host: str,
    port: int,
    block_time: float,
    no_sequencer: bool,
    import_chain: Path | None,
    fee_recipient: bytes,
    sync: str,
    max_body_bytes: int,
    l1_rpc: str | None,
    portal: str | None,
    l1_start: int,
    sequencing_window: int,
    dev: bool,
    verbose: bool,
) -> None:
    """Run the L2 node: execute, sequence, store and serve the chain over JSON-RPC."""
    setup_logging(verbose)
    l1 = _l1(l1_rpc, portal, l1_start)
    try:
        sequencer = open_node(
            genesis_path,
            datadir,
            block_time=block_time,
            producing=not no_sequencer,
            fee_recipient=fee_recipient,
            synchronous=sync.upper(),
            dev=dev,
            l1=l1,
            rules=SequencingRules(window=sequencing_window),
        )
    except (GenesisError, StoreError) as err:
        raise click.ClickException(str(err)) from None
    try:
        if import_chain is not None:
            data = import_chain.read_bytes()
            started = time.monotonic()
            try:
                added = sequencer.chain.import_raw_blocks(data)
            except (ChainFileError, BlockRefused) as err:
                raise click.ClickException(f"{import_chain}: {err}") from None
            sequencer.pool.prune(sequencer.chain.state(sequencer.chain.head).get_nonce)
            click.echo(f"imported {added} blocks in {time.monotonic() - started:.1f}s", err=True)
        asyncio.run(serve(sequencer, host, port, max_body_bytes))
    finally:
        sequencer.chain.store.close()


def _l1(l1_rpc: str | None, portal: str | None, start: int) -> L1Deposits | None:
    if l1_rpc is None and portal is None:
        return None
    if l1_rpc is None or portal is None:
        raise click.UsageError("--l1-rpc and --portal go together")
    if not is_hex_address(portal):
        raise click.BadParameter(f"{portal!r} is not a 20-byte hex address", param_hint="--portal")
    w3 = Web3(Web3.HTTPProvider(l1_rpc, request_kwargs={"timeout": 10}))
    if not w3.is_connected():
        raise click.ClickException(f"no L1 answers at {l1_rpc}")
    if not w3.eth.get_code(Web3.to_checksum_address(portal)):
        raise click.ClickException(
            f"no contract at {portal} on the L1 at {l1_rpc}: deploy it with `ape run deploy --rollup`"
        )
    return L1Deposits(w3, Web3.to_checksum_address(portal), start=start)


if __name__ == "__main__":
    main()
