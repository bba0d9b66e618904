"""Shared helpers for the VerdeReferee tests: constants, simple step roots, committee keys and a game driver.

Step roots are stand-ins for real traced training (which comes later): an honest party's state root after
step `s` is keccak(s, "honest"); a liar that diverges at step `bad` uses keccak(s, tag) from `bad` on.
Imported by tests/verde/conftest.py and the test modules; named uniquely so it cannot clash.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

from eth_account import Account
from eth_account.messages import encode_defunct
from eth_utils import keccak

BOND = 10**17  # wei, the challenger's (a defender posts none)
CLOCK = 3_600  # seconds per party per dispute
REWARD_BPS = 5_000  # winner's share of a losing solver's stake
STAKE = 10**17  # per solver, as in the market defaults
MOVE_GAS_CAP = 150_000  # every Steps narrowing call stays under this (16 roots a move)
STEPS_ARITY = 16  # VerdeReferee's Arity(16, 16, 16, 8): Steps, OpTrace, Descent, Reduction
OPS_ARITY = 16
DESCENT_ARITY = 16
PARTIALS_ARITY = 8
RESOLVE_GAS_CAP = 300_000  # a resolution (committee or timeout) with the market calls stays under this


class Phase:
    """Mirror of IVerdeReferee.Phase."""

    NONE, STEPS, OP_TRACE, OUTPUT, DESCENT, REDUCTION, LEAF, COMMITTEE, RESOLVED = range(9)


class Party:
    """Mirror of IVerdeReferee.Party."""

    NONE, CHALLENGER, DEFENDER = range(3)


SPEC_HASH = b"\x5e" * 32  # the market defaults' specHash: the agreed state at step 0


def honest_root(step: int) -> bytes:
    """The honest state root after `step`."""
    return keccak(step.to_bytes(8, "big") + b"honest")


def liar(bad: int, tag: bytes = b"liar") -> Callable[[int], bytes]:
    """A party that computes honestly before step `bad` and diverges from it on."""
    return lambda step: honest_root(step) if step < bad else keccak(step.to_bytes(8, "big") + tag)


def ceil_log2(n: int) -> int:
    """ceil(log2 n) for n >= 1."""
    return 0 if n <= 1 else math.ceil(math.log2(n))


def positions(lo: int, hi: int, k: int) -> list[int]:
    """The referee's points of a k-ary round over (lo, hi] (Bisection.positions)."""
    n = hi - lo
    count = min(k - 1, n - 1)
    return [lo + n * (i + 1) // (count + 1) for i in range(count)]


def at(referee: Any, dispute_id: int, root_of: Callable[[int], bytes]) -> list[bytes]:
    """A party's values for the dispute's next narrowing move: `root_of` at every position."""
    return [root_of(p) for p in referee.positions(dispute_id)]


def narrow_rounds(n: int, k: int) -> int:
    """Rounds a k-ary narrowing over n positions takes at most: each round leaves at most the longest of the
    count + 1 pieces its points cut, ceil(n / (count + 1))."""
    rounds = 0
    while n > 1:
        n = -(-n // min(k, n))
        rounds += 1
    return rounds


# ---------------------------------------------------------------- committee

COMMITTEE_KEYS = [keccak(f"verde committee member {i}".encode()) for i in range(5)]
COMMITTEE = [Account.from_key(k) for k in COMMITTEE_KEYS]
THRESHOLD = 3


def sign(digest: bytes, signers: list[Any]) -> list[bytes]:
    """EIP-191 signatures of `digest` by each eth_account `signers` entry."""
    return [bytes(Account.sign_message(encode_defunct(primitive=digest), s.key).signature) for s in signers]


# ---------------------------------------------------------------- game driver


@dataclasses.dataclass
class Game:
    """One dispute played to the committee phase; keeps every move's receipt."""

    referee: Any
    dispute_id: int
    challenger: Any  # account
    defender: Any  # account
    receipts: list = dataclasses.field(default_factory=list)

    def round(self, defender_root: Callable[[int], bytes], challenger_root: Callable[[int], bytes]) -> None:
        """One narrowing round: the defender commits at the positions, the challenger answers (a round of one
        point as `narrowOne`, as the client sends it)."""
        pos = list(self.referee.positions(self.dispute_id))
        mine = [defender_root(p) for p in pos]
        theirs = [challenger_root(p) for p in pos]
        if len(pos) == 1:
            self.receipts.append(self.referee.narrowOne(self.dispute_id, mine[0], sender=self.defender))
            self.receipts.append(self.referee.narrowOne(self.dispute_id, theirs[0], sender=self.challenger))
            return
        self.receipts.append(self.referee.narrow(self.dispute_id, mine, [], sender=self.defender))
        self.receipts.append(self.referee.narrow(self.dispute_id, theirs, mine, sender=self.challenger))

    def play(self, defender_root: Callable[[int], bytes], challenger_root: Callable[[int], bytes]) -> int:
        """Bisect until the dispute leaves the Steps phase; returns the rounds played."""
        rounds = 0
        while self.referee.disputeOf(self.dispute_id).phase == Phase.STEPS:
            self.round(defender_root, challenger_root)
            rounds += 1
        return rounds

    def resolve(self, winner: int, signers: list[Any] | None = None, sender: Any = None) -> Any:
        """Resolve by the committee's signatures (default: the first THRESHOLD members) on `winner`."""
        digest = self.referee.committeeDigest(self.dispute_id, winner)
        sigs = sign(bytes(digest), COMMITTEE[:THRESHOLD] if signers is None else signers)
        r = self.referee.resolveByCommittee(self.dispute_id, winner, sigs, sender=sender or self.challenger)
        self.receipts.append(r)
        return r

    @property
    def move_gas(self) -> list[int]:
        return [r.gas_used for r in self.receipts if r.method_called.name == "narrow"]
