"""The rules around the Verde game that keep an honest solver from ever being made to lose (issue 9): the
program is part of the job, a late wrong checkpoint can be disputed by the honest solver, the committee has
one clock and the judges of a dispute never change under it, the first watcher to open takes the bounty, and
no number of parallel disputes can starve a defender of liquidity.

These games run on a committee-judged job with stand-in step roots (verde_support); the real-training games
(a requester's sybil watcher against an honest solver, a crowdfunded job down to the leaf) are in
test_verde_e2e.py.

Run: `.venv/bin/ape test tests/verde/test_verde_rules.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from jobmarket_support import DEFAULTS, ZERO_ADDRESS
from verde_support import (
    BOND,
    CLOCK,
    COMMITTEE,
    REWARD_BPS,
    STAKE,
    THRESHOLD,
    Party,
    Phase,
    at,
    honest_root,
    liar,
    sign,
)

BOUNTY = STAKE * REWARD_BPS // 10_000
TREE, DATA = keccak(b"program tree"), keccak(b"data tree")


def _committee_verdict(referee, game, winner: int, sender) -> None:
    digest = bytes(referee.committeeDigest(game.dispute_id, winner))
    referee.resolveByCommittee(game.dispute_id, winner, sign(digest, COMMITTEE[:THRESHOLD]), sender=sender)


# ---------------------------------------------------------------- 1. the program is part of the job


def test_program_is_posted_with_the_job_and_cannot_be_set_later(h, market, referee, alice, bob, carol):
    """The program a job is judged by is a JobParams field: visible before anyone joins, the same for the
    referee, and there is no call left that changes it (the old `setProgram` selector reverts)."""
    job_id = h.job_id(h.post(programTree=TREE, dataTree=DATA, numOps=777))
    assert tuple(market.programOf(job_id)) == (TREE, DATA, 777, DEFAULTS.steps)
    for solver in (bob, carol):
        h.join(job_id, solver)
    program = referee.programOf(job_id)
    assert (program.programTree, program.dataTree, program.numOps, program.numSteps) == (TREE, DATA, 777, 100)
    other = keccak(b"the requester's new rules")
    selector = keccak(text="setProgram(uint256,bytes32,uint32,bytes32,uint64)")[:4]
    calldata = (
        selector + job_id.to_bytes(32, "big") + other + (1).to_bytes(32, "big") + other + (100).to_bytes(32, "big")
    )
    with ape.reverts():
        alice.transfer(referee, 0, data=calldata)
    assert referee.programOf(job_id).programTree == TREE


@pytest.mark.parametrize(
    "fields",
    [
        {"programTree": TREE},  # a tree without ops
        {"dataTree": DATA},  # data without ops
        {"numOps": 5},  # ops without a tree
    ],
    ids=["tree-no-ops", "data-no-ops", "ops-no-tree"],
)
def test_half_given_program_is_refused_at_posting(h, market, fields):
    """A job says at posting whether it has a program; a half-given one is neither and is refused."""
    with ape.reverts(market.JobInvalidParams, reason="program incomplete"):
        h.post(**fields)


def test_requester_cannot_watch_its_own_job(h, market, referee, post_roots, alice, bob, carol):
    """The requester takes the rest of a slashed stake already; it may not also open a watcher dispute."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 1)
    with ape.reverts(referee.RefereeRequesterIsWatcher, jobId=job_id, account=alice.address):
        referee.openWatcherDispute(job_id, bob, 1, honest_root(0), sender=alice, value=BOND)
    assert market.solverOf(job_id, bob).disputes == 0


# ---------------------------------------------------------------- 3. a late wrong checkpoint


def test_honest_solver_disputes_a_wrong_checkpoint_posted_after_its_own_became_final(
    h, market, referee, post_roots, open_solver, alice, bob, carol
):
    """bob's checkpoint 1 is final when carol posts a wrong one; bob, the one party that has the right
    computation, can still dispute it: only the disputed checkpoint's window counts. His claims freeze
    while the dispute runs and he wins the bounty."""
    job_id = h.start()
    post_roots(job_id, bob, honest_root, 1)
    h.warp(DEFAULTS.window + 1)
    assert market.isVerified(job_id, bob, 1)
    post_roots(job_id, carol, liar(1), 1)
    game = open_solver(job_id, bob, carol, 1)
    assert market.solverOf(job_id, bob).disputes == 1 and market.solverOf(job_id, carol).disputes == 1
    with ape.reverts(market.JobSolverDisputed, jobId=job_id, solver=bob.address):
        market.claim(job_id, sender=bob)

    game.play(liar(1), honest_root)
    assert referee.disputeOf(game.dispute_id).phase == Phase.COMMITTEE
    _committee_verdict(referee, game, Party.CHALLENGER, bob)
    assert market.solverOf(job_id, carol).slashed and market.owed(job_id, bob) == BOUNTY
    assert referee.bondCredit(bob) == BOND
    market.claim(job_id, sender=bob)  # unfrozen
    assert market.solverOf(job_id, bob).released == 1


