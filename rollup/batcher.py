"""The batcher: posts every L2 block's transactions to the L1 batch inbox, in OP Bedrock's batch format
(rollup/batch.py), so that anyone can rebuild the L2 chain from L1 alone.

    python -m rollup.batcher --l1-rpc http://127.0.0.1:8545 --l2-rpc http://127.0.0.1:9545 \\
        --inbox 0x... --datadir .batcher        # key: --account ALIAS (Ape), --key-file, or $ROLLUP_BATCHER_KEY

Each round it reads the L2 blocks after its cursor (debug_getRawBlock, and the block's L1 origin from the L1Block
predeploy's storage), puts them into one channel, cuts the channel into frames of at most --max-frame-bytes and
sends one L1 transaction per frame: `submit(bytes)` on the BatchInbox contract, or the frames as plain calldata
when the inbox is an address without code (OP's batch inbox is such an address). It prints a line per channel,
per frame posted and per channel done.

Crash safety (the datadir's batcher.sqlite; a SIGKILL at any point loses nothing and repeats nothing):
- a channel's frames are written before the first is sent, so a restart posts the same frames, never others;
- each L1 transaction is signed and written (hash, nonce, raw bytes) before it is broadcast; after a restart the
  same bytes are sent again, and one nonce can be mined once only, so a frame is never posted twice;
- progress (which frame landed in which L1 transaction, and the cursor: the last L2 block posted and its hash)
  is written only once the L1 receipt is there (and --confirmations blocks deep).
If the L2 block at the cursor no longer has the hash posted (the sequencer rewound), the batcher stops with an
error rather than post a chain that contradicts what L1 already holds.
"""

from __future__ import annotations

import contextlib
import fcntl
import logging
import math
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
import requests
from eth_abi import decode as abi_decode
from eth_abi import encode as abi_encode
from eth_hash.auto import keccak
from web3 import Web3
from web3.exceptions import ContractLogicError, TransactionNotFound, Web3RPCError

from rollup.batch import (
    DEFAULT_MAX_TX_BYTES,
    FRAME_OVERHEAD,
    MAX_FRAME_DATA,
    MAX_RLP_BYTES_PER_CHANNEL,
    BatchError,
    RawBlock,
    SingularBatch,
    channel_rlp,
    encode_batches,
)
from rollup.cli import load_key, setup_logging

log = logging.getLogger("rollup.batcher")

