"""Unit tests of Crowdfund: every external function, its success path, each custom error and event.

Runs against the real JobMarket; `asset` parametrizes ETH and an ERC20.
Run: `.venv/bin/ape test tests/crowdfund/test_crowdfund.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import pytest
from crowdfund_support import (
    CHECKPOINTS,
    DAY,
    FAILED,
    FUNDING,
    GOAL,
    HOUR,
    INTERVAL,
    JOB_CANCELLED,
    JOB_NONE,
    JOB_OPEN,
    LAUNCHED,
    MILESTONES,
    NONE,
    NUM_SOLVERS,
    SPEC,
    STAKE,
    STEPS,
    SUCCEEDED,
    WINDOW,
    ZERO_ADDRESS,
    event,
    reverts_with,
    template,
)

# ---------------------------------------------------------------- constructor


def test_constructor_zero_market_reverts(project, deployer):
    """Deploying without a JobMarket reverts with CrowdfundZeroMarket."""
    with reverts_with(project.Crowdfund.CrowdfundZeroMarket):
        project.Crowdfund.deploy(ZERO_ADDRESS, sender=deployer)


def test_constructor_sets_market_and_version(crowdfund, market):
    """The deployment exposes its JobMarket, version 1.0.0 and no campaigns."""
    assert crowdfund.MARKET() == market.address
    assert crowdfund.version() == "2.0.0"
    assert crowdfund.campaignCount() == 0


# ---------------------------------------------------------------- createCampaign


def test_create_campaign_records_and_emits(crowdfund, asset, bob, chain):
    """createCampaign stores the campaign, counts it, starts it Funding and emits CampaignCreated."""
    now = chain.pending_timestamp
    tpl = template(now)
    receipt = crowdfund.createCampaign(asset.address, GOAL, now + DAY, tpl, sender=bob)

    log = event(receipt, crowdfund.CampaignCreated)
    assert log.campaignId == 1
    assert log.creator == bob.address
    assert log.token == asset.address
    assert log.goal == GOAL
    assert log.deadline == now + DAY
    assert log.specHash == SPEC
    assert crowdfund.campaignCount() == 1
    assert crowdfund.statusOf(1) == FUNDING
    c = crowdfund.campaignOf(1)
    assert c.creator == bob.address
    assert c.token == asset.address
    assert c.deadline == now + DAY
    assert c.status == FUNDING
    assert c.goal == GOAL
    assert (c.raised, c.jobId, c.returned, c.paidOut, c.epochs) == (0, 0, 0, 0, 0)
    assert tuple(c.template) == tpl


def test_create_campaign_zero_goal_reverts(crowdfund, eth, alice, chain):
    """A goal of zero reverts with CrowdfundZeroGoal."""
    now = chain.pending_timestamp
    with reverts_with(crowdfund.CrowdfundZeroGoal):
        crowdfund.createCampaign(eth.address, 0, now + DAY, template(now), sender=alice)


def test_create_campaign_deadline_not_in_future_reverts(crowdfund, eth, alice, chain):
    """A deadline at or before the current block reverts with CrowdfundBadDeadline."""
    now = chain.pending_timestamp
    with reverts_with(crowdfund.CrowdfundBadDeadline, deadline=now - 1) as info:
        crowdfund.createCampaign(eth.address, GOAL, now - 1, template(now), sender=alice)
    assert info.value.inputs["timestamp"] >= now - 1


def test_create_campaign_token_without_code_reverts(crowdfund, alice, bob, chain):
    """An asset address that is no contract reverts with CrowdfundBadToken."""
    now = chain.pending_timestamp
    with reverts_with(crowdfund.CrowdfundBadToken, token=bob.address):
        crowdfund.createCampaign(bob.address, GOAL, now + DAY, template(now), sender=alice)


@pytest.mark.parametrize(
    ("overrides", "goal", "reason"),
    [
        ({"steps": 0}, GOAL, "steps is zero"),
        ({"checkpointInterval": 0}, GOAL, "checkpointInterval is zero"),
        ({"numSolvers": 0}, GOAL, "numSolvers is zero"),
        ({"steps": 2**40, "checkpointInterval": 1}, GOAL, "too many checkpoints"),
        ({}, MILESTONES - 1, "goal below one wei per milestone"),
        ({"joinDeadline": DAY}, GOAL, "joinDeadline not after deadline"),
        ({"completionDeadline": 2 * DAY}, GOAL, "completionDeadline not after joinDeadline"),
    ],
    ids=["steps", "interval", "solvers", "checkpoints", "goal", "join", "completion"],
)
def test_create_campaign_bad_template_reverts(crowdfund, eth, alice, chain, overrides, goal, reason):
    """A template the JobMarket would reject reverts with CrowdfundBadTemplate naming the rule."""
    now = chain.pending_timestamp
    tpl = {k: (now + v if k.endswith("Deadline") else v) for k, v in overrides.items()}
    with reverts_with(crowdfund.CrowdfundBadTemplate, reason=reason):
        crowdfund.createCampaign(eth.address, goal, now + DAY, template(now, **tpl), sender=alice)


def test_create_campaign_minimum_goal_succeeds(crowdfund, create, eth):
    """A goal of exactly one wei per milestone is accepted."""
    cid = create(eth, goal=MILESTONES)
    assert crowdfund.campaignOf(cid).goal == MILESTONES


# ---------------------------------------------------------------- contribute


def test_contribute_records_attribution_and_emits(crowdfund, create, contribute, asset, alice, bob):
    """Contributions are recorded per contributor, listed once each, and emit running totals."""
    cid = create(asset)
    before = asset.balance(crowdfund)
    r1 = contribute(asset, cid, alice, 100)
    r2 = contribute(asset, cid, bob, 300)
    r3 = contribute(asset, cid, alice, 100)

    logs = [event(r, crowdfund.Contributed) for r in (r1, r2, r3)]
    assert [(log.campaignId, log.contributor, log.amount, log.contribution, log.raised) for log in logs] == [
        (cid, alice.address, 100, 100, 100),
        (cid, bob.address, 300, 300, 400),
        (cid, alice.address, 100, 200, 500),
    ]
    assert crowdfund.contributionOf(cid, alice) == 200
    assert crowdfund.contributionOf(cid, bob) == 300
    assert crowdfund.totalRaised(cid) == 500
    assert crowdfund.contributorsOf(cid) == [alice.address, bob.address]
    assert crowdfund.contributorCount(cid) == 2
    assert crowdfund.shareBps(cid, alice) == 4_000
    assert crowdfund.shareBps(cid, bob) == 6_000
    assert crowdfund.liabilityOf(cid) == 500
    assert asset.balance(crowdfund) - before == 500


def test_contribute_unknown_campaign_reverts(crowdfund, eth, alice):
    """Contributing to an id that was never created reverts with CrowdfundUnknownCampaign."""
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=7):
        crowdfund.contribute(7, 1, value=1, sender=alice)


def test_contribute_after_deadline_goal_missed_reverts(crowdfund, create, contribute, eth, alice, chain):
    """After the deadline with the goal missed, contributing reverts with CrowdfundNotFunding(Failed)."""
    cid = create(eth)
    chain.mine(deltatime=DAY)
    with reverts_with(crowdfund.CrowdfundNotFunding, campaignId=cid, status=FAILED):
        contribute(eth, cid, alice, 1)


def test_contribute_after_deadline_goal_met_reverts(crowdfund, create, contribute, eth, alice, chain):
    """After the deadline with the goal met, contributing reverts with CrowdfundNotFunding(Succeeded)."""
    cid = create(eth)
    contribute(eth, cid, alice, GOAL)
    chain.mine(deltatime=DAY)
    assert crowdfund.statusOf(cid) == SUCCEEDED
    with reverts_with(crowdfund.CrowdfundNotFunding, campaignId=cid, status=SUCCEEDED):
        contribute(eth, cid, alice, 1)


def test_contribute_after_launch_reverts(crowdfund, launched, contribute, asset, dave):
    """A launch closes contributions: CrowdfundNotFunding(Launched)."""
    cid, _ = launched(asset)
    with reverts_with(crowdfund.CrowdfundNotFunding, campaignId=cid, status=LAUNCHED):
        contribute(asset, cid, dave, 1)


def test_contribute_zero_amount_reverts(crowdfund, create, asset, alice):
    """A contribution of zero reverts with CrowdfundZeroAmount."""
    cid = create(asset)
    with reverts_with(crowdfund.CrowdfundZeroAmount):
        crowdfund.contribute(cid, 0, sender=alice)


def test_contribute_eth_wrong_value_reverts(crowdfund, create, eth, alice):
    """An ETH contribution whose msg.value differs from the amount reverts with CrowdfundWrongValue."""
    cid = create(eth)
    with reverts_with(crowdfund.CrowdfundWrongValue, sent=99, expected=100):
        crowdfund.contribute(cid, 100, value=99, sender=alice)


def test_contribute_erc20_with_ether_reverts(crowdfund, create, erc20, alice):
    """An ERC20 contribution that also sends ETH reverts with CrowdfundWrongValue(expected 0)."""
    cid = create(erc20)
    erc20.fund(alice, crowdfund, 100)
    with reverts_with(crowdfund.CrowdfundWrongValue, sent=1, expected=0):
        crowdfund.contribute(cid, 100, value=1, sender=alice)


def test_contribute_fee_on_transfer_token_reverts(crowdfund, create, fee_token, alice):
    """A token that delivers 99% of a transfer reverts with CrowdfundFeeOnTransfer and books nothing."""
    from crowdfund_support import Asset

    fee = Asset("fee", fee_token)
    cid = create(fee)
    fee.fund(alice, crowdfund, 10_000)
    with reverts_with(crowdfund.CrowdfundFeeOnTransfer, token=fee_token.address, expected=10_000, received=9_900):
        crowdfund.contribute(cid, 10_000, sender=alice)
    assert crowdfund.totalRaised(cid) == 0
    assert crowdfund.contributorCount(cid) == 0


def test_contribute_erc20_without_approval_reverts(crowdfund, create, erc20, test_token, alice):
    """An ERC20 contribution without allowance reverts in the token and books nothing."""
    cid = create(erc20)
    test_token.mint(alice, 100, sender=alice)
    with reverts_with(test_token.ERC20InsufficientAllowance, spender=crowdfund.address, allowance=0, needed=100):
        crowdfund.contribute(cid, 100, sender=alice)
    assert crowdfund.totalRaised(cid) == 0


# ---------------------------------------------------------------- launch


def test_launch_posts_job_with_pool_and_emits(crowdfund, market, create, contribute, asset, alice, bob, eve):
    """launch posts the template as a job paying the whole pool, requested by the Crowdfund."""
    cid = create(asset)
    contribute(asset, cid, alice, GOAL)
    contribute(asset, cid, bob, 5)
    market_before = asset.balance(market)

    receipt = crowdfund.launch(cid, sender=eve)

    log = event(receipt, crowdfund.CampaignLaunched)
    job_id = market.jobCount()
    assert (log.campaignId, log.jobId, log.payment) == (cid, job_id, GOAL + 5)
    posted = event(receipt, market.JobPosted)
    assert (posted.jobId, posted.requester, posted.token, posted.payment) == (
        job_id,
        crowdfund.address,
        asset.address,
        GOAL + 5,
    )
    params, requester, status, joined = market.jobOf(job_id)
    assert (requester, status, joined) == (crowdfund.address, JOB_OPEN, 0)
    c = crowdfund.campaignOf(cid)
    assert tuple(params) == (
        SPEC,
        STEPS,
        INTERVAL,
        NUM_SOLVERS,
        asset.address,
        GOAL + 5,
        STAKE,
        c.template.joinDeadline,
        c.template.completionDeadline,
        WINDOW,
        b"\x00" * 32,  # no program: the template's, committee-judged
        b"\x00" * 32,
        0,
    )
    assert c.status == LAUNCHED and c.jobId == job_id
    assert crowdfund.statusOf(cid) == LAUNCHED
    assert asset.balance(market) - market_before == GOAL + 5
    assert asset.balance(crowdfund) == 0
    assert crowdfund.liabilityOf(cid) == 0
    if not asset.is_eth:
        assert asset.token.allowance(crowdfund, market) == 0


def test_launch_after_deadline_succeeds(crowdfund, create, contribute, asset, alice, chain):
    """A campaign that met its goal can still launch after the funding deadline, before the join deadline."""
    cid = create(asset)
    contribute(asset, cid, alice, GOAL)
    chain.mine(deltatime=DAY + HOUR)
    assert crowdfund.statusOf(cid) == SUCCEEDED
    crowdfund.launch(cid, sender=alice)
    assert crowdfund.statusOf(cid) == LAUNCHED


def test_launch_goal_not_reached_reverts(crowdfund, create, contribute, eth, alice):
    """Launching below the goal reverts with CrowdfundGoalNotReached."""
    cid = create(eth)
    contribute(eth, cid, alice, GOAL - 1)
    with reverts_with(crowdfund.CrowdfundGoalNotReached, campaignId=cid, raised=GOAL - 1, goal=GOAL):
        crowdfund.launch(cid, sender=alice)


def test_launch_twice_reverts(crowdfund, launched, eth, alice):
    """A launched campaign cannot launch again: CrowdfundNotLaunchable(Launched)."""
    cid, _ = launched(eth)
    with reverts_with(crowdfund.CrowdfundNotLaunchable, campaignId=cid, status=LAUNCHED):
        crowdfund.launch(cid, sender=alice)


def test_launch_after_goal_missed_reverts(crowdfund, create, contribute, eth, alice, chain):
    """After a missed deadline the campaign is Failed and launch reverts with CrowdfundNotLaunchable."""
    cid = create(eth)
    contribute(eth, cid, alice, GOAL - 1)
    chain.mine(deltatime=DAY)
    with reverts_with(crowdfund.CrowdfundNotLaunchable, campaignId=cid, status=FAILED):
        crowdfund.launch(cid, sender=alice)


def test_launch_at_join_deadline_fails_campaign_and_opens_refunds(
    crowdfund, create, contribute, asset, alice, bob, chain
):
    """Unlaunched at the join deadline, a funded campaign is Failed: launch reverts and refunds open."""
    cid = create(asset)
    contribute(asset, cid, alice, GOAL)
    contribute(asset, cid, bob, 7)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline)
    assert crowdfund.statusOf(cid) == FAILED
    with reverts_with(crowdfund.CrowdfundNotLaunchable, campaignId=cid, status=FAILED):
        crowdfund.launch(cid, sender=alice)
    before = asset.balance(bob)
    receipt = crowdfund.refund(cid, sender=bob)
    assert asset.received(bob, before, receipt) == 7


def test_launch_rejected_by_market_reverts_then_refunds(crowdfund, market, create, contribute, eth, alice, chain):
    """A template the JobMarket rejects makes launch revert; the campaign then fails and refunds in full."""
    max_solvers = market.MAX_SOLVERS()
    cid = create(eth, goal=GOAL, numSolvers=max_solvers + 1)
    contribute(eth, cid, alice, GOAL)
    with reverts_with(market.JobInvalidParams, reason="numSolvers out of range"):
        crowdfund.launch(cid, sender=alice)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline)
    before = eth.balance(alice)
    receipt = crowdfund.refund(cid, sender=alice)
    assert eth.received(alice, before, receipt) == GOAL
    assert eth.balance(crowdfund) == 0


def test_launch_unknown_campaign_reverts(crowdfund, alice):
    """Launching an unknown id reverts with CrowdfundUnknownCampaign."""
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=3):
        crowdfund.launch(3, sender=alice)


# ---------------------------------------------------------------- refund


def test_refund_after_goal_missed_pays_full_contribution(crowdfund, create, contribute, asset, alice, bob, chain):
    """After a missed goal each contributor takes back its whole contribution; the first refund records Failed."""
    cid = create(asset)
    contribute(asset, cid, alice, 300)
    contribute(asset, cid, bob, 200)
    contribute(asset, cid, alice, 100)
    chain.mine(deltatime=DAY)

    assert crowdfund.claimableOf(cid, alice) == 400
    before = asset.balance(alice)
    r1 = crowdfund.refund(cid, sender=alice)
    assert asset.received(alice, before, r1) == 400
    failed = event(r1, crowdfund.CampaignFailed)
    assert (failed.campaignId, failed.raised) == (cid, 600)
    log = event(r1, crowdfund.Refunded)
    assert (log.campaignId, log.contributor, log.amount) == (cid, alice.address, 400)
    assert crowdfund.campaignOf(cid).status == FAILED
    assert crowdfund.liabilityOf(cid) == 200

    r2 = crowdfund.refund(cid, sender=bob)
    assert r2.decode_logs(crowdfund.CampaignFailed) == []
    assert event(r2, crowdfund.Refunded).amount == 200
    assert crowdfund.liabilityOf(cid) == 0
    assert asset.balance(crowdfund) == 0
    # Attribution survives the refund.
    assert crowdfund.contributionOf(cid, alice) == 400
    assert crowdfund.claimedOf(cid, alice) == 400
    assert crowdfund.claimableOf(cid, alice) == 0


def test_refund_before_deadline_reverts(crowdfund, create, contribute, eth, alice):
    """Refunds are closed while funding: CrowdfundNotFailed(Funding)."""
    cid = create(eth)
    contribute(eth, cid, alice, 100)
    with reverts_with(crowdfund.CrowdfundNotFailed, campaignId=cid, status=FUNDING):
        crowdfund.refund(cid, sender=alice)


def test_refund_goal_met_reverts(crowdfund, create, contribute, eth, alice, chain):
    """A campaign that met its goal does not refund before its join deadline: CrowdfundNotFailed(Succeeded)."""
    cid = create(eth)
    contribute(eth, cid, alice, GOAL)
    chain.mine(deltatime=DAY)
    with reverts_with(crowdfund.CrowdfundNotFailed, campaignId=cid, status=SUCCEEDED):
        crowdfund.refund(cid, sender=alice)


def test_refund_after_launch_reverts(crowdfund, launched, eth, alice):
    """A launched campaign refunds through sync and claimRefund only: CrowdfundNotFailed(Launched)."""
    cid, _ = launched(eth)
    with reverts_with(crowdfund.CrowdfundNotFailed, campaignId=cid, status=LAUNCHED):
        crowdfund.refund(cid, sender=alice)


def test_refund_twice_reverts(crowdfund, create, contribute, eth, alice, chain):
    """A second refund finds nothing: CrowdfundNothingToRefund."""
    cid = create(eth)
    contribute(eth, cid, alice, 100)
    chain.mine(deltatime=DAY)
    crowdfund.refund(cid, sender=alice)
    with reverts_with(crowdfund.CrowdfundNothingToRefund, campaignId=cid, account=alice.address):
        crowdfund.refund(cid, sender=alice)


def test_refund_non_contributor_reverts(crowdfund, create, contribute, eth, alice, eve, chain):
    """An account that never contributed gets CrowdfundNothingToRefund."""
    cid = create(eth)
    contribute(eth, cid, alice, 100)
    chain.mine(deltatime=DAY)
    with reverts_with(crowdfund.CrowdfundNothingToRefund, campaignId=cid, account=eve.address):
        crowdfund.refund(cid, sender=eve)


def test_refund_unknown_campaign_reverts(crowdfund, alice):
    """Refunding an unknown id reverts with CrowdfundUnknownCampaign."""
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=9):
        crowdfund.refund(9, sender=alice)


# ---------------------------------------------------------------- sync


def test_sync_after_cancel_pulls_payment_and_emits(crowdfund, market, launched, asset, eve, chain):
    """After an unfilled job is cancelled, sync pulls the whole payment back as epoch 1."""
    cid, job_id = launched(asset)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=eve)
    assert crowdfund.pendingSync(cid) == GOAL

    receipt = crowdfund.sync(cid, sender=eve)

    log = event(receipt, crowdfund.Synced)
    assert (log.campaignId, log.jobId, log.epoch, log.amount, log.returned) == (cid, job_id, 1, GOAL, GOAL)
    withdrawn = event(receipt, market.Withdrawn)
    assert (withdrawn.jobId, withdrawn.account, withdrawn.amount) == (job_id, crowdfund.address, GOAL)
    c = crowdfund.campaignOf(cid)
    assert (c.returned, c.epochs, c.paidOut) == (GOAL, 1, 0)
    assert crowdfund.pendingSync(cid) == 0
    assert crowdfund.liabilityOf(cid) == GOAL
    assert asset.balance(crowdfund) == GOAL


def test_sync_before_launch_reverts(crowdfund, create, contribute, eth, alice):
    """A campaign without a job has nothing to sync: CrowdfundNotLaunched(Funding)."""
    cid = create(eth)
    contribute(eth, cid, alice, 1)
    with reverts_with(crowdfund.CrowdfundNotLaunched, campaignId=cid, status=FUNDING):
        crowdfund.sync(cid, sender=alice)


def test_sync_nothing_owed_reverts(crowdfund, launched, eth, alice):
    """A sync while the JobMarket owes the Crowdfund nothing reverts with CrowdfundNothingToSync."""
    cid, job_id = launched(eth)
    with reverts_with(crowdfund.CrowdfundNothingToSync, campaignId=cid, jobId=job_id):
        crowdfund.sync(cid, sender=alice)


def test_sync_unknown_campaign_reverts(crowdfund, alice):
    """Syncing an unknown id reverts with CrowdfundUnknownCampaign."""
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=4):
        crowdfund.sync(4, sender=alice)


# ---------------------------------------------------------------- claimRefund


def test_claim_refund_pays_full_shares_after_cancel(crowdfund, market, launched, asset, alice, bob, carol, chain):
    """After a cancelled job each contributor claims exactly its contribution back."""
    cid, job_id = launched(asset)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=alice)
    crowdfund.sync(cid, sender=alice)

    for who, share in ((alice, GOAL * 5 // 10), (bob, GOAL * 3 // 10), (carol, GOAL * 2 // 10)):
        assert crowdfund.claimableOf(cid, who) == share
        before = asset.balance(who)
        receipt = crowdfund.claimRefund(cid, sender=who)
        assert asset.received(who, before, receipt) == share
        log = event(receipt, crowdfund.RefundClaimed)
        assert (log.campaignId, log.contributor, log.amount, log.dust) == (cid, who.address, share, 0)
        assert crowdfund.claimedOf(cid, who) == share
    assert asset.balance(crowdfund) == 0
    assert crowdfund.liabilityOf(cid) == 0


def test_claim_refund_gives_rounding_dust_to_last_claimant(
    crowdfund, market, create, contribute, join, asset, alice, bob, carol, solver_a, solver_b
):
    """The start dust (payment % milestones) is shared by floors and the last claimant takes the remainder."""
    cid = create(asset, goal=MILESTONES)
    for who in (alice, bob, carol):
        contribute(asset, cid, who, 5)  # raised 15 over 8 milestones: dust 7
    job_id = event(crowdfund.launch(cid, sender=alice), crowdfund.CampaignLaunched).jobId
    join(asset, job_id, solver_a)
    join(asset, job_id, solver_b)
    assert crowdfund.pendingSync(cid) == 15 % MILESTONES
    crowdfund.sync(cid, sender=alice)

    paid = []
    for who in (carol, alice, bob):
        receipt = crowdfund.claimRefund(cid, sender=who)
        log = event(receipt, crowdfund.RefundClaimed)
        paid.append((log.amount, log.dust))
    assert paid == [(2, 0), (2, 0), (2, 1)]  # floor(7 * 5 / 15) = 2 each; 1 wei of dust to bob, the last
    assert crowdfund.campaignOf(cid).paidOut == 7
    assert asset.balance(crowdfund) == 0


def test_claim_refund_covers_every_unclaimed_epoch(
    crowdfund, market, launched, join, asset, alice, bob, carol, solver_a, referee, chain
):
    """A contributor that skips a sync claims both epochs at once; a zero share still counts as claimed."""
    cid, job_id = launched(asset)
    join(asset, job_id, solver_a)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=referee)
    crowdfund.sync(cid, sender=alice)  # epoch 1: the payment
    assert crowdfund.claimRefund(cid, sender=alice).decode_logs(crowdfund.RefundClaimed)[0].amount == GOAL // 2
    with reverts_with(crowdfund.CrowdfundNothingToClaim, campaignId=cid, account=alice.address):
        crowdfund.claimRefund(cid, sender=alice)
    assert crowdfund.claimableOf(cid, bob) == GOAL * 3 // 10
    receipt = crowdfund.claimRefund(cid, sender=bob)
    assert event(receipt, crowdfund.RefundClaimed).amount == GOAL * 3 // 10
    receipt = crowdfund.claimRefund(cid, sender=carol)
    assert event(receipt, crowdfund.RefundClaimed).amount == GOAL * 2 // 10
    assert crowdfund.claimedOf(cid, carol) == GOAL * 2 // 10


def test_claim_refund_before_sync_reverts(crowdfund, launched, eth, alice):
    """Nothing was returned yet: CrowdfundNothingToClaim."""
    cid, _ = launched(eth)
    with reverts_with(crowdfund.CrowdfundNothingToClaim, campaignId=cid, account=alice.address):
        crowdfund.claimRefund(cid, sender=alice)


def test_claim_refund_non_contributor_reverts(crowdfund, market, launched, eth, alice, eve, chain):
    """An account that never contributed gets CrowdfundNothingToClaim even after a sync."""
    cid, job_id = launched(eth)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=eve)
    crowdfund.sync(cid, sender=eve)
    with reverts_with(crowdfund.CrowdfundNothingToClaim, campaignId=cid, account=eve.address):
        crowdfund.claimRefund(cid, sender=eve)


def test_claim_refund_not_launched_reverts(crowdfund, create, contribute, eth, alice, chain):
    """A failed campaign refunds with refund, not claimRefund: CrowdfundNotLaunched(Failed)."""
    cid = create(eth)
    contribute(eth, cid, alice, 1)
    chain.mine(deltatime=DAY)
    with reverts_with(crowdfund.CrowdfundNotLaunched, campaignId=cid, status=FAILED):
        crowdfund.claimRefund(cid, sender=alice)


def test_claim_refund_unknown_campaign_reverts(crowdfund, alice):
    """Claiming from an unknown id reverts with CrowdfundUnknownCampaign."""
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=5):
        crowdfund.claimRefund(5, sender=alice)


# ---------------------------------------------------------------- ether in, ether out


def test_receive_from_stranger_reverts(crowdfund, alice):
    """Plain ETH from anyone but the JobMarket reverts with CrowdfundUnexpectedEther."""
    with reverts_with(crowdfund.CrowdfundUnexpectedEther, sender=alice.address, amount=5):
        alice.transfer(crowdfund, 5)


def test_refund_to_contract_rejecting_ether_reverts(project, crowdfund, create, eth, deployer, chain):
    """A contributor that cannot take ETH makes its refund revert with CrowdfundEtherTransferFailed."""
    refuser = project.ContractUser.deploy(sender=deployer)
    cid = create(eth)
    data = crowdfund.contribute.as_transaction(cid, 50, value=50, sender=deployer).data
    refuser.execute(crowdfund, 50, data, value=50, sender=deployer)
    chain.mine(deltatime=DAY)
    refuser.setRefusing(True, sender=deployer)
    data = crowdfund.refund.as_transaction(cid, sender=deployer).data
    with reverts_with(crowdfund.CrowdfundEtherTransferFailed, to=refuser.address, amount=50):
        refuser.execute(crowdfund, 0, data, sender=deployer)
    assert crowdfund.liabilityOf(cid) == 50


# ---------------------------------------------------------------- views


def test_views_unknown_campaign_are_empty(crowdfund, alice):
    """Views of an unknown id answer None and zeros; campaignOf reverts with CrowdfundUnknownCampaign."""
    assert crowdfund.statusOf(1) == NONE
    assert crowdfund.contributionOf(1, alice) == 0
    assert crowdfund.claimedOf(1, alice) == 0
    assert crowdfund.claimableOf(1, alice) == 0
    assert crowdfund.shareBps(1, alice) == 0
    assert crowdfund.totalRaised(1) == 0
    assert crowdfund.contributorsOf(1) == []
    assert crowdfund.contributorCount(1) == 0
    assert crowdfund.liabilityOf(1) == 0
    assert crowdfund.pendingSync(1) == 0
    assert crowdfund.milestonesReleased(1) == 0
    assert tuple(crowdfund.jobProgress(1)) == (0, JOB_NONE, 0, 0, 0, 0)
    with reverts_with(crowdfund.CrowdfundUnknownCampaign, campaignId=1):
        crowdfund.campaignOf(1)


def test_job_progress_reads_market(crowdfund, market, launched, join, asset, solver_a, solver_b, chain):
    """jobProgress and milestonesReleased follow the JobMarket: joins, checkpoints, released milestones."""
    cid, job_id = launched(asset)
    assert tuple(crowdfund.jobProgress(cid)) == (job_id, JOB_OPEN, 0, MILESTONES, 0, 0)
    join(asset, job_id, solver_a)
    join(asset, job_id, solver_b)
    market.postCheckpoint(job_id, 1, b"\x01" * 32, sender=solver_a)
    market.postCheckpoint(job_id, 2, b"\x02" * 32, sender=solver_a)
    market.postCheckpoint(job_id, 1, b"\x01" * 32, sender=solver_b)
    chain.mine(deltatime=WINDOW)
    market.claim(job_id, sender=solver_a)
    progress = crowdfund.jobProgress(cid)
    assert tuple(progress) == (job_id, 2, NUM_SOLVERS, CHECKPOINTS * NUM_SOLVERS, 3, 2)
    assert crowdfund.milestonesReleased(cid) == 2


def test_job_progress_after_cancel(crowdfund, market, launched, eth, eve, chain):
    """A cancelled job shows as Cancelled with nothing posted."""
    cid, job_id = launched(eth)
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=eve)
    assert tuple(crowdfund.jobProgress(cid)) == (job_id, JOB_CANCELLED, 0, MILESTONES, 0, 0)


# ---------------------------------------------------------------- deadlines and isolation


def test_contribute_last_second_succeeds_and_deadline_reverts(crowdfund, create, contribute, eth, alice, chain):
    """Contributions land until deadline - 1; at the deadline itself funding is closed."""
    cid = create(eth)
    deadline = crowdfund.campaignOf(cid).deadline
    chain.pending_timestamp = deadline - 1
    receipt = contribute(eth, cid, alice, 10)
    assert chain.blocks[receipt.block_number].timestamp == deadline - 1
    chain.pending_timestamp = deadline
    with reverts_with(crowdfund.CrowdfundNotFunding, campaignId=cid, status=FAILED):
        contribute(eth, cid, alice, 10)


def test_launch_last_second_before_join_deadline_succeeds(crowdfund, create, contribute, asset, alice, chain):
    """A funded campaign can still launch at joinDeadline - 1, the last second the JobMarket accepts the job."""
    cid = create(asset)
    contribute(asset, cid, alice, GOAL)
    join_deadline = crowdfund.campaignOf(cid).template.joinDeadline
    chain.pending_timestamp = join_deadline - 1
    receipt = crowdfund.launch(cid, sender=alice)
    assert chain.blocks[receipt.block_number].timestamp == join_deadline - 1
    assert crowdfund.statusOf(cid) == LAUNCHED


def test_campaigns_in_one_asset_keep_separate_books(
    crowdfund, market, create, contribute, asset, alice, bob, eve, chain
):
    """Two campaigns in one asset: one fails and refunds, one launches and is cancelled; neither touches the other."""
    failing = create(asset, duration=HOUR)
    funded = create(asset)
    contribute(asset, failing, alice, 300)
    contribute(asset, funded, alice, GOAL)
    contribute(asset, funded, bob, 300)
    job_id = event(crowdfund.launch(funded, sender=eve), crowdfund.CampaignLaunched).jobId
    assert asset.balance(crowdfund) == 300 == crowdfund.liabilityOf(failing)

    chain.mine(timestamp=crowdfund.campaignOf(funded).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=eve)
    crowdfund.sync(funded, sender=eve)
    assert asset.balance(crowdfund) == 300 + GOAL + 300
    assert crowdfund.liabilityOf(failing) == 300
    assert crowdfund.liabilityOf(funded) == GOAL + 300

    crowdfund.refund(failing, sender=alice)
    with reverts_with(crowdfund.CrowdfundNothingToRefund, campaignId=failing, account=bob.address):
        crowdfund.refund(failing, sender=bob)
    assert event(crowdfund.claimRefund(funded, sender=bob), crowdfund.RefundClaimed).amount == 300
    assert event(crowdfund.claimRefund(funded, sender=alice), crowdfund.RefundClaimed).amount == GOAL
    assert asset.balance(crowdfund) == 0
