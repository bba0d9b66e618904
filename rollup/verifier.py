"""The verifier: an independent node that derives the L2 chain from L1 alone, checks every output root the
proposer posts against its own, challenges a wrong one and plays the dispute to its end, unattended. It serves the
derived chain over JSON-RPC: a replica a user can query instead of the sequencer, holding only blocks L1 has (OP's
safe head).

    python -m rollup.verifier --l1-rpc http://127.0.0.1:8545 --portal 0x... --inbox 0x... --batcher 0x... \\
        --oracle 0x... --game 0x... --l1-start N --datadir .verifier --account challenger

Without a key (`--account` / `--key-file` / $ROLLUP_VERIFIER_KEY) it only watches: a wrong output is reported, not
challenged. With the proposer's key it also defends that proposer's outputs against any challenger. Its derivation
settings (genesis, fee recipient, sequencing window, channel timeout) must be the sequencer's: a verifier with other
rules derives another chain and would challenge honest outputs (it then loses its bond).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from web3 import Web3

from rollup.abi import contract_abi
from rollup.batcher import open_inbox
from rollup.chain import DEFAULT_FEE_RECIPIENT
from rollup.cli import load_key, setup_logging
from rollup.derivation import DEFAULT_CHANNEL_TIMEOUT, Deriver
from rollup.derive import SEQUENCING_WINDOW, DerivationError, L1Deposits, SequencingRules
from rollup.dispute import ChainView, Player
from rollup.genesis import GenesisError
from rollup.node import DEFAULT_GENESIS, _address, open_node, start_server
from rollup.output import output_at
from rollup.store import StoreError

log = logging.getLogger("rollup.verifier")
DEFAULT_PORT = 9546
KEY_VARIABLE = "ROLLUP_VERIFIER_KEY"


@dataclass
class Checked:
    """One output the verifier has judged: its index, root and block, and what it found."""

    index: int
    root: bytes
    l2_block: int
    ours: bytes

    @property
    def agrees(self) -> bool:
        return self.root == self.ours


class Verifier:
    def __init__(
        self,
        deriver: Deriver,
        oracle: Any,
        *,
        player: Player | None = None,
        say: Callable[[str], None] = print,
    ) -> None:
        self.deriver = deriver
        self.oracle = oracle
        self.player = player
        self.say = say
        self.checked: list[Checked] = []  # outputs 0..len-1 as they stand on L1, judged

    def step(self) -> None:
        """Derive from the L1 blocks not yet read, judge the outputs derivation has reached, and make every move
        that is ours in the disputes we are in."""
        self.deriver.step()
        self.check_outputs()
        if self.player is not None:
            self.player.play()

    def check_outputs(self) -> None:
        posted = self.oracle.functions.nextOutputIndex().call()
        if posted < len(self.checked):  # outputs deleted by a dispute: those indices may be proposed again
            del self.checked[posted:]
        head = self.deriver.safe_head.block_number
        for index in range(len(self.checked), posted):
            root, _, l2_block = self.oracle.functions.getL2Output(index).call()
            if l2_block > head:
                return  # derivation has not reached it yet (its batches are not on L1 yet)
            ours = output_at(self.deriver.chain, self.deriver.chain.header(l2_block)).root
            checked = Checked(index, bytes(root), l2_block, ours)
            if checked.agrees:
                self.say(f"output {index} (L2 block {l2_block}) agrees: 0x{ours.hex()}")
            else:
                self.say(f"output {index} (L2 block {l2_block}) is WRONG: posted 0x{bytes(root).hex()}, "
                         f"derived 0x{ours.hex()}")  # fmt: skip
                self._challenge(index)
            self.checked.append(checked)

    def _challenge(self, index: int) -> None:
        if self.player is None:
            self.say(f"output {index}: not challenged (no key, or no --game)")
            return
        game = self.player.game
        if self.oracle.functions.isFinalized(index).call():
            self.say(f"output {index}: already final, too late to challenge")
            return
        if self.oracle.functions.proposerOf(index).call() == self.player.key.address:
            self.say(f"output {index}: our own; the proposer's key posted a root this verifier disagrees with")
            return
        if game.functions.disputeOfOutput(index).call():
            self.say(f"output {index}: already disputed")
            return
        try:
            self.player.challenge(index)
        except Exception as err:  # the game refused (its error says why): reported, and the verifier goes on
            self.say(f"output {index}: the challenge failed: {type(err).__name__}: {err}")


def oracle_contract(l1: Web3, address: str) -> Any:
    return l1.eth.contract(address=Web3.to_checksum_address(address), abi=contract_abi("L2OutputOracle"))


async def run(verifier: Verifier, replica: Any, host: str, port: int, poll: float) -> None:
    runner, bound = await start_server(replica, host, port)
    head = replica.chain.head
    print(f"rollup verifier: serving http://{host}:{bound} chain id {replica.chain.chain_id} "
          f"safe head #{head.block_number} 0x{head.hash.hex()}", flush=True)  # fmt: skip
    try:
        while True:
            started = time.monotonic()
            try:
                verifier.step()
            except DerivationError as err:
                raise click.ClickException(str(err)) from None
            except Exception as err:  # an L1 node briefly away: say so and try again
                log.warning("retrying after: %s: %s", type(err).__name__, err)
            await asyncio.sleep(max(0.0, poll - (time.monotonic() - started)))
    finally:
        await runner.cleanup()


def _hex_address(ctx, param, value: str | None) -> str | None:
    if value is None:
        return None
    if not Web3.is_address(value):
        raise click.BadParameter(f"{value!r} is not a 20-byte hex address")
    return Web3.to_checksum_address(value)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--l1-rpc", required=True, help="The L1 node's JSON-RPC URL.")
@click.option("--portal", required=True, callback=_hex_address, help="The RollupPortal's address on L1.")
@click.option("--inbox", required=True, callback=_hex_address, help="The batch inbox (BatchInbox or an address).")
@click.option("--batcher", required=True, callback=_hex_address, help="The batcher's address (others are ignored).")
@click.option("--oracle", required=True, callback=_hex_address, help="The L2OutputOracle's address on L1.")
@click.option("--game", default=None, callback=_hex_address, help="The OutputDispute game (needed to challenge).")
@click.option("--l1-start", type=click.IntRange(0), required=True, help="The portal's deployment block.")
@click.option(
    "--genesis", "genesis_path", type=click.Path(dir_okay=False, path_type=Path), default=DEFAULT_GENESIS,
    show_default=True,
)  # fmt: skip
@click.option(
    "--datadir",
    type=click.Path(file_okay=False, path_type=Path),
    default=None,
    help="Where the derived chain is kept; without it, in memory (derived again at every start).",
)
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=click.IntRange(0, 65535), default=DEFAULT_PORT, show_default=True, help="0: any free.")
@click.option("--fee-recipient", default="0x" + DEFAULT_FEE_RECIPIENT.hex(), show_default=True, callback=_address)
@click.option("--sequencing-window", type=click.IntRange(1), default=SEQUENCING_WINDOW, show_default=True)
@click.option("--channel-timeout", type=click.IntRange(1), default=DEFAULT_CHANNEL_TIMEOUT, show_default=True)
@click.option(
    "--confirmations",
    type=click.IntRange(0),
    default=0,
    show_default=True,
    help="L1 blocks to stay behind the L1 head (fewer L1 reorganisations to undo).",
)
@click.option("--account", default=None, help="The challenger's Ape account (alias, or TEST::N).")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None)
@click.option("--poll-seconds", type=click.FloatRange(min=0.05), default=1.0, show_default=True)
@click.option("-v", "--verbose", is_flag=True, help="Log every derived block and dropped batch.")
def main(
    l1_rpc: str,
    portal: str,
    inbox: str,
    batcher: str,
    oracle: str,
    game: str | None,
    l1_start: int,
    genesis_path: Path,
    datadir: Path | None,
    host: str,
    port: int,
    fee_recipient: bytes,
    sequencing_window: int,
    channel_timeout: int,
    confirmations: int,
    account: str | None,
    key_file: Path | None,
    poll_seconds: float,
    verbose: bool,
) -> None:
    """Derive the L2 from L1, check every posted output root, challenge wrong ones, serve the derived chain."""
    setup_logging(verbose)
    l1 = Web3(Web3.HTTPProvider(l1_rpc, request_kwargs={"timeout": 30}))
    if not l1.is_connected():
        raise click.ClickException(f"no L1 answers at {l1_rpc}")
    for name, address in (("--portal", portal), ("--oracle", oracle), ("--game", game)):
        if address is not None and not l1.eth.get_code(address):
            raise click.ClickException(f"{name}: no contract at {address} on the L1 at {l1_rpc}")
    key = None
    if account is not None or key_file is not None or KEY_VARIABLE in os.environ:
        key = load_key(account, key_file, variable=KEY_VARIABLE, what="verifier")
    try:
        replica = open_node(genesis_path, datadir, block_time=0, producing=False, fee_recipient=fee_recipient)
    except (GenesisError, StoreError) as err:
        raise click.ClickException(str(err)) from None
    # Its chain is L1's: a transaction sent here would never be sealed, so it is refused rather than kept.
    replica.read_only = "this is a verifier: it holds only what L1 holds; send transactions to the sequencer"
    try:
        try:
            deriver = Deriver(replica.chain, L1Deposits(l1, portal, start=l1_start), open_inbox(l1, inbox),
                              batcher=batcher, rules=SequencingRules(window=sequencing_window),
                              channel_timeout=channel_timeout, fee_recipient=fee_recipient,
                              confirmations=confirmations)  # fmt: skip
        except DerivationError as err:
            raise click.ClickException(str(err)) from None
        player = None
        if key is not None and game is not None:
            player = Player(l1, game, key, ChainView(replica.chain), from_block=l1_start,
                            say=lambda line: click.echo(line, err=False))  # fmt: skip
        elif game is None and key is not None:
            click.echo("no --game: wrong outputs are reported, not challenged", err=True)
        verifier = Verifier(deriver, oracle_contract(l1, oracle), player=player, say=click.echo)
        asyncio.run(run(verifier, replica, host, port, poll_seconds))
    finally:
        replica.chain.store.close()


if __name__ == "__main__":
    main()
