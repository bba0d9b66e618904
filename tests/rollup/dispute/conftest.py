"""Fixtures for OutputDispute: the mock output oracle (a test double of L2OutputOracle) and the game holding its
DISPUTE_ROLE with a committee of 5 (threshold 3), deployed per test (function scope: Ape snapshots make it cheap).

Roles: `deployer` is governance, `alice` proposes outputs, `bob` challenges, `eve` is anyone else.

Run: `.venv/bin/ape test tests/rollup/dispute -q -p no:cacheprovider`
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))

from output_dispute_support import (  # noqa: E402
    BLOCKS_ARITY,
    CHALLENGER_BOND,
    CLOCK,
    COMMITTEE,
    HONEST,
    INTERVAL,
    PROPOSER_BOND,
    THRESHOLD,
    TXS_ARITY,
    Game,
    ToyL2,
)


@pytest.fixture
def oracle(project, deployer):
    """The mock oracle, starting at L2 block 0."""
    return deployer.deploy(project.MockOutputOracle, 0, deployer)


@pytest.fixture
def dispute(project, deployer, oracle):
    """OutputDispute over the mock oracle, with the dispute role and the committee set."""
    game = deployer.deploy(
        project.OutputDispute,
        oracle,
        deployer,
        HONEST.output_root(0),
        CHALLENGER_BOND,
        CLOCK,
        BLOCKS_ARITY,
        TXS_ARITY,
    )
    oracle.grantRole(oracle.DISPUTE_ROLE(), game, sender=deployer)
    game.setCommittee([m.address for m in COMMITTEE], THRESHOLD, sender=deployer)
    return game


@pytest.fixture
def propose(oracle, alice):
    """`alice` posts outputs 0..count-1 every INTERVAL blocks from `l2`'s roots (default honest)."""

    def propose_(l2: ToyL2 = HONEST, count: int = 2, interval: int = INTERVAL, proposer=None) -> None:
        start = oracle.nextOutputIndex()
        for i in range(start, start + count):
            block = (i + 1) * interval
            oracle.proposeL2Output(l2.output_root(block), block, sender=proposer or alice, value=PROPOSER_BOND)

    return propose_


@pytest.fixture
def open_game(dispute, alice, bob):
    """`bob` disputes output `index`; `challenger_l2` and `defender_l2` are the views the two sides play."""

    def open_(index: int, challenger_l2: ToyL2 = HONEST, defender_l2: ToyL2 = HONEST, challenger=None) -> Game:
        challenger = challenger or bob
        r = dispute.openDispute(index, sender=challenger, value=CHALLENGER_BOND)
        dispute_id = r.events.filter(dispute.DisputeOpened)[0].disputeId
        game = Game(dispute, dispute_id, challenger, alice, challenger_l2, defender_l2)
        game.opening = r
        return game

    return open_
