"""Re-entrancy attempts on Crowdfund through a malicious ETH receiver and a malicious ERC20.

The attacker contracts (contracts/test/ContractUser.sol, ReentrantToken.sol) record the outcome of
their re-entrant call instead of bubbling it, so each test checks that the outer payment completed, the
re-entry was refused with ReentrancyGuardReentrantCall, and nobody was paid twice.
Run: `.venv/bin/ape test tests/crowdfund/test_crowdfund_reentrancy.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import pytest
from crowdfund_support import DAY, GOAL, Asset, event
from eth_utils import keccak

GUARD_SELECTOR = keccak(text="ReentrancyGuardReentrantCall()")[:4]


@pytest.fixture
def attacker(project, deployer):
    """A contract contributor whose receive() re-enters an armed call."""
    return project.ContractUser.deploy(sender=deployer)


def _calldata(method, *args) -> bytes:
    """ABI-encoded calldata for a contract method."""
    return bytes(method.as_transaction(*args).data)


def _assert_refused(attacker_or_token, receipt) -> None:
    """The single armed re-entry was attempted, failed with ReentrancyGuardReentrantCall, and was logged."""
    assert attacker_or_token.attempts() == 1
    assert attacker_or_token.lastSucceeded() is False
    assert bytes(attacker_or_token.lastReturnData()) == GUARD_SELECTOR
    log = event(receipt, attacker_or_token.ReentryAttempted)
    assert not log.success
    assert bytes(log.returnData) == GUARD_SELECTOR


@pytest.mark.parametrize("reentry", ["refund", "contribute"])
def test_refund_reentrant_receiver_is_refused(crowdfund, create, eth, attacker, deployer, alice, chain, reentry):
    """A refund that re-enters refund (or contribute) from receive() is refused and pays out only once."""
    cid = create(eth)
    other = create(eth)
    attacker.execute(crowdfund, 300, _calldata(crowdfund.contribute, cid, 300), value=300, sender=deployer)
    crowdfund.contribute(cid, 200, value=200, sender=alice)
    chain.mine(deltatime=DAY)
    payload = {
        "refund": _calldata(crowdfund.refund, cid),
        "contribute": _calldata(crowdfund.contribute, other, 0),
    }[reentry]
    attacker.arm(crowdfund, payload, sender=deployer)

    receipt = attacker.execute(crowdfund, 0, _calldata(crowdfund.refund, cid), sender=deployer)

    _assert_refused(attacker, receipt)
    assert event(receipt, crowdfund.Refunded).amount == 300
    assert eth.balance(attacker) == 300
    assert eth.balance(crowdfund) == 200 == crowdfund.liabilityOf(cid)


def test_claim_refund_reentrant_receiver_is_refused(crowdfund, market, create, eth, attacker, deployer, alice, chain):
    """A claimRefund that re-enters claimRefund from receive() is refused and pays the share only once."""
    cid = create(eth)
    attacker.execute(
        crowdfund, GOAL // 4, _calldata(crowdfund.contribute, cid, GOAL // 4), value=GOAL // 4, sender=deployer
    )
    crowdfund.contribute(cid, GOAL * 3 // 4, value=GOAL * 3 // 4, sender=alice)
    job_id = event(crowdfund.launch(cid, sender=alice), crowdfund.CampaignLaunched).jobId
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=alice)
    crowdfund.sync(cid, sender=alice)
    attacker.arm(crowdfund, _calldata(crowdfund.claimRefund, cid), sender=deployer)

    receipt = attacker.execute(crowdfund, 0, _calldata(crowdfund.claimRefund, cid), sender=deployer)

    _assert_refused(attacker, receipt)
    assert event(receipt, crowdfund.RefundClaimed).amount == GOAL // 4
    assert eth.balance(attacker) == GOAL // 4
    assert eth.balance(crowdfund) == GOAL * 3 // 4 == crowdfund.liabilityOf(cid)


@pytest.fixture
def reentrant(reentrant_token) -> Asset:
    """The malicious ERC20 as a campaign asset."""
    return Asset("reentrant", reentrant_token)


def test_contribute_reentrant_token_is_refused(crowdfund, create, reentrant, reentrant_token, alice):
    """A token that re-enters contribute from transferFrom is refused; the contribution counts once."""
    cid = create(reentrant)
    reentrant.fund(alice, crowdfund, 100)
    reentrant_token.arm(crowdfund, _calldata(crowdfund.contribute, cid, 1), sender=alice)

    receipt = crowdfund.contribute(cid, 100, sender=alice)

    _assert_refused(reentrant_token, receipt)
    assert crowdfund.totalRaised(cid) == 100
    assert reentrant.balance(crowdfund) == 100


def test_refund_reentrant_token_is_refused(crowdfund, create, contribute, reentrant, reentrant_token, alice, chain):
    """A token that re-enters refund from transfer is refused; the contributor is paid once."""
    cid = create(reentrant)
    contribute(reentrant, cid, alice, 100)
    chain.mine(deltatime=DAY)
    reentrant_token.arm(crowdfund, _calldata(crowdfund.refund, cid), sender=alice)

    receipt = crowdfund.refund(cid, sender=alice)

    _assert_refused(reentrant_token, receipt)
    assert reentrant.balance(alice) == 100
    assert reentrant.balance(crowdfund) == 0 == crowdfund.liabilityOf(cid)


def test_sync_and_claim_reentrant_token_are_refused(
    crowdfund, market, create, contribute, reentrant, reentrant_token, alice, bob, chain
):
    """Re-entering claimRefund from the JobMarket's payout in sync, or from a claim's payout, is refused."""
    cid = create(reentrant)
    contribute(reentrant, cid, alice, GOAL // 2)
    contribute(reentrant, cid, bob, GOAL // 2)
    job_id = event(crowdfund.launch(cid, sender=alice), crowdfund.CampaignLaunched).jobId
    chain.mine(timestamp=crowdfund.campaignOf(cid).template.joinDeadline + 1)
    market.cancelJob(job_id, sender=alice)
    reentrant_token.arm(crowdfund, _calldata(crowdfund.claimRefund, cid), sender=alice)

    receipt = crowdfund.sync(cid, sender=alice)

    _assert_refused(reentrant_token, receipt)
    assert event(receipt, crowdfund.Synced).amount == GOAL

    reentrant_token.arm(crowdfund, _calldata(crowdfund.sync, cid), sender=alice)
    receipt = crowdfund.claimRefund(cid, sender=alice)
    assert reentrant_token.attempts() == 2
    assert reentrant_token.lastSucceeded() is False
    assert bytes(reentrant_token.lastReturnData()) == GUARD_SELECTOR
    assert reentrant.balance(alice) == GOAL // 2
    assert reentrant.balance(crowdfund) == GOAL // 2 == crowdfund.liabilityOf(cid)
