"""One step of an L2 block, replayed from a witness: what the output dispute's committee decides on
(docs/rollup.md, "The committee's replay"; contracts/interfaces/IOutputDispute.sol).

A block of `n` transactions has `max(n, 1)` steps. Step `j` runs transaction `j` on the state after the first `j`
transactions; the block's system operations before its first transaction (Prague's EIP-4788 and EIP-2935 calls)
belong to step 0, those after its last (EIP-7002 and EIP-7251 calls, the zero block reward) to the last step, and an
empty block is one step of system operations. Position `j` is the state root after the first `j` transactions:
position 0 the parent's state root, the last the block's.

    roots = step_roots(chain, number)                         # max(n, 1) + 1 state roots, re-executed
    witness = step_witness(chain, number, step)               # what replaying step `step` reads, RLP
    tx = step_transaction(chain, number, step)                # the EIP-2718 bytes of transaction `step`
    post = replay_step(genesis, header, roots[step], step, n, tx, witness)      # == roots[step + 1]
    winner = judge(genesis, header, pre_root, step, n, defender_evidence, challenger_evidence)

The witness is RLP: `[1, nodes, headers, transaction_proof]`.

- `nodes`: every state trie node (account trie and storage tries) and contract code the step reads from the
  database, its own writes excluded, including what recomputing the post-state root reads; each is found by its
  keccak, so nothing in it can be wrong, only missing (reth's and geth's `debug_executionWitness` do the same).
- `headers`: the RLP headers of the ancestors BLOCKHASH reaches beyond the parent, parent first; each must hash
  to the parentHash of the one before, starting from the block header's own parentHash.
- `transaction_proof`: the transactions-trie nodes proving that `transaction` is the value at key rlp(step) under
  the header's transactionsRoot and, at the last step, that key rlp(n) is absent (so `n` is the block's count).

What the replay trusts beyond the witness: the header (the game checked that its hash is the disputed output's
block hash and its parentHash the agreed output's), the pre-state root and `n` (both agreed in the game), and the
genesis (the fork rules and the chain id). The block's cumulative gas is not part of a step: the replay checks a
transaction against the block's gas limit alone, and whether the block's transactions fit together is the block's
question (a Kind.Block dispute), as is every other header field that does not feed execution.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

import rlp
from eth.abc import BlockHeaderAPI, SignedTransactionAPI, VirtualMachineAPI
from eth.consensus.context import ConsensusContext
from eth.constants import BLANK_ROOT_HASH, MAX_PREV_HEADER_DEPTH
from eth.db.atomic import AtomicDB
from eth.db.backends.base import BaseDB
from eth.db.chain import ChainDB
from eth.vm.chain_context import ChainContext
from eth.vm.interrupt import EVMMissingData
from eth_hash.auto import keccak
from eth_utils import ValidationError
from trie import HexaryTrie
from trie.exceptions import MissingTrieNode

from rollup.chain import L2Chain
from rollup.dispute_play import Party
from rollup.genesis import Genesis

WITNESS_VERSION = 1
# Header fields by position (every fork): parentHash, number, timestamp.
_PARENT, _NUMBER, _TIMESTAMP = 0, 8, 11


class ReplayError(ValueError):
    """The step cannot be replayed as asked: no such block or step, a header or transaction that does not decode, a
    transaction the pre-state refuses, or a chain whose own block does not re-execute to its header."""


class WitnessError(ReplayError):
    """The witness does not suffice: a node, code or ancestor header the step reads is missing, or the transaction
    is not the header's transaction at that index (its inclusion proof fails)."""


@dataclass(frozen=True)
class Evidence:
    """What a side posted with `postEvidence`: its post-state root, the transaction, the witness."""

    post_root: bytes
    transaction: bytes
    witness: bytes


