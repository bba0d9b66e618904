"""L2OutputOracle: outputs in order every SUBMISSION_INTERVAL blocks with an exact bond, finality after the period
unless disputed, deletion of an output and every later one with their bonds credited, pull payments.

Run: `.venv/bin/ape test tests/rollup/l1/test_l2_output_oracle.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
from conftest import BOND, FINALIZATION_PERIOD

ROOT = b"\x11" * 32
ZERO = "0x0000000000000000000000000000000000000000"


def _root(i: int) -> bytes:
    return i.to_bytes(32, "big")


def _propose(oracle, proposer, root: bytes = ROOT):
    return oracle.proposeL2Output(root, oracle.nextBlockNumber(), value=BOND, sender=proposer)


def _age(chain, seconds: int) -> None:
    """Move L1 time on by `seconds` and mine, so views see the new time."""
    chain.mine(deltatime=seconds)


def _holds_every_wei(oracle, accounts) -> None:
    """The balance is the bonds not yet credited plus the credits not yet claimed."""
    uncredited = sum(BOND for i in range(oracle.nextOutputIndex()) if not oracle.bondSettled(i))
    credits = sum(oracle.credit(a) for a in accounts)
    assert oracle.balance == uncredited + credits


def test_propose_records_the_output_and_emits_ops_event(oracle, alice, chain):
    """A proposal for the next block with the bond is stored as OP's OutputProposal and emits OutputProposed."""
    tx = _propose(oracle, alice)
    output = oracle.getL2Output(0)
    assert output.outputRoot == ROOT and output.l2BlockNumber == 1 and output.timestamp == tx.timestamp
    assert tx.events == [
        oracle.OutputProposed(outputRoot=ROOT, l2OutputIndex=0, l2BlockNumber=1, l1Timestamp=tx.timestamp)
    ]
    assert oracle.latestOutputIndex() == 0 and oracle.nextOutputIndex() == 1
    assert oracle.latestBlockNumber() == 1 and oracle.nextBlockNumber() == 2
    assert oracle.proposerOf(0) == alice
    assert oracle.balance == BOND


def test_propose_interval_counts_from_the_starting_block(project, deployer, alice):
    """With interval 5 from block 100 the outputs are for blocks 105, 110, ... and nothing else is accepted."""
    oracle = deployer.deploy(project.L2OutputOracle, 5, 1, 100, 0, FINALIZATION_PERIOD, 0, deployer)
    oracle.grantRole(oracle.PROPOSER_ROLE(), alice, sender=deployer)
    assert oracle.startingBlockNumber() == 100 and oracle.nextBlockNumber() == 105
    with ape.reverts(oracle.OracleUnexpectedBlockNumber, l2BlockNumber=104, expected=105):
        oracle.proposeL2Output(ROOT, 104, sender=alice)
    oracle.proposeL2Output(ROOT, 105, sender=alice)
    with ape.reverts(oracle.OracleUnexpectedBlockNumber, l2BlockNumber=105, expected=110):
        oracle.proposeL2Output(ROOT, 105, sender=alice)
    oracle.proposeL2Output(ROOT, 110, sender=alice)
    assert oracle.getL2OutputIndexAfter(101) == 0 and oracle.getL2OutputIndexAfter(106) == 1
    with ape.reverts(oracle.OracleBlockNotProposed, l2BlockNumber=111, latestBlockNumber=110):
        oracle.getL2OutputIndexAfter(111)


def test_propose_refusals(oracle, alice, eve):
    """A proposal needs PROPOSER_ROLE, exactly PROPOSER_BOND wei and a nonzero root (OP)."""
    with ape.reverts(oracle.AccessControlUnauthorizedAccount, account=eve, neededRole=oracle.PROPOSER_ROLE()):
        oracle.proposeL2Output(ROOT, 1, value=BOND, sender=eve)
    for sent in (0, BOND - 1, BOND + 1):
        with ape.reverts(oracle.OracleWrongBond, sent=sent, required=BOND):
            oracle.proposeL2Output(ROOT, 1, value=sent, sender=alice)
    with ape.reverts(oracle.OracleZeroOutputRoot):
        oracle.proposeL2Output(b"\x00" * 32, 1, value=BOND, sender=alice)
    assert oracle.nextOutputIndex() == 0 and oracle.balance == 0


def test_propose_block_in_the_future_reverts(project, deployer, alice, chain):
    """A block whose earliest L2 timestamp is not before L1's now cannot exist yet (OP's check)."""
    start = chain.pending_timestamp - 5
    oracle = deployer.deploy(project.L2OutputOracle, 10, 1, 0, start, FINALIZATION_PERIOD, 0, deployer)
    oracle.grantRole(oracle.PROPOSER_ROLE(), alice, sender=deployer)
    with ape.reverts(oracle.OracleOutputInFuture, l2BlockNumber=10, earliestL2Timestamp=start + 10):
        oracle.proposeL2Output(ROOT, 10, sender=alice)
    _age(chain, 10)
    oracle.proposeL2Output(ROOT, 10, sender=alice)


