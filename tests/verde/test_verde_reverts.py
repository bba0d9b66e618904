"""VerdeReferee guards: opening, turns, phases, bonds, committee signatures and governance.

Run: `.venv/bin/ape test tests/verde -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
from eth_abi import encode
from eth_account import Account
from eth_utils import keccak
from verde_support import BOND, COMMITTEE, STEPS_ARITY, THRESHOLD, Party, Phase, at, honest_root, liar, positions, sign

# ---------------------------------------------------------------- opening


def test_openSolverDispute_roots_agree_reverts(job, referee, bob, carol):
    """Disputing a checkpoint whose roots agree reverts with RefereeRootsAgree."""
    with ape.reverts(referee.RefereeRootsAgree, jobId=job, index=1, root=honest_root(30)):
        referee.openSolverDispute(job, bob, 1, sender=carol, value=BOND)


def test_openSolverDispute_prior_roots_differ_reverts(job, referee, post_roots, bob, carol):
    """Disputing checkpoint 3 while checkpoint 2 already differs reverts with RefereePriorRootsDiffer."""
    post_roots(job, bob, honest_root, 3)
    post_roots(job, carol, liar(40), 3)
    with ape.reverts(referee.RefereePriorRootsDiffer, jobId=job, index=3):
        referee.openSolverDispute(job, bob, 3, sender=carol, value=BOND)


def test_openSolverDispute_wrong_bond_reverts(job, referee, bob, carol):
    """Opening without exactly BOND reverts with RefereeWrongBond."""
    with ape.reverts(referee.RefereeWrongBond, sent=BOND - 1, expected=BOND):
        referee.openSolverDispute(job, bob, 2, sender=carol, value=BOND - 1)


def test_openSolverDispute_non_solver_reverts(job, referee, bob, eve):
    """A non-solver cannot open a solver dispute."""
    with ape.reverts(referee.RefereeNotSolver, jobId=job, account=eve.address):
        referee.openSolverDispute(job, bob, 2, sender=eve, value=BOND)


def test_openWatcherDispute_self_reverts(job, referee, eve):
    """A watcher naming itself as defender reverts with RefereeSelfDispute."""
    with ape.reverts(referee.RefereeSelfDispute, account=eve.address):
        referee.openWatcherDispute(job, eve, 2, b"\x01" * 32, sender=eve, value=BOND)


def test_openWatcherDispute_by_solver_reverts(job, referee, bob, carol):
    """A solver cannot dispute as a watcher (its own claims would stay unfrozen)."""
    with ape.reverts(referee.RefereeWatcherIsSolver, jobId=job, account=carol.address):
        referee.openWatcherDispute(job, bob, 2, b"\x01" * 32, sender=carol, value=BOND)


def test_openWatcherDispute_window_closed_reverts(job, referee, market, h, bob, eve):
    """A checkpoint past its challenge window cannot be disputed (the market's JobChallengeWindowClosed)."""
    h.warp(h.d.window)
    with ape.reverts(market.JobChallengeWindowClosed, jobId=job, solver=bob.address, index=2):
        referee.openWatcherDispute(job, bob, 2, b"\x01" * 32, sender=eve, value=BOND)


def test_openWatcherDispute_unposted_checkpoint_reverts(job, referee, market, bob, eve):
    """A checkpoint the defender has not posted cannot be disputed."""
    with ape.reverts(market.JobCheckpointNotPosted, jobId=job, solver=bob.address, index=3):
        referee.openWatcherDispute(job, bob, 3, b"\x01" * 32, sender=eve, value=BOND)


def test_openWatcherDispute_records_dispute_event(job, referee, bob, eve):
    """Opening records the range, roots and clocks and emits DisputeCreated field by field."""
    receipt = referee.openWatcherDispute(job, bob, 2, b"\x01" * 32, sender=eve, value=BOND)
    event = receipt.events.filter(referee.DisputeCreated)[0]
    assert (event.disputeId, event.jobId, event.challenger, event.defender, event.index, event.watcher) == (
        1,
        job,
        eve.address,
        bob.address,
        2,
        True,
    )
    d = referee.disputeOf(1)
    assert (d.lo, d.hi, d.phase, d.turn) == (30, 60, Phase.STEPS, Party.DEFENDER)
    assert d.agreedRoot == honest_root(30) and d.defenderRoot == honest_root(60)
    assert list(referee.positions(1)) == positions(30, 60, STEPS_ARITY) and referee.disputeCount() == 1


# ---------------------------------------------------------------- moves


def test_defender_first_move_needs_no_bond(job, referee, market, open_solver, bob, carol):
    """The defender's collateral is its market stake: its first move is a plain narrowing move, and the referee
    holds only the challenger's bond."""
    game = open_solver(job, carol, bob, 2)
    referee.narrow(game.dispute_id, at(referee, game.dispute_id, honest_root), [], sender=bob)
    assert referee.disputeOf(game.dispute_id).turn == Party.CHALLENGER
    assert ape.chain.provider.get_balance(referee.address) == BOND


def test_bisect_not_your_turn_reverts(job, referee, open_solver, bob, carol, eve):
    """Only the side to move may move: the challenger, then an outsider, are turned away."""
    game = open_solver(job, carol, bob, 2)
    roots = at(referee, game.dispute_id, honest_root)
    with ape.reverts(
        referee.RefereeNotYourTurn, disputeId=game.dispute_id, caller=carol.address, expected=Party.DEFENDER
    ):
        referee.narrow(game.dispute_id, roots, [], sender=carol)
    referee.narrow(game.dispute_id, roots, [], sender=bob)
    with ape.reverts(
        referee.RefereeNotYourTurn, disputeId=game.dispute_id, caller=eve.address, expected=Party.CHALLENGER
    ):
        referee.narrow(game.dispute_id, roots, roots, sender=eve)


def test_narrow_wrong_width_or_defender_values_reverts(job, referee, open_solver, bob, carol):
    """A Steps move carries exactly one root per position (RefereeBadWidth), and the challenger's copy of the
    defender's roots must be the ones the defender posted (RefereeBadProof); both change nothing."""
    game = open_solver(job, carol, bob, 2)
    roots = at(referee, game.dispute_id, honest_root)
    with ape.reverts(referee.RefereeBadWidth, disputeId=game.dispute_id, have=len(roots) - 1, need=len(roots)):
        referee.narrow(game.dispute_id, roots[:-1], [], sender=bob)
    referee.narrow(game.dispute_id, roots, [], sender=bob)
    forged = [*roots[:-1], b"\x09" * 32]
    with ape.reverts(referee.RefereeBadProof, disputeId=game.dispute_id):
        referee.narrow(game.dispute_id, at(referee, game.dispute_id, liar(40)), forged, sender=carol)
    assert referee.disputeOf(game.dispute_id).turn == Party.CHALLENGER


def test_bisect_unknown_dispute_reverts(referee, bob):
    """Moves on an unknown id revert with RefereeUnknownDispute."""
    with ape.reverts(referee.RefereeUnknownDispute, disputeId=7):
        referee.narrow(7, [b"\x00" * 32], [], sender=bob)


def test_bisect_after_resolution_reverts(pinned, referee, bob):
    """A resolved dispute accepts no more moves."""
    pinned.resolve(Party.DEFENDER)
    with ape.reverts(referee.RefereeResolved, disputeId=pinned.dispute_id):
        referee.narrow(pinned.dispute_id, [b"\x00" * 32], [], sender=bob)


def test_op_phase_moves_on_a_committee_dispute_revert(pinned, referee, carol):
    """A job without a program pins its step for the committee: the op-phase moves (served by the moves facet)
    revert with RefereeWrongPhase and change nothing."""
    ops = referee
    with ape.reverts(
        ops.RefereeWrongPhase, disputeId=pinned.dispute_id, phase=Phase.COMMITTEE, expected=Phase.OP_TRACE
    ):
        ops.commitTrace(pinned.dispute_id, b"\x00" * 32, b"\x00" * 32, [], [], sender=carol)
    with ape.reverts(ops.RefereeWrongPhase, disputeId=pinned.dispute_id, phase=Phase.COMMITTEE, expected=Phase.LEAF):
        ops.resolveHashOp(pinned.dispute_id, b"", [], sender=carol)
    assert referee.disputeOf(pinned.dispute_id).phase == Phase.COMMITTEE


# ---------------------------------------------------------------- committee


def test_committeeDigest_binds_chain_referee_dispute_step_winner(pinned, referee, chain):
    """The digest is keccak(abi.encode(chainid, referee, disputeId, step, winner))."""
    want = keccak(
        encode(
            ["uint256", "address", "uint256", "uint64", "uint8"],
            [chain.chain_id, referee.address, pinned.dispute_id, 40, Party.DEFENDER],
        )
    )
    assert referee.committeeDigest(pinned.dispute_id, Party.DEFENDER) == want


def test_resolveByCommittee_before_pinned_reverts(job, referee, open_solver, bob, carol):
    """The committee cannot decide while the steps are still being bisected."""
    game = open_solver(job, carol, bob, 2)
    with ape.reverts(
        referee.RefereeWrongPhase, disputeId=game.dispute_id, phase=Phase.STEPS, expected=Phase.COMMITTEE
    ):
        referee.resolveByCommittee(game.dispute_id, Party.DEFENDER, [], sender=carol)


def test_resolveByCommittee_below_threshold_reverts(pinned, referee, carol):
    """Fewer signatures than the threshold revert with RefereeBadCommittee."""
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.DEFENDER))
    with ape.reverts(referee.RefereeBadCommittee, disputeId=pinned.dispute_id, valid=2, needed=THRESHOLD):
        referee.resolveByCommittee(pinned.dispute_id, Party.DEFENDER, sign(digest, COMMITTEE[:2]), sender=carol)


