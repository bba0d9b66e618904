"""VerdeReferee: full games over JobMarket jobs (solver vs solver, watcher vs solver), bisection to one step,
committee resolution, bonds and stakes.

Run: `.venv/bin/ape test tests/verde -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
from verde_support import (
    BOND,
    MOVE_GAS_CAP,
    RESOLVE_GAS_CAP,
    REWARD_BPS,
    SPEC_HASH,
    STAKE,
    STEPS_ARITY,
    Game,
    Party,
    Phase,
    honest_root,
    liar,
    narrow_rounds,
)


def _market_balanced(market, job_id, accounts) -> None:
    """The market holds exactly the job's escrow plus every credit (one ETH job on the chain)."""
    held = market.escrowOf(job_id) + sum(market.owed(job_id, a) for a in accounts)
    assert ape.chain.provider.get_balance(market.address) == held


# ---------------------------------------------------------------- full games


def test_bisect_honest_defender_lying_challenger_defender_wins(
    h, market, referee, post_roots, open_solver, alice, bob, carol
):
    """A challenging solver that diverges at step 40 is pinned to step 40, loses its bond and half its stake."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 2)
    post_roots(job_id, carol, liar(40), 2)
    game = open_solver(job_id, carol, bob, 2)
    assert market.solverOf(job_id, bob).disputes == 1 and market.solverOf(job_id, carol).disputes == 1

    rounds = game.play(honest_root, liar(40))
    d = referee.disputeOf(game.dispute_id)
    assert d.phase == Phase.COMMITTEE and d.step == 40 and d.lo == 39 and d.hi == 40
    assert d.agreedRoot == honest_root(39) and d.defenderRoot == honest_root(40)
    assert d.challengerRoot == liar(40)(40)
    assert rounds <= narrow_rounds(60 - 30, STEPS_ARITY)

    receipt = game.resolve(Party.DEFENDER)
    event = receipt.events.filter(referee.DisputeResolved)[0]
    assert event.winner == Party.DEFENDER and event.winnerAccount == bob.address
    assert event.loserAccount == carol.address and event.how == 3  # Resolution.Committee
    assert referee.bondCredit(bob) == BOND and referee.bondCredit(carol) == 0
    assert market.solverOf(job_id, carol).slashed and market.solverOf(job_id, bob).disputes == 0
    assert market.owed(job_id, bob) == STAKE * REWARD_BPS // 10_000
    _market_balanced(market, job_id, [alice, bob, carol])


def test_bisect_dishonest_defender_loses(h, market, referee, post_roots, open_solver, alice, bob, carol):
    """A defending solver that diverges at step 45 is pinned to step 45 and slashed to the honest challenger."""
    job_id = h.start()
    post_roots(job_id, bob, liar(45), 2)
    post_roots(job_id, carol, honest_root, 2)
    game = open_solver(job_id, carol, bob, 2)

    game.play(liar(45), honest_root)
    assert referee.disputeOf(game.dispute_id).step == 45
    game.resolve(Party.CHALLENGER)

    assert referee.bondCredit(carol) == BOND
    assert market.solverOf(job_id, bob).slashed and market.solverOf(job_id, carol).disputes == 0
    assert market.owed(job_id, carol) == STAKE * REWARD_BPS // 10_000
    _market_balanced(market, job_id, [alice, bob, carol])


def test_bisect_challenger_lies_during_bisection_defender_wins(
    h, market, referee, post_roots, open_solver, bob, carol
):
    """A challenger that disagrees with every honest root pins the first step of the interval and loses."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 1)
    post_roots(job_id, carol, liar(1), 1)
    game = open_solver(job_id, carol, bob, 1)

    game.play(honest_root, liar(0, b"always"))
    d = referee.disputeOf(game.dispute_id)
    assert d.step == 1 and d.agreedRoot == SPEC_HASH
    game.resolve(Party.DEFENDER)
    assert market.solverOf(job_id, carol).slashed and referee.bondCredit(bob) == BOND