@dataclass(frozen=True)
class Witness:
    nodes: tuple[bytes, ...] = ()
    headers: tuple[bytes, ...] = ()
    transaction_proof: tuple[bytes, ...] = ()

    def encode(self) -> bytes:
        return rlp.encode([WITNESS_VERSION, list(self.nodes), list(self.headers), list(self.transaction_proof)])

    @classmethod
    def decode(cls, raw: bytes) -> Witness:
        try:
            version, nodes, headers, proof = rlp.decode(raw)
            parts = (nodes, headers, proof)
            well_formed = isinstance(version, bytes) and all(
                isinstance(part, list) and all(isinstance(item, bytes) for item in part) for part in parts
            )
        except (rlp.DecodingError, ValueError, TypeError):
            well_formed = False
        if not well_formed:
            raise WitnessError("the witness is not RLP [version, nodes, headers, transaction_proof]")
        if int.from_bytes(version, "big") != WITNESS_VERSION:
            number = int.from_bytes(version, "big")
            raise WitnessError(f"witness version {number}, this replay reads version {WITNESS_VERSION}")
        return cls(tuple(nodes), tuple(headers), tuple(proof))

    def union(self, other: Witness) -> Witness:
        """Both witnesses' items: everything in one is found by its hash, so adding never changes what is found."""

        def merged(a: Sequence[bytes], b: Sequence[bytes]) -> tuple[bytes, ...]:
            return tuple(dict.fromkeys((*a, *b)))

        return Witness(
            merged(self.nodes, other.nodes),
            merged(self.headers, other.headers),
            merged(self.transaction_proof, other.transaction_proof),
        )


# The chain's side: re-executing a block it holds


def step_roots(chain: L2Chain, number: int) -> list[bytes]:
    """The state roots at positions 0..max(n, 1) of block `number`, from re-executing it on its parent's state (the
    chain's database is only read)."""
    header, parent, txs = _block(chain, number)
    steps = max(len(txs), 1)
    vm = _vm(chain.chain.get_vm_class(header), header, parent.state_root, _Overlay(chain.store.db), chain.chain_id,
             _chain_ancestors(chain, header))  # fmt: skip
    roots = [parent.state_root]
    gas = _gas_from_zero(header)
    for step in range(steps):
        root, receipt = _run_step(vm, header, gas, step, steps, txs[step] if txs else None)
        if receipt is not None:
            gas = gas.copy(gas_used=receipt.gas_used)  # cumulative, as when the block was built
        roots.append(root)
    if roots[-1] != header.state_root:
        raise ReplayError(
            f"block {number} re-executes to state root 0x{roots[-1].hex()}, its header has 0x{header.state_root.hex()}"
        )
    return roots


def step_transaction(chain: L2Chain, number: int, step: int) -> bytes:
    """The EIP-2718 bytes of transaction `step` of block `number` (b"" for the one step of an empty block)."""
    _, _, txs = _block(chain, number)
    _check_step(step, len(txs))
    return txs[step].encode() if txs else b""


def step_witness(chain: L2Chain, number: int, step: int) -> bytes:
    """The witness for step `step` of block `number` (the module's docstring gives its format): what `replay_step`
    reads, recorded while executing the step exactly as the replay does, on a fresh state at the step's pre-state
    root."""
    header, parent, txs = _block(chain, number)
    _check_step(step, len(txs))
    steps = max(len(txs), 1)
    vm_class = chain.chain.get_vm_class(header)
    earlier = _Overlay(chain.store.db)
    pre_root = parent.state_root
    if step > 0:
        vm = _vm(vm_class, header, pre_root, earlier, chain.chain_id, _chain_ancestors(chain, header))
        gas = _gas_from_zero(header)
        for j in range(step):
            _, receipt = _run_step(vm, header, gas, j, steps, txs[j])
            gas = gas.copy(gas_used=receipt.gas_used)
        # Written out so that a fresh state can start from it, as the replay's does.
        vm.state.persist()
        pre_root = vm.state.state_root

    recorder = _Overlay(earlier, record=True)
    pulled: list[bytes] = []
    ancestors = _chain_ancestors(chain, header)

    def counted() -> Iterator[bytes]:
        for block_hash in ancestors:
            pulled.append(block_hash)
            yield block_hash

    vm = _vm(vm_class, header, pre_root, recorder, chain.chain_id, counted())
    _run_step(vm, header, _gas_from_zero(header), step, steps, txs[step] if txs else None)
    for key, value in recorder.read.items():
        if keccak(value) != key:  # the replay finds everything by its hash: anything else would be lost
            raise ReplayError(f"step {step} of block {number} read a value not stored under its hash (0x{key.hex()})")
    # The hash at depth d is the parentHash of the header at depth d - 1 (depth 0: the block's own parentHash).
    headers = [rlp.encode(chain.header(number - 1 - depth)) for depth in range(max(len(pulled) - 1, 0))]
    proof = _Overlay(chain.store.db, record=True)
    _transaction_at(proof, header, step, len(txs))
    return Witness(tuple(sorted(recorder.read.values())), tuple(headers), tuple(sorted(proof.read.values()))).encode()


