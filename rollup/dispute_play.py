"""Playing an OutputDispute game (contracts/rollup/OutputDispute.sol) from both sides: a toy L2 whose blocks,
headers and output roots follow OP's formats, a proposer or challenger that lies at one transaction of one block,
the committee's keys, and a driver making every move of the two sides.

The driver is written once for any binding of the contract: `Game` plays through `_call` and `_transact`, which
`Web3Game` below implements with web3.py and signed transactions (benchmarks/bench_rollup.py, on anvil), and the
tests' `Game` (tests/rollup/dispute/output_dispute_support.py) with Ape.

The toy L2 does not execute anything: the state root after the first `j` transactions of block `b` is a hash of
`(b, j)`, so a party that lies from transaction `t` of block `bad` on has different roots from there. Headers are
real RLP headers of the Prague shape (21 fields), chained by parentHash; output roots are OP's
keccak256(version 0 ‖ stateRoot ‖ messagePasserStorageRoot ‖ blockHash). The game only hashes what it is given,
so its moves and gas are those of a real L2 of the same block and transaction counts.
"""

from __future__ import annotations

import dataclasses
from enum import IntEnum
from functools import cached_property
from typing import Any

import rlp
from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

ZERO32 = b"\x00" * 32
EMPTY_OMMERS = keccak(rlp.encode([]))


class Phase(IntEnum):
    """Mirror of IOutputDispute.Phase."""

    NONE, BLOCKS, BLOCK, TRANSACTIONS, EVIDENCE, COMMITTEE, RESOLVED = range(7)


class Party(IntEnum):
    """Mirror of IOutputDispute.Party."""

    NONE, CHALLENGER, DEFENDER = range(3)


class Kind(IntEnum):
    """Mirror of IOutputDispute.Kind."""

    NONE, TRANSACTION, BLOCK = range(3)


class Resolution(IntEnum):
    """Mirror of IOutputDispute.Resolution."""

    NONE, COMMITTEE, TIMEOUT, EXPIRED = range(4)


class HeaderCheck(IntEnum):
    """Mirror of IOutputDispute.HeaderCheck."""

    ENCODING, HASH, PARENT, STATE_ROOT, NUMBER = range(5)


# ---------------------------------------------------------------- committee

# Keys anyone can derive: for tests and benchmarks only, never a deployed committee.
COMMITTEE_KEYS = [keccak(f"output dispute attestor {i}".encode()) for i in range(5)]
COMMITTEE = [Account.from_key(k) for k in COMMITTEE_KEYS]
THRESHOLD = 3


def sign(digest: bytes, signers: list[Any]) -> list[bytes]:
    """EIP-191 signatures of `digest` by each eth_account in `signers`."""
    return [bytes(Account.sign_message(encode_defunct(primitive=digest), s.key).signature) for s in signers]


# ---------------------------------------------------------------- the toy L2


def _word(*parts: Any) -> bytes:
    return keccak(b"".join(p if isinstance(p, bytes) else str(p).encode() + b"|" for p in parts))


