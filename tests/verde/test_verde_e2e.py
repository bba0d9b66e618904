"""Verde end to end on a real chain with real RepOps training: a dishonest solver of a JobMarket job is
caught down to one float32 element of one op, and an honest solver never loses.

Every game here is played by the off-chain agents (offchain/verde/game.py) from VerdeTrainer traces of
the tiny GPT job, against VerdeReferee (with its moves facet) + OpAdjudicator on py-evm.

Run: `.venv/bin/ape test tests/verde/test_verde_e2e.py -q -p no:cacheprovider`
"""

from __future__ import annotations

from functools import cache

import ape
import pytest
from eth_utils import keccak
from jobmarket_support import ZERO_ADDRESS
from verde_support import (
    BOND,
    OPS_ARITY,
    PARTIALS_ARITY,
    REWARD_BPS,
    STAKE,
    STEPS_ARITY,
    Party,
    Phase,
    narrow_rounds,
)

from offchain.verde import ir
from offchain.verde.adversary import Cheater, corrupt, other_run, skip
from offchain.verde.game import DisputeAgent, Liar, play, program_of
from offchain.verde.job import VerdeJob, spec_hash
from offchain.verde.trainer import VerdeTrainer

JOB = VerdeJob(steps=4, checkpoint_interval=2)
INTERVAL = 2  # market checkpoint interval: checkpoints after steps 2 and 4
MOVE_GAS_CAP = 320_000  # every call of a game, the leaf recomputation with the market's slash included
# The descent's rounds: this model's largest output has 160 leaves (8 levels), 4 levels a round.
DESCENT_ROUNDS = 2
LONGEST_REDUCTION = 64  # K of the model's longest reduction


@cache
def honest() -> VerdeTrainer:
    t = VerdeTrainer(JOB)
    t.train()
    return t


@cache
def program() -> list[ir.Op]:
    return honest().program


def find_op(pred) -> int:
    """Index of the first op of the program satisfying `pred(op)`."""
    return next(i for i, op in enumerate(program()) if pred(op))


def visible(make, step: int, *, op: int | None = None) -> VerdeTrainer:
    """The first corruption `make(element)` whose step root differs from the honest one. A wrong value that
    never reaches the new state (one ulp rounded away, or an activation at a position the loss masks out)
    leaves the result correct: there is nothing to catch. Elements are tried from the last one down (the
    answer positions of the task are last), and a corrupted index that crashes the cheater's own run is
    skipped."""
    numel = program()[op].numel if op is not None else 32
    for element in list(range(numel - 1, -1, -1))[:48]:
        t = Cheater(JOB, make(element))
        try:
            t.train()
        except IndexError:
            continue
        if t.roots[step] != honest().roots[step]:
            return t
    raise AssertionError("no element of that op changes the step root")


@cache
def cheater(kind: str) -> VerdeTrainer:
    """Trainers that cheat: one ulp at step 1 (forward EXP of the attention softmax; backward matmul
    reduction of length 64), a big error in an AdamW sqrt at step 3, a skipped step 3, another run from 3."""
    exp = find_op(lambda o: o.opcode == ir.EXP and "softmax" in o.note)
    dot = find_op(lambda o: o.opcode == ir.DOT and o.note.startswith("bwd h0.fc gw"))
    sqrt = find_op(lambda o: o.opcode == ir.SQRT and o.note.startswith("adamw"))
    if kind == "fwd_exp_ulp":
        return visible(lambda e: corrupt(1, exp, element=e, mode="ulp"), 1, op=exp)
    if kind == "bwd_dot_ulp":
        return visible(lambda e: corrupt(1, dot, element=e, mode="ulp"), 1, op=dot)
    if kind == "optim_big":
        return visible(lambda e: corrupt(3, sqrt, element=e, mode="big"), 3, op=sqrt)
    t = Cheater(JOB, skip(3) if kind == "skip" else other_run(7, start=3))
    t.train()
    return t


def start_job(h, referee, alice, bob, carol, roots_bob, roots_carol) -> int:
    tree, data, num_ops = program_of(JOB).job_fields
    job_id = h.start(specHash=spec_hash(JOB), steps=JOB.steps, checkpointInterval=INTERVAL, programTree=tree,
                     dataTree=data, numOps=num_ops)  # fmt: skip
    for k in (1, 2):
        h.market.postCheckpoint(job_id, k, roots_bob[k * INTERVAL], sender=bob)
        h.market.postCheckpoint(job_id, k, roots_carol[k * INTERVAL], sender=carol)
    return job_id


