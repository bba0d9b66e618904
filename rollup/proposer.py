"""The proposer: posts the L2 chain's output roots to the L1 output oracle, one every SUBMISSION_INTERVAL blocks,
each with the oracle's bond.

    python -m rollup.proposer --l1-rpc http://127.0.0.1:8545 --l2-rpc http://127.0.0.1:9545 \\
        --oracle 0x... --datadir .proposer      # key: $ROLLUP_PROPOSER_KEY (hex), or --key-file

Crash safety: every proposal is signed first and written to the datadir's SQLite file with its transaction hash
and raw bytes before it is sent. After a restart (or when the L1 drops the transaction in a reorg) the same
signed bytes are sent again; they can be mined at most once (one nonce), and the oracle takes one output per
block number, so an output is never posted twice and never lost. A proposal is done when the oracle's next
block number has moved past it.
"""

from __future__ import annotations

import logging
import sqlite3
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from eth_utils import keccak
from web3 import Web3
from web3.exceptions import ContractCustomError, TransactionNotFound

from rollup.cli import load_key

log = logging.getLogger("rollup.proposer")
KEY_VARIABLE = "ROLLUP_PROPOSER_KEY"

ORACLE_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "proposeL2Output", "stateMutability": "payable", "outputs": [],
     "inputs": [{"name": "_outputRoot", "type": "bytes32"}, {"name": "_l2BlockNumber", "type": "uint256"}]},
    {"type": "function", "name": "nextBlockNumber", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
    {"type": "function", "name": "PROPOSER_BOND", "stateMutability": "view", "inputs": [],
     "outputs": [{"name": "", "type": "uint256"}]},
]  # fmt: skip
# Refusals that pass with time (L1's clock, a dispute closing): the proposer waits on these.
WAIT_ERRORS = {
    name: "0x" + keccak(text=signature)[:4].hex()
    for name, signature in (
        ("OracleOutputInFuture", "OracleOutputInFuture(uint256,uint256,uint256)"),
        ("OracleDisputeBacklog", "OracleDisputeBacklog(uint256,uint256)"),
    )
}
SCHEMA = """
CREATE TABLE IF NOT EXISTS proposals (
    l2_block INTEGER PRIMARY KEY, output_root BLOB NOT NULL, tx_hash BLOB NOT NULL, raw BLOB NOT NULL,
    sent_at REAL NOT NULL
);
"""


class ProposerError(RuntimeError):
    """Something the proposer cannot go on from by itself; the CLI prints it as one line."""


@dataclass(frozen=True)
class Proposal:
    l2_block: int
    output_root: bytes
    tx_hash: bytes
    raw: bytes