def test_resolveByCommittee_bad_signer_reverts(pinned, referee, carol):
    """A signature by a non-member reverts with RefereeNotCommitteeMember naming it."""
    outsider = Account.from_key(keccak(b"not a member"))
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.DEFENDER))
    with ape.reverts(referee.RefereeNotCommitteeMember, disputeId=pinned.dispute_id, signer=outsider.address):
        referee.resolveByCommittee(
            pinned.dispute_id, Party.DEFENDER, sign(digest, [*COMMITTEE[:2], outsider]), sender=carol
        )


def test_resolveByCommittee_signature_for_other_winner_reverts(pinned, referee, carol):
    """Signatures on the other winner recover to non-members for this winner's digest."""
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.CHALLENGER))
    sigs = sign(digest, COMMITTEE[:THRESHOLD])
    with ape.reverts(referee.RefereeNotCommitteeMember):
        referee.resolveByCommittee(pinned.dispute_id, Party.DEFENDER, sigs, sender=carol)


def test_resolveByCommittee_duplicate_signer_reverts(pinned, referee, carol):
    """The same member signing twice reverts with RefereeDuplicateSigner."""
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.DEFENDER))
    sigs = sign(digest, [COMMITTEE[0], COMMITTEE[1], COMMITTEE[0]])
    with ape.reverts(referee.RefereeDuplicateSigner, disputeId=pinned.dispute_id, signer=COMMITTEE[0].address):
        referee.resolveByCommittee(pinned.dispute_id, Party.DEFENDER, sigs, sender=carol)