def dispute_between(referee, market, job_id, challenger, ch_trainer, defender, de_trainer, *, liar=None):
    """Open a solver dispute at the first differing checkpoint and return both agents."""
    index = next(k for k in (1, 2) if ch_trainer.roots[k * INTERVAL] != de_trainer.roots[k * INTERVAL])
    r = referee.openSolverDispute(job_id, defender, index, sender=challenger, value=BOND)
    did = r.events.filter(referee.DisputeCreated)[0].disputeId
    a = DisputeAgent(referee, challenger, ch_trainer, role="challenger", dispute_id=did, liar=liar, log=print)
    b = DisputeAgent(referee, defender, de_trainer, role="defender", dispute_id=did, log=print)
    return did, a, b


def moves_bound(g: int) -> int:
    """Calls a game may take: two per round (a defender move and the challenger's answer) and the verdict.
    Rounds: the Steps and OpTrace narrowing (16-ary), the trace commitments, the output reveal, the descent, the
    leaf data and the 8-ary partial sums: 1 + 1 + 3 + 1 + 2 + 1 + 2 = 11 for this job, 23 calls."""
    rounds = narrow_rounds(INTERVAL, STEPS_ARITY) + 1 + narrow_rounds(g, OPS_ARITY) + 1 + DESCENT_ROUNDS + 1
    return 2 * (rounds + narrow_rounds(LONGEST_REDUCTION, PARTIALS_ARITY)) + 1