# The committee's side: the step from its inputs alone


def replay_step(
    genesis: Genesis,
    header: BlockHeaderAPI,
    pre_root: bytes,
    step: int,
    tx_count: int,
    transaction: bytes,
    witness: bytes,
) -> bytes:
    """The state root after step `step` of the block of `header`, computed from `pre_root` with nothing but the
    witness's nodes, codes and headers; `transaction` must be the header's transaction `step` (b"" for an empty
    block) and `tx_count` its transaction count. ReplayError if the step cannot be replayed, WitnessError if the
    witness does not suffice."""
    _check_step(step, tx_count)
    if getattr(header, "withdrawals_root", BLANK_ROOT_HASH) != BLANK_ROOT_HASH:
        raise ReplayError("the header has withdrawals: no block of this L2 does, and a step does not apply them")
    w = Witness.decode(witness)
    proof = _Overlay(_Preimages(w.transaction_proof))
    try:
        found = _transaction_at(proof, header, step, tx_count)
    except MissingTrieNode:
        raise WitnessError(f"the transaction proof lacks a node of the transactions trie (key rlp({step}))") from None
    if found != transaction:
        raise WitnessError(f"the transaction is not transaction {step} of the header's transactionsRoot")
    vm_class = vm_class_for(genesis, header.block_number, header.timestamp)
    tx = _decode_transaction(vm_class, transaction) if tx_count else None
    try:
        vm = _vm(vm_class, header, pre_root, _Overlay(_Preimages(w.nodes)), genesis.chain_id,
                 _witness_ancestors(header, w.headers))  # fmt: skip
        root, _ = _run_step(vm, header, _gas_from_zero(header), step, max(tx_count, 1), tx)
    except (EVMMissingData, MissingTrieNode, _Missing) as err:
        raise WitnessError(f"the witness lacks what step {step} reads: {type(err).__name__}: {err}") from None
    except ValidationError as err:  # py-evm refuses the transaction before it touches the state
        raise ReplayError(f"transaction {step} is invalid on the pre-state: {err}") from None
    return root


def judge(
    genesis: Genesis,
    header: BlockHeaderAPI,
    pre_root: bytes,
    step: int,
    tx_count: int,
    defender: Evidence,
    challenger: Evidence,
) -> Party:
    """The winner of a Transaction-kind dispute: the defender only if its transaction, replayed from `pre_root` with
    both sides' witnesses, gives exactly its post root. A witness that does not suffice, a transaction that is not
    the header's transaction `step`, or any other root: the challenger."""
    witness = Witness()
    for evidence in (defender, challenger):
        try:
            witness = witness.union(Witness.decode(evidence.witness))
        except WitnessError:
            continue  # a side's malformed witness adds nothing; it cannot take away what the other's holds
    try:
        root = replay_step(genesis, header, pre_root, step, tx_count, defender.transaction, witness.encode())
    except ReplayError:
        return Party.CHALLENGER
    return Party.DEFENDER if root == defender.post_root else Party.CHALLENGER


def vm_class_for(genesis: Genesis, number: int, timestamp: int) -> type[VirtualMachineAPI]:
    """The rules of block `number` with time `timestamp` under `genesis`: a timestamped fork starts at the first block
    that reaches its time, so every fork due by `timestamp` holds at this block."""
    due = [number for at, _ in genesis.time_forks if at <= timestamp]
    return genesis.chain_class(due).get_vm_class_for_block_number(number)


