"""Fixtures for the Crowdfund tests: a real JobMarket, the Crowdfund on it, tokens, solvers, a referee.

Contracts are deployed once per session; Ape snapshots the chain around every test, so each test starts
from the same state. `asset` runs a test once with ETH and once with an ERC20 (TestToken).

Run: `.venv/bin/ape test tests/crowdfund -q -p no:cacheprovider`
"""

from __future__ import annotations

from typing import Any

import pytest
from crowdfund_support import DAY, GOAL, Asset, event, template

# ---------------------------------------------------------------- accounts


@pytest.fixture(scope="session")
def solver_a(accounts):
    """A solver that joins campaign jobs."""
    return accounts[6]


@pytest.fixture(scope="session")
def solver_b(accounts):
    """A second solver."""
    return accounts[7]


# ---------------------------------------------------------------- contracts


@pytest.fixture(scope="session")
def crowdfund(project, deployer, market):
    return project.Crowdfund.deploy(market, sender=deployer)


@pytest.fixture(scope="session")
def test_token(project, deployer):
    return project.TestToken.deploy(sender=deployer)


@pytest.fixture(scope="session")
def fee_token(project, deployer):
    return project.FeeToken.deploy(sender=deployer)


@pytest.fixture(scope="session")
def reentrant_token(project, deployer):
    return project.ReentrantToken.deploy(sender=deployer)


@pytest.fixture(scope="session")
def eth() -> Asset:
    return Asset("eth", None)


@pytest.fixture(scope="session")
def erc20(test_token) -> Asset:
    return Asset("erc20", test_token)


@pytest.fixture(scope="session", params=["eth", "erc20"])
def asset(request) -> Asset:
    """Runs a test once over ETH and once over an ERC20."""
    return request.getfixturevalue(request.param)


# ---------------------------------------------------------------- actions


@pytest.fixture
def create(crowdfund, alice, chain):
    """Open a campaign in `asset` (goal, funding period and template fields overridable); returns its id."""

    def _create(asset: Asset, *, goal: int = GOAL, duration: int = DAY, sender: Any = alice, **tpl: Any) -> int:
        now = chain.pending_timestamp
        receipt = crowdfund.createCampaign(asset.address, goal, now + duration, template(now, **tpl), sender=sender)
        return event(receipt, crowdfund.CampaignCreated).campaignId

    return _create


@pytest.fixture
def contribute(crowdfund):
    """`who` contributes `amount` to campaign `cid` in `asset` (minting and approving an ERC20 first)."""

    def _contribute(asset: Asset, cid: int, who: Any, amount: int) -> Any:
        asset.fund(who, crowdfund, amount)
        return crowdfund.contribute(cid, amount, value=asset.value(amount), sender=who)

    return _contribute


@pytest.fixture
def join(market):
    """`solver` stakes into job `job_id` in `asset`."""

    def _join(asset: Asset, job_id: int, solver: Any) -> Any:
        stake = market.jobOf(job_id).params_[6]  # JobParams.stake
        asset.fund(solver, market, stake)
        return market.join(job_id, value=asset.value(stake), sender=solver)

    return _join


@pytest.fixture
def launched(crowdfund, create, contribute, alice, bob, carol):
    """A launched campaign: alice 50%, bob 30%, carol 20% of GOAL; returns (campaign id, job id)."""

    def _launched(asset: Asset, **tpl: Any) -> tuple[int, int]:
        cid = create(asset, **tpl)
        contribute(asset, cid, alice, GOAL * 5 // 10)
        contribute(asset, cid, bob, GOAL * 3 // 10)
        contribute(asset, cid, carol, GOAL * 2 // 10)
        receipt = crowdfund.launch(cid, sender=alice)
        return cid, event(receipt, crowdfund.CampaignLaunched).jobId

    return _launched
