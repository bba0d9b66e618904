"""VerdeReferee clocks: each party's chess clock, deadlines, and `timeout` (silence loses).

Run: `.venv/bin/ape test tests/verde -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
from verde_support import BOND, CLOCK, RESOLVE_GAS_CAP, REWARD_BPS, STAKE, Party, Phase, at, honest_root, liar


def test_timeout_silent_defender_challenger_wins_own_bond(game, referee, market, chain, bob, carol):
    """A defender that never moves loses by timeout: the challenger gets its bond back and the bounty."""
    deadline = referee.moveDeadline(game.dispute_id)
    assert deadline == referee.disputeOf(game.dispute_id).turnStartedAt + CLOCK
    chain.pending_timestamp = deadline + 1
    receipt = referee.timeout(game.dispute_id, sender=carol)

    event = receipt.events.filter(referee.DisputeResolved)[0]
    assert event.winner == Party.CHALLENGER and event.how == 2  # Resolution.Timeout
    assert referee.bondCredit(carol) == BOND and ape.chain.provider.get_balance(referee.address) == BOND
    assert market.solverOf(game.job_id, bob).slashed
    assert market.owed(game.job_id, carol) == STAKE * REWARD_BPS // 10_000
    assert receipt.gas_used < RESOLVE_GAS_CAP


def test_timeout_silent_challenger_defender_wins(game, referee, market, chain, bob, carol):
    """A challenger that stops answering mid-bisection loses its bond and its stake's bounty to the defender."""
    game.round(honest_root, liar(40))
    referee.narrow(game.dispute_id, at(referee, game.dispute_id, honest_root), [], sender=bob)
    assert referee.disputeOf(game.dispute_id).turn == Party.CHALLENGER

    chain.pending_timestamp = referee.moveDeadline(game.dispute_id) + 1
    referee.timeout(game.dispute_id, sender=bob)
    d = referee.disputeOf(game.dispute_id)
    assert d.phase == Phase.RESOLVED and d.winner == Party.DEFENDER
    assert referee.bondCredit(bob) == BOND
    assert market.solverOf(game.job_id, carol).slashed and market.solverOf(game.job_id, bob).disputes == 0


def test_timeout_before_deadline_reverts(game, referee, chain, eve):
    """timeout at the deadline itself reverts: the mover's clock still runs."""
    deadline = referee.moveDeadline(game.dispute_id)
    chain.pending_timestamp = deadline
    with ape.reverts(referee.RefereeClockRunning, disputeId=game.dispute_id, party=Party.DEFENDER, deadline=deadline):
        referee.timeout(game.dispute_id, sender=eve)


def test_first_move_after_deadline_reverts(game, referee, chain, bob):
    """A move one second past its deadline reverts with RefereeClockExpired."""
    deadline = referee.moveDeadline(game.dispute_id)
    chain.pending_timestamp = deadline + 1
    roots = at(referee, game.dispute_id, honest_root)
    with ape.reverts(referee.RefereeClockExpired, disputeId=game.dispute_id, party=Party.DEFENDER, deadline=deadline):
        referee.narrow(game.dispute_id, roots, [], sender=bob)


def test_first_move_at_deadline_succeeds(game, referee, chain, bob):
    """A move at its deadline is accepted and uses up the mover's whole clock."""
    chain.pending_timestamp = referee.moveDeadline(game.dispute_id)
    referee.narrow(game.dispute_id, at(referee, game.dispute_id, honest_root), [], sender=bob)
    assert referee.disputeOf(game.dispute_id).defenderClock == 0


def test_bisect_clocks_charge_only_the_mover(game, referee, chain, bob, carol):
    """Each move charges its mover the time since its turn started and leaves the other clock alone."""
    start = referee.disputeOf(game.dispute_id).turnStartedAt
    roots = at(referee, game.dispute_id, honest_root)
    chain.pending_timestamp = start + 150
    referee.narrow(game.dispute_id, roots, [], sender=bob)
    chain.pending_timestamp = start + 400
    referee.narrow(game.dispute_id, roots, roots, sender=carol)
    d = referee.disputeOf(game.dispute_id)
    assert d.defenderClock == CLOCK - 150 and d.challengerClock == CLOCK - 250
    assert referee.moveDeadline(game.dispute_id) == start + 400 + CLOCK - 150


def test_committee_has_one_clock_then_the_dispute_expires(game, referee, market, chain, bob, carol, eve):
    """The committee has CLOCK seconds from the pin: timeout reverts before, and after it the dispute
    expires with the challenger's bond back and both solvers' market disputes closed (nobody slashed)."""
    game.play(honest_root, liar(40))
    d = referee.disputeOf(game.dispute_id)
    until = d.turnStartedAt + CLOCK
    with ape.reverts(referee.RefereeClockRunning, disputeId=game.dispute_id, party=Party.NONE, deadline=until):
        referee.timeout(game.dispute_id, sender=eve)
    chain.pending_timestamp = until + 1
    receipt = referee.timeout(game.dispute_id, sender=eve)
    assert receipt.gas_used < RESOLVE_GAS_CAP
    assert referee.disputeOf(game.dispute_id).phase == Phase.RESOLVED
    assert referee.bondCredit(game.challenger) == BOND and referee.bondCredit(game.defender) == 0
    assert market.solverOf(game.job_id, bob).disputes == 0 and market.solverOf(game.job_id, carol).disputes == 0
    assert not market.solverOf(game.job_id, bob).slashed and not market.solverOf(game.job_id, carol).slashed


def test_withdrawBond_reentrant_receiver_gets_credit_once(h, project, deployer, referee, chain, post_roots, bob, eve):
    """A watcher contract that re-enters withdrawBond from receive() is refused and is paid its credit once."""
    attacker = deployer.deploy(project.ContractUser)
    job_id = h.start()
    post_roots(job_id, bob, liar(5), 1)
    payload = referee.openWatcherDispute.encode_input(job_id, bob, 1, honest_root(30))
    attacker.execute(referee, BOND, payload, sender=eve, value=BOND)
    chain.pending_timestamp = referee.moveDeadline(1) + 1
    referee.timeout(1, sender=eve)
    assert referee.bondCredit(attacker) == BOND

    withdraw = referee.withdrawBond.encode_input()
    attacker.arm(referee, withdraw, sender=eve)
    attacker.execute(referee, 0, withdraw, sender=eve)

    assert attacker.attempts() == 1 and not attacker.lastSucceeded()
    assert bytes(attacker.lastReturnData())[:4] == bytes.fromhex("3ee5aeb5")  # ReentrancyGuardReentrantCall()
    assert ape.chain.provider.get_balance(attacker.address) == BOND
    assert ape.chain.provider.get_balance(referee.address) == 0 and referee.bondCredit(attacker) == 0