L1_BLOCK = (
    "0x4200000000000000000000000000000000000015"  # the L1Block predeploy: number (slot 0, low 8 bytes), hash (2)
)
SUBMIT_SELECTOR = keccak(b"submit(bytes)")[:4]
BATCH_SUBMITTED_TOPIC = keccak(b"BatchSubmitted(address,uint256,bytes32,uint256)")
INBOX_ABI: list[dict[str, Any]] = [
    {"type": "function", "name": "submit", "stateMutability": "nonpayable", "outputs": [],
     "inputs": [{"name": "_frames", "type": "bytes"}]},
    {"type": "event", "name": "BatchSubmitted", "anonymous": False, "inputs": [
        {"name": "batcher", "type": "address", "indexed": True},
        {"name": "nonce", "type": "uint256", "indexed": True},
        {"name": "dataHash", "type": "bytes32", "indexed": False},
        {"name": "length", "type": "uint256", "indexed": False}]},
]  # fmt: skip
UNAUTHORIZED = "0x" + keccak(b"AccessControlUnauthorizedAccount(address,bytes32)")[:4].hex()  # OpenZeppelin's
KEY_VARIABLE = "ROLLUP_BATCHER_KEY"
DEFAULT_MAX_CHANNEL_BYTES = 1_000_000
BLOCKS_PER_REQUEST = 100  # raw blocks fetched in one JSON-RPC batch (3 requests each; the node takes 1,000)
SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS channels (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id BLOB NOT NULL UNIQUE, first_block INTEGER NOT NULL,
    last_block INTEGER NOT NULL, last_hash BLOB NOT NULL, transactions INTEGER NOT NULL, rlp_bytes INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('open', 'posted', 'abandoned')), opened_l1 INTEGER
);
CREATE TABLE IF NOT EXISTS frames (
    channel BLOB NOT NULL, idx INTEGER NOT NULL, data BLOB NOT NULL, l1_tx BLOB, l1_block INTEGER, gas_used INTEGER,
    PRIMARY KEY (channel, idx)
);
CREATE TABLE IF NOT EXISTS txs (
    hash BLOB PRIMARY KEY, channel BLOB NOT NULL, idx INTEGER NOT NULL, nonce INTEGER NOT NULL, raw BLOB NOT NULL,
    max_fee INTEGER NOT NULL, tip INTEGER NOT NULL, sent_at REAL NOT NULL
);
"""


class BatcherError(RuntimeError):
    """Something the batcher must not go on from by itself (a rewound L2, a refused batch, a wrong datadir)."""


# Where frames go on L1


class Inbox:
    """The L1 target: the data of the transaction carrying `frames`, and the frames back from such data."""

    kind = "address"

    def __init__(self, address: str) -> None:
        self.address = Web3.to_checksum_address(address)

    def calldata(self, frames: bytes) -> bytes:
        return frames

    def frames_of(self, data: bytes) -> bytes | None:
        return data


class InboxContract(Inbox):
    """contracts/rollup/BatchInbox.sol: `submit(bytes _frames)`, restricted to BATCHER_ROLE."""

    kind = "contract"

    def calldata(self, frames: bytes) -> bytes:
        return SUBMIT_SELECTOR + abi_encode(["bytes"], [frames])

    def frames_of(self, data: bytes) -> bytes | None:
        if data[:4] != SUBMIT_SELECTOR:
            return None
        try:
            return abi_decode(["bytes"], data[4:])[0]
        except Exception:
            return None


def open_inbox(l1: Web3, address: str, kind: str = "auto") -> Inbox:
    """The inbox at `address`: a contract if it has code (or kind says so), else a plain address."""
    if not Web3.is_address(address):
        raise BatcherError(f"inbox {address!r} is not an address")
    if kind == "auto":
        kind = "contract" if l1.eth.get_code(Web3.to_checksum_address(address)) else "address"
    return InboxContract(address) if kind == "contract" else Inbox(address)


def posted_frames(l1: Web3, inbox: Inbox, batcher: str | None = None, first: int = 0, last: int | None = None):
    """(L1 block, frames data) of every successful batcher transaction to the inbox in L1 blocks first..last, in
    chain order: what a verifier reads. For the contract, its BatchSubmitted events (from `batcher` only, if
    given) name them, and the frames are each event's transaction's `submit` argument (checked against the
    event's hash); for a plain address, every transaction to it from `batcher` (OP authenticates by sender)."""
    last = l1.eth.block_number if last is None else last
    out: list[tuple[int, bytes]] = []
    if isinstance(inbox, InboxContract):
        topics: list[Any] = ["0x" + BATCH_SUBMITTED_TOPIC.hex()]
        if batcher is not None:
            topics.append("0x" + bytes(12).hex() + Web3.to_checksum_address(batcher)[2:].lower())
        logs = l1.eth.get_logs({"address": inbox.address, "topics": topics, "fromBlock": first, "toBlock": last})
        for event in logs:
            tx = l1.eth.get_transaction(event["transactionHash"])
            frames = inbox.frames_of(bytes(tx["input"])) if tx.get("to") == inbox.address else None
            if frames is not None and keccak(frames) == bytes(event["data"])[:32]:
                out.append((event["blockNumber"], frames))
        return out
    for number in range(first, last + 1):
        block = l1.eth.get_block(number, full_transactions=True)
        for tx in block.transactions:
            if tx.get("to") != inbox.address:
                continue
            if batcher is not None and tx["from"] != Web3.to_checksum_address(batcher):
                continue
            if l1.eth.get_transaction_receipt(tx["hash"]).status == 1:
                out.append((number, inbox.frames_of(bytes(tx["input"]))))
    return out


# The L2 side


@dataclass(frozen=True)
class L2Block:
    number: int
    hash: bytes
    batch: SingularBatch
    deposits: int  # deposit transactions left out of the batch


class L2Source:
    """The sequencer's JSON-RPC: raw blocks and their L1 origin."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        self.url = url
        self.timeout = timeout
        self.session = requests.Session()

    def _call(self, requests_: list[tuple[str, list[Any]]]) -> list[Any]:
        body = [{"jsonrpc": "2.0", "id": i, "method": m, "params": p} for i, (m, p) in enumerate(requests_)]
        reply = self.session.post(self.url, json=body, timeout=self.timeout)
        reply.raise_for_status()
        answers = {a["id"]: a for a in reply.json()}
        out = []
        for i, (method, _) in enumerate(requests_):
            answer = answers.get(i) or {"error": {"message": "no answer"}}
            if "error" in answer:
                raise RuntimeError(f"L2 {method}: {answer['error'].get('message', answer['error'])}")
            out.append(answer["result"])
        return out

    def head(self) -> int:
        return int(self._call([("eth_blockNumber", [])])[0], 16)

    def block_hash(self, number: int) -> bytes | None:
        block = self._call([("eth_getBlockByNumber", [hex(number), False])])[0]
        return None if block is None else bytes.fromhex(block["hash"][2:])

    def blocks(self, first: int, last: int) -> list[L2Block]:
        out: list[L2Block] = []
        for start in range(first, last + 1, BLOCKS_PER_REQUEST):
            numbers = range(start, min(last, start + BLOCKS_PER_REQUEST - 1) + 1)
            calls: list[tuple[str, list[Any]]] = []
            for n in numbers:
                calls += [
                    ("debug_getRawBlock", [hex(n)]),
                    ("eth_getStorageAt", [L1_BLOCK, "0x0", hex(n)]),
                    ("eth_getStorageAt", [L1_BLOCK, "0x2", hex(n)]),
                ]
            answers = self._call(calls)
            for i, n in enumerate(numbers):
                raw, slot0, slot2 = answers[3 * i : 3 * i + 3]
                block = RawBlock.parse(bytes.fromhex(raw[2:]))
                if block.number != n:
                    raise RuntimeError(f"L2 debug_getRawBlock({n}) answered block {block.number}")
                epoch_number = int(slot0, 16) & (2**64 - 1)
                batch = block.batch(epoch_number, int(slot2, 16).to_bytes(32, "big"))
                out.append(L2Block(n, block.hash, batch, len(block.transactions) - len(batch.transactions)))
        return out


# Signing on L1


class L1Sender:
    """Signs and sends the batcher's L1 transactions (EIP-1559), and reads their receipts."""

    def __init__(self, l1: Web3, key: Any) -> None:
        self.l1 = l1
        self.key = key
        self.address = key.address
        self.chain_id = l1.eth.chain_id

    def fees(self) -> tuple[int, int]:
        """(max fee, tip): twice the latest base fee plus the node's suggested tip."""
        base = self.l1.eth.get_block("latest").get("baseFeePerGas", 0)
        tip = max(self.l1.eth.max_priority_fee, 1)
        return 2 * base + tip, tip

    def sign(self, to: str, data: bytes, nonce: int, max_fee: int, tip: int) -> tuple[bytes, bytes]:
        try:
            gas = self.l1.eth.estimate_gas({"from": self.address, "to": to, "data": data})
        except ContractLogicError as err:
            reason = str(err)
            if (err.data or "").startswith(UNAUTHORIZED):
                reason = f"AccessControlUnauthorizedAccount: {self.address} does not hold BATCHER_ROLE"
            raise BatcherError(f"the inbox {to} refuses the batcher's transaction: {reason}") from None
        tx = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "to": to,
            "value": 0,
            "data": data,
            "gas": gas + gas // 5,
            "maxFeePerGas": max_fee,
            "maxPriorityFeePerGas": tip,
        }
        signed = self.key.sign_transaction(tx)
        return bytes(signed.raw_transaction), bytes(signed.hash)

    def broadcast(self, raw: bytes) -> None:
        try:
            self.l1.eth.send_raw_transaction(raw)
        except (Web3RPCError, ValueError) as err:  # the node's refusal, with its message
            text = str(err).lower()
            if any(s in text for s in ("already known", "nonce too low", "already imported", "known transaction")):
                log.info("broadcast: %s", err)  # in the pool or mined already: the receipt will tell
                return
            raise

    def receipt(self, tx_hash: bytes) -> Any | None:
        try:
            return self.l1.eth.get_transaction_receipt(tx_hash)
        except TransactionNotFound:
            return None

    def nonce(self, block: str = "pending") -> int:
        return self.l1.eth.get_transaction_count(self.address, block)