@dataclasses.dataclass
class ToyL2:
    """One party's view of the L2. `bad = (block, tx)`: from the state after transaction `tx` of `block` on,
    this party's state roots differ from the honest ones (one wrong storage slot, carried forward).
    `bad_passer`: this party's message passer root of that one block is wrong, its state right.
    `bad_number`: this party's header of that one block carries the wrong number."""

    bad: tuple[int, int] | None = None
    bad_passer: int | None = None
    bad_number: int | None = None
    empty: frozenset = frozenset()  # blocks without transactions

    def tx_count(self, b: int) -> int:
        return 0 if b in self.empty else 1 + (b * 7) % 9

    def steps(self, b: int) -> int:
        return max(self.tx_count(b), 1)

    def state_root(self, b: int, j: int) -> bytes:
        """The state root after the first `j` transactions of block `b` (j = 0: the parent's state root)."""
        if b == 0:
            return _word("genesis state")
        if j == 0:
            return self.final_state(b - 1)
        lying = self.bad is not None and (b, j) > (self.bad[0], self.bad[1])
        return _word("state", b, j, "liar" if lying else "honest")

    def final_state(self, b: int) -> bytes:
        return self.state_root(b, self.steps(b)) if b else self.state_root(0, 0)

    def passer_root(self, b: int) -> bytes:
        return _word("passer", b, "liar" if b == self.bad_passer else "")

    def transaction(self, b: int, i: int) -> bytes:
        """Transaction `i` of block `b` (typed, opaque to the contract)."""
        return b"\x02" + rlp.encode([685686, i, _word("tx", b, i)])

    @cached_property
    def _hashes(self) -> dict[int, bytes]:
        return {}

    def header_fields(self, b: int) -> list:
        parent = self.block_hash(b - 1) if b else ZERO32
        number = b + 1 if b == self.bad_number else b
        return [
            parent, EMPTY_OMMERS, b"\x42" * 20, self.final_state(b), _word("txs", b, self.tx_count(b)),
            _word("receipts", b), b"\x00" * 256, 0, number, 30_000_000, 21_000 * self.tx_count(b),
            1_700_000_000 + 2 * b, b"", ZERO32, b"\x00" * 8, 1_000_000_000, _word("withdrawals"), 0, 0,
            ZERO32, _word("requests"),
        ]  # fmt: skip

    def header(self, b: int) -> bytes:
        return rlp.encode(self.header_fields(b))

    def block_hash(self, b: int) -> bytes:
        cache = self._hashes
        if b not in cache:
            # Chained by parentHash: hashing block b needs every earlier hash, so fill the gap in order (no deep
            # recursion for b in the thousands).
            for k in range(max((n for n in cache if n < b), default=-1) + 1, b + 1):
                cache[k] = keccak(self.header(k))
        return cache[b]

    def preimage(self, b: int) -> tuple[bytes, bytes, bytes, bytes]:
        """OP's OutputRootProof of block `b`."""
        return (ZERO32, self.final_state(b), self.passer_root(b), self.block_hash(b))

    def output_root(self, b: int) -> bytes:
        return keccak(b"".join(self.preimage(b)))


HONEST = ToyL2()


def witness(b: int, i: int) -> bytes:
    """A stand-in witness: the contract only hashes it (real ones carry eth_getProof results)."""
    return rlp.encode([b"account proofs", _word("witness", b, i), b"storage proofs"])


# ---------------------------------------------------------------- the game


def first_disagreement(mine: list[bytes], theirs: list[bytes]) -> int:
    """The piece a challenger picks: the index of the first root it disagrees with (len: the range's end)."""
    return next((j for j, (a, b) in enumerate(zip(mine, theirs, strict=False)) if a != b), len(theirs))


