"""End-to-end flows: campaign -> contributions -> launch on the real JobMarket -> solvers join and post
checkpoints -> milestones released -> a solver slashed, or the job voided -> sync -> pro rata refunds.

`referee` holds the JobMarket's DISPUTE_ROLE and plays the Verde referee.
Run: `.venv/bin/ape test tests/crowdfund/test_crowdfund_flow.py -q -s -p no:cacheprovider` (-s shows gas)
"""

from __future__ import annotations

from fractions import Fraction

from crowdfund_support import (
    CHECKPOINTS,
    DAY,
    GOAL,
    JOB_RUNNING,
    JOB_VOIDED,
    MILESTONES,
    NUM_SOLVERS,
    STAKE,
    WINDOW,
    ZERO_ADDRESS,
    Ledger,
    event,
)
from eth_utils import keccak


def _root(solver, index: int, *, honest: bool = True) -> bytes:
    """A stand-in checkpoint root, distinct per solver, index and honesty."""
    return keccak(text=f"{solver.address}:{index}:{honest}")


def _fund(create, contribute, asset, amounts) -> int:
    """Open a default campaign in `asset` and make the contributions; returns its id."""
    cid = create(asset)
    for who, amount in amounts.items():
        contribute(asset, cid, who, amount)
    return cid


def _claim_all(crowdfund, asset, cid, ledger, order) -> int:
    """Every contributor in `order` claims; each payout matches the model; returns the total paid."""
    total = 0
    for who in order:
        assert crowdfund.claimableOf(cid, who) == ledger.claimable(who.address)
        share, dust = ledger.claim(who.address)
        before = asset.balance(who)
        receipt = crowdfund.claimRefund(cid, sender=who)
        log = event(receipt, crowdfund.RefundClaimed)
        assert (log.campaignId, log.contributor, log.amount, log.dust) == (cid, who.address, share, dust)
        assert asset.received(who, before, receipt) == share + dust
        total += share + dust
    return total


