"""OutputDispute clocks: each side's chess clock, the move deadline, timeouts on each side, and the committee's
one clock after which the dispute expires (the output deleted, both bonds back).

Run: `.venv/bin/ape test tests/rollup/dispute -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
from output_dispute_support import CHALLENGER_BOND, CLOCK, HONEST, PROPOSER_BOND, Party, Phase, Resolution, ToyL2

LIAR = ToyL2(bad=(40, 1))
ONE_BLOCK_LIAR = ToyL2(bad=(1, 2))  # for games played to the committee: pinned at opening, one round of 8 txs


def _resolved(receipt, dispute):
    return receipt.events.filter(dispute.DisputeResolved)[0]


def test_silent_proposer_loses_by_timeout(dispute, oracle, propose, open_game, chain, bob, eve):
    """A proposer that never defends loses once its clock has run out: the output is deleted with its bond
    credited to the challenger, and the challenger's bond comes back."""
    propose(LIAR, count=1, interval=64)
    game = open_game(0, defender_l2=LIAR)
    deadline = dispute.moveDeadline(game.dispute_id)
    assert deadline == game.d.turnStartedAt + CLOCK
    chain.pending_timestamp = deadline + 1
    resolved = _resolved(dispute.timeout(game.dispute_id, sender=eve), dispute)
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.CHALLENGER, Resolution.TIMEOUT, True)
    assert oracle.nextOutputIndex() == 0 and oracle.bondCredit(bob) == PROPOSER_BOND
    assert dispute.bondCredit(bob) == CHALLENGER_BOND


def test_silent_challenger_loses_by_timeout(dispute, oracle, propose, open_game, chain, alice, eve):
    """A challenger that stops picking loses its bond to the proposer; the output stays, released."""
    propose(HONEST, count=1, interval=64)
    game = open_game(0, challenger_l2=LIAR)
    game.post_roots()
    assert game.d.turn == Party.CHALLENGER
    chain.pending_timestamp = dispute.moveDeadline(game.dispute_id) + 1
    resolved = _resolved(dispute.timeout(game.dispute_id, sender=eve), dispute)
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.DEFENDER, Resolution.TIMEOUT, False)
    assert oracle.nextOutputIndex() == 1 and not oracle.disputed(0)
    assert dispute.bondCredit(alice) == CHALLENGER_BOND


def test_silent_challenger_after_the_reveal_loses(dispute, propose, open_game, chain, alice):
    """The challenger's clock also runs in the Block phase, after the proposer revealed the block."""
    propose(HONEST, count=1, interval=1)
    game = open_game(0, challenger_l2=ToyL2(bad=(1, 0)))
    game.reveal()
    chain.pending_timestamp = dispute.moveDeadline(game.dispute_id) + 1
    dispute.timeout(game.dispute_id, sender=alice)
    assert game.d.winner == Party.DEFENDER


def test_timeout_at_the_deadline_is_refused(dispute, propose, open_game, chain, eve):
    """A mover keeps its turn up to and including its deadline: timeout then reverts."""
    propose(LIAR, count=1, interval=64)
    game = open_game(0, defender_l2=LIAR)
    deadline = dispute.moveDeadline(game.dispute_id)
    chain.pending_timestamp = deadline
    with ape.reverts(
        dispute.OutputDisputeClockRunning, disputeId=game.dispute_id, party=Party.DEFENDER, deadline=deadline
    ):
        dispute.timeout(game.dispute_id, sender=eve)


def test_move_at_the_deadline_is_accepted_and_one_second_later_refused(dispute, propose, open_game, chain):
    """A move at its deadline is accepted and uses up the mover's whole clock; the other side then has its
    whole clock, and a move one second past it reverts."""
    propose(LIAR, count=1, interval=64)
    game = open_game(0, defender_l2=LIAR)
    deadline = dispute.moveDeadline(game.dispute_id)
    chain.pending_timestamp = deadline
    roots = game.post_roots()
    assert game.d.defenderClock == 0
    next_deadline = dispute.moveDeadline(game.dispute_id)
    assert next_deadline == deadline + CLOCK
    chain.pending_timestamp = next_deadline + 1
    with ape.reverts(
        dispute.OutputDisputeClockExpired, disputeId=game.dispute_id, party=Party.CHALLENGER, deadline=next_deadline
    ):
        dispute.pick(game.dispute_id, 0, roots, sender=game.challenger)


def test_clocks_charge_only_the_mover(dispute, propose, open_game, chain):
    """Each move charges its mover the time since its turn started and leaves the other clock alone."""
    propose(LIAR, count=1, interval=64)
    game = open_game(0, defender_l2=LIAR)
    start = game.d.turnStartedAt
    chain.pending_timestamp = start + 150
    roots = game.post_roots()
    chain.pending_timestamp = start + 400
    game.pick(roots)
    d = game.d
    assert (d.defenderClock, d.challengerClock) == (CLOCK - 150, CLOCK - 250)
    assert dispute.moveDeadline(game.dispute_id) == start + 400 + CLOCK - 150


def test_committee_has_one_clock_then_the_dispute_expires(dispute, oracle, propose, open_game, chain, alice, bob):
    """After the record is sealed the committee has CLOCK seconds: a verdict after it is refused, timeout before
    it too; then the dispute expires: the output is deleted (nobody could judge it, so it must not release
    withdrawals) with the proposer's bond back to the proposer, and the challenger's bond comes back."""
    propose(ONE_BLOCK_LIAR, count=1, interval=1)
    game = open_game(0, defender_l2=ONE_BLOCK_LIAR)
    game.play_to_committee()
    until = game.d.turnStartedAt + CLOCK
    assert dispute.moveDeadline(game.dispute_id) == until
    chain.pending_timestamp = until
    with ape.reverts(dispute.OutputDisputeClockRunning, disputeId=game.dispute_id, party=Party.NONE, deadline=until):
        dispute.timeout(game.dispute_id, sender=bob)
    chain.pending_timestamp = until + 1
    with ape.reverts(dispute.OutputDisputeClockExpired, disputeId=game.dispute_id, party=Party.NONE, deadline=until):
        game.verdict(Party.CHALLENGER)
    resolved = _resolved(dispute.timeout(game.dispute_id, sender=bob), dispute)
    assert (resolved.winner, resolved.how, resolved.outputRemoved) == (Party.NONE, Resolution.EXPIRED, True)
    assert game.d.phase == Phase.RESOLVED
    assert oracle.nextOutputIndex() == 0 and oracle.bondCredit(alice) == PROPOSER_BOND
    assert oracle.bondCredit(bob) == 0 and dispute.bondCredit(bob) == CHALLENGER_BOND


def test_committee_verdict_at_its_deadline_is_accepted(dispute, propose, open_game, chain):
    propose(ONE_BLOCK_LIAR, count=1, interval=1)
    game = open_game(0, defender_l2=ONE_BLOCK_LIAR)
    game.play_to_committee()
    chain.pending_timestamp = game.d.turnStartedAt + CLOCK
    game.verdict(Party.CHALLENGER)
    assert game.d.how == Resolution.COMMITTEE