def test_bisect_watcher_catches_solver_wins_bond_and_stake(
    h, market, referee, post_roots, open_watcher, alice, bob, carol, eve
):
    """A watcher claiming the honest root against a solver that lied at step 70 wins both bonds and the reward."""
    job_id = h.start()
    post_roots(job_id, bob, liar(70), 3)
    game = open_watcher(job_id, eve, bob, 3, honest_root(90))
    assert referee.disputeOf(game.dispute_id).watcher

    game.play(liar(70), honest_root)
    assert referee.disputeOf(game.dispute_id).step == 70
    game.resolve(Party.CHALLENGER)

    assert referee.bondCredit(eve) == BOND
    assert market.owed(job_id, eve) == STAKE * REWARD_BPS // 10_000
    assert market.solverOf(job_id, bob).slashed
    _market_balanced(market, job_id, [alice, bob, carol, eve])


def test_bisect_lying_watcher_loses_bond_solver_unfrozen(h, market, referee, post_roots, open_watcher, bob, eve):
    """A watcher with a wrong claim loses its bond to the honest solver, whose market dispute is closed."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 1)
    game = open_watcher(job_id, eve, bob, 1, b"\x01" * 32)

    game.play(honest_root, liar(17, b"watcher"))
    game.resolve(Party.DEFENDER)

    assert referee.bondCredit(bob) == BOND and referee.bondCredit(eve) == 0
    info = market.solverOf(job_id, bob)
    assert info.disputes == 0 and not info.slashed


@pytest.mark.parametrize("steps", [1, 2, 7, 30, 1024])
def test_bisect_moves_logarithmic_gas_capped(h, market, referee, post_roots, open_solver, bob, carol, steps):
    """Rounds are at most those of a 16-ary narrowing over T (3 for T = 1024), calls twice the rounds (a defender
    posts no bond; a one-step interval is pinned at opening), every move under the gas cap."""
    job_id = h.start(steps=steps, checkpointInterval=steps)
    post_roots(job_id, bob, honest_root, 1)
    post_roots(job_id, carol, liar(steps), 1)
    game = open_solver(job_id, carol, bob, 1)

    rounds = game.play(honest_root, liar(steps))
    d = referee.disputeOf(game.dispute_id)
    assert d.step == steps and d.phase == Phase.COMMITTEE
    assert rounds <= narrow_rounds(steps, STEPS_ARITY)
    assert d.moves == 2 * rounds
    assert max(game.move_gas, default=0) < MOVE_GAS_CAP, game.move_gas
    resolve = game.resolve(Party.DEFENDER)
    assert resolve.gas_used < RESOLVE_GAS_CAP
    print(
        f"\nverde T={steps} rounds={rounds} calls={d.moves} max_move_gas={max(game.move_gas, default=0)} "
        f"resolve_gas={resolve.gas_used}"
    )


# ---------------------------------------------------------------- bonds


def test_withdrawBond_after_games_no_wei_stuck(
    h, market, referee, post_roots, open_solver, open_watcher, bob, carol, eve
):
    """After two resolved disputes and every withdrawal the referee holds no wei, and each payee got its credit."""
    job_id = h.start()
    post_roots(job_id, bob, liar(10), 1)
    post_roots(job_id, carol, honest_root, 1)
    first = open_watcher(job_id, eve, carol, 1, b"\x02" * 32)
    first.play(honest_root, liar(3, b"w"))
    first.resolve(Party.DEFENDER)
    second = open_solver(job_id, carol, bob, 1)
    second.play(liar(10), honest_root)
    second.resolve(Party.CHALLENGER)

    # eve's bond (carol defended and won) and carol's own (she challenged and won): one bond per dispute.
    assert ape.chain.provider.get_balance(referee.address) == referee.bondCredit(carol) == 2 * BOND
    before = carol.balance
    receipt = referee.withdrawBond(sender=carol)
    assert carol.balance == before + 2 * BOND - receipt.total_fees_paid
    assert ape.chain.provider.get_balance(referee.address) == 0 and referee.bondCredit(carol) == 0
    with ape.reverts(referee.RefereeNothingToWithdraw, account=carol.address):
        referee.withdrawBond(sender=carol)


def test_resolve_loser_already_slashed_bonds_still_move(
    h, market, referee, post_roots, open_solver, open_watcher, bob, carol, eve
):
    """A second dispute against a solver slashed by the first still resolves and credits its bond; the bounty
    waits for it and then goes to the first opener (eve), not to whoever resolved later."""
    job_id = h.start(numSolvers=2)
    post_roots(job_id, bob, liar(5), 1)
    post_roots(job_id, carol, honest_root, 1)
    watcher = open_watcher(job_id, eve, bob, 1, honest_root(30))
    solver = open_solver(job_id, carol, bob, 1)
    watcher.play(liar(5), honest_root)
    watcher.resolve(Party.CHALLENGER)
    assert market.solverOf(job_id, bob).slashed

    assert market.owed(job_id, eve) == 0 and market.bountyOf(job_id, bob) == STAKE * REWARD_BPS // 10_000
    solver.play(liar(5), honest_root)
    solver.resolve(Party.CHALLENGER)
    assert referee.bondCredit(carol) == BOND and referee.bondCredit(eve) == BOND
    assert market.solverOf(job_id, carol).disputes == 0
    assert market.owed(job_id, eve) == STAKE * REWARD_BPS // 10_000 and market.owed(job_id, carol) == 0


# ---------------------------------------------------------------- storage and arity


def test_state_lives_in_the_erc7201_namespace(job, referee, open_solver, bob, carol):
    """The referee and its facet share one ERC-7201 namespace, `verde.referee`: its first slot is disputeCount,
    and nothing is stored at slot 0 of it but AccessControl's roles mapping (a mapping's own slot stays 0)."""
    from eth_abi import encode
    from eth_utils import keccak

    namespace = int.from_bytes(keccak(text="verde.referee"), "big") - 1
    base = int.from_bytes(keccak(encode(["uint256"], [namespace])), "big") & ~0xFF
    provider = ape.chain.provider
    before = int.from_bytes(provider.get_storage(referee.address, base), "big")
    open_solver(job, carol, bob, 2)
    assert int.from_bytes(provider.get_storage(referee.address, base), "big") == before + 1 == referee.disputeCount()
    assert int.from_bytes(provider.get_storage(referee.address, 0), "big") == 0


def test_arity_is_per_referee_and_checked(project, deployer, market, adjudicator, referee):
    """VerdeReferee's arities are 16 (Steps, OpTrace), 16 (a 4-level descent) and 8 (partial sums); a referee
    with any arity outside 2..32, or a descent that is not a power of two, cannot be deployed."""
    assert tuple(referee.arity()) == (STEPS_ARITY, 16, 16, 8)
    for bad in [(1, 16, 16, 8), (16, 33, 16, 8), (16, 16, 12, 8), (16, 16, 16, 0)]:
        with ape.reverts(project.VerdeRefereeArity.RefereeBadArity, arity=bad):
            deployer.deploy(project.VerdeRefereeArity, market, adjudicator, deployer, BOND, 3_600, REWARD_BPS, bad)


def test_binary_referee_takes_log2_rounds(project, deployer, h, market, adjudicator, post_roots, bob, carol):
    """At arity 2 the Steps narrowing is the old bisection: ceil(log2 T) rounds of one root each."""
    binary = deployer.deploy(project.VerdeRefereeArity, market, adjudicator, deployer, BOND, 3_600, REWARD_BPS,
                             (2, 2, 2, 2))  # fmt: skip
    market.grantRole(market.DISPUTE_ROLE(), binary, sender=deployer)
    job_id = h.start(steps=100, checkpointInterval=100)
    post_roots(job_id, bob, honest_root, 1)
    post_roots(job_id, carol, liar(37), 1)
    r = binary.openSolverDispute(job_id, bob, 1, sender=carol, value=BOND)
    game = Game(binary, r.events.filter(binary.DisputeCreated)[0].disputeId, carol, bob)
    assert len(binary.positions(game.dispute_id)) == 1
    rounds = game.play(honest_root, liar(37))
    assert rounds == narrow_rounds(100, 2) == 7 and binary.disputeOf(game.dispute_id).step == 37
