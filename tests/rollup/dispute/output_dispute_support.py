"""Helpers for the OutputDispute tests: the game's settings, and the game driver of rollup/dispute_play.py (the toy
L2 with a party lying at one transaction of one block, the committee's keys, every move of both sides) bound to
Ape's contract objects. Named uniquely so it cannot clash with another test folder's support module.
"""

from __future__ import annotations

from typing import Any

from rollup.dispute_play import (  # noqa: F401  (re-exported for the tests)
    COMMITTEE,
    COMMITTEE_KEYS,
    HONEST,
    THRESHOLD,
    HeaderCheck,
    Kind,
    Party,
    Phase,
    Resolution,
    ToyL2,
    first_disagreement,
    sign,
    witness,
)
from rollup.dispute_play import Game as _Game

CHALLENGER_BOND = 10**17  # wei
PROPOSER_BOND = 10**18  # wei, held by the (mock) oracle
CLOCK = 3_600  # seconds per side per dispute, and the committee's
BLOCKS_ARITY = 16
TXS_ARITY = 16
INTERVAL = 1_024  # L2 blocks per output
MOVE_GAS_CAP = 150_000  # every bisection move (15 roots) and the block reveal (a ~600-byte header) stay under this
OPEN_GAS_CAP = 300_000
VERDICT_GAS_CAP = 250_000  # three signatures, and the (mock) oracle deleting outputs


class Game(_Game):
    """The game on an Ape contract; the sides are Ape accounts and receipts Ape's (events, method names)."""

    def _call(self, method: str, *args: Any) -> Any:
        return getattr(self.contract, method)(*args)

    def _transact(self, method: str, *args: Any, sender: Any) -> Any:
        return getattr(self.contract, method)(*args, sender=sender)

    @staticmethod
    def gas_used(receipt: Any) -> int:
        return receipt.gas_used
