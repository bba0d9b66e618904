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
MOVE_GAS_CAP = 150_000  # every bisect call stays under this
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
        """One bisection round: the defender commits at the midpoint, the challenger answers."""
        mid = self.referee.midpoint(self.dispute_id)
        self.receipts.append(self.referee.bisect(self.dispute_id, defender_root(mid), sender=self.defender))
        self.receipts.append(self.referee.bisect(self.dispute_id, challenger_root(mid), sender=self.challenger))

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
        return [r.gas_used for r in self.receipts if r.method_called.name == "bisect"]