def test_constructor_invalid_config_reverts(project, deployer):
    """Settings that would make the oracle unusable are refused at deployment."""
    for args, reason in [
        ((0, 1, 0, 0, 1, 0, deployer), "submission interval is 0"),
        ((1, 0, 0, 0, 1, 0, deployer), "L2 block time is 0"),
        ((1, 1, 0, 2**40, 1, 0, deployer), "starting timestamp in the future"),
        ((1, 1, 2**64, 0, 1, 0, deployer), "starting block above 2**64"),
        ((1, 1, 0, 0, 1, 0, ZERO), "admin is address(0)"),
    ]:
        with ape.reverts(project.L2OutputOracle.OracleInvalidConfig, reason=reason):
            deployer.deploy(project.L2OutputOracle, *args)


def test_views_of_missing_outputs_revert(oracle):
    """An output that does not exist is an OracleUnknownOutput; no output at all is OracleNoOutputs."""
    with ape.reverts(oracle.OracleUnknownOutput, l2OutputIndex=0, nextOutputIndex=0):
        oracle.getL2Output(0)
    with ape.reverts(oracle.OracleUnknownOutput, l2OutputIndex=3, nextOutputIndex=0):
        oracle.proposerOf(3)
    with ape.reverts(oracle.OracleNoOutputs):
        oracle.latestOutputIndex()
    with ape.reverts(oracle.OracleNoOutputs):
        oracle.getL2OutputIndexAfter(0)
    assert not oracle.isFinalized(0) and oracle.disputesOf(0) == 0


def test_output_is_final_only_after_the_period_and_then_its_bond_is_claimable(oracle, alice, bob, chain):
    """Before FINALIZATION_PERIOD_SECONDS the output is not final and its bond locked; after it, the proposer
    credits and claims the bond once."""
    _propose(oracle, alice)
    assert not oracle.isFinalized(0)
    with ape.reverts(oracle.OracleOutputNotFinalized, l2OutputIndex=0):
        oracle.withdrawBond(0, sender=alice)
    _age(chain, FINALIZATION_PERIOD + 1)
    assert oracle.isFinalized(0)
    with ape.reverts(oracle.OracleNotProposer, l2OutputIndex=0, caller=bob, proposer=alice):
        oracle.withdrawBond(0, sender=bob)
    tx = oracle.withdrawBond(0, sender=alice)
    assert tx.events == [oracle.BondCredited(account=alice, l2OutputIndex=0, amount=BOND)]
    assert oracle.bondSettled(0) and oracle.credit(alice) == BOND
    with ape.reverts(oracle.OracleBondSettled, l2OutputIndex=0):
        oracle.withdrawBond(0, sender=alice)
    before = alice.balance
    tx = oracle.claim(sender=alice)
    assert alice.balance == before + BOND - tx.total_fees_paid
    assert oracle.credit(alice) == 0 and oracle.balance == 0
    with ape.reverts(oracle.OracleNothingToClaim, account=alice):
        oracle.claim(sender=alice)


def test_disputed_output_and_every_later_one_are_not_final(oracle, alice, referee, chain):
    """While output 1 is disputed, outputs 1 and 2 stay non-final past their period (0 is final); closing the
    dispute makes them final."""
    for _ in range(3):
        _propose(oracle, alice)
    tx = oracle.setDisputed(1, True, sender=referee)
    assert tx.events == [oracle.OutputDisputeMarked(l2OutputIndex=1, disputed=True, openDisputes=1)]
    _age(chain, FINALIZATION_PERIOD + 1)
    assert [oracle.isFinalized(i) for i in range(3)] == [True, False, False]
    with ape.reverts(oracle.OracleOutputNotFinalized, l2OutputIndex=2):
        oracle.withdrawBond(2, sender=alice)
    oracle.setDisputed(1, False, sender=referee)
    assert [oracle.isFinalized(i) for i in range(3)] == [True, True, True]
    with ape.reverts(oracle.OracleOutputNotDisputed, l2OutputIndex=1):
        oracle.setDisputed(1, False, sender=referee)


def test_disputes_are_counted_per_output(oracle, alice, referee, chain):
    """Two dispute games over one output: it stays disputed until both have closed theirs; the earliest
    disputed output is found again when the first one closes."""
    for _ in range(4):
        _propose(oracle, alice)
    oracle.setDisputed(1, True, sender=referee)
    oracle.setDisputed(1, True, sender=referee)
    oracle.setDisputed(3, True, sender=referee)
    _age(chain, FINALIZATION_PERIOD + 1)
    oracle.setDisputed(1, False, sender=referee)
    assert oracle.disputesOf(1) == 1 and not oracle.isFinalized(1)
    oracle.setDisputed(1, False, sender=referee)
    assert [oracle.isFinalized(i) for i in range(4)] == [True, True, True, False]  # 3 still disputed
    oracle.setDisputed(3, False, sender=referee)
    assert oracle.isFinalized(3)


def test_final_output_cannot_be_disputed_or_deleted(oracle, alice, referee, chain):
    """Once final an output stays final: no dispute opens over it and it is never deleted."""
    _propose(oracle, alice)
    _age(chain, FINALIZATION_PERIOD + 1)
    with ape.reverts(oracle.OracleOutputFinalized, l2OutputIndex=0):
        oracle.setDisputed(0, True, sender=referee)
    with ape.reverts(oracle.OracleOutputFinalized, l2OutputIndex=0):
        oracle.deleteL2Outputs(0, referee, sender=referee)