def decode_header(genesis: Genesis, raw: bytes) -> BlockHeaderAPI:
    """An RLP block header of this chain (the one a dispute's BlockRevealed carries); ReplayError if it is not."""
    try:
        fields = rlp.decode(raw)
        number = int.from_bytes(fields[_NUMBER], "big")
        timestamp = int.from_bytes(fields[_TIMESTAMP], "big")
        block_class = vm_class_for(genesis, number, timestamp).get_block_class()
        header_class = dict(zip(block_class._meta.field_names, block_class._meta.sedes, strict=True))["header"]
        header = rlp.decode(raw, sedes=header_class)
    except (rlp.DecodingError, rlp.DeserializationError, IndexError, TypeError, ValueError) as err:
        raise ReplayError(f"not a block header of this chain: {err}") from None
    if rlp.encode(header) != raw:
        raise ReplayError("the header's RLP is not canonical")
    return header


# Executing a step


def _run_step(
    vm: VirtualMachineAPI,
    header: BlockHeaderAPI,
    gas: BlockHeaderAPI,
    step: int,
    steps: int,
    tx: SignedTransactionAPI | None,
) -> tuple[bytes, Any]:
    """Run step `step` on `vm`'s state: the system operations it holds and its transaction. Returns the state root
    after it (written to the state's database at the last step, as mining the block does) and the receipt."""
    # The system operations read only the header of the block they are given.
    block = vm.get_block_class()(header=header, transactions=[], uncles=[], withdrawals=[])
    if step == 0:
        vm.block_preprocessing(block)
    receipt = None
    if tx is not None:
        receipt, _ = vm.apply_transaction(gas, tx)
    if step < steps - 1:
        return vm.state.make_state_root(), receipt
    vm.block_postprocessing(block)
    return vm.finalize_block(block).block.header.state_root, receipt


def _gas_from_zero(header: BlockHeaderAPI) -> BlockHeaderAPI:
    """The header a step's transaction is checked against: the block's gas limit, none of it used yet."""
    fields = {"gas_used": 0}
    if hasattr(header, "blob_gas_used"):
        fields["blob_gas_used"] = 0
    return header.copy(**fields)


def _vm(
    vm_class: type[VirtualMachineAPI],
    header: BlockHeaderAPI,
    pre_root: bytes,
    db: BaseDB,
    chain_id: int,
    ancestors: Iterator[bytes],
) -> VirtualMachineAPI:
    atomic = AtomicDB(db)
    replaying = _without_deposit_requests(vm_class)
    context = ChainContext(chain_id)
    vm = replaying(header=header, chaindb=ChainDB(atomic), chain_context=context,
                   consensus_context=ConsensusContext(atomic))  # fmt: skip
    # Built here rather than by `vm.state`, which would read the ancestor hashes from a header database; the state
    # starts at the step's pre-state root, the execution context is the block's.
    vm._state = replaying.build_state(atomic, header.copy(state_root=pre_root), context, ancestors)
    return vm


@cache
def _without_deposit_requests(vm_class: type[VirtualMachineAPI]) -> type[VirtualMachineAPI]:
    # EIP-6110's deposit requests are read from the block's receipts and only feed the header's requests hash, never
    # the state: a step has no receipts to read and needs none.
    if not hasattr(vm_class, "process_deposit_request_data"):
        return vm_class
    return type(vm_class.__name__, (vm_class,), {"process_deposit_request_data": lambda self, block: None})


def _decode_transaction(vm_class: type[VirtualMachineAPI], raw: bytes) -> SignedTransactionAPI:
    try:
        return vm_class.get_transaction_builder().decode(raw)
    except (rlp.DecodingError, rlp.DeserializationError, ValidationError, ValueError, TypeError) as err:
        raise ReplayError(f"the transaction does not decode: {err}") from None


def _check_step(step: int, tx_count: int) -> None:
    if not 0 <= step < max(tx_count, 1):
        raise ReplayError(f"step {step} of a block of {tx_count} transactions (steps 0..{max(tx_count, 1) - 1})")