def test_flow_slashed_solver_refunds_contributors_pro_rata(
    crowdfund, market, create, contribute, join, asset, alice, bob, carol, eve, solver_a, solver_b, referee, chain
):
    """Milestones pay the solvers; a slashed solver's unreleased share and stake come back to contributors pro rata."""
    amounts = {alice: GOAL // 2 + 3, bob: GOAL * 3 // 10 + 1, carol: GOAL // 5 + 1}
    payment = sum(amounts.values())  # GOAL + 5: 5 wei of milestone-split dust
    milestone = payment // MILESTONES
    cid = _fund(create, contribute, asset, amounts)
    assert [crowdfund.shareBps(cid, who) for who in amounts] == [5_000, 2_999, 2_000]  # rounded down
    ledger = Ledger({who.address: amount for who, amount in amounts.items()})

    job_id = event(crowdfund.launch(cid, sender=eve), crowdfund.CampaignLaunched).jobId
    join(asset, job_id, solver_a)
    join(asset, job_id, solver_b)
    for index in (1, 2):
        for solver in (solver_a, solver_b):
            market.postCheckpoint(job_id, index, _root(solver, index), sender=solver)
    chain.mine(deltatime=WINDOW)
    for solver in (solver_a, solver_b):
        released = event(market.claim(job_id, sender=solver), market.MilestonesReleased)
        assert (released.fromIndex, released.toIndex, released.amount) == (1, 2, 2 * milestone)
    assert crowdfund.milestonesReleased(cid) == 4
    assert tuple(crowdfund.jobProgress(cid)) == (job_id, JOB_RUNNING, NUM_SOLVERS, MILESTONES, 4, 4)

    # The milestone split's dust came back when the job started.
    synced = event(crowdfund.sync(cid, sender=eve), crowdfund.Synced)
    assert (synced.epoch, synced.amount, synced.returned) == (1, payment % MILESTONES, payment % MILESTONES)
    ledger.sync(synced.amount)

    # solver_b posts a bad checkpoint; the referee disputes it and slashes solver_b.
    market.postCheckpoint(job_id, 3, _root(solver_b, 3, honest=False), sender=solver_b)
    market.openDispute(job_id, solver_b, 3, ZERO_ADDRESS, sender=referee)
    slashed = event(market.slash(job_id, solver_b, 5_000, sender=referee), market.SolverSlashed)
    market.awardBounty(job_id, solver_b, referee, sender=referee)
    to_requester = STAKE - STAKE // 2 + (CHECKPOINTS - 2) * milestone
    assert (slashed.bounty, slashed.toRequester) == (STAKE // 2, to_requester)

    # solver_a finishes honestly and gets its last milestones and its stake.
    for index in (3, 4):
        market.postCheckpoint(job_id, index, _root(solver_a, index), sender=solver_a)
    chain.mine(deltatime=WINDOW)
    receipt = market.claim(job_id, sender=solver_a)
    assert event(receipt, market.MilestonesReleased).amount == 2 * milestone
    assert event(receipt, market.StakeReturned).amount == STAKE
    assert crowdfund.milestonesReleased(cid) == 6

    # carol claims the first epoch before the slash is synced; bob and alice claim everything later.
    paid = _claim_all(crowdfund, asset, cid, ledger, [carol])
    assert crowdfund.pendingSync(cid) == to_requester
    synced = event(crowdfund.sync(cid, sender=eve), crowdfund.Synced)
    assert (synced.epoch, synced.amount) == (2, to_requester)
    ledger.sync(to_requester)
    paid += _claim_all(crowdfund, asset, cid, ledger, [bob, alice, carol])

    returned = payment % MILESTONES + to_requester
    assert paid == returned == crowdfund.campaignOf(cid).paidOut == crowdfund.campaignOf(cid).returned
    assert crowdfund.liabilityOf(cid) == 0
    assert asset.balance(crowdfund) == 0
    assert market.owed(job_id, crowdfund) == 0
    # Each contributor's floor shares are its exact pro rata share of everything returned, less under one
    # wei per epoch (dust is paid on top and not counted in claimedOf).
    for who, amount in amounts.items():
        exact = Fraction(returned * amount, payment)
        assert exact - 2 < crowdfund.claimedOf(cid, who) <= exact
    # The JobMarket holds nothing uncredited for the job: solvers and the referee can withdraw the rest.
    assert market.escrowOf(job_id) == 0
    for account in (solver_a, solver_b, referee):
        if market.owed(job_id, account):
            market.withdraw(job_id, sender=account)
    assert market.owed(job_id, solver_a) == market.owed(job_id, referee) == 0


def test_flow_voided_job_refunds_unreleased_payment(
    crowdfund, market, create, contribute, join, asset, alice, bob, carol, eve, solver_a, solver_b, referee, chain
):
    """A voided job returns every unreleased milestone; contributors split it pro rata and the pool is emptied."""
    amounts = {alice: GOAL // 3, bob: GOAL // 3, carol: GOAL - 2 * (GOAL // 3) + 6}
    payment = sum(amounts.values())
    milestone = payment // MILESTONES
    cid = _fund(create, contribute, asset, amounts)
    ledger = Ledger({who.address: amount for who, amount in amounts.items()})
    job_id = event(crowdfund.launch(cid, sender=alice), crowdfund.CampaignLaunched).jobId
    join(asset, job_id, solver_a)
    join(asset, job_id, solver_b)
    for solver in (solver_a, solver_b):
        market.postCheckpoint(job_id, 1, _root(solver, 1), sender=solver)
    chain.mine(deltatime=WINDOW)
    market.claim(job_id, sender=solver_a)  # solver_b leaves its verified milestone unclaimed
    assert crowdfund.milestonesReleased(cid) == 1

    voided = event(market.voidResult(job_id, sender=referee), market.JobVoided)
    assert voided.refunded == (MILESTONES - 1) * milestone
    assert crowdfund.jobProgress(cid)[1] == JOB_VOIDED
    expected = payment % MILESTONES + voided.refunded
    assert crowdfund.pendingSync(cid) == expected

    synced = event(crowdfund.sync(cid, sender=eve), crowdfund.Synced)
    assert (synced.epoch, synced.amount, synced.returned) == (1, expected, expected)
    ledger.sync(expected)
    paid = _claim_all(crowdfund, asset, cid, ledger, [alice, carol, bob])

    assert paid == expected
    assert crowdfund.liabilityOf(cid) == 0
    assert asset.balance(crowdfund) == 0
    assert market.escrowOf(job_id) == 0


def test_flow_gas_report(crowdfund, market, create, contribute, join, asset, alice, bob, carol, eve, chain):
    """Gas of each Crowdfund entry point on its usual path, printed as a table (run with -s to see it)."""
    gas = {}
    now = chain.pending_timestamp
    from crowdfund_support import template

    gas["createCampaign"] = crowdfund.createCampaign(
        asset.address, GOAL, now + DAY, template(now), sender=alice
    ).gas_used
    cid = crowdfund.campaignCount()
    gas["contribute (first)"] = contribute(asset, cid, alice, GOAL // 2).gas_used
    gas["contribute (again)"] = contribute(asset, cid, alice, GOAL // 10).gas_used
    contribute(asset, cid, bob, GOAL * 3 // 10)
    contribute(asset, cid, carol, GOAL // 10)
    launch = crowdfund.launch(cid, sender=eve)
    gas["launch"] = launch.gas_used
    job_id = event(launch, crowdfund.CampaignLaunched).jobId

    failed = create(asset)
    contribute(asset, failed, alice, 100)
    chain.mine(deltatime=DAY)
    gas["refund (first, records Failed)"] = crowdfund.refund(failed, sender=alice).gas_used

    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=eve)
    gas["sync"] = crowdfund.sync(cid, sender=eve).gas_used
    gas["claimRefund (1 epoch)"] = crowdfund.claimRefund(cid, sender=alice).gas_used
    crowdfund.claimRefund(cid, sender=bob)
    gas["claimRefund (1 epoch, last: dust)"] = crowdfund.claimRefund(cid, sender=carol).gas_used

    print(f"\nCrowdfund gas ({asset.name}):")
    for name, used in gas.items():
        print(f"  {name:<36} {used:>8,}")
    assert all(0 < used < 400_000 for used in gas.values())