@pytest.mark.parametrize("kind", ["fwd_exp_ulp", "bwd_dot_ulp", "optim_big", "skip", "other_run"])
def test_cheater_is_caught_on_chain(kind, h, referee, market, chain, alice, bob, carol):
    """carol cheats at step 3 (one ulp in a forward EXP, one ulp in a backward matmul reduction, a wrong
    AdamW sqrt, a skipped step, another run's roots); honest bob disputes her checkpoint 2 and wins on the
    leaf recomputation; she is slashed, bob gets his bond back and REWARD_BPS of her stake."""
    bad = cheater(kind)
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    did, a, b = dispute_between(referee, market, job_id, bob, honest(), carol, bad)
    before = market.owed(job_id, bob)
    play([a, b])
    d = referee.disputeOf(did)
    assert d.phase == Phase.RESOLVED and d.winner == Party.CHALLENGER, kind
    resolved = [ev for r in a.receipts + b.receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert resolved and resolved[-1].how == 1  # Resolution.Leaf: decided by recomputation, not by a clock
    assert market.solverOf(job_id, carol).slashed
    assert market.owed(job_id, bob) - before == STAKE * REWARD_BPS // 10_000
    assert referee.bondCredit(bob) == BOND
    # logarithmic: Steps + OpTrace rounds, the reveal, the descent and the partial sums
    assert d.moves == len(a.receipts) + len(b.receipts) <= moves_bound(len(program())), (kind, d.moves)
    assert max(r.gas_used for r in a.receipts + b.receipts) < MOVE_GAS_CAP


def test_honest_defender_beats_a_lying_challenger(h, referee, market, alice, bob, carol):
    """carol claims bob's honest checkpoint is wrong and answers bisection with made-up roots: she cannot
    back them when the trace must be proven, runs out of moves, and loses; bob keeps his stake."""
    bad = cheater("fwd_exp_ulp")
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    did, a, b = dispute_between(referee, market, job_id, carol, bad, bob, honest(), liar=Liar(seed=3))
    play([a, b])
    d = referee.disputeOf(did)
    assert a.rejected, "the liar's unprovable move was refused"
    if d.phase != Phase.RESOLVED:  # the liar is stuck: its clock runs out
        ape.chain.pending_timestamp = referee.moveDeadline(did) + 1
        referee.timeout(did, sender=alice)
        d = referee.disputeOf(did)
    assert d.winner == Party.DEFENDER
    assert not market.solverOf(job_id, bob).slashed and market.solverOf(job_id, carol).slashed


def test_silent_defender_loses_by_timeout(h, referee, market, chain, alice, bob, carol):
    """A cheater that stops answering once the op phase starts loses when its clock runs out."""
    bad = cheater("optim_big")
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    did, a, b = dispute_between(referee, market, job_id, bob, honest(), carol, bad)
    while referee.disputeOf(did).phase == Phase.STEPS:
        (a.act() or b.act())
    assert referee.disputeOf(did).phase == Phase.OP_TRACE
    chain.pending_timestamp = referee.moveDeadline(did) + 1
    referee.timeout(did, sender=alice)
    d = referee.disputeOf(did)
    assert d.winner == Party.CHALLENGER and market.solverOf(job_id, carol).slashed


def test_bonds_and_stakes_leave_no_wei_stuck(h, referee, market, alice, bob, carol):
    """After a game every bond is withdrawable and the referee holds exactly the bond credits."""
    bad = cheater("bwd_dot_ulp")
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    _, a, b = dispute_between(referee, market, job_id, bob, honest(), carol, bad)
    play([a, b])
    credits = sum(referee.bondCredit(acct) for acct in (alice, bob, carol))
    assert ape.chain.provider.get_balance(referee.address) >= credits
    referee.withdrawBond(sender=bob)
    assert referee.bondCredit(bob) == 0
    assert ape.chain.provider.get_balance(referee.address) >= sum(referee.bondCredit(x) for x in (alice, carol))


def test_watcher_challenge_flow(h, referee, market, alice, bob, carol, eve):
    """`challenge` (what `ape run challenge` runs): a watcher recomputes the job, refuses a spec that is not
    the job's, finds carol's wrong checkpoint, opens a watcher dispute and wins it against carol's agent;
    on a job where every root matches it sends nothing."""
    from types import SimpleNamespace

    from offchain.verde.challenge import ChallengeError, challenge

    deployment = SimpleNamespace(JobMarket=market, VerdeReferee=referee)
    bad = cheater("optim_big")
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    with pytest.raises(ChallengeError, match="specHash"):
        challenge(deployment, job_id, eve, VerdeJob(steps=4, checkpoint_interval=2, seed=5), echo=lambda _m: None)
    with pytest.raises(ChallengeError, match="job 999 does not exist"):
        challenge(deployment, 999, eve, JOB, echo=lambda _m: None)
    with pytest.raises(ChallengeError, match="requester cannot dispute"):  # before any transaction
        challenge(deployment, job_id, alice, JOB, echo=lambda _m: None)

    def carol_defends(dispute_id, defender):
        assert defender == carol.address
        return [DisputeAgent(referee, carol, bad, role="defender", dispute_id=dispute_id)]

    lines: list[str] = []
    report = challenge(deployment, job_id, eve, JOB, echo=lines.append, partners=carol_defends, poll_s=0)
    assert report is not None and report.winner == "Challenger" and report.resolution == "Leaf"
    assert referee.disputeOf(report.dispute_id).watcher
    assert market.solverOf(job_id, carol).slashed and not market.solverOf(job_id, bob).slashed
    assert market.owed(job_id, eve) == STAKE * REWARD_BPS // 10_000  # the watcher's share of carol's stake
    assert any(line.startswith("verdict: Challenger wins by Leaf") for line in lines)

    clean = start_job(h, referee, alice, bob, carol, honest().roots, honest().roots)
    count = referee.disputeCount()
    assert challenge(deployment, clean, eve, JOB, echo=lambda _m: None) is None
    assert referee.disputeCount() == count


def _every_opcode() -> list[int]:
    """Every opcode of the program, so every recipe decides a real game. Except NEG: its one op is the
    loss value (the NLL), which nothing in the step reads (cross-entropy's gradient does not), so a wrong
    value there leaves the checkpoint right and there is no game to play; test_adjudicator covers its recipe."""
    return sorted({op.opcode for op in program()} - {ir.NEG})


def _live_op(opcode: int) -> tuple[int, VerdeTrainer]:
    """The first op of this kind where a wrong value reaches the new state, and a cheater corrupting it. (The
    loss value itself, e.g. the NLL's NEG, feeds nothing: cross-entropy's gradient does not read it.)"""
    for i in [i for i, op in enumerate(program()) if op.opcode == opcode][:4]:
        mode = "ulp" if program()[i].dtype == ir.INT32 else "big"  # an index off by 1000 crashes the cheater
        try:
            return i, visible(lambda e, i=i, mode=mode: corrupt(2, i, element=e, mode=mode), 2, op=i)
        except AssertionError:
            continue
    raise AssertionError(f"no {ir.NAMES[opcode]} op reaches the state")


# One opcode of each class plays in `make test`; the rest are `slow` (`make test-slow`): each game is ~30
# transactions on py-evm, and test_adjudicator already checks every recipe on chain against the oracle.
_IN_MAKE_TEST = {ir.LOAD, ir.BATCH, ir.EXP, ir.WHERE, ir.DOT, ir.SCATTER, ir.GATHER, ir.CAT, ir.HEADER}


@pytest.mark.parametrize(
    "opcode",
    [c if c in _IN_MAKE_TEST else pytest.param(c, marks=pytest.mark.slow) for c in _every_opcode()],
    ids=lambda c: ir.NAMES[c],
)
def test_every_op_kind_is_caught_by_its_recipe(opcode, h, referee, market, alice, bob, carol):
    """For every opcode of the GPT step (forward, backward, AdamW, loads, the checkpoint hashes), a cheater
    that writes a wrong value into one op of that kind at step 2 is pinned to exactly that op and loses on
    its on-chain recipe (never by timeout, never by the committee)."""
    op_index, bad = _live_op(opcode)
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, bad.roots)
    did, a, b = dispute_between(referee, market, job_id, bob, honest(), carol, bad)
    a.log = b.log = lambda _m: None
    play([a, b])
    d = referee.disputeOf(did)
    assert d.winner == Party.CHALLENGER and d.opIndex == op_index
    resolved = [ev for r in a.receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert resolved and resolved[-1].how == 1  # Resolution.Leaf


# ---------------------------------------------------------------- the rules an honest solver relies on (issue 9)


def test_requesters_sybil_watcher_cannot_beat_an_honest_solver(h, referee, market, chain, alice, bob, carol, dave):
    """The review's attack: the requester re-registered the program after the solvers staked, then had a
    watcher dispute an honest solver, who could not prove its trace and was slashed. The program is now part
    of the job: the old call is gone, and the requester's sybil (dave) disputing honest bob's checkpoint with a
    made-up root loses, because bob proves his trace against the program he joined under."""
    job_id = start_job(h, referee, alice, bob, carol, honest().roots, honest().roots)
    rules = keccak(b"the requester's new rules")
    selector = keccak(text="setProgram(uint256,bytes32,uint32,bytes32,uint64)")[:4]
    args = job_id.to_bytes(32, "big") + rules + (1).to_bytes(32, "big") + rules + JOB.steps.to_bytes(32, "big")
    with ape.reverts():
        alice.transfer(referee, 0, data=selector + args)
    with ape.reverts(referee.RefereeRequesterIsWatcher, jobId=job_id, account=alice.address):
        referee.openWatcherDispute(job_id, bob, 1, rules, sender=alice, value=BOND)

    r = referee.openWatcherDispute(job_id, bob, 1, rules, sender=dave, value=BOND)
    did = r.events.filter(referee.DisputeCreated)[0].disputeId
    a = DisputeAgent(referee, dave, honest(), role="challenger", dispute_id=did, liar=Liar(seed=11))
    b = DisputeAgent(referee, bob, honest(), role="defender", dispute_id=did)
    play([a, b])
    if referee.disputeOf(did).phase != Phase.RESOLVED:  # the liar cannot back its roots: its clock runs out
        chain.pending_timestamp = referee.moveDeadline(did) + 1
        referee.timeout(did, sender=bob)
    assert referee.disputeOf(did).winner == Party.DEFENDER
    info = market.solverOf(job_id, bob)
    assert not info.slashed and info.disputes == 0
    assert referee.bondCredit(bob) == BOND and market.owed(job_id, dave) == 0


@pytest.fixture
def crowdfund(project, deployer, market):
    return deployer.deploy(project.Crowdfund, market)


def test_crowdfunded_job_is_judged_on_chain_down_to_the_leaf(
    h, referee, market, crowdfund, chain, alice, bob, carol, dave, eve
):
    """A campaign carries its job's program from creation, so contributors fund rules they can read and the
    job's disputes are decided by recomputation like any other: carol cheats, bob catches her down to one
    element, and what the market returns to the Crowdfund (her unreleased pay, the rest of her stake) reaches
    the contributors to the wei. The referee credits the Crowdfund nothing it could not withdraw."""
    tree, data, num_ops = program_of(JOB).job_fields
    now = chain.pending_timestamp
    template = (spec_hash(JOB), JOB.steps, INTERVAL, 2, STAKE, now + 2_000, now + 100_000, 10_000, tree, data, num_ops)
    created = crowdfund.createCampaign(ZERO_ADDRESS, 10**18, now + 1_000, template, sender=alice)
    cid = created.events.filter(crowdfund.CampaignCreated)[0].campaignId
    assert tuple(crowdfund.campaignOf(cid).template)[-3:] == (tree, data, num_ops)
    with ape.reverts(crowdfund.CrowdfundBadTemplate, reason="program incomplete"):
        crowdfund.createCampaign(ZERO_ADDRESS, 10**18, now + 1_000, (*template[:8], keccak(b"x"), data, 0),
                                 sender=alice)  # fmt: skip
    for who, amount in ((dave, 6 * 10**17), (eve, 4 * 10**17 + 3)):
        crowdfund.contribute(cid, amount, sender=who, value=amount)
    launched = crowdfund.launch(cid, sender=eve)
    job_id = launched.events.filter(crowdfund.CampaignLaunched)[0].jobId
    assert referee.programOf(job_id).programTree == tree
    bad = cheater("fwd_exp_ulp")
    for solver in (bob, carol):
        market.join(job_id, sender=solver, value=STAKE)
    for k in (1, 2):
        for solver, run in ((bob, honest()), (carol, bad)):
            market.postCheckpoint(job_id, k, run.roots[k * INTERVAL], sender=solver)

    did, a, b = dispute_between(referee, market, job_id, bob, honest(), carol, bad)
    play([a, b])
    d = referee.disputeOf(did)
    resolved = [ev for r in a.receipts + b.receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert d.winner == Party.CHALLENGER and resolved[-1].how == 1  # Resolution.Leaf
    assert referee.bondCredit(crowdfund) == 0
    milestone = market.milestoneOf(job_id)
    returned = market.owed(job_id, crowdfund)
    dust = 10**18 + 3 - 4 * milestone
    assert returned == dust + 2 * milestone + STAKE - STAKE * REWARD_BPS // 10_000
    crowdfund.sync(cid, sender=eve)
    for who in (dave, eve):
        crowdfund.claimRefund(cid, sender=who)
    assert chain.provider.get_balance(crowdfund.address) == 0
    # Floor shares plus the last claimant's rounding dust: every wei the market returned reached a contributor.
    claimed = crowdfund.claimedOf(cid, dave) + crowdfund.claimedOf(cid, eve)
    assert claimed <= returned <= claimed + 1


def test_crowdfunded_job_both_solvers_wrong_every_wei_reaches_contributors(
    h, referee, market, crowdfund, chain, alice, bob, carol, dave, eve
):
    """Both solvers of a crowdfunded job cheat on the same element of the same op (one ulp, and a big error):
    the recomputation matches neither (BothWrong), both are slashed and the job is voided. Nobody won outright,
    so both bounties go to the requester, the Crowdfund; the challenger's bond goes back to it (the referee
    credits nobody outside the dispute), and the whole pool and both stakes reach the contributors."""
    ulp = cheater("fwd_exp_ulp")
    exp, element = ulp.dishonest.op, ulp.dishonest.element
    big = Cheater(JOB, corrupt(1, exp, element=element, mode="big"))
    big.train()
    assert len({ulp.roots[2], big.roots[2], honest().roots[2]}) == 3
    tree, data, num_ops = program_of(JOB).job_fields
    now = chain.pending_timestamp
    template = (spec_hash(JOB), JOB.steps, INTERVAL, 2, STAKE, now + 2_000, now + 100_000, 10_000, tree, data, num_ops)
    cid = crowdfund.createCampaign(ZERO_ADDRESS, 10**18, now + 1_000, template, sender=alice).events.filter(
        crowdfund.CampaignCreated
    )[0].campaignId
    for who, amount in ((dave, 7 * 10**17), (eve, 3 * 10**17)):
        crowdfund.contribute(cid, amount, sender=who, value=amount)
    job_id = crowdfund.launch(cid, sender=eve).events.filter(crowdfund.CampaignLaunched)[0].jobId
    for solver in (bob, carol):
        market.join(job_id, sender=solver, value=STAKE)
    for k in (1, 2):
        market.postCheckpoint(job_id, k, ulp.roots[k * INTERVAL], sender=bob)
        market.postCheckpoint(job_id, k, big.roots[k * INTERVAL], sender=carol)

    did, a, b = dispute_between(referee, market, job_id, bob, ulp, carol, big)
    play([a, b])
    resolved = [ev for r in a.receipts + b.receipts for ev in r.events.filter(referee.DisputeResolved)]
    assert resolved[-1].how == 4  # Resolution.BothWrong
    assert referee.disputeOf(did).opIndex == exp and referee.disputeOf(did).element == element
    assert market.solverOf(job_id, bob).slashed and market.solverOf(job_id, carol).slashed
    assert market.jobOf(job_id).status_ == 4  # JobStatus.Voided
    assert referee.bondCredit(bob) == BOND and referee.bondCredit(crowdfund) == 0
    assert market.bountyOf(job_id, bob) == market.bountyOf(job_id, carol) == 0
    assert market.owed(job_id, crowdfund) == 10**18 + 2 * STAKE and market.escrowOf(job_id) == 0
    crowdfund.sync(cid, sender=eve)
    for who in (dave, eve):
        crowdfund.claimRefund(cid, sender=who)
    assert chain.provider.get_balance(crowdfund.address) == 0