def test_solver_dispute_without_own_checkpoint_reverts(h, referee, post_roots, bob, carol):
    """A solver disputes with its own posted root; without one it gets RefereeCheckpointNotPosted."""
    job_id = h.start()
    post_roots(job_id, carol, liar(1), 1)
    with ape.reverts(referee.RefereeCheckpointNotPosted, jobId=job_id, account=bob.address, index=1):
        referee.openSolverDispute(job_id, carol, 1, sender=bob, value=BOND)


# ---------------------------------------------------------------- 4. the committee's one clock


def test_committee_verdict_after_its_clock_is_refused(pinned, referee, market, chain, bob, carol, eve):
    """One second past its clock the committee can no longer decide; only `timeout` ends the dispute (bond
    back, nobody slashed)."""
    until = referee.disputeOf(pinned.dispute_id).turnStartedAt + CLOCK
    chain.pending_timestamp = until + 1
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.CHALLENGER))
    with ape.reverts(referee.RefereeClockExpired, disputeId=pinned.dispute_id, party=Party.NONE, deadline=until):
        referee.resolveByCommittee(
            pinned.dispute_id, Party.CHALLENGER, sign(digest, COMMITTEE[:THRESHOLD]), sender=eve
        )
    referee.timeout(pinned.dispute_id, sender=eve)
    assert referee.disputeOf(pinned.dispute_id).winner == Party.NONE
    assert not market.solverOf(pinned.job_id, bob).slashed and referee.bondCredit(carol) == BOND


def test_committee_verdict_at_its_deadline_is_accepted(pinned, referee, chain, carol):
    """The committee keeps its turn up to and including its deadline, like every mover."""
    chain.pending_timestamp = referee.disputeOf(pinned.dispute_id).turnStartedAt + CLOCK
    _committee_verdict(referee, pinned, Party.DEFENDER, carol)
    assert referee.disputeOf(pinned.dispute_id).winner == Party.DEFENDER


def test_new_committee_does_not_judge_disputes_already_open(pinned, referee, deployer, carol):
    """Governance's new committee decides disputes opened after it; an open dispute keeps its judges."""
    from eth_account import Account

    new = Account.from_key(keccak(b"a new member"))
    referee.setCommittee([new.address], 1, sender=deployer)
    assert referee.committee() == ([new.address], 1)
    assert referee.committeeOf(pinned.dispute_id) == ([m.address for m in COMMITTEE], THRESHOLD)
    digest = bytes(referee.committeeDigest(pinned.dispute_id, Party.CHALLENGER))
    with ape.reverts(referee.RefereeBadCommittee, disputeId=pinned.dispute_id, valid=1, needed=THRESHOLD):
        referee.resolveByCommittee(pinned.dispute_id, Party.CHALLENGER, sign(digest, [new]), sender=carol)
    _committee_verdict(referee, pinned, Party.DEFENDER, carol)


def test_dispute_opened_before_any_committee_can_only_expire(
    project, deployer, market, h, post_roots, bob, carol, chain
):
    """A referee without a committee has no judges: no signatures decide its committee disputes (an empty set
    used to pass a zero threshold); the dispute expires with the bond returned."""
    bare = deployer.deploy(project.VerdeReferee, market, ZERO_ADDRESS, deployer, BOND, CLOCK, REWARD_BPS)
    market.grantRole(market.DISPUTE_ROLE(), bare, sender=deployer)
    job_id = h.start(steps=1, checkpointInterval=1)
    post_roots(job_id, bob, honest_root, 1)
    post_roots(job_id, carol, liar(1), 1)
    r = bare.openSolverDispute(job_id, bob, 1, sender=carol, value=BOND)
    did = r.events.filter(bare.DisputeCreated)[0].disputeId
    assert bare.disputeOf(did).phase == Phase.COMMITTEE  # one step: pinned at opening
    with ape.reverts(bare.RefereeNoCommittee, disputeId=did):
        bare.resolveByCommittee(did, Party.CHALLENGER, [], sender=carol)
    chain.pending_timestamp = bare.disputeOf(did).turnStartedAt + CLOCK + 1
    bare.timeout(did, sender=carol)
    assert bare.bondCredit(carol) == BOND and market.solverOf(job_id, bob).disputes == 0


