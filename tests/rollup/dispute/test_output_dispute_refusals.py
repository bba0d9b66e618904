"""OutputDispute refusals, each with its custom error: opening (bond, self, unknown output, a second dispute on
the same output), the wrong side moving, widths, picks out of range or over other roots, bad preimages and
headers, evidence, verdicts with too few, foreign or repeated signatures, the committee setup, withdrawals.

Run: `.venv/bin/ape test tests/rollup/dispute -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
import rlp
from eth_account import Account
from eth_utils import keccak
from output_dispute_support import (
    BLOCKS_ARITY,
    CHALLENGER_BOND,
    CLOCK,
    COMMITTEE,
    HONEST,
    THRESHOLD,
    TXS_ARITY,
    Game,
    HeaderCheck,
    Party,
    Phase,
    Resolution,
    ToyL2,
    sign,
)

LIAR = ToyL2(bad=(40, 1))
ZERO32 = b"\x00" * 32


@pytest.fixture
def game(propose, open_game):
    """A dispute over output 0 (blocks (0, 64]) of a proposer lying from block 40, nobody has moved."""
    propose(LIAR, count=1, interval=64)
    return open_game(0, defender_l2=LIAR)


@pytest.fixture
def block_game(propose, open_game):
    """A dispute over a one-block output (block 1, wrong from its transaction 2): pinned at opening."""
    liar = ToyL2(bad=(1, 2))
    propose(liar, count=1, interval=1)
    return open_game(0, defender_l2=liar)


# ---------------------------------------------------------------- opening


def test_opening_refusals(dispute, oracle, propose, alice, bob, eve):
    propose(LIAR, count=1, interval=64)
    with ape.reverts(dispute.OutputDisputeWrongBond, sent=1, expected=CHALLENGER_BOND):
        dispute.openDispute(0, sender=bob, value=1)
    with ape.reverts(dispute.OutputDisputeUnknownOutput, outputIndex=1):
        dispute.openDispute(1, sender=bob, value=CHALLENGER_BOND)
    with ape.reverts(dispute.OutputDisputeSelfDispute, account=alice.address):
        dispute.openDispute(0, sender=alice, value=CHALLENGER_BOND)


def test_second_dispute_on_the_same_output_is_refused(dispute, game, eve):
    with ape.reverts(dispute.OutputDisputeAlreadyDisputed, outputIndex=0, disputeId=game.dispute_id):
        dispute.openDispute(0, sender=eve, value=CHALLENGER_BOND)


def test_bad_config_is_refused(project, deployer, oracle):
    with ape.reverts(project.OutputDispute.OutputDisputeBadConfig):
        deployer.deploy(project.OutputDispute, oracle, deployer, ZERO32, CHALLENGER_BOND, CLOCK, 1, 16)
    with ape.reverts(project.OutputDispute.OutputDisputeBadConfig):
        deployer.deploy(project.OutputDispute, oracle, deployer, ZERO32, 0, CLOCK, 16, 16)


# ---------------------------------------------------------------- bisection


def test_wrong_side_moving_is_refused(dispute, game, eve):
    """The defender posts roots, the challenger picks; nobody else moves."""
    roots = [LIAR.output_root(p) for p in dispute.positions(game.dispute_id)]
    with ape.reverts(dispute.OutputDisputeNotYourTurn, disputeId=game.dispute_id, caller=game.challenger.address,
                     turn=Party.DEFENDER):  # fmt: skip
        dispute.postRoots(game.dispute_id, roots, sender=game.challenger)
    with ape.reverts(dispute.OutputDisputeNotYourTurn, disputeId=game.dispute_id, caller=eve.address,
                     turn=Party.DEFENDER):  # fmt: skip
        dispute.postRoots(game.dispute_id, roots, sender=eve)
    with ape.reverts(dispute.OutputDisputeWrongMove, disputeId=game.dispute_id, side=Party.CHALLENGER,
                     turn=Party.DEFENDER):  # fmt: skip
        dispute.pick(game.dispute_id, 0, roots, sender=game.challenger)
    game.post_roots()
    with ape.reverts(dispute.OutputDisputeWrongMove, disputeId=game.dispute_id, side=Party.DEFENDER,
                     turn=Party.CHALLENGER):  # fmt: skip
        dispute.postRoots(game.dispute_id, roots, sender=game.defender)
    with ape.reverts(dispute.OutputDisputeNotYourTurn, disputeId=game.dispute_id, caller=game.defender.address,
                     turn=Party.CHALLENGER):  # fmt: skip
        dispute.pick(game.dispute_id, 0, roots, sender=game.defender)


def test_wrong_width_is_refused(dispute, game):
    roots = [LIAR.output_root(p) for p in dispute.positions(game.dispute_id)]
    assert len(roots) == 15
    with ape.reverts(dispute.OutputDisputeBadWidth, disputeId=game.dispute_id, have=14, need=15):
        dispute.postRoots(game.dispute_id, roots[:-1], sender=game.defender)


def test_out_of_range_pick_is_refused(dispute, game):
    roots = game.post_roots()
    with ape.reverts(dispute.OutputDisputeBadPick, disputeId=game.dispute_id, piece=16, count=15):
        dispute.pick(game.dispute_id, 16, roots, sender=game.challenger)
    dispute.pick(game.dispute_id, 15, roots, sender=game.challenger)  # the last piece is in range
    d = game.d
    assert (d.lo, d.hi, d.disputedRoot) == (60, 64, LIAR.output_root(64))


def test_pick_over_other_roots_is_refused(dispute, game):
    roots = game.post_roots()
    forged = [HONEST.output_root(p) for p in dispute.positions(game.dispute_id)]
    with ape.reverts(dispute.OutputDisputeRootsMismatch, disputeId=game.dispute_id):
        dispute.pick(game.dispute_id, 0, forged, sender=game.challenger)
    with ape.reverts(dispute.OutputDisputeRootsMismatch, disputeId=game.dispute_id):
        dispute.pick(game.dispute_id, 0, roots[:-1], sender=game.challenger)


def test_moves_of_another_phase_are_refused(dispute, game):
    with ape.reverts(dispute.OutputDisputeWrongPhase, disputeId=game.dispute_id, phase=Phase.BLOCKS):
        dispute.disputeBlock(game.dispute_id, sender=game.challenger)
    with ape.reverts(dispute.OutputDisputeWrongPhase, disputeId=game.dispute_id, phase=Phase.BLOCKS):
        dispute.postEvidence(game.dispute_id, ZERO32, b"", b"", sender=game.defender)
    with ape.reverts(dispute.OutputDisputeUnknownDispute, disputeId=99):
        dispute.postRoots(99, [], sender=game.defender)
    with ape.reverts(dispute.OutputDisputeUnknownDispute, disputeId=99):
        dispute.timeout(99, sender=game.defender)


# ---------------------------------------------------------------- the block


def test_bad_preimage_is_refused(dispute, block_game):
    """Both output-root preimages must hash (version 0) to the agreed and the disputed roots."""
    g, l2 = block_game, block_game.defender_l2
    pre, post, header = l2.preimage(0), l2.preimage(1), l2.header(1)
    agreed, disputed = HONEST.output_root(0), l2.output_root(1)
    wrong = (ZERO32, post[1], b"\x01" * 32, post[3])
    with ape.reverts(dispute.OutputDisputeBadPreimage, disputeId=g.dispute_id, expected=disputed):
        dispute.revealBlock(g.dispute_id, pre, wrong, header, 3, sender=g.defender)
    with ape.reverts(dispute.OutputDisputeBadPreimage, disputeId=g.dispute_id, expected=agreed):
        dispute.revealBlock(g.dispute_id, post, post, header, 3, sender=g.defender)
    with ape.reverts(dispute.OutputDisputeBadHeader, disputeId=g.dispute_id, check=HeaderCheck.HASH):
        dispute.revealBlock(g.dispute_id, pre, post, l2.header(0), 3, sender=g.defender)


def test_output_over_a_header_with_the_wrong_number_cannot_be_revealed(dispute, oracle, propose, open_game, chain):
    """A proposer whose output commits to a header numbered wrongly cannot reveal it, and loses by timeout."""
    liar = ToyL2(bad_number=1)
    propose(liar, count=1, interval=1)
    g = open_game(0, defender_l2=liar)
    with ape.reverts(dispute.OutputDisputeBadHeader, disputeId=g.dispute_id, check=HeaderCheck.NUMBER):
        g.reveal()
    chain.pending_timestamp = dispute.moveDeadline(g.dispute_id) + 1
    dispute.timeout(g.dispute_id, sender=g.challenger)
    assert g.d.winner == Party.CHALLENGER and oracle.nextOutputIndex() == 0


_FIELDS = HONEST.header_fields(1)
_HEADER_CASES = {
    "parent": (rlp.encode([b"\x11" * 32, *_FIELDS[1:]]), None, HeaderCheck.PARENT),
    "state root": (rlp.encode(_FIELDS), b"\x22" * 32, HeaderCheck.STATE_ROOT),
    "too short": (rlp.encode(_FIELDS[:6]), None, HeaderCheck.ENCODING),
    "bloom of 255 bytes": (rlp.encode([*_FIELDS[:6], b"\x00" * 255, *_FIELDS[7:]]), None, HeaderCheck.ENCODING),
    "number cut off": (rlp.encode(_FIELDS[:8] + [b"\x01" * 40]), None, HeaderCheck.ENCODING),
}


@pytest.mark.parametrize("case", list(_HEADER_CASES))
def test_header_checks(dispute, oracle, deployer, open_game, case):
    """Each header check. The disputed output root is built over the forged header (and the forged state root),
    so the preimage and hash checks pass and only the header check can refuse it."""
    header, state, check = _HEADER_CASES[case]
    post = (ZERO32, state or HONEST.final_state(1), HONEST.passer_root(1), keccak(header))
    oracle.proposeL2Output(keccak(b"".join(post)), 1, sender=deployer, value=1)
    g = open_game(0)
    with ape.reverts(dispute.OutputDisputeBadHeader, disputeId=g.dispute_id, check=check):
        dispute.revealBlock(g.dispute_id, HONEST.preimage(0), post, header, 1, sender=deployer)


# ---------------------------------------------------------------- evidence and verdict


def _to_evidence(g):
    g.reveal()
    g.answer_block()
    g.bisect()
    assert g.d.phase == Phase.EVIDENCE


def test_answer_with_the_defenders_state_root_is_refused(dispute, block_game):
    g = block_game
    with ape.reverts(dispute.OutputDisputeWrongPhase, disputeId=g.dispute_id, phase=Phase.BLOCK):
        dispute.postRoots(g.dispute_id, [], sender=g.defender)
    g.reveal()
    root = g.defender_l2.final_state(1)
    with ape.reverts(dispute.OutputDisputeRootsAgree, disputeId=g.dispute_id, root=root):
        dispute.disputeTransactions(g.dispute_id, root, sender=g.challenger)


def test_evidence_refusals(dispute, block_game):
    g = block_game
    _to_evidence(g)
    d = g.d
    mine = g.defender_l2.state_root(1, d.txIndex + 1)
    with ape.reverts(dispute.OutputDisputeBadPostRoot, disputeId=g.dispute_id, expected=mine, posted=ZERO32):
        dispute.postEvidence(g.dispute_id, ZERO32, b"", b"", sender=g.defender)
    with ape.reverts(dispute.OutputDisputeNotYourTurn, disputeId=g.dispute_id, caller=g.challenger.address,
                     turn=Party.DEFENDER):  # fmt: skip
        dispute.postEvidence(g.dispute_id, ZERO32, b"", b"", sender=g.challenger)
    dispute.postEvidence(g.dispute_id, mine, b"\x02tx", b"witness", sender=g.defender)
    with ape.reverts(dispute.OutputDisputeRootsAgree, disputeId=g.dispute_id, root=mine):
        dispute.postEvidence(g.dispute_id, mine, b"", b"", sender=g.challenger)


def test_verdict_refusals(dispute, block_game, eve):
    """Too few signatures, a stranger's, a member's twice, no side as winner, a verdict before the record."""
    g = block_game
    with ape.reverts(dispute.OutputDisputeWrongPhase, disputeId=g.dispute_id, phase=Phase.BLOCK):
        g.verdict(Party.CHALLENGER)
    _to_evidence(g)
    g.evidence()
    with ape.reverts(dispute.OutputDisputeTooFewSignatures, disputeId=g.dispute_id, have=2, need=THRESHOLD):
        g.verdict(Party.CHALLENGER, signers=COMMITTEE[:2])
    stranger = Account.from_key(b"\x07" * 32)
    with ape.reverts(dispute.OutputDisputeNotCommitteeMember, disputeId=g.dispute_id, signer=stranger.address):
        g.verdict(Party.CHALLENGER, signers=[*COMMITTEE[:2], stranger])
    with ape.reverts(dispute.OutputDisputeDuplicateSigner, disputeId=g.dispute_id, signer=COMMITTEE[0].address):
        g.verdict(Party.CHALLENGER, signers=[COMMITTEE[0], COMMITTEE[1], COMMITTEE[0]])
    # Signatures over the other winner recover other addresses: not members.
    sigs = sign(bytes(dispute.committeeDigest(g.dispute_id, Party.DEFENDER)), COMMITTEE[:THRESHOLD])
    with ape.reverts(dispute.OutputDisputeNotCommitteeMember, disputeId=g.dispute_id):
        dispute.resolveByCommittee(g.dispute_id, Party.CHALLENGER, sigs, sender=eve)
    with ape.reverts(dispute.OutputDisputeBadWinner, disputeId=g.dispute_id, winner=Party.NONE):
        dispute.resolveByCommittee(g.dispute_id, Party.NONE, sigs, sender=eve)
    g.verdict(Party.CHALLENGER)
    with ape.reverts(dispute.OutputDisputeResolved, disputeId=g.dispute_id):
        g.verdict(Party.CHALLENGER)
    with ape.reverts(dispute.OutputDisputeResolved, disputeId=g.dispute_id):
        dispute.timeout(g.dispute_id, sender=eve)


def test_dispute_opened_before_any_committee_can_only_expire(project, deployer, oracle, propose, alice, bob, chain):
    """No committee in force at opening: nobody can decide it (no empty signature list passes a zero threshold);
    it expires after the committee's clock."""
    bare = deployer.deploy(project.OutputDispute, oracle, deployer, HONEST.output_root(0), CHALLENGER_BOND, CLOCK,
                           BLOCKS_ARITY, TXS_ARITY)  # fmt: skip
    oracle.grantRole(oracle.DISPUTE_ROLE(), bare, sender=deployer)
    liar = ToyL2(bad=(1, 2))
    propose(liar, count=1, interval=1)
    r = bare.openDispute(0, sender=bob, value=CHALLENGER_BOND)
    g = Game(bare, r.events.filter(bare.DisputeOpened)[0].disputeId, bob, alice, HONEST, liar)
    _to_evidence(g)
    g.evidence()
    with ape.reverts(bare.OutputDisputeNoCommittee, disputeId=g.dispute_id):
        bare.resolveByCommittee(g.dispute_id, Party.CHALLENGER, [], sender=bob)
    chain.pending_timestamp = bare.moveDeadline(g.dispute_id) + 1
    bare.timeout(g.dispute_id, sender=bob)
    assert g.d.how == Resolution.EXPIRED


# ---------------------------------------------------------------- governance and money


def test_committee_setup_refusals(dispute, deployer, eve):
    members = [m.address for m in COMMITTEE]
    with ape.reverts(dispute.AccessControlUnauthorizedAccount):
        dispute.setCommittee(members, THRESHOLD, sender=eve)
    for bad, threshold in ([], 1), (members, 0), (members, 6), ([members[0], members[0]], 1):
        with ape.reverts(dispute.OutputDisputeBadCommitteeSetup, members=len(bad), threshold=threshold):
            dispute.setCommittee(bad, threshold, sender=deployer)


def test_new_committee_does_not_judge_disputes_already_open(dispute, deployer, block_game):
    g = block_game
    dispute.setCommittee([deployer.address], 1, sender=deployer)
    _to_evidence(g)
    g.evidence()
    assert list(dispute.committeeOf(g.dispute_id)[0]) == [m.address for m in COMMITTEE]
    g.verdict(Party.CHALLENGER)  # the old members still decide it


def test_nothing_to_withdraw_is_refused(dispute, eve):
    with ape.reverts(dispute.OutputDisputeNothingToWithdraw, account=eve.address):
        dispute.withdrawBond(sender=eve)