def test_resolveByCommittee_bad_winner_reverts(pinned, referee, carol):
    """Party.None is not a winner."""
    with ape.reverts(referee.RefereeBadWinner, disputeId=pinned.dispute_id, winner=Party.NONE):
        referee.resolveByCommittee(pinned.dispute_id, Party.NONE, [], sender=carol)


def test_resolveByCommittee_all_members_any_caller_succeeds(pinned, referee, eve, bob):
    """All five members' signatures, relayed by an outsider, resolve the dispute."""
    pinned.resolve(Party.DEFENDER, signers=COMMITTEE, sender=eve)
    assert referee.disputeOf(pinned.dispute_id).winner == Party.DEFENDER
    assert referee.bondCredit(bob) == BOND


# ---------------------------------------------------------------- governance


def test_setCommittee_non_admin_reverts(referee, eve):
    """Only governance sets the committee."""
    with ape.reverts(referee.AccessControlUnauthorizedAccount, account=eve.address, neededRole=b"\x00" * 32):
        referee.setCommittee([eve.address], 1, sender=eve)


@pytest.mark.parametrize("case", ["empty", "zero_threshold", "threshold_above_n", "duplicate", "zero_member"])
def test_setCommittee_malformed_reverts(referee, deployer, bob, case):
    """A malformed committee reverts with RefereeBadCommitteeSetup."""
    zero = "0x" + "00" * 20
    members, threshold = {
        "empty": ([], 1),
        "zero_threshold": ([bob.address], 0),
        "threshold_above_n": ([bob.address], 2),
        "duplicate": ([bob.address, bob.address], 1),
        "zero_member": ([bob.address, zero], 1),
    }[case]
    with ape.reverts(referee.RefereeBadCommitteeSetup, members=len(members), threshold=threshold):
        referee.setCommittee(members, threshold, sender=deployer)