def _transaction_at(db: BaseDB, header: BlockHeaderAPI, step: int, tx_count: int) -> bytes:
    """Transaction `step` under the header's transactionsRoot (b"" for an empty block), after checking that the
    trie holds no transaction `tx_count` when `step` is the last step; WitnessError if it holds one."""
    trie = HexaryTrie(db, header.transaction_root)
    found = trie.get(rlp.encode(step)) if tx_count else b""
    if step == max(tx_count, 1) - 1 and trie.get(rlp.encode(tx_count)) != b"":
        raise WitnessError(f"the header's transactionsRoot holds more than {tx_count} transactions")
    return found


# Ancestor hashes for BLOCKHASH


def _chain_ancestors(chain: L2Chain, header: BlockHeaderAPI) -> Iterator[bytes]:
    return chain.chain.get_vm_class(header).get_prev_hashes(header.parent_hash, chain.chain.chaindb)


def _witness_ancestors(header: BlockHeaderAPI, headers: Sequence[bytes]) -> Iterator[bytes]:
    """The hashes of the parent, grandparent, ... (py-evm's `get_prev_hashes`, at most 256 and down to genesis),
    each past the parent taken from a witness header that hashes to the one before; read lazily, so only the depths
    BLOCKHASH asks for need headers."""
    by_hash = {keccak(raw): raw for raw in headers}
    expected = header.parent_hash
    available = min(header.block_number, MAX_PREV_HEADER_DEPTH)
    for depth in range(available):
        yield expected
        if depth + 1 == available:
            return
        raw = by_hash.get(expected)
        if raw is None:
            raise WitnessError(f"the witness lacks the header of block {header.block_number - 1 - depth}")
        try:
            expected = rlp.decode(raw)[_PARENT]
        except (rlp.DecodingError, IndexError, TypeError) as err:
            raise WitnessError(f"a witness header does not decode: {err}") from None


# Databases


class _Missing(KeyError):
    """A key the witness does not hold."""


class _Preimages(BaseDB):
    """Values found by their keccak: a witness's nodes, codes or proof."""

    def __init__(self, values: Sequence[bytes]) -> None:
        self._values = {keccak(v): v for v in values}

    def __getitem__(self, key: bytes) -> bytes:
        try:
            return self._values[key]
        except KeyError:
            raise _Missing(key) from None

    def __setitem__(self, key: bytes, value: bytes) -> None:
        raise TypeError("a witness is read-only")

    def __delitem__(self, key: bytes) -> None:
        raise TypeError("a witness is read-only")

    def _exists(self, key: bytes) -> bool:
        return key in self._values


class _Overlay(BaseDB):
    """Reads fall through to `base`; writes stay here (the chain's store is never written). With `record`, every
    value `base` gives is kept in `read`: what a replay needs beyond what the step itself writes."""

    def __init__(self, base: Any, *, record: bool = False) -> None:
        self.base = base
        self.written: dict[bytes, bytes] = {}
        self.read: dict[bytes, bytes] | None = {} if record else None

    def __getitem__(self, key: bytes) -> bytes:
        if key in self.written:
            return self.written[key]
        value = self.base[key]
        if self.read is not None:
            self.read[key] = value
        return value

    def __setitem__(self, key: bytes, value: bytes) -> None:
        self.written[key] = value

    def __delitem__(self, key: bytes) -> None:
        # Nodes are found by their hash and shared; py-evm never needs one gone.
        self.written.pop(key, None)

    def _exists(self, key: bytes) -> bool:
        try:
            self[key]
        except KeyError:
            return False
        return True


def _block(chain: L2Chain, number: int) -> tuple[BlockHeaderAPI, BlockHeaderAPI, tuple[SignedTransactionAPI, ...]]:
    header = chain.header(number) if number > 0 else None
    if header is None:
        raise ReplayError(f"the chain has no block {number} to replay (head #{chain.head.block_number})")
    parent = chain.header(number - 1)
    if parent is None or parent.hash != header.parent_hash:
        raise ReplayError(f"block {number}'s parent is not the chain's block {number - 1}")
    return header, parent, tuple(chain.chain.get_block_by_header(header).transactions)
