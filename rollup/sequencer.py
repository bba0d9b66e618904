"""The sequencer: takes signed transactions into the pool and orders them into blocks on the chain.

With `block_time` 0 every accepted transaction is sealed into its own block before `submit` returns (what tests
and scripts want: the receipt exists as soon as the hash does). With `block_time` > 0 a block (empty or not) is
sealed every `block_time` seconds from the pool, best tip first, like an OP Stack sequencer. With `producing`
False the node only imports and serves (a replica or verifier): transactions wait in its pool.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from eth.abc import BlockAPI, SignedTransactionAPI
from eth.vm.forks.london import LondonVM

from rollup.chain import DEFAULT_FEE_RECIPIENT, BuiltBlock, L2Chain
from rollup.deposits import L1Origin
from rollup.derive import (
    OP_MAINNET_RULES,
    L1Deposits,
    SequencingRules,
    build_forced_block,
    chain_origin,
    next_origin,
)
from rollup.mempool import Mempool, Pending, PoolError, decode_transaction

log = logging.getLogger("rollup.sequencer")
# What an L1 node that is down or restarting raises through web3.py.
L1_UNREACHABLE = (ConnectionError, OSError, TimeoutError)


class Sequencer:
    def __init__(
        self,
        chain: L2Chain,
        *,
        block_time: float = 0,
        producing: bool = True,
        fee_recipient: bytes = DEFAULT_FEE_RECIPIENT,
        clock: Callable[[], float] = time.time,
        per_sender: int = 64,
        dev: bool = False,
        l1: L1Deposits | None = None,
        rules: SequencingRules = OP_MAINNET_RULES,
    ) -> None:
        self.chain = chain
        self.rules = rules  # the sequencing window: an epoch left behind that long is forced in, as derivation does
        self.block_time = block_time
        self.producing = producing
        self.dev = dev  # answers the dev methods (time travel, evm_revert)
        self.l1 = l1  # following an L1: every block names its L1 origin and carries that origin's deposits
        self.fee_recipient = fee_recipient
        self.clock = clock
        self.pool = Mempool(chain_id=chain.chain_id, per_sender=per_sender)
        self.read_only: str | None = None  # why transactions are refused here (a verifier's replica), if they are
        self.next_timestamp: int | None = None  # evm_setNextBlockTimestamp
        self.time_offset = 0  # evm_increaseTime
        self._restore_pool()
        self.pool.on_change = self._persist_pool_change

    # The pool survives restarts: a transaction the node said it accepted is not lost with the process.

    def _restore_pool(self) -> None:
        rows = self.chain.store.conn.execute("SELECT raw, seq FROM pool ORDER BY seq").fetchall()
        builder = self._builder()
        for raw, seq in rows:
            try:
                tx = decode_transaction(raw, builder)
                self.pool.restore(Pending(tx, raw, tx.sender, seq))
            except PoolError:
                continue
        self.pool.prune(self._nonce_at_head())

    def _persist_pool_change(self, tx_hash: bytes, raw: bytes | None, seq: int) -> None:
        conn = self.chain.store.conn
        if raw is None:
            conn.execute("DELETE FROM pool WHERE hash = ?", (tx_hash,))
        else:
            conn.execute("INSERT OR REPLACE INTO pool (hash, raw, seq) VALUES (?, ?, ?)", (tx_hash, raw, seq))

    def _builder(self):
        head = self.chain.head
        return self.chain.chain.get_vm_class_for_block_number(head.block_number + 1).get_transaction_builder()

    def _nonce_at_head(self) -> Callable[[bytes], int]:
        return self.chain.state(self.chain.head).get_nonce

    def base_fee_next(self) -> int:
        """The base fee of the next block (EIP-1559), 0 before London."""
        head = self.chain.head
        vm_class = self.chain.chain.get_vm_class_for_block_number(head.block_number + 1)
        if not issubclass(vm_class, LondonVM):
            return 0
        return vm_class.create_header_from_parent(head, timestamp=head.timestamp + 1).base_fee_per_gas

    def submit(self, raw: bytes) -> bytes:
        """Admit a raw signed transaction; PoolError if refused (nothing changes). Returns its hash."""
        if self.read_only is not None:
            raise PoolError(self.read_only)
        tx = decode_transaction(raw, self._builder())
        head = self.chain.head
        entry = self.pool.admit(tx, raw, self.chain.state(head), gas_limit=head.gas_limit)
        if self.producing and self.block_time == 0:
            try:
                self.seal()
            except L1_UNREACHABLE as err:  # accepted all the same: sealed once the L1 answers again
                log.warning("L1 unreachable, 0x%s waits in the pool: %s", entry.hash.hex(), err)
        return entry.hash

    def timestamp_for_next(self) -> int:
        head = self.chain.head
        if self.next_timestamp is not None:
            return max(self.next_timestamp, head.timestamp + 1)
        # Strictly increasing even when blocks come faster than one a second (block time 0 under load).
        return max(int(self.clock()) + self.time_offset, head.timestamp + 1)

    def seal(
        self,
        timestamp: int | None = None,
        *,
        l1_origin: L1Origin | None = None,
        deposits: Sequence[SignedTransactionAPI] = (),
    ) -> BuiltBlock:
        """Seal the next block from the pool (possibly empty). With an L1 origin the block opens with its L1-info
        deposit and then `deposits` (the user deposits of that L1 block), before the pool's transactions."""
        if l1_origin is None and self.l1 is not None:
            self._seal_overdue_epochs()
        base_fee = self.base_fee_next()
        ordered = [entry.tx for entry in self.pool.ordered(self._nonce_at_head(), base_fee)]
        if timestamp is None:
            timestamp = self.timestamp_for_next()
        if l1_origin is None and self.l1 is not None:
            timestamp = max(timestamp, self.chain.head.timestamp + 1)  # after any overdue epoch's block
            l1_origin, deposits = next_origin(self.chain, self.l1, timestamp)
        built = self.chain.build_block(
            ordered, timestamp=timestamp, fee_recipient=self.fee_recipient, l1_origin=l1_origin, deposits=deposits
        )
        self.next_timestamp = None
        for tx in built.block.transactions:
            self.pool.remove(tx.hash)
        for tx, reason in built.rejected:
            # Valid when admitted, invalid now (another transaction spent the balance first): drop it, as
            # go-ethereum's pool does once the state makes a transaction unexecutable.
            log.info("dropped 0x%s from the pool: %s", tx.hash.hex(), reason)
            self.pool.remove(tx.hash)
        self.pool.prune(self._nonce_at_head())
        if built.block.transactions or self.block_time == 0:
            log.info(
                "block %d: %d transactions, %d gas, 0x%s",
                built.block.number,
                len(built.block.transactions),
                built.block.header.gas_used,
                built.block.hash.hex(),
            )
        return built

    def _seal_overdue_epochs(self) -> None:
        # Back after a long stop (the L1 went on for a whole sequencing window): derivation builds each overdue epoch
        # as a block of its own, without sequenced transactions (rollup/derivation.py); building the same blocks
        # here keeps this chain the one every verifier derives, instead of one they all drop.
        while (forced := build_forced_block(self.chain, self.l1, self.rules, self.fee_recipient)) is not None:
            built, origin = forced
            log.warning("block %d: L1 epoch #%d was overdue, sealed as derivation forces it", built.block.number,
                        origin.number)  # fmt: skip

    def origin_due(self) -> bool:
        """Following an L1: whether the next block would move to a new L1 origin (the next L1 block exists and L2
        time has reached it), so that its deposits should be sealed now rather than with the next transaction."""
        if self.l1 is None:
            return False
        current = chain_origin(self.chain)
        if current is None:
            return True
        if current.number >= self.l1.head_number():
            return False
        return self.l1.origin(current.number + 1).timestamp <= self.timestamp_for_next()

    def rewind(self, number: int) -> None:
        """Make block `number` the head again (a dev node's evm_revert); transactions of the dropped blocks are
        gone, as with anvil's revert, and the pool keeps only what is still valid."""
        self.chain.rewind(number)
        self.next_timestamp = None
        self.pool.prune(self._nonce_at_head())

    def import_block(self, raw: bytes) -> BlockAPI:
        block = self.chain.import_raw_block(raw)
        self.pool.prune(self._nonce_at_head())
        return block