def test_setCommittee_replaces_members_for_new_disputes(
    pinned, referee, deployer, h, post_roots, open_solver, bob, carol
):
    """A replacement is a new epoch: old members no longer decide disputes opened after it, the new threshold
    applies to those, and the dispute already open keeps the committee it opened under."""
    new = Account.from_key(keccak(b"new member"))
    receipt = referee.setCommittee([new.address], 1, sender=deployer)
    event = receipt.events.filter(referee.CommitteeSet)[0]
    assert list(event.members) == [new.address] and event.threshold == 1 and event.epoch == 2
    assert referee.committee() == ([new.address], 1)
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 2)
    post_roots(job_id, carol, liar(40), 2)
    later = open_solver(job_id, carol, bob, 2)
    later.play(honest_root, liar(40))
    digest = bytes(referee.committeeDigest(later.dispute_id, Party.CHALLENGER))
    with ape.reverts(referee.RefereeNotCommitteeMember, disputeId=later.dispute_id, signer=COMMITTEE[0].address):
        referee.resolveByCommittee(later.dispute_id, Party.CHALLENGER, sign(digest, COMMITTEE[:1]), sender=carol)
    referee.resolveByCommittee(later.dispute_id, Party.CHALLENGER, sign(digest, [new]), sender=carol)
    assert referee.bondCredit(carol) == BOND
    pinned.resolve(Party.DEFENDER)  # the first committee still decides the dispute opened under it
    assert referee.disputeOf(pinned.dispute_id).winner == Party.DEFENDER