# Progress


class BatcherStore:
    """batcher.sqlite in the datadir, opened by one batcher at a time."""

    def __init__(self, datadir: Path) -> None:
        datadir.mkdir(parents=True, exist_ok=True)
        self._lock = open(datadir / "LOCK", "w")  # noqa: SIM115 (held for the batcher's life)
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._lock.close()
            raise BatcherError(f"{datadir} is in use by another batcher") from None
        self.db = sqlite3.connect(datadir / "batcher.sqlite", isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=FULL")  # a handful of writes per L1 transaction: make each durable
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()
        self._lock.close()

    @contextlib.contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def get(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def put(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    def bind(self, key: str, value: str, what: str) -> None:
        """Remember `value` at first start; refuse to start later with another (another chain, inbox, key)."""
        held = self.get(key)
        if held is None:
            self.put(key, value)
        elif held != value:
            raise BatcherError(f"the datadir holds the batches of {what} {held}, not {value}: use another --datadir")

    @property
    def cursor(self) -> tuple[int, bytes]:
        """The last L2 block whose channel is wholly on L1, and its hash."""
        return int(self.get("cursor_number") or 0), bytes.fromhex(self.get("cursor_hash") or "")

    def open_channel(self) -> sqlite3.Row | None:
        self.db.row_factory = sqlite3.Row
        try:
            return self.db.execute("SELECT * FROM channels WHERE state = 'open' ORDER BY seq LIMIT 1").fetchone()
        finally:
            self.db.row_factory = None

    def frames(self, channel: bytes) -> list[tuple[int, bytes, bytes | None, int | None]]:
        query = "SELECT idx, data, l1_tx, l1_block FROM frames WHERE channel = ? ORDER BY idx"
        return self.db.execute(query, (channel,)).fetchall()

    def txs(self, channel: bytes, idx: int) -> list[tuple[bytes, int, bytes, int, int, float]]:
        query = (
            "SELECT hash, nonce, raw, max_fee, tip, sent_at FROM txs WHERE channel = ? AND idx = ? ORDER BY sent_at"
        )
        return self.db.execute(query, (channel, idx)).fetchall()

    def posted(self) -> list[tuple[bytes, int, int, str]]:
        return self.db.execute("SELECT id, first_block, last_block, state FROM channels ORDER BY seq").fetchall()


# The batcher


class Batcher:
    def __init__(
        self,
        l1: Web3,
        l2: L2Source,
        inbox: Inbox,
        key: Any,
        datadir: Path,
        *,
        max_frame_bytes: int = DEFAULT_MAX_TX_BYTES,
        max_channel_bytes: int = DEFAULT_MAX_CHANNEL_BYTES,
        compress: bool = True,
        confirmations: int = 0,
        channel_timeout: int = 50,
        resubmit_seconds: float = 60.0,
        poll_seconds: float = 1.0,
        say: Callable[[str], None] = print,
    ) -> None:
        self.l1, self.l2, self.inbox = l1, l2, inbox
        self.sender = L1Sender(l1, key)
        self.max_frame_bytes = max_frame_bytes
        self.max_channel_bytes = max_channel_bytes
        self.compress = compress
        self.confirmations = confirmations
        self.channel_timeout = channel_timeout
        self.resubmit_seconds = resubmit_seconds
        self.poll_seconds = poll_seconds
        self.say = say
        self.store = BatcherStore(datadir)
        try:
            self._bind()
        except BaseException:
            self.store.close()
            raise

    def _bind(self) -> None:
        genesis = self.l2.block_hash(0)
        if genesis is None:
            raise BatcherError("the L2 node has no block 0")
        with self.store.transaction():
            self.store.bind("l2_genesis", genesis.hex(), "the L2 chain with genesis")
            self.store.bind("l1_chain_id", str(self.sender.chain_id), "L1 chain id")
            self.store.bind("inbox", self.inbox.address, "inbox")
            self.store.bind("batcher", self.sender.address, "batcher")
            if self.store.get("cursor_number") is None:
                self.store.put("cursor_number", "0")
                self.store.put("cursor_hash", genesis.hex())

    def close(self) -> None:
        self.store.close()

    # One round

    def step(self) -> bool:
        """Finish the channel in flight, or open one for the L2 blocks after the cursor and post it. Returns
        whether there was anything to do."""
        channel = self.store.open_channel()
        if channel is None:
            self._check_cursor()
            channel = self._new_channel()
            if channel is None:
                return False
        self._post(channel)
        return True

    def _check_cursor(self) -> None:
        number, posted = self.store.cursor
        now = self.l2.block_hash(number)
        if now != posted:
            raise BatcherError(
                f"L2 block #{number} is now {'missing' if now is None else '0x' + now.hex()}, but the batcher posted "
                f"0x{posted.hex()}: the sequencer rewound its chain below what L1 holds; not posting a chain that "
                "contradicts it (restart the sequencer on its old chain, or start the rollup again)"
            )

    def _new_channel(self) -> sqlite3.Row | None:
        number, posted = self.store.cursor
        head = self.l2.head()
        if head <= number:
            return None
        blocks: list[L2Block] = []
        size = 0
        full = False
        while number + len(blocks) < head and not full:
            first = number + len(blocks) + 1
            for block in self.l2.blocks(first, min(head, first + BLOCKS_PER_REQUEST - 1)):
                grows = len(channel_rlp([block.batch]))
                if blocks and size + grows > self.max_channel_bytes:
                    full = True
                    break
                blocks.append(block)
                size += grows
        parent = posted
        for block in blocks:
            if block.batch.parent_hash != parent:
                raise BatcherError(f"L2 block #{block.number} does not extend 0x{parent.hex()}: the chain changed")
            parent = block.hash
        batches = [b.batch for b in blocks]
        datas = encode_batches(batches, compress=self.compress, max_tx_bytes=self.max_frame_bytes)
        channel_id = datas[0][1:17]
        txs = sum(len(b.transactions) for b in batches)
        with self.store.transaction() as db:
            db.execute(
                "INSERT INTO channels (id, first_block, last_block, last_hash, transactions, rlp_bytes, state) "
                "VALUES (?, ?, ?, ?, ?, ?, 'open')",
                (channel_id, blocks[0].number, blocks[-1].number, blocks[-1].hash, txs, size),
            )
            db.executemany(
                "INSERT INTO frames (channel, idx, data) VALUES (?, ?, ?)",
                [(channel_id, i, data) for i, data in enumerate(datas)],
            )
        deposits = sum(b.deposits for b in blocks)
        self.say(
            f"batcher: channel 0x{channel_id.hex()} blocks {blocks[0].number}-{blocks[-1].number} ({txs} transactions"
            f"{f', {deposits} deposits left out' if deposits else ''}): {size:,} RLP bytes -> {len(datas)} frames, "
            f"{sum(map(len, datas)):,} bytes{'' if self.compress else ' (uncompressed)'}"
        )
        return self.store.open_channel()

    def _post(self, channel: sqlite3.Row) -> None:
        cid = channel["id"]
        now = self.l2.block_hash(channel["last_block"])
        if now != channel["last_hash"]:
            raise BatcherError(
                f"L2 block #{channel['last_block']} changed (0x{channel['last_hash'].hex()} posted in part, now "
                f"{'missing' if now is None else '0x' + now.hex()}): the sequencer rewound its chain; stopping"
            )
        frames = self.store.frames(cid)
        for idx, data, l1_tx, _ in frames:
            if l1_tx is not None:
                continue
            opened = self.store.db.execute("SELECT opened_l1 FROM channels WHERE id = ?", (cid,)).fetchone()[0]
            if opened is not None and not self.store.txs(cid, idx) and self._late(opened, self.l1.eth.block_number):
                return self._abandon(cid, f"L1 is past block {opened} + channel timeout {self.channel_timeout}")
            if earlier := self.store.txs(cid, idx):
                self.say(
                    f"batcher: frame {idx + 1}/{len(frames)} of 0x{cid.hex()} was signed before (L1 tx "
                    f"0x{earlier[-1][0].hex()}, nonce {earlier[-1][1]}): looking for it, sending it again if missing"
                )
            receipt = self._post_frame(cid, idx, data)
            with self.store.transaction() as db:
                db.execute(
                    "UPDATE frames SET l1_tx = ?, l1_block = ?, gas_used = ? WHERE channel = ? AND idx = ?",
                    (bytes(receipt.transactionHash), receipt.blockNumber, receipt.gasUsed, cid, idx),
                )
                db.execute(
                    "UPDATE channels SET opened_l1 = ? WHERE id = ? AND opened_l1 IS NULL", (receipt.blockNumber, cid)
                )
            self.say(
                f"batcher: frame {idx + 1}/{len(frames)} of 0x{cid.hex()} in L1 block {receipt.blockNumber} "
                f"tx 0x{bytes(receipt.transactionHash).hex()} ({len(data):,} bytes, {receipt.gasUsed:,} gas)"
            )
        landed = [row[3] for row in self.store.frames(cid)]
        if self._late(min(landed), max(landed)):
            return self._abandon(cid, f"its frames landed in L1 blocks {min(landed)}..{max(landed)}")
        with self.store.transaction():
            self.store.db.execute("UPDATE channels SET state = 'posted' WHERE id = ?", (cid,))
            self.store.put("cursor_number", str(channel["last_block"]))
            self.store.put("cursor_hash", channel["last_hash"].hex())
        self.say(
            f"batcher: posted L2 blocks {channel['first_block']}-{channel['last_block']} "
            f"(cursor #{channel['last_block']} 0x{channel['last_hash'].hex()})"
        )

    def _late(self, opened: int, at: int) -> bool:
        # OP's channel bank drops a channel once L1 is past its opening block + CHANNEL_TIMEOUT.
        return at > opened + self.channel_timeout

    def _abandon(self, cid: bytes, why: str) -> None:
        with self.store.transaction() as db:
            db.execute("UPDATE channels SET state = 'abandoned' WHERE id = ?", (cid,))
        self.say(f"batcher: channel 0x{cid.hex()} timed out ({why}); its blocks go into a new channel")

    def _post_frame(self, cid: bytes, idx: int, frames: bytes) -> Any:
        """The receipt of the L1 transaction carrying this frame, sending it (or its earlier signed copies)."""
        data = self.inbox.calldata(frames)
        last_sent = 0.0
        nap = 0.01  # short at first: a local L1 mines at once; then up to --poll-seconds
        while True:
            sent = self.store.txs(cid, idx)
            if sent:
                nonce = sent[-1][1]
                # The nonce first, then receipts: a nonce used with none of ours mined means another transaction
                # took it, and ours can never be mined any more.
                used = self.sender.nonce("latest") > nonce
                for tx_hash, *_ in sent:
                    receipt = self.sender.receipt(tx_hash)
                    if receipt is not None:
                        return self._confirmed(cid, idx, receipt)
                if used:
                    self.say(f"batcher: nonce {nonce} was used by another transaction; frame {idx} is sent again")
                    with self.store.transaction() as db:
                        db.execute("DELETE FROM txs WHERE channel = ? AND idx = ?", (cid, idx))
                    continue
                _, _, raw, max_fee, tip, sent_at = sent[-1]
                if time.time() - sent_at > self.resubmit_seconds:
                    max_fee, tip = self._bumped(max_fee, tip)
                    self._sign_and_record(cid, idx, data, nonce, max_fee, tip)
                    last_sent = 0.0
                    continue
                if time.monotonic() - last_sent > max(self.poll_seconds * 10, 5.0):
                    self.sender.broadcast(raw)  # again after a restart, or in case the L1 node lost it
                    last_sent = time.monotonic()
                time.sleep(nap)
                nap = min(nap * 2, self.poll_seconds)
            else:
                max_fee, tip = self.sender.fees()
                self._sign_and_record(cid, idx, data, self.sender.nonce("pending"), max_fee, tip)
                last_sent = 0.0

    def _bumped(self, max_fee: int, tip: int) -> tuple[int, int]:
        # A replacement needs at least 10% more fee cap and tip (go-ethereum's pool); take the current fees if higher.
        now_fee, now_tip = self.sender.fees()
        return max(now_fee, math.ceil(max_fee * 1.25)), max(now_tip, math.ceil(tip * 1.25))

    def _sign_and_record(self, cid: bytes, idx: int, data: bytes, nonce: int, max_fee: int, tip: int) -> None:
        raw, tx_hash = self.sender.sign(self.inbox.address, data, nonce, max_fee, tip)
        with self.store.transaction() as db:  # written before it is sent: a restart sends these very bytes
            db.execute(
                "INSERT INTO txs VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (tx_hash, cid, idx, nonce, raw, max_fee, tip, time.time()),
            )

    def _confirmed(self, cid: bytes, idx: int, receipt: Any) -> Any:
        if receipt.status != 1:
            with self.store.transaction() as db:  # the next start sends the frame in a new transaction
                db.execute("DELETE FROM txs WHERE channel = ? AND idx = ?", (cid, idx))
            raise BatcherError(
                f"the inbox {self.inbox.address} refused frame {idx} of 0x{cid.hex()} (L1 tx "
                f"0x{bytes(receipt.transactionHash).hex()} reverted): is {self.sender.address} allowed to post "
                "(BATCHER_ROLE)?"
            )
        while self.confirmations and self.l1.eth.block_number < receipt.blockNumber + self.confirmations:
            time.sleep(self.poll_seconds)
        if self.confirmations:
            again = self.sender.receipt(receipt.transactionHash)
            if again is None or again.blockHash != receipt.blockHash:  # reorganised away: wait for it again
                return self._post_frame(cid, idx, self.store.frames(cid)[idx][1])
        return receipt

    def run(self, *, once: bool = False) -> None:
        """Post forever (or, with `once`, until the L2 head seen at start is posted), retrying with backoff."""
        backoff = self.poll_seconds
        target = self.l2.head() if once else None
        while True:
            try:
                busy = self.step()
                backoff = self.poll_seconds
            except (BatcherError, BatchError, sqlite3.Error):
                raise
            except Exception as err:  # an L1 or L2 node away or refusing for now: say so, wait, try again
                self.say(f"batcher: {type(err).__name__}: {err}; retrying in {backoff:.1f} s")
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            if target is not None and self.store.cursor[0] >= target:
                return
            if not busy:
                time.sleep(self.poll_seconds)


# Measuring


def measure_l1_gas(datas: Sequence[bytes], l1: Web3, inbox: Inbox, key: Any, *, timeout: float = 60.0) -> list[int]:
    """Post each batcher transaction's frames (encode_batches' output) to the inbox and return each one's gas used
    (for benchmarks on a local L1; nothing recorded)."""
    sender = L1Sender(l1, key)
    used = []
    for frames in datas:
        max_fee, tip = sender.fees()
        raw, tx_hash = sender.sign(inbox.address, inbox.calldata(frames), sender.nonce(), max_fee, tip)
        sender.broadcast(raw)
        receipt = l1.eth.wait_for_transaction_receipt(tx_hash, timeout=timeout)
        if receipt.status != 1:
            raise BatcherError(f"the inbox refused the batch (L1 tx 0x{tx_hash.hex()})")
        used.append(receipt.gasUsed)
    return used


# Command line


def _frame_bytes(ctx, param, value: int) -> int:
    if not 1 + FRAME_OVERHEAD + 1 <= value <= 1 + FRAME_OVERHEAD + MAX_FRAME_DATA:
        raise click.BadParameter(f"between {2 + FRAME_OVERHEAD} and {1 + FRAME_OVERHEAD + MAX_FRAME_DATA:,}")
    return value


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--l1-rpc", required=True, help="The L1 node's JSON-RPC URL.")
@click.option("--l2-rpc", required=True, help="The sequencer's JSON-RPC URL (it serves debug_getRawBlock).")
@click.option("--inbox", required=True, help="The batch inbox on L1: the BatchInbox contract, or a plain address.")
@click.option(
    "--inbox-kind",
    type=click.Choice(["auto", "contract", "address"]),
    default="auto",
    show_default=True,
    help="contract: call submit(bytes); address: the frames as plain calldata; auto: contract if it has code.",
)
@click.option(
    "--datadir",
    type=click.Path(file_okay=False, path_type=Path),
    required=True,
    help="Where the batcher keeps its progress (batcher.sqlite).",
)
@click.option("--account", default=None, help="Ape account alias (or TEST::N) that signs on L1.")
@click.option("--key-file", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None,
              help=f"File holding a hex private key (else ${KEY_VARIABLE}).")  # fmt: skip
@click.option(
    "--max-frame-bytes",
    type=int,
    callback=_frame_bytes,
    default=DEFAULT_MAX_TX_BYTES,
    show_default=True,
    help="Most frame bytes per L1 transaction (version byte and frame header included).",
)
@click.option(
    "--max-channel-bytes",
    type=click.IntRange(1, MAX_RLP_BYTES_PER_CHANNEL),
    default=DEFAULT_MAX_CHANNEL_BYTES,
    show_default=True,
    help="Most batch RLP bytes (before compression) per channel.",
)
@click.option("--no-compress", is_flag=True, help="Uncompressed channels (for comparison; OP always compresses).")
@click.option("--poll-seconds", type=click.FloatRange(min=0.05), default=1.0, show_default=True)
@click.option("--confirmations", type=click.IntRange(0), default=0, show_default=True,
              help="L1 blocks on top of a batch transaction before it counts as posted.")  # fmt: skip
@click.option("--channel-timeout", type=click.IntRange(1), default=50, show_default=True,
              help="L1 blocks within which all of a channel's frames must land (OP's CHANNEL_TIMEOUT).")  # fmt: skip
@click.option("--resubmit-seconds", type=click.FloatRange(min=1), default=60.0, show_default=True,
              help="Raise the fee of an L1 transaction not mined after this long.")  # fmt: skip
@click.option("--once", is_flag=True, help="Post up to the L2 head seen at start, then exit.")
@click.option("-v", "--verbose", is_flag=True)
def main(
    l1_rpc: str,
    l2_rpc: str,
    inbox: str,
    inbox_kind: str,
    datadir: Path,
    account: str | None,
    key_file: Path | None,
    max_frame_bytes: int,
    max_channel_bytes: int,
    no_compress: bool,
    poll_seconds: float,
    confirmations: int,
    channel_timeout: int,
    resubmit_seconds: float,
    once: bool,
    verbose: bool,
) -> None:
    """Post the L2 chain's blocks to the L1 batch inbox (OP Bedrock's frames and channels)."""
    setup_logging(verbose)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # a clean stop; a SIGKILL is as safe
    key = load_key(account, key_file, variable=KEY_VARIABLE, what="batcher")
    l1 = Web3(Web3.HTTPProvider(l1_rpc, request_kwargs={"timeout": 30}))
    l2 = L2Source(l2_rpc)
    if not l1.is_connected():
        raise click.ClickException(f"no L1 node answers at {l1_rpc}")
    try:
        l2.head()
    except Exception as err:
        raise click.ClickException(f"no L2 node answers at {l2_rpc}: {err}") from None

    def say(line: str) -> None:
        click.echo(line)
        sys.stdout.flush()

    try:
        target = open_inbox(l1, inbox, inbox_kind)
        batcher = Batcher(
            l1, l2, target, key, datadir,
            max_frame_bytes=max_frame_bytes, max_channel_bytes=max_channel_bytes, compress=not no_compress,
            confirmations=confirmations, channel_timeout=channel_timeout, resubmit_seconds=resubmit_seconds,
            poll_seconds=poll_seconds, say=say,
        )  # fmt: skip
    except BatcherError as err:
        raise click.ClickException(str(err)) from None
    number, block_hash = batcher.store.cursor
    say(
        f"batcher: {key.address} posting to {target.kind} {target.address} on L1 chain {batcher.sender.chain_id}; "
        f"cursor #{number} 0x{block_hash.hex()}"
    )
    try:
        batcher.run(once=once)
    except (BatcherError, BatchError) as err:
        raise click.ClickException(str(err)) from None
    except KeyboardInterrupt:
        pass
    finally:
        batcher.close()


if __name__ == "__main__":
    main()
