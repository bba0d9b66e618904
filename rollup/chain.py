"""The L2 chain on its database: blocks built by our sequencer or imported from raw bytes, each written in one
database transaction, with the log index kept beside them.

    chain = L2Chain(Genesis.load("rollup/genesis.json"), Store.open("datadir"))
    built = chain.build_block(transactions, timestamp=...)     # the sequencer: invalid ones are left out
    built = chain.build_block(txs, timestamp=..., l1_origin=origin, deposits=[...])   # with deposits from L1
    chain.import_raw_block(raw)                                # a verifier: every rule checked, state root included

A chain whose genesis config has an `optimism` object takes deposit transactions (rollup/deposits.py): a block
built with an L1 origin opens with the L1-info deposit, then the user deposits in order (always included, a failing
one with status 0), then the sequencer's transactions.

The chain only grows at its head: a block whose parent is not the head is refused (this node has one sequencer and
never reorganises).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cached_property

import rlp
from eth.abc import BlockAPI, BlockHeaderAPI, ReceiptAPI, SignedTransactionAPI, StateAPI
from eth.db.schema import SchemaV1
from eth.exceptions import HeaderNotFound, TransactionNotFound
from eth.rlp.sedes import chain_gaps
from eth.vm import forks
from eth_hash.auto import keccak
from eth_utils import ValidationError

from rollup.deposits import (
    L1_BLOCK_ADDRESS,
    L1_BLOCK_HASH_SLOT,
    L1_BLOCK_SEQUENCE_SLOT,
    L1Origin,
    is_deposit,
    l1_info_deposit,
)
from rollup.genesis import Genesis, split_blocks
from rollup.store import Store, StoreError

ZERO_HASH = b"\x00" * 32
# OP Stack's SequencerFeeVault: where an OP chain's priority fees go, so explorers and tools find them there.
DEFAULT_FEE_RECIPIENT = bytes.fromhex("4200000000000000000000000000000000000011")


class BlockRefused(ValueError):
    """A block this chain will not take: bad RLP, not on top of the head, or breaking a rule (the reason says)."""


@dataclass(frozen=True)
class BuiltBlock:
    block: BlockAPI
    receipts: tuple[ReceiptAPI, ...]
    rejected: tuple[tuple[SignedTransactionAPI, str], ...]  # left out, with py-evm's reason


class L2Chain:
    def __init__(self, genesis: Genesis, store: Store) -> None:
        self.genesis = genesis
        self.store = store
        stored = store.get_meta("genesis_hash")
        if stored is None:
            forks = genesis.time_fork_blocks(())
            with store.transaction():
                chain = genesis.build(store.db, time_fork_blocks=forks)
                store.set_meta("genesis_hash", chain.get_canonical_head().hash.hex())
                store.set_meta("time_fork_blocks", json.dumps(forks))
        else:
            ours = genesis.build(time_fork_blocks=genesis.time_fork_blocks(())).get_canonical_head().hash.hex()
            if ours != stored:
                raise StoreError(f"the datadir holds another chain (genesis 0x{stored}, this genesis is 0x{ours})")
        self._time_fork_blocks: list[int] = json.loads(store.get_meta("time_fork_blocks") or "[]")
        self._make_chain()

    def _make_chain(self) -> None:
        self.chain = self.genesis.chain_class(self._time_fork_blocks)(self.store.db)
        self.__dict__.pop("genesis_header", None)

    def _place_time_forks(self, number: int, timestamp: int) -> None:
        # py-evm picks rules by block number; a timestamped fork starts at the first block that reaches its time.
        placed = False
        while len(self._time_fork_blocks) < len(self.genesis.time_forks):
            at, _ = self.genesis.time_forks[len(self._time_fork_blocks)]
            if timestamp < at:
                break
            self._time_fork_blocks.append(number)
            placed = True
        if placed:
            self.store.set_meta("time_fork_blocks", json.dumps(self._time_fork_blocks))
            self._make_chain()

    # Reading

    @property
    def chain_id(self) -> int:
        return self.genesis.chain_id

    @property
    def head(self) -> BlockHeaderAPI:
        return self.chain.get_canonical_head()

    @cached_property
    def genesis_header(self) -> BlockHeaderAPI:
        return self.chain.get_canonical_block_header_by_number(0)

    def header(self, number: int) -> BlockHeaderAPI | None:
        try:
            return self.chain.get_canonical_block_header_by_number(number)
        except HeaderNotFound:
            return None

    def header_by_hash(self, block_hash: bytes) -> BlockHeaderAPI | None:
        try:
            header = self.chain.get_block_header_by_hash(block_hash)
        except HeaderNotFound:
            return None
        return header if self.header(header.block_number) == header else None

    def block(self, header: BlockHeaderAPI) -> BlockAPI:
        block = self.chain.get_block_by_header(header)
        if any(is_deposit(tx) for tx in block.transactions):
            # The JSON-RPC shapes show a deposit's nonce, which only its receipt records.
            for tx, receipt in zip(block.transactions, self.receipts(header), strict=True):
                if is_deposit(tx):
                    tx.deposit_nonce = receipt.deposit_nonce
        return block

    def receipts(self, header: BlockHeaderAPI) -> tuple[ReceiptAPI, ...]:
        vm_class = self.chain.get_vm_class(header)
        return self.chain.chaindb.get_receipts(header, vm_class.get_block_class().get_receipt_builder())

    def transaction_location(self, tx_hash: bytes) -> tuple[int, int] | None:
        """(block number, index) of a transaction in the canonical chain."""
        try:
            return self.chain.chaindb.get_transaction_index(tx_hash)
        except TransactionNotFound:
            return None

    def state(self, header: BlockHeaderAPI) -> StateAPI:
        """The state after `header`'s block, with that block's execution context (what eth_call runs in)."""
        return self.chain.get_vm(header).state

    def raw_block(self, header: BlockHeaderAPI) -> bytes:
        return rlp.encode(self.block(header))

    # Growing

    def next_header(self, *, timestamp: int, fee_recipient: bytes = DEFAULT_FEE_RECIPIENT) -> BlockHeaderAPI:
        parent = self.head
        self._place_time_forks(parent.block_number + 1, timestamp)
        vm_class = self.chain.get_vm_class_for_block_number(parent.block_number + 1)
        fields = {"timestamp": timestamp, "coinbase": fee_recipient, "gas_limit": parent.gas_limit}
        if issubclass(vm_class, forks.ParisVM):
            # prevrandao: an L2 with one sequencer has no randomness to give; a value derived from the parent keeps
            # blocks reproducible by anyone re-executing them, and nobody can mistake it for randomness.
            fields["mix_hash"] = keccak(b"prevrandao" + parent.hash)
            fields["difficulty"] = 0
        if issubclass(vm_class, forks.CancunVM):
            fields["parent_beacon_block_root"] = ZERO_HASH
        return vm_class.create_header_from_parent(parent, **fields)

    @property
    def takes_deposits(self) -> bool:
        """Whether blocks may carry deposit transactions (the genesis config has an `optimism` object)."""
        return self.genesis.optimism is not None

    def l1_origin_sequence(self, origin: L1Origin) -> int:
        """The sequence number of the next block with L1 origin `origin`: 0 if the head's L1Block records another
        L1 block (a new epoch), else one more than the head's."""
        state = self.state(self.head)
        recorded = state.get_storage(L1_BLOCK_ADDRESS, L1_BLOCK_HASH_SLOT).to_bytes(32, "big")
        if recorded != origin.hash:
            return 0
        return state.get_storage(L1_BLOCK_ADDRESS, L1_BLOCK_SEQUENCE_SLOT) + 1

    def build_block(
        self,
        transactions: Iterable[SignedTransactionAPI],
        *,
        timestamp: int,
        fee_recipient: bytes = DEFAULT_FEE_RECIPIENT,
        l1_origin: L1Origin | None = None,
        deposits: Sequence[SignedTransactionAPI] = (),
    ) -> BuiltBlock:
        """A new head with the transactions (in the order given) that are valid on top of the ones before them;
        the others are returned as rejected. One database transaction: all of it is written, or nothing.

        With an L1 origin (a chain that takes deposits), the block opens with the L1-info deposit, then `deposits`
        (user deposits derived from that L1 block: only in the first block of its epoch), each included whatever
        its outcome; BlockRefused (nothing written) if they do not fit the block's gas."""
        try:
            with self.store.transaction():
                return self._build(transactions, timestamp, fee_recipient, l1_origin, tuple(deposits))
        except BaseException:
            self._reload()
            raise

    def _system_transactions(
        self, l1_origin: L1Origin | None, deposits: tuple[SignedTransactionAPI, ...]
    ) -> list[SignedTransactionAPI]:
        if l1_origin is None and not deposits:
            return []
        if not self.takes_deposits:
            raise BlockRefused("this chain takes no deposits: its genesis config has no optimism object")
        if l1_origin is None:
            raise BlockRefused("deposits need the L1 origin they were derived from")
        if not all(is_deposit(tx) for tx in deposits):
            raise BlockRefused("deposits must be deposit transactions (type 0x7e)")
        sequence = self.l1_origin_sequence(l1_origin)
        if deposits and sequence != 0:
            raise BlockRefused(
                f"user deposits go in the first block of an epoch: L1 block #{l1_origin.number} already has "
                f"{sequence} L2 block(s)"
            )
        return [l1_info_deposit(l1_origin, sequence), *deposits]

    def _build(
        self,
        transactions: Iterable[SignedTransactionAPI],
        timestamp: int,
        fee_recipient: bytes,
        l1_origin: L1Origin | None,
        deposits: tuple[SignedTransactionAPI, ...],
    ) -> BuiltBlock:
        system = self._system_transactions(l1_origin, deposits)
        template = self.next_header(timestamp=timestamp, fee_recipient=fee_recipient)
        vm = self.chain.get_vm(template)
        vm.block_preprocessing(vm.get_block())
        header = vm.get_header()
        included: list[SignedTransactionAPI] = []
        receipts: list[ReceiptAPI] = []
        rejected: list[tuple[SignedTransactionAPI, str]] = []
        for tx in system:
            try:
                receipt, _ = vm.apply_transaction(header, tx)
            except ValidationError as err:  # only the block's gas limit can refuse a deposit
                raise BlockRefused(f"deposit 0x{tx.hash.hex()} cannot be included: {err}") from None
            header = vm.add_receipt_to_header(header, receipt)
            included.append(tx)
            receipts.append(receipt)
        for tx in transactions:
            if header.gas_limit - header.gas_used < 21_000:
                break
            if is_deposit(tx):
                rejected.append((tx, "deposit transactions come from L1, not from the sequencer's pool"))
                continue
            try:
                receipt, _ = vm.apply_transaction(header, tx)
            except ValidationError as err:  # raised before the transaction touches the state
                rejected.append((tx, str(err)))
                continue
            header = vm.add_receipt_to_header(header, receipt)
            header = vm.increment_blob_gas_used(header, tx)
            included.append(tx)
            receipts.append(receipt)
        filled = vm.set_block_transactions_and_withdrawals(vm.get_block(), header, included, receipts, ())
        block = vm.mine_block(vm.block_postprocessing(filled)).block
        self.chain.persist_block(block)
        self._index(block, receipts)
        return BuiltBlock(block, tuple(receipts), tuple(rejected))

    def import_raw_block(self, raw: bytes) -> BlockAPI:
        """Re-execute and append one RLP-encoded block; BlockRefused (and nothing written) if any rule fails."""
        try:
            (_, item), *more = split_blocks(raw)
        except Exception as err:
            raise BlockRefused(f"not an RLP block: {err}") from None
        if more:
            raise BlockRefused("one block expected, found several")
        header = item[0]
        number = int.from_bytes(header[8], "big")
        timestamp = int.from_bytes(header[11], "big")
        head = self.head
        if number != head.block_number + 1 or header[0] != head.hash:
            raise BlockRefused(
                f"block {number} is not on top of the head (#{head.block_number} 0x{head.hash.hex()[:16]}..)"
            )
        try:
            with self.store.transaction():
                self._place_time_forks(number, timestamp)
                block_class = self.chain.get_vm_class_for_block_number(number).get_block_class()
                block = rlp.decode(raw, sedes=block_class)
                _check_deposits_first(block)
                imported = self.chain.import_block(block).imported_block
                self._index(imported, self.receipts(imported.header))
        except BlockRefused:
            raise
        except Exception as err:  # py-evm's ValidationError, rlp's decoding errors: the block is bad
            self._reload()
            raise BlockRefused(f"block {number}: {type(err).__name__}: {err}") from None
        return imported

    def import_raw_blocks(self, data: bytes, progress=None) -> int:
        """Import RLP-concatenated blocks (what `geth export` writes); blocks already in the chain are skipped if
        identical. Returns how many were added."""
        added = 0
        for raw, item in split_blocks(data):
            number = int.from_bytes(item[0][8], "big")
            existing = self.header(number)
            if existing is not None:
                if keccak(rlp.encode(item[0])) != existing.hash:
                    raise BlockRefused(f"block {number} differs from the one this chain already has")
                continue
            self.import_raw_block(raw)
            added += 1
            if progress is not None:
                progress(number)
        return added

    def rewind(self, number: int) -> None:
        """Make block `number` the head again, forgetting the blocks after it (a dev node's evm_revert; a chain
        that others follow must never do this). The forgotten blocks' data stays in the database, unreachable."""
        head = self.head.block_number
        if not 0 <= number <= head:
            raise BlockRefused(f"cannot rewind to block {number}: the head is #{head}")
        try:
            with self.store.transaction():
                db = self.store.db
                for n in range(number + 1, head + 1):
                    header = self.header(n)
                    for tx in self.block(header).transactions:
                        del db[SchemaV1.make_transaction_hash_to_block_lookup_key(tx.hash)]
                    del db[SchemaV1.make_block_number_to_hash_lookup_key(n)]
                db[SchemaV1.make_canonical_head_hash_lookup_key()] = self.header(number).hash
                # py-evm's record of which block numbers it holds: without this it would still count the dropped
                # ones as present, and sealing at their height fails with HeaderNotFound.
                gaps = rlp.encode(((), number + 1), sedes=chain_gaps)
                db[SchemaV1.make_header_chain_gaps_lookup_key()] = gaps
                db[SchemaV1.make_chain_gaps_lookup_key()] = gaps
                self.store.conn.execute("DELETE FROM logs WHERE block > ?", (number,))
                kept = [b for b in self._time_fork_blocks if b <= number]
                if kept != self._time_fork_blocks:
                    self.store.set_meta("time_fork_blocks", json.dumps(kept))
        finally:
            self._reload()

    def _reload(self) -> None:
        # py-evm keeps headers and state in caches; after a rolled-back write they may describe rows that are gone.
        self._time_fork_blocks = json.loads(self.store.get_meta("time_fork_blocks") or "[]")
        self._make_chain()

    def _index(self, block: BlockAPI, receipts: Sequence[ReceiptAPI]) -> None:
        rows = []
        log_index = 0
        for tx_index, receipt in enumerate(receipts):
            for log in receipt.logs:
                topics = [t.to_bytes(32, "big") for t in log.topics[:4]]
                topics += [None] * (4 - len(topics))
                rows.append((block.number, log_index, tx_index, log.address, *topics))
                log_index += 1
        self.store.conn.executemany("INSERT INTO logs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)

    def log_rows(
        self, first: int, last: int, addresses: Sequence[bytes] = (), topic0: Sequence[bytes] = ()
    ) -> list[tuple[int, int, int]]:
        """(block, log index, tx index) of the logs in blocks first..last matching the address and first-topic
        sets (empty: any); the other topic positions are filtered by the caller from the receipts."""
        sql = "SELECT block, log_index, tx_index FROM logs WHERE block BETWEEN ? AND ?"
        args: list[object] = [first, last]
        if addresses:
            sql += f" AND address IN ({','.join('?' * len(addresses))})"
            args += list(addresses)
        if topic0:
            sql += f" AND topic0 IN ({','.join('?' * len(topic0))})"
            args += list(topic0)
        return self.store.conn.execute(sql + " ORDER BY block, log_index", args).fetchall()


def _check_deposits_first(block: BlockAPI) -> None:
    """Deposits open a block, before every sequenced transaction (OP's order). Whether they are the ones L1 holds
    is derivation's check, not this one's."""
    sequenced = False
    for index, tx in enumerate(block.transactions):
        if not is_deposit(tx):
            sequenced = True
        elif sequenced:
            raise ValidationError(f"deposit at index {index} comes after a sequenced transaction")
