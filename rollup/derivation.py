"""Derivation: the L2 chain rebuilt from L1 alone, as a verifier (or any replica that trusts no sequencer) builds
it. L1 holds two inputs: the portal's deposits (rollup/derive.py reads them) and the batcher's batches in the
inbox (rollup/batch.py's frames and channels, found by rollup/batcher.py's `posted_frames`). Reading L1 block by
block, in order:

1. the batcher transactions of the block go through a ChannelBank (OP's channel bank: a channel not complete
   `channel_timeout` L1 blocks after it opened is dropped); every channel they complete gives its batches;
2. each batch that extends the derived head is checked against OP's batch rules as they apply to us (below) and,
   if it passes, built into the next L2 block: the L1-info deposit of its epoch, the epoch's deposits when the
   batch starts that epoch, then the batch's transactions, at the batch's timestamp, with the configured fee
   recipient. A block whose transactions do not all execute is not the block the batch describes: the batch is
   dropped and nothing is built;
3. when the L1 block closes the sequencing window of the epoch after the head's (`overdue_epoch`), derivation
   builds that epoch's block itself (the L1-info deposit and its deposits, no sequenced transaction, at
   `forced_timestamp`): a deposit reaches L2 at most `window` L1 blocks after its own, whatever the sequencer does.

A batch is dropped (logged, never applied) when its parent is an older block (posted twice, or replaced), when
its epoch is neither the head's nor the next, names an L1 block it was posted before, or does not match L1's hash
for that number, when it was posted after its epoch's window closed, when its time is not after its parent's,
before its origin's or more than `max_drift` past it, or when a transaction does not decode or execute. A batch
whose parent has not been derived yet waits (at most MAX_FUTURE_BATCHES of them).

What derivation at L1 block n reads depends on L1 blocks up to n only (`L1At`), so a verifier catching up from far
behind derives the same chain as one that followed along. Crash safety: each L1 block's blocks and the cursor
saying how far derivation got are written in one store transaction; after a restart the open channels are
rebuilt from the frames of the last `channel_timeout` L1 blocks. An L1 reorganisation under the cursor restarts
derivation from the L2 genesis (simple and always right; with `confirmations` it should not happen).

    deriver = Deriver(chain, L1Deposits(w3, portal, start=n), open_inbox(w3, inbox), batcher=address)
    while True:
        deriver.step()          # reads the L1 blocks not yet read; chain.head is the safe head
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass

from eth.abc import BlockHeaderAPI

from rollup.batch import ChannelBank, SingularBatch
from rollup.batcher import Inbox, posted_frames
from rollup.chain import DEFAULT_FEE_RECIPIENT, BlockRefused, L2Chain
from rollup.deposits import L1Origin
from rollup.derive import (
    OP_MAINNET_RULES,
    DerivationError,
    L1Deposits,
    SequencingRules,
    build_forced_block,
    chain_origin,
)
from rollup.mempool import PoolError, decode_transaction

log = logging.getLogger("rollup.derivation")

CURSOR_KEY = "derivation_cursor"
MAX_FUTURE_BATCHES = 1024  # batches whose parent has not been derived yet, kept for later (OP's batch queue)
DEFAULT_CHANNEL_TIMEOUT = 50  # L1 blocks (Granite's); the batcher's --channel-timeout must not be longer


class L1At(L1Deposits):
    """The L1 as it stood at block `at`: derivation at L1 block n must not depend on blocks after n."""

    def __init__(self, l1: L1Deposits, at: int) -> None:
        super().__init__(l1.w3, l1.portal, start=l1.start, batcher_hash=l1.batcher_hash)
        self.at = at

    def head_number(self) -> int:
        return self.at


@dataclass(frozen=True)
class Cursor:
    """How far derivation got: L1 block `l1_number` (hash `l1_hash`) is read, and the L2 derived from L1 up to it
    ends at block `l2_number` (hash `l2_hash`)."""

    l1_number: int
    l1_hash: bytes
    l2_number: int
    l2_hash: bytes

    def encode(self) -> str:
        return f"{self.l1_number}:{self.l1_hash.hex()}:{self.l2_number}:{self.l2_hash.hex()}"

    @classmethod
    def decode(cls, text: str) -> Cursor:
        l1_number, l1_hash, l2_number, l2_hash = text.split(":")
        return cls(int(l1_number), bytes.fromhex(l1_hash), int(l2_number), bytes.fromhex(l2_hash))


class Dropped(Exception):
    """A batch derivation does not build (the reason is the message)."""


class Deriver:
    def __init__(
        self,
        chain: L2Chain,
        l1: L1Deposits,
        inbox: Inbox,
        *,
        batcher: str | None = None,
        rules: SequencingRules = OP_MAINNET_RULES,
        channel_timeout: int = DEFAULT_CHANNEL_TIMEOUT,
        fee_recipient: bytes = DEFAULT_FEE_RECIPIENT,
        confirmations: int = 0,
    ) -> None:
        self.chain = chain
        self.l1 = l1
        self.inbox = inbox
        self.batcher = batcher
        self.rules = rules
        self.channel_timeout = channel_timeout
        self.fee_recipient = fee_recipient
        self.confirmations = confirmations
        self.bank = ChannelBank(channel_timeout, strict=False)
        self.waiting: list[SingularBatch] = []  # batches read, not yet built or dropped, in the order read
        self.dropped: list[str] = []  # why batches were dropped, for whoever watches (tests, logs)
        self.cursor = self._load()

    @property
    def safe_head(self) -> BlockHeaderAPI:
        return self.chain.head

    # Restart

    def _load(self) -> Cursor | None:
        text = self.chain.store.get_meta(CURSOR_KEY)
        if text is None:
            if self.chain.head.block_number != 0:
                raise DerivationError("this datadir holds L2 blocks that derivation did not build: use an empty one")
            return None
        cursor = Cursor.decode(text)
        held = self.chain.header(cursor.l2_number)
        if held is None or held.hash != cursor.l2_hash or self.chain.head.block_number != cursor.l2_number:
            raise DerivationError(f"the datadir's chain does not end where derivation stopped ({cursor})")
        # The channels open at the cursor: the frames of the L1 blocks a channel may still be open from.
        first = max(self.l1.start, cursor.l1_number - self.channel_timeout)
        for number, data in posted_frames(self.l1.w3, self.inbox, self.batcher, first, cursor.l1_number):
            for batch in self.bank.add_calldata(data, number):
                if batch.timestamp > self.chain.head.timestamp:  # not yet built: it was waiting for its parent
                    self.waiting.append(batch)
        return cursor

    def _reset(self, why: str) -> None:
        log.warning("derivation starts again from the L2 genesis: %s", why)
        with self.chain.store.transaction():
            self.chain.rewind(0)
            self.chain.store.conn.execute("DELETE FROM meta WHERE k = ?", (CURSOR_KEY,))
        self.cursor = None
        self.bank = ChannelBank(self.channel_timeout, strict=False)
        self.waiting = []

    # Reading L1

    def step(self, limit: int = 64) -> int:
        """Derive from the next L1 blocks not yet read (at most `limit`); returns how many were read."""
        w3 = self.l1.w3
        if self.cursor is not None:
            now = bytes(w3.eth.get_block(self.cursor.l1_number)["hash"])
            if now != self.cursor.l1_hash:
                self._reset(f"L1 block #{self.cursor.l1_number} changed (an L1 reorganisation)")
        first = self.l1.start if self.cursor is None else self.cursor.l1_number + 1
        last = min(self.l1.head_number() - self.confirmations, first + limit - 1)
        if last < first:
            return 0
        frames = defaultdict(list)
        for number, data in posted_frames(w3, self.inbox, self.batcher, first, last):
            frames[number].append(data)
        for number in range(first, last + 1):
            l1_hash = bytes(w3.eth.get_block(number)["hash"])
            with self.chain.store.transaction():
                self._read(number, frames.get(number, []))
                head = self.chain.head
                self.cursor = Cursor(number, l1_hash, head.block_number, head.hash)
                self.chain.store.set_meta(CURSOR_KEY, self.cursor.encode())
        return last - first + 1

    def _read(self, number: int, calldatas: list[bytes]) -> None:
        at = L1At(self.l1, number)
        seen = len(self.bank.dropped)
        for data in calldatas:
            self.waiting += self.bank.add_calldata(data, number)
        for why in self.bank.dropped[seen:]:
            self._drop(f"L1 block #{number}: {why}")
        self._build_waiting(at)
        while (forced := build_forced_block(self.chain, at, self.rules, self.fee_recipient)) is not None:
            built, origin = forced
            log.warning(
                "L2 block %d: epoch #%d forced in at L1 block #%d (its sequencing window closed), %d deposit(s)",
                built.block.number,
                origin.number,
                number,
                len(built.block.transactions) - 1,
            )
            self._build_waiting(at)
        if len(self.waiting) > MAX_FUTURE_BATCHES:
            for batch in self.waiting[:-MAX_FUTURE_BATCHES]:
                self._drop(f"batch at time {batch.timestamp}: its parent never came")
            del self.waiting[:-MAX_FUTURE_BATCHES]

    def _build_waiting(self, at: L1At) -> None:
        progress = True
        while progress:
            progress = False
            for batch in list(self.waiting):
                head = self.chain.head
                if batch.parent_hash != head.hash:
                    if batch.timestamp <= head.timestamp:
                        self.waiting.remove(batch)
                        self._drop(f"batch at time {batch.timestamp}: its parent is not block {head.block_number}")
                    continue
                self.waiting.remove(batch)
                try:
                    self._build(batch, at)
                    progress = True
                except Dropped as err:
                    self._drop(f"batch on block {head.block_number} (at time {batch.timestamp}): {err}")
                break

    def _build(self, batch: SingularBatch, at: L1At) -> None:
        head = self.chain.head
        origin = self._check(batch, head, at)
        current = chain_origin(self.chain)
        new_epoch = current is None or current.hash != origin.hash
        builder = self.chain.chain.get_vm_class_for_block_number(head.block_number + 1).get_transaction_builder()
        try:
            txs = [decode_transaction(raw, builder) for raw in batch.transactions]
        except PoolError as err:
            raise Dropped(f"a transaction does not decode: {err}") from None
        try:
            built = self.chain.build_block(
                txs,
                timestamp=batch.timestamp,
                fee_recipient=self.fee_recipient,
                l1_origin=origin,
                deposits=at.deposits(origin) if new_epoch else (),
            )
        except BlockRefused as err:
            raise Dropped(str(err)) from None
        included = {tx.hash for tx in built.block.transactions}
        left_out = [tx for tx in txs if tx.hash not in included]
        if left_out:
            self.chain.rewind(head.block_number)
            reasons = dict((tx.hash, why) for tx, why in built.rejected)
            tx = left_out[0]
            raise Dropped(f"transaction 0x{tx.hash.hex()} does not execute: {reasons.get(tx.hash, 'block full')}")
        log.info("L2 block %d derived: %d transactions, 0x%s", built.block.number, len(txs), built.block.hash.hex())

    def _check(self, batch: SingularBatch, head: BlockHeaderAPI, at: L1At) -> L1Origin:
        current = chain_origin(self.chain)
        epochs = (self.l1.start,) if current is None else (current.number, current.number + 1)
        epoch = batch.epoch_number
        if epoch not in epochs:
            raise Dropped(f"epoch #{epoch} is neither the head's nor the next ({epochs})")
        if epoch > at.at:
            raise Dropped(f"epoch #{epoch} is after L1 block #{at.at}, which carried the batch")
        if at.at >= epoch + self.rules.window:
            raise Dropped(f"posted in L1 block #{at.at}, after epoch #{epoch}'s sequencing window closed")
        origin = at.origin(epoch)
        if origin.hash != batch.epoch_hash:
            raise Dropped(f"epoch #{epoch} is 0x{origin.hash.hex()} on L1, the batch says 0x{batch.epoch_hash.hex()}")
        if batch.timestamp <= head.timestamp:
            raise Dropped(f"time {batch.timestamp} is not after its parent's ({head.timestamp})")
        if batch.timestamp < origin.timestamp:
            raise Dropped(f"time {batch.timestamp} is before its L1 origin's ({origin.timestamp})")
        if batch.timestamp > origin.timestamp + self.rules.max_drift:
            raise Dropped(f"time {batch.timestamp} is more than {self.rules.max_drift} s past its L1 origin's")
        return origin

    def _drop(self, why: str) -> None:
        log.warning("dropped: %s", why)
        self.dropped.append(why)
