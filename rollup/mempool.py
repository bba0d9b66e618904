"""The transaction pool: signed transactions waiting for the sequencer, checked on the way in.

A transaction is admitted only if it could run on the head state: it decodes, its signature recovers a sender, it
is replay-protected for this chain, its nonce is not spent, the sender can pay `gas * max fee + value`, its gas
covers the intrinsic cost and fits a block, and it is at most 128 KiB. A fee cap under the base fee is kept
and waits, as in go-ethereum, until the base fee falls to it. Refusals raise PoolError with go-ethereum's
wording (tools match on it, e.g. "nonce too low", "replacement transaction underpriced").

Per sender, transactions are kept by nonce: the ones continuing the account's nonce are ready; a later nonce waits
in the queue until the gap before it fills. The same nonce again replaces the waiting transaction only when both
its fee cap and its tip are at least 10% higher. Each sender holds at most `per_sender` transactions and the pool
at most `capacity`.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import rlp
from eth.abc import SignedTransactionAPI, StateAPI
from eth_utils import ValidationError

MAX_TX_BYTES = 128 * 1024  # go-ethereum's txMaxSize: four 32 KiB slots
REPLACE_BUMP_PERCENT = 10
BLOB_TX_TYPE = 3
DEPOSIT_TX_TYPE = 0x7E  # OP Stack deposits (rollup/deposits.py)
SECP256K1_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141


class PoolError(ValueError):
    """A transaction the pool will not take; the message is what the sender sees."""


@dataclass(frozen=True)
class Pending:
    tx: SignedTransactionAPI
    raw: bytes
    sender: bytes
    seq: int  # arrival order, the tie-break between equal tips

    @property
    def hash(self) -> bytes:
        return self.tx.hash


def decode_transaction(raw: bytes, builder) -> SignedTransactionAPI:
    """A signed transaction from its canonical encoding (legacy RLP list or typed envelope); PoolError if not."""
    if not raw:
        raise PoolError("typed transaction too short")
    if raw[0] == DEPOSIT_TX_TYPE:
        # Deposits come from L1 (the portal's logs, derived by the node), never from a user over RPC.
        raise PoolError("transaction type not supported: deposit transactions cannot be sent, they come from L1")
    try:
        if raw[0] >= 0xC0:
            return builder.decode(raw)
        if raw[0] > 0x7F:
            raise PoolError("rlp: expected a list or a typed transaction envelope")
        return builder.decode(raw)
    except PoolError:
        raise
    except (rlp.DecodingError, rlp.DeserializationError, ValidationError, ValueError, TypeError) as err:
        if raw[0] == BLOB_TX_TYPE:
            raise PoolError("transaction type not supported: blob transactions cannot be sent to this L2") from None
        raise PoolError(f"rlp: invalid transaction: {err}") from None


class Mempool:
    def __init__(self, *, chain_id: int, per_sender: int = 64, capacity: int = 4096) -> None:
        self.chain_id = chain_id
        self.per_sender = per_sender
        self.capacity = capacity
        self._by_sender: dict[bytes, dict[int, Pending]] = {}
        self._by_hash: dict[bytes, Pending] = {}
        self._seq = 0
        # Called with (hash, raw, seq) on admission and (hash, None, 0) on removal: the store keeps the pool.
        self.on_change: Callable[[bytes, bytes | None, int], None] | None = None

    def __len__(self) -> int:
        return len(self._by_hash)

    def __contains__(self, tx_hash: bytes) -> bool:
        return tx_hash in self._by_hash

    def get(self, tx_hash: bytes) -> Pending | None:
        return self._by_hash.get(tx_hash)

    def admit(self, tx: SignedTransactionAPI, raw: bytes, state: StateAPI, *, gas_limit: int) -> Pending:
        """Check `tx` against the head `state` and keep it; PoolError (and the pool unchanged) if it fails."""
        if tx.hash in self._by_hash:
            raise PoolError("already known")
        if len(raw) > MAX_TX_BYTES:
            raise PoolError(f"oversized data: transaction size {len(raw)}, limit {MAX_TX_BYTES}")
        if not (0 < tx.r < SECP256K1_N and 0 < tx.s <= SECP256K1_N // 2):  # EIP-2: no malleable high s
            raise PoolError("invalid sender: invalid transaction v, r, s values")
        try:
            tx.check_signature_validity()
            sender = tx.sender
        except (ValidationError, ValueError) as err:
            raise PoolError(f"invalid sender: {err}") from None
        chain_id = getattr(tx, "chain_id", None)
        if chain_id is None:
            raise PoolError("only replay-protected (EIP-155) transactions allowed over RPC")
        if chain_id != self.chain_id:
            raise PoolError(f"invalid chain id for signer: have {chain_id} want {self.chain_id}")
        if tx.gas > gas_limit:
            raise PoolError(f"exceeds block gas limit: gas {tx.gas}, block gas limit {gas_limit}")
        intrinsic = tx.intrinsic_gas
        if tx.gas < intrinsic:
            raise PoolError(f"intrinsic gas too low: gas {tx.gas}, minimum needed {intrinsic}")
        if tx.max_priority_fee_per_gas > tx.max_fee_per_gas:
            raise PoolError("max priority fee per gas higher than max fee per gas")
        account_nonce = state.get_nonce(sender)
        if tx.nonce < account_nonce:
            raise PoolError(f"nonce too low: address 0x{sender.hex()}, tx: {tx.nonce} state: {account_nonce}")
        cost = tx.gas * tx.max_fee_per_gas + tx.value
        balance = state.get_balance(sender)
        if balance < cost:
            raise PoolError(
                f"insufficient funds for gas * price + value: address 0x{sender.hex()} have {balance} want {cost}"
            )
        queue = self._by_sender.get(sender, {})
        old = queue.get(tx.nonce)
        if old is not None:
            if not _bumped(old.tx, tx):
                raise PoolError("replacement transaction underpriced")
        elif len(queue) >= self.per_sender:
            raise PoolError(f"txpool is full: address 0x{sender.hex()} already has {len(queue)} transactions waiting")
        elif len(self._by_hash) >= self.capacity:
            raise PoolError("txpool is full")
        if tx.nonce > account_nonce + self.per_sender:
            raise PoolError(f"nonce too high: tx: {tx.nonce} state: {account_nonce}")
        self._seq += 1
        entry = Pending(tx, raw, sender, self._seq)
        if old is not None:
            self._drop(old)
        self._by_sender.setdefault(sender, {})[tx.nonce] = entry
        self._by_hash[tx.hash] = entry
        if self.on_change is not None:
            self.on_change(tx.hash, raw, entry.seq)
        return entry

    def restore(self, entry: Pending) -> None:
        """Put back a transaction the pool held before a restart (checked again at the next block)."""
        self._seq = max(self._seq, entry.seq)
        self._by_sender.setdefault(entry.sender, {})[entry.tx.nonce] = entry
        self._by_hash[entry.hash] = entry

    def remove(self, tx_hash: bytes) -> None:
        entry = self._by_hash.get(tx_hash)
        if entry is not None:
            self._drop(entry)

    def _drop(self, entry: Pending) -> None:
        del self._by_hash[entry.hash]
        queue = self._by_sender[entry.sender]
        if queue.get(entry.tx.nonce) is entry:
            del queue[entry.tx.nonce]
        if not queue:
            del self._by_sender[entry.sender]
        if self.on_change is not None:
            self.on_change(entry.hash, None, 0)

    def prune(self, nonce_of: Callable[[bytes], int]) -> None:
        """Drop what the chain has made stale: every transaction whose nonce is below its sender's account nonce."""
        for sender in list(self._by_sender):
            current = nonce_of(sender)
            for nonce, entry in list(self._by_sender.get(sender, {}).items()):
                if nonce < current:
                    self._drop(entry)

    def split(self, nonce_of: Callable[[bytes], int]) -> tuple[list[Pending], list[Pending]]:
        """(ready, queued): ready continue their sender's nonce without a gap; queued wait behind one."""
        ready, queued = [], []
        for sender, queue in self._by_sender.items():
            expected = nonce_of(sender)
            for nonce in sorted(queue):
                (ready if nonce == expected else queued).append(queue[nonce])
                if nonce == expected:
                    expected += 1
        return ready, queued

    def next_nonce(self, sender: bytes, account_nonce: int) -> int:
        """The nonce after the sender's ready transactions (what `eth_getTransactionCount(.., "pending")` says)."""
        queue = self._by_sender.get(sender, {})
        nonce = account_nonce
        while nonce in queue:
            nonce += 1
        return nonce

    def ordered(self, nonce_of: Callable[[bytes], int], base_fee: int) -> Iterator[Pending]:
        """Ready transactions, best paying tip first, each sender's in nonce order (go-ethereum's miner order)."""
        heads: list[tuple[int, int, bytes]] = []
        chains: dict[bytes, list[Pending]] = {}
        for sender, queue in self._by_sender.items():
            expected = nonce_of(sender)
            run = []
            while expected in queue:
                run.append(queue[expected])
                expected += 1
            # A fee cap under the base fee waits (as in go-ethereum) until the base fee falls to it.
            if run and run[0].tx.max_fee_per_gas >= base_fee:
                chains[sender] = run
                heapq.heappush(heads, (-_tip(run[0].tx, base_fee), run[0].seq, sender))
        while heads:
            _, _, sender = heapq.heappop(heads)
            run = chains[sender]
            entry = run.pop(0)
            yield entry
            if run and run[0].tx.max_fee_per_gas >= base_fee:
                heapq.heappush(heads, (-_tip(run[0].tx, base_fee), run[0].seq, sender))

    def entries(self) -> list[Pending]:
        return sorted(self._by_hash.values(), key=lambda e: e.seq)


def _tip(tx: SignedTransactionAPI, base_fee: int) -> int:
    return min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)


def _bumped(old: SignedTransactionAPI, new: SignedTransactionAPI) -> bool:
    need = 100 + REPLACE_BUMP_PERCENT
    return (
        new.max_fee_per_gas * 100 >= old.max_fee_per_gas * need
        and new.max_priority_fee_per_gas * 100 >= old.max_priority_fee_per_gas * need
    )