def test_openSolverDispute_challenger_unposted_reverts(h, referee, market, post_roots, bob, carol):
    """A challenging solver must have posted the disputed checkpoint itself (RefereeCheckpointNotPosted)."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 2)
    post_roots(job_id, carol, honest_root, 1)
    with ape.reverts(referee.RefereeCheckpointNotPosted, jobId=job_id, account=carol.address, index=2):
        referee.openSolverDispute(job_id, bob, 2, sender=carol, value=BOND)


def test_one_point_round_keeps_the_defenders_value(job, referee, open_solver, bob, carol):
    """A round of one point keeps the defender's value as it is: the challenger may leave it out (or repeat it
    exactly); a forged copy reverts (RefereeBadProof), and a many-point answer cannot leave them out."""
    game = open_solver(job, carol, bob, 2)
    roots = at(referee, game.dispute_id, honest_root)
    referee.narrow(game.dispute_id, roots, [], sender=bob)
    with ape.reverts(referee.RefereeBadProof, disputeId=game.dispute_id):
        referee.narrow(game.dispute_id, at(referee, game.dispute_id, liar(40)), [], sender=carol)
    referee.narrow(game.dispute_id, at(referee, game.dispute_id, liar(40)), roots, sender=carol)
    while len(referee.positions(game.dispute_id)) > 1:
        game.round(honest_root, liar(40))
    mine = at(referee, game.dispute_id, honest_root)
    assert len(mine) == 1
    referee.narrow(game.dispute_id, mine, [], sender=bob)
    assert referee.disputeOf(game.dispute_id).pendingRoot == mine[0]
    theirs = at(referee, game.dispute_id, liar(40))
    with ape.reverts(referee.RefereeBadProof, disputeId=game.dispute_id):
        referee.narrow(game.dispute_id, theirs, [b"\x09" * 32], sender=carol)
    referee.narrow(game.dispute_id, theirs, [], sender=carol)
    d = referee.disputeOf(game.dispute_id)
    assert d.phase == Phase.COMMITTEE and d.step == 40 and d.pendingRoot == b"\x00" * 32
    assert d.agreedRoot == honest_root(39) and d.defenderRoot == honest_root(40)


def test_narrow_one_is_narrow_of_one_value(job, referee, open_solver, bob, carol, eve):
    """`narrowOne(id, v)` is `narrow(id, [v], [])` in less calldata: the same guards (unknown dispute, turn,
    width: a many-point round refuses it), the same ValuesRevealed, and a one-point round played with it pins the
    same step as `narrow` does."""
    with ape.reverts(referee.RefereeUnknownDispute, disputeId=7):
        referee.narrowOne(7, b"\x00" * 32, sender=bob)
    game = open_solver(job, carol, bob, 2)
    n = len(referee.positions(game.dispute_id))
    with ape.reverts(referee.RefereeBadWidth, disputeId=game.dispute_id, have=1, need=n):
        referee.narrowOne(game.dispute_id, honest_root(1), sender=bob)
    while len(referee.positions(game.dispute_id)) > 1:
        game.round(honest_root, liar(40))
    (mine,) = at(referee, game.dispute_id, honest_root)
    with ape.reverts(
        referee.RefereeNotYourTurn, disputeId=game.dispute_id, caller=carol.address, expected=Party.DEFENDER
    ):
        referee.narrowOne(game.dispute_id, mine, sender=carol)
    tx = referee.narrowOne(game.dispute_id, mine, sender=bob)
    (ev,) = tx.events.filter(referee.ValuesRevealed)
    assert ev.party == Party.DEFENDER and ev.phase == Phase.STEPS and list(ev.values) == [mine]
    assert referee.disputeOf(game.dispute_id).pendingRoot == mine
    with ape.reverts(
        referee.RefereeNotYourTurn, disputeId=game.dispute_id, caller=eve.address, expected=Party.CHALLENGER
    ):
        referee.narrowOne(game.dispute_id, mine, sender=eve)
    (theirs,) = at(referee, game.dispute_id, liar(40))
    referee.narrowOne(game.dispute_id, theirs, sender=carol)
    d = referee.disputeOf(game.dispute_id)
    assert d.phase == Phase.COMMITTEE and d.step == 40 and d.pendingRoot == b"\x00" * 32
    assert d.agreedRoot == honest_root(39) and d.defenderRoot == honest_root(40)
    with ape.reverts(
        referee.RefereeWrongPhase, disputeId=game.dispute_id, phase=Phase.COMMITTEE, expected=Phase.STEPS
    ):
        referee.narrowOne(game.dispute_id, mine, sender=bob)