class Proposer:
    def __init__(self, l1: Web3, l2: Web3, oracle: str, key: Any, datadir: Path, *, gas: int = 300_000) -> None:
        self.l1, self.l2, self.key, self.gas = l1, l2, key, gas
        self.oracle = l1.eth.contract(address=Web3.to_checksum_address(oracle), abi=ORACLE_ABI)
        datadir.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(datadir / "proposer.sqlite", isolation_level=None)
        self.db.executescript(SCHEMA)

    def pending(self) -> Proposal | None:
        query = "SELECT l2_block, output_root, tx_hash, raw FROM proposals ORDER BY l2_block DESC"
        row = self.db.execute(query).fetchone()
        return Proposal(*row) if row else None

    def step(self) -> str:
        """One look at both chains: finish the proposal in flight, or start the next one. Returns what it did."""
        next_block = self.oracle.functions.nextBlockNumber().call()
        last = self.pending()
        if last is not None and last.l2_block >= next_block:
            # Signed and recorded but not yet taken by the oracle: sent before a crash, or dropped by an L1 reorg.
            receipt = self._receipt(last.tx_hash)
            if receipt is None:
                self._send(last.raw)
                return f"resent the proposal of block {last.l2_block}"
            if receipt.status == 0:
                raise ProposerError(f"the oracle refused the output of block {last.l2_block} (0x{last.tx_hash.hex()})")
            # Taken, and no longer counted: a dispute deleted it (with every later output). Propose again, from
            # what the L2 says now.
            self.db.execute("DELETE FROM proposals WHERE l2_block >= ?", (next_block,))
            log.warning("the output of block %d was deleted from the oracle; proposing again", last.l2_block)
        head = self.l2.eth.block_number
        if head < next_block:
            return f"waiting for L2 block {next_block} (head {head})"
        output = self.l2.provider.make_request("optimism_outputAtBlock", [hex(next_block)])
        if "error" in output:
            raise ProposerError(f"the L2 node gave no output for block {next_block}: {output['error']}")
        root = bytes.fromhex(output["result"]["outputRoot"][2:])
        waiting = self._would_wait(root, next_block)
        if waiting is not None:
            return waiting
        raw, tx_hash = self._sign(root, next_block)
        self.db.execute(
            "INSERT OR REPLACE INTO proposals VALUES (?, ?, ?, ?, ?)", (next_block, root, tx_hash, raw, time.time())
        )
        self._send(raw)
        receipt = self.l1.eth.wait_for_transaction_receipt(tx_hash, timeout=120)
        if receipt.status == 0:
            raise ProposerError(f"the oracle refused the output of block {next_block} (tx 0x{tx_hash.hex()})")
        return f"proposed block {next_block}: output 0x{root.hex()} (L1 block {receipt.blockNumber})"

    def _would_wait(self, root: bytes, block: int) -> str | None:
        """Ask the oracle first (a call, nothing sent): an output it takes later (L1 time not yet past the block's,
        or too many outputs standing behind an open dispute) is a reason to wait, not to fail."""
        bond = self.oracle.functions.PROPOSER_BOND().call()
        try:
            self.oracle.functions.proposeL2Output(root, block).call({"from": self.key.address, "value": bond})
        except ContractCustomError as err:
            data = err.data if isinstance(err.data, str) else ""
            for name, selector in WAIT_ERRORS.items():
                if data.startswith(selector):
                    return f"waiting to propose block {block}: the oracle says {name}"
            raise ProposerError(f"the oracle would refuse the output of block {block}: {data}") from None
        return None

    def _sign(self, root: bytes, block: int) -> tuple[bytes, bytes]:
        bond = self.oracle.functions.PROPOSER_BOND().call()
        base_fee = self.l1.eth.get_block("latest").get("baseFeePerGas", 0)
        tx = self.oracle.functions.proposeL2Output(root, block).build_transaction(
            {
                "from": self.key.address,
                "value": bond,
                "nonce": self.l1.eth.get_transaction_count(self.key.address, "pending"),
                "gas": self.gas,
                "maxFeePerGas": 2 * base_fee + 10**9,
                "maxPriorityFeePerGas": 10**9,
                "chainId": self.l1.eth.chain_id,
            }
        )
        signed = self.key.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def _send(self, raw: bytes) -> None:
        try:
            self.l1.eth.send_raw_transaction(raw)
        except Exception as err:  # already known / nonce too low: it is (or was) in the L1 pool or chain
            log.info("send: %s", err)

    def _receipt(self, tx_hash: bytes):
        try:
            return self.l1.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--l1-rpc", required=True, help="The L1 node's JSON-RPC URL.")
@click.option("--l2-rpc", required=True, help="The L2 node's JSON-RPC URL (it serves optimism_outputAtBlock).")
@click.option("--oracle", required=True, help="The L2OutputOracle's address on L1.")
@click.option("--datadir", type=click.Path(file_okay=False, path_type=Path), required=True)
@click.option("--account", default=None, help="Ape account alias (or TEST::N) that signs on L1.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help=f"File holding a hex private key (else ${KEY_VARIABLE}).")  # fmt: skip
@click.option("--poll-seconds", type=click.FloatRange(min=0.05), default=1.0, show_default=True)
@click.option("--once", is_flag=True, help="One step, then exit.")
def main(
    l1_rpc: str,
    l2_rpc: str,
    oracle: str,
    datadir: Path,
    account: str | None,
    key_file: Path | None,
    poll_seconds: float,
    once: bool,
):
    """Post the L2 chain's output roots to the L1 oracle."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", stream=sys.stderr)
    if not Web3.is_address(oracle):
        raise click.ClickException(f"--oracle {oracle!r} is not an address")
    key = load_key(account, key_file, variable=KEY_VARIABLE, what="proposer")  # refused before any wait
    l1, l2 = Web3(Web3.HTTPProvider(l1_rpc)), Web3(Web3.HTTPProvider(l2_rpc))
    for name, w3, url in (("L1", l1, l1_rpc), ("L2", l2, l2_rpc)):
        # Started with (or before) its nodes, or while one restarts: wait for it rather than exit.
        if not w3.is_connected():
            click.echo(f"no {name} node answers at {url} yet; trying again every {poll_seconds:g} s", err=True)
        while not w3.is_connected():
            time.sleep(poll_seconds)
    proposer = Proposer(l1, l2, oracle, key, datadir)
    said = ""
    while True:
        try:
            news = proposer.step()
            if news != said:  # one line per change, not one per poll
                click.echo(news)
                said = news
        except ProposerError as err:
            raise click.ClickException(str(err)) from None
        except Exception as err:  # an L1 or L2 node briefly away: say so and try again
            click.echo(f"retrying after: {type(err).__name__}: {err}", err=True)
        if once:
            return
        time.sleep(poll_seconds)


if __name__ == "__main__":
    main()
