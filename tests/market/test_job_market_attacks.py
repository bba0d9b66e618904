"""Attacks on JobMarket: fee-on-transfer tokens, re-entry through a malicious ETH receiver (as solver and as
requester) and through a malicious ERC20's transfer hook. Every attempt must fail and pay nobody extra.

Run: `.venv/bin/ape test tests/market/test_job_market_attacks.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ape
import pytest
from eth_utils import keccak
from jobmarket_support import DEFAULTS, MAX_UINT256, Asset, Harness, JobStatus, job_params

D = DEFAULTS
N_CP = -(-D.steps // D.interval)
MILESTONE = D.payment // (D.num_solvers * N_CP)
DUST = D.payment % (D.num_solvers * N_CP)
REENTRANT_CALL = keccak(text="ReentrancyGuardReentrantCall()")[:4]


# ---------------------------------------------------------------- fee-on-transfer


@pytest.fixture
def fee_token(project, deployer, market, alice, bob):
    token = deployer.deploy(project.FeeToken)
    for account in (alice, bob):
        token.mint(account, 10**24, sender=deployer)
        token.approve(market, MAX_UINT256, sender=account)
    return token


def _harness(market, chain, token, alice, solvers, referee) -> Harness:
    asset = Asset(name="custom", token=token, chain=chain)
    return Harness(market=market, asset=asset, chain=chain, requester=alice, solvers=solvers, referee=referee)


def test_post_job_fee_on_transfer_token_reverts(market, chain, fee_token, alice, bob, carol, referee):
    """A token that delivers 99% of a payment is rejected with the amounts received and expected."""
    h = _harness(market, chain, fee_token, alice, (bob, carol), referee)
    with ape.reverts(
        market.JobTokenFeeOnTransfer, token=fee_token.address, received=D.payment * 99 // 100 + 1, expected=D.payment
    ):
        h.post()
    assert fee_token.balanceOf(market) == 0


def test_join_fee_on_transfer_token_reverts(market, chain, fee_token, alice, bob, carol, referee):
    """A fee token that slipped through on a fee-free tiny payment is still rejected when a stake is short."""
    h = _harness(market, chain, fee_token, alice, (bob, carol), referee)
    job_id = h.job_id(h.post(payment=8))  # 1% of 8 rounds down to no fee
    with ape.reverts(
        market.JobTokenFeeOnTransfer, token=fee_token.address, received=D.stake * 99 // 100, expected=D.stake
    ):
        h.join(job_id, bob)
    assert market.escrowOf(job_id) == 8 == fee_token.balanceOf(market)


# ---------------------------------------------------------------- malicious ETH receiver


@pytest.fixture
def attacker(project, deployer):
    return deployer.deploy(project.ContractUser)


def _as(attacker, eve, target, call, *args, value: int = 0):
    """Make the attacker contract call `target.call(*args)` with `value` wei, funded by eve."""
    return attacker.execute(target, value, call.encode_input(*args), sender=eve, value=value)


@pytest.fixture
def attacker_paid(market, chain, attacker, alice, carol, eve, referee):
    """An ETH job the attacker contract solved with carol, fully claimed: it is owed 4 milestones + stake."""
    h = _harness(market, chain, None, alice, (carol,), referee)
    job_id = h.job_id(h.post())
    _as(attacker, eve, market, market.join, job_id, value=D.stake)
    h.join(job_id, carol)
    for index in range(1, N_CP + 1):
        _as(attacker, eve, market, market.postCheckpoint, job_id, index, b"\x01" * 32)
    h.warp(D.window)
    _as(attacker, eve, market, market.claim, job_id)
    assert market.owed(job_id, attacker) == N_CP * MILESTONE + D.stake
    return job_id


@pytest.mark.parametrize("reentry", ["withdraw", "claim", "cancelJob"])
def test_reentrant_solver_withdraw_gets_nothing_extra(market, chain, attacker, attacker_paid, eve, reentry):
    """A contract solver re-entering withdraw, claim or cancelJob from receive() is refused; it gets its due only."""
    job_id = attacker_paid
    other = _as(attacker, eve, market, market.postJob, job_params(chain), value=D.payment)
    other_id = other.events.filter(market.JobPosted)[0].jobId
    payload = {
        "withdraw": market.withdraw.encode_input(job_id),
        "claim": market.claim.encode_input(job_id),
        "cancelJob": market.cancelJob.encode_input(other_id),
    }[reentry]
    attacker.arm(market, payload, sender=eve)
    market_before = market.balance
    _as(attacker, eve, market, market.withdraw, job_id)
    assert attacker.attempts() == 1
    assert not attacker.lastSucceeded()
    assert attacker.lastReturnData() == REENTRANT_CALL
    assert attacker.balance == N_CP * MILESTONE + D.stake
    assert market_before - market.balance == N_CP * MILESTONE + D.stake
    assert market.owed(job_id, attacker) == 0
    assert market.jobOf(other_id).status_ == JobStatus.OPEN


def test_reentrant_requester_cancel_refund_gets_nothing_extra(market, chain, attacker, eve):
    """A contract requester that re-enters withdraw while its refund is paid is refused and gets the payment once."""
    receipt = _as(attacker, eve, market, market.postJob, job_params(chain), value=D.payment)
    job_id = receipt.events.filter(market.JobPosted)[0].jobId
    _as(attacker, eve, market, market.cancelJob, job_id)
    attacker.arm(market, market.withdraw.encode_input(job_id), sender=eve)
    _as(attacker, eve, market, market.withdraw, job_id)
    assert not attacker.lastSucceeded()
    assert attacker.lastReturnData() == REENTRANT_CALL
    assert attacker.balance == D.payment
    assert market.balance == 0


# ---------------------------------------------------------------- malicious ERC20


@pytest.fixture
def rtoken(project, deployer, market, alice, bob, carol):
    token = deployer.deploy(project.ReentrantToken)
    for account in (alice, bob, carol):
        token.mint(account, 10**24, sender=deployer)
        token.approve(market, MAX_UINT256, sender=account)
    return token


@pytest.mark.parametrize("reentry", ["withdraw", "claim", "cancelJob", "join"])
def test_reentrant_token_withdraw_is_refused(market, chain, rtoken, alice, bob, carol, referee, reentry):
    """A token whose transfer re-enters the market during withdraw is refused; balances move by the credit only."""
    h = _harness(market, chain, rtoken, alice, (bob, carol), referee)
    job_id = h.start()
    other_id = h.job_id(h.post())
    h.checkpoints(job_id, bob)
    h.warp(D.window)
    market.claim(job_id, sender=bob)
    payload = {
        "withdraw": market.withdraw.encode_input(job_id),
        "claim": market.claim.encode_input(job_id),
        "cancelJob": market.cancelJob.encode_input(other_id),
        "join": market.join.encode_input(other_id),
    }[reentry]
    rtoken.arm(market, payload, sender=alice)
    market_before, bob_before = rtoken.balanceOf(market), rtoken.balanceOf(bob)
    market.withdraw(job_id, sender=bob)
    assert rtoken.attempts() == 1
    assert not rtoken.lastSucceeded()
    assert rtoken.lastReturnData() == REENTRANT_CALL
    due = N_CP * MILESTONE + D.stake
    assert rtoken.balanceOf(bob) - bob_before == due
    assert market_before - rtoken.balanceOf(market) == due
    assert market.owed(job_id, rtoken) == 0
    assert market.jobOf(other_id).status_ == JobStatus.OPEN


@pytest.mark.parametrize("during", ["postJob", "join"])
def test_reentrant_token_pull_is_refused(market, chain, rtoken, alice, bob, carol, referee, during):
    """A token re-entering the market from transferFrom while a payment or stake is pulled is refused."""
    h = _harness(market, chain, rtoken, alice, (bob, carol), referee)
    first = h.job_id(h.post())
    rtoken.arm(market, market.cancelJob.encode_input(first), sender=alice)
    if during == "postJob":
        h.post()
    else:
        h.join(first, bob)
    assert rtoken.attempts() == 1
    assert not rtoken.lastSucceeded()
    assert rtoken.lastReturnData() == REENTRANT_CALL
    assert market.jobOf(first).status_ == JobStatus.OPEN
    assert rtoken.balanceOf(market) == sum(market.escrowOf(i) for i in range(1, market.jobCount() + 1))
