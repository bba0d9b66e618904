"""Fixtures for the rollup's L1 contracts: L2OutputOracle, RollupPortal and BatchInbox, deployed per test (Ape
restores the chain after each; module-scoped deployments would break that isolation here).

Roles: `deployer` is governance (DEFAULT_ADMIN_ROLE), `alice` proposes outputs (PROPOSER_ROLE; `bob` too with
`bob_proposes`), `referee`
stands in for the output dispute game (DISPUTE_ROLE), `carol` posts batches (BATCHER_ROLE), `eve` is an outsider.

Run: `.venv/bin/ape test tests/rollup/l1 -q -p no:cacheprovider`
"""

from __future__ import annotations

import pytest

SUBMISSION_INTERVAL = 1  # L2 blocks between outputs: every block can be proposed, as the tests' L2 makes one
L2_BLOCK_TIME = 1  # the least spacing of our L2's block timestamps
FINALIZATION_PERIOD = 600  # seconds before an undisputed output is final
PROOF_MATURITY_DELAY = 300  # seconds between proving and finalizing a withdrawal
BOND = 10**16  # wei per output


@pytest.fixture
def oracle(project, deployer, alice, referee):
    """The output oracle counting from L2 genesis (block 0, timestamp 0 in rollup/genesis.json)."""
    oracle = deployer.deploy(
        project.L2OutputOracle, SUBMISSION_INTERVAL, L2_BLOCK_TIME, 0, 0, FINALIZATION_PERIOD, BOND, deployer
    )
    oracle.grantRole(oracle.PROPOSER_ROLE(), alice, sender=deployer)
    oracle.grantRole(oracle.DISPUTE_ROLE(), referee, sender=deployer)
    return oracle


@pytest.fixture
def bob_proposes(oracle, deployer, bob):
    """`bob` a second proposer (one grant more, only where a test needs two)."""
    oracle.grantRole(oracle.PROPOSER_ROLE(), bob, sender=deployer)
    return bob


@pytest.fixture
def portal(project, deployer, oracle):
    return deployer.deploy(project.RollupPortal, oracle, PROOF_MATURITY_DELAY)


@pytest.fixture
def inbox(project, deployer, carol):
    inbox = deployer.deploy(project.BatchInbox, deployer)
    inbox.grantRole(inbox.BATCHER_ROLE(), carol, sender=deployer)
    return inbox