# ---------------------------------------------------------------- 5. copycats and liquidity


@pytest.fixture
def cheated(diverged_job):
    """bob honest, carol wrong from step 1 on, both through checkpoint 1."""
    return diverged_job(1, 1)


def test_copycat_that_resolves_first_does_not_take_the_bounty(
    cheated, market, referee, open_watcher, alice, carol, eve, dave
):
    """eve opens first against carol's wrong checkpoint; dave mirrors her claim in a later dispute and gets
    it decided first. carol is slashed at once, but the bounty waits for eve's dispute and goes to eve;
    dave only gets his bond back."""
    first = open_watcher(cheated, eve, carol, 1, honest_root(30))
    copy = open_watcher(cheated, dave, carol, 1, honest_root(30))
    copy.play(liar(1), honest_root)
    _committee_verdict(referee, copy, Party.CHALLENGER, dave)
    assert market.solverOf(cheated, carol).slashed and market.owed(cheated, dave) == 0
    assert market.bountyOf(cheated, carol) == BOUNTY
    assert referee.standingOf(cheated, carol) == (1, copy.dispute_id)

    first.play(liar(1), honest_root)
    _committee_verdict(referee, first, Party.CHALLENGER, eve)
    assert market.owed(cheated, eve) == BOUNTY and market.owed(cheated, dave) == 0
    assert market.bountyOf(cheated, carol) == 0 and market.solverOf(cheated, carol).bountyAwarded
    assert referee.bondCredit(eve) == BOND and referee.bondCredit(dave) == BOND
    assert referee.standingOf(cheated, carol) == (0, first.dispute_id)


def test_first_opener_that_loses_passes_the_bounty_to_the_next_winner(
    cheated, market, referee, open_watcher, chain, carol, eve, dave
):
    """The bounty goes to the first-opened dispute the cheater lost outright: an earlier opener that fails
    (here dave, silent after opening) does not hold it back from eve."""
    stalled = open_watcher(cheated, dave, carol, 1, honest_root(30))
    honest = open_watcher(cheated, eve, carol, 1, honest_root(30))
    honest.play(liar(1), honest_root)
    _committee_verdict(referee, honest, Party.CHALLENGER, eve)
    assert market.owed(cheated, eve) == 0  # dave's earlier dispute is still live
    referee.narrow(stalled.dispute_id, at(referee, stalled.dispute_id, liar(1)), [], sender=carol)
    chain.pending_timestamp = referee.moveDeadline(stalled.dispute_id) + 1
    referee.timeout(stalled.dispute_id, sender=eve)  # dave let his clock run out: carol wins that one
    assert market.owed(cheated, eve) == BOUNTY
    assert referee.bondCredit(carol) == BOND  # dave's bond, for the defence carol had to make


def test_parallel_disputes_cannot_starve_an_honest_defender(
    h, cheated, market, referee, open_watcher, chain, accounts, bob, dave
):
    """Five disputes at once against bob's honest checkpoint, while bob holds less ETH than one bond: a
    defender posts no bond, so he answers every one for gas alone, each griefer's clock runs out, and bob
    ends with the five bonds and his stake untouched."""
    sink = accounts[9]
    bob.transfer(sink, bob.balance - BOND // 2)  # keep half a bond's worth for gas
    assert bob.balance < BOND
    games = [open_watcher(cheated, dave, bob, 1, liar(1)(30)) for _ in range(5)]
    for game in games:
        referee.narrow(game.dispute_id, at(referee, game.dispute_id, honest_root), [], sender=bob)
    chain.pending_timestamp = max(referee.moveDeadline(g.dispute_id) for g in games) + 1
    for game in games:
        referee.timeout(game.dispute_id, sender=bob)
        assert referee.disputeOf(game.dispute_id).winner == Party.DEFENDER
    info = market.solverOf(cheated, bob)
    assert not info.slashed and info.disputes == 0
    assert referee.bondCredit(bob) == 5 * BOND
    referee.withdrawBond(sender=bob)
    assert bob.balance > 5 * BOND