@dataclasses.dataclass
class Game:
    """One dispute, played by a defender and a challenger that each follow their own ToyL2 (an honest party
    plays the honest chain); keeps every move's receipt. A subclass binds it to a contract: `_call` reads a view,
    `_transact` sends a move and returns its receipt, `gas_used` reads a receipt's gas."""

    contract: Any
    dispute_id: int
    challenger: Any
    defender: Any
    challenger_l2: ToyL2
    defender_l2: ToyL2
    receipts: list = dataclasses.field(default_factory=list)
    methods: list[str] = dataclasses.field(default_factory=list)  # each receipt's method, for reports

    def _call(self, method: str, *args: Any) -> Any:
        raise NotImplementedError

    def _transact(self, method: str, *args: Any, sender: Any) -> Any:
        raise NotImplementedError

    @staticmethod
    def gas_used(receipt: Any) -> int:
        raise NotImplementedError

    @property
    def d(self) -> Any:
        """The dispute's struct (IOutputDispute.Dispute), its fields by name."""
        return self._call("disputeOf", self.dispute_id)

    def positions(self) -> list[int]:
        return list(self._call("positions", self.dispute_id))

    def _send(self, method: str, *args: Any, sender: Any) -> Any:
        receipt = self._transact(method, self.dispute_id, *args, sender=sender)
        self.receipts.append(receipt)
        self.methods.append(method)
        return receipt

    def _root(self, l2: ToyL2, phase: int, b: int, p: int) -> bytes:
        return l2.output_root(p) if phase == Phase.BLOCKS else l2.state_root(b, p)

    def post_roots(self) -> list[bytes]:
        d = self.d
        roots = [self._root(self.defender_l2, d.phase, d.l2Block, p) for p in self.positions()]
        self._send("postRoots", roots, sender=self.defender)
        return roots

    def pick(self, roots: list[bytes]) -> int:
        d = self.d
        mine = [self._root(self.challenger_l2, d.phase, d.l2Block, p) for p in self.positions()]
        piece = first_disagreement(mine, roots)
        self._send("pick", piece, roots, sender=self.challenger)
        return piece

    def bisect(self) -> int:
        """Play rounds while the dispute is in a bisection phase; returns the rounds played."""
        rounds = 0
        while self.d.phase in (Phase.BLOCKS, Phase.TRANSACTIONS):
            self.pick(self.post_roots())
            rounds += 1
        return rounds

    def reveal(self) -> Any:
        b = self.d.l2Block
        l2 = self.defender_l2
        return self._send(
            "revealBlock", l2.preimage(b - 1), l2.preimage(b), l2.header(b), l2.tx_count(b), sender=self.defender
        )

    def answer_block(self) -> Any:
        """The challenger disputes the execution when its state root of the block differs, else the block."""
        b = self.d.l2Block
        mine = self.challenger_l2.final_state(b)
        if mine != self.defender_l2.final_state(b):
            return self._send("disputeTransactions", mine, sender=self.challenger)
        return self._send("disputeBlock", sender=self.challenger)

    def evidence(self) -> None:
        d = self.d
        b, i = d.l2Block, d.txIndex
        if d.kind == Kind.BLOCK:
            post_d, post_c = self.defender_l2.output_root(b), self.challenger_l2.output_root(b)
            tx = b""
        else:
            post_d, post_c = self.defender_l2.state_root(b, i + 1), self.challenger_l2.state_root(b, i + 1)
            tx = self.defender_l2.transaction(b, i) if self.defender_l2.tx_count(b) else b""
        self._send("postEvidence", post_d, tx, witness(b, i), sender=self.defender)
        self._send("postEvidence", post_c, b"", witness(b, i) + b"challenger", sender=self.challenger)

    def play_to_committee(self) -> None:
        """Every move from the opening to the sealed record."""
        self.bisect()
        self.reveal()
        self.answer_block()
        self.bisect()
        self.evidence()

    def verdict(self, winner: int, signers: list[Any] | None = None, sender: Any = None) -> Any:
        digest = bytes(self._call("committeeDigest", self.dispute_id, winner))
        sigs = sign(digest, COMMITTEE[:THRESHOLD] if signers is None else signers)
        return self._send("resolveByCommittee", winner, sigs, sender=sender or self.challenger)

    @property
    def gas(self) -> int:
        return sum(self.gas_used(r) for r in self.receipts)


class Web3Game(Game):
    """The game on a web3.py contract (made with `decode_tuples=True`, so structs read by field name); the two
    sides are eth_account keys, each move a signed transaction whose receipt must succeed."""

    def _call(self, method: str, *args: Any) -> Any:
        return getattr(self.contract.functions, method)(*args).call()

    def _transact(self, method: str, *args: Any, sender: Any) -> Any:
        return transact(self.contract, method, *args, sender=sender)

    @staticmethod
    def gas_used(receipt: Any) -> int:
        return receipt.gasUsed


def transact(contract: Any, method: str, *args: Any, sender: Any, value: int = 0, gas: int = 3_000_000) -> Any:
    """Sign `contract.method(*args)` with the eth_account `sender`, send it and return its receipt; RuntimeError
    if it reverted. The gas limit is fixed rather than estimated: estimating would run each move twice."""
    w3 = contract.w3
    tx = getattr(contract.functions, method)(*args).build_transaction(
        {"from": sender.address, "nonce": w3.eth.get_transaction_count(sender.address), "value": value, "gas": gas}
    )
    tx_hash = w3.eth.send_raw_transaction(sender.sign_transaction(tx).raw_transaction)
    receipt = w3.eth.wait_for_transaction_receipt(tx_hash, timeout=60)
    if receipt.status != 1:
        raise RuntimeError(f"{method} reverted (tx 0x{bytes(tx_hash).hex()})")
    return receipt