def test_delete_removes_the_output_and_every_later_one_and_credits_the_bonds(
    oracle, alice, bob_proposes, carol, referee, chain, accounts
):
    """Deleting output 1 of 0..3 leaves output 0; output 1's bond goes to the beneficiary, 2's and 3's back to
    their proposers; the next proposal is for output 1's block again."""
    bob = bob_proposes
    for proposer in (alice, bob, alice, bob):
        _propose(oracle, proposer)
    oracle.setDisputed(2, True, sender=referee)
    tx = oracle.deleteL2Outputs(1, carol, sender=referee)
    assert tx.events == [
        oracle.BondCredited(account=bob, l2OutputIndex=3, amount=BOND),
        oracle.BondCredited(account=alice, l2OutputIndex=2, amount=BOND),
        oracle.BondCredited(account=carol, l2OutputIndex=1, amount=BOND),
        oracle.OutputsDeleted(prevNextOutputIndex=4, newNextOutputIndex=1),
    ]
    assert oracle.nextOutputIndex() == 1 and oracle.latestBlockNumber() == 1 and oracle.nextBlockNumber() == 2
    assert (oracle.credit(carol), oracle.credit(alice), oracle.credit(bob)) == (BOND, BOND, BOND)
    _holds_every_wei(oracle, accounts)
    with ape.reverts(oracle.OracleUnknownOutput, l2OutputIndex=1, nextOutputIndex=1):
        oracle.getL2Output(1)
    # The deleted outputs' disputes ended with them: a new output at index 2 is not disputed.
    _propose(oracle, bob, _root(7))
    _propose(oracle, bob, _root(8))
    assert oracle.disputesOf(2) == 0 and oracle.getL2Output(1).outputRoot == _root(7)
    _age(chain, FINALIZATION_PERIOD + 1)
    assert [oracle.isFinalized(i) for i in range(3)] == [True, True, True]
    _holds_every_wei(oracle, accounts)
    for account in (alice, bob, carol):
        oracle.claim(sender=account)
    assert oracle.balance == 3 * BOND  # the three live outputs' bonds


def test_delete_keeps_disputes_over_earlier_outputs(oracle, alice, referee, chain):
    """Deleting output 2 ends the disputes over 2 and later ones but not the dispute over output 0."""
    for _ in range(3):
        _propose(oracle, alice)
    oracle.setDisputed(0, True, sender=referee)
    oracle.setDisputed(2, True, sender=referee)
    oracle.deleteL2Outputs(2, referee, sender=referee)
    _age(chain, FINALIZATION_PERIOD + 1)
    assert [oracle.isFinalized(i) for i in range(2)] == [False, False]
    oracle.setDisputed(0, False, sender=referee)
    assert [oracle.isFinalized(i) for i in range(2)] == [True, True]


def test_dispute_and_delete_refusals(oracle, alice, referee, eve):
    """Only DISPUTE_ROLE holders dispute or delete outputs; deleting past the last output or crediting address(0)
    is refused."""
    _propose(oracle, alice)
    role = oracle.DISPUTE_ROLE()
    with ape.reverts(oracle.AccessControlUnauthorizedAccount, account=eve, neededRole=role):
        oracle.setDisputed(0, True, sender=eve)
    with ape.reverts(oracle.AccessControlUnauthorizedAccount, account=eve, neededRole=role):
        oracle.deleteL2Outputs(0, eve, sender=eve)
    with ape.reverts(oracle.OracleUnknownOutput, l2OutputIndex=1, nextOutputIndex=1):
        oracle.setDisputed(1, True, sender=referee)
    with ape.reverts(oracle.OracleUnknownOutput, l2OutputIndex=1, nextOutputIndex=1):
        oracle.deleteL2Outputs(1, referee, sender=referee)
    with ape.reverts(oracle.OracleZeroBeneficiary):
        oracle.deleteL2Outputs(0, ZERO, sender=referee)


@pytest.mark.slow
def test_proposals_wait_while_a_dispute_has_its_backlog(oracle, alice, referee):
    """With output 0 disputed, MAX_OUTPUTS_PAST_DISPUTE outputs may stand from it on; the next proposal waits
    until the dispute ends, and deleting all of them fits well in a block."""
    maximum = oracle.MAX_OUTPUTS_PAST_DISPUTE()
    _propose(oracle, alice)
    oracle.setDisputed(0, True, sender=referee)
    for _ in range(maximum - 1):
        _propose(oracle, alice)
    with ape.reverts(oracle.OracleDisputeBacklog, firstDisputed=0, maximum=maximum):
        _propose(oracle, alice)
    tx = oracle.deleteL2Outputs(0, referee, sender=referee)
    assert oracle.nextOutputIndex() == 0 and tx.gas_used < 6_000_000
    print(f"\ndeleting {maximum} outputs: {tx.gas_used} gas")
    _propose(oracle, alice)
