"""Fixtures for JobMarket: contracts deployed once per session (Ape snapshots and restores chain state
around every test), and one parametrized `asset` fixture that runs the whole suite twice, once with ETH
escrow and once with an ERC20 (TestToken).

Roles: `deployer` is governance (DEFAULT_ADMIN_ROLE), `referee` holds DISPUTE_ROLE (the Verde referee's
stand-in), `alice` posts jobs, `bob` and `carol` solve, `dave` is a spare solver, `eve` an outsider.

Run: `.venv/bin/ape test tests/market -q -p no:cacheprovider`
"""

from __future__ import annotations

import pytest
from jobmarket_support import MAX_UINT256, Asset, Harness

# ---------------------------------------------------------------- accounts and contracts


@pytest.fixture(scope="session")
def lens(project, deployer):
    """Batch reader of a job's escrow and credits (one eth_call per invariant check)."""
    return deployer.deploy(project.JobMarketLens)


@pytest.fixture(scope="session")
def token(project, deployer, market, alice, bob, carol, dave, eve):
    """TestToken with a large balance and a max approval to the market for every named account."""
    token = deployer.deploy(project.TestToken)
    for account in (alice, bob, carol, dave, eve):
        token.mint(account, 10**24, sender=deployer)
        token.approve(market, MAX_UINT256, sender=account)
    return token


@pytest.fixture(scope="session", params=["eth", "erc20"])
def asset(request, token, chain) -> Asset:
    """The escrow asset; every test that uses it runs once per asset."""
    return Asset(name=request.param, token=None if request.param == "eth" else token, chain=chain)


@pytest.fixture(scope="session")
def h(market, asset, chain, alice, bob, carol, referee) -> Harness:
    return Harness(market=market, asset=asset, chain=chain, requester=alice, solvers=(bob, carol), referee=referee)


@pytest.fixture
def open_job(h) -> int:
    """A posted job nobody has joined yet."""
    return h.job_id(h.post())


@pytest.fixture
def running_job(h) -> int:
    """A job both solvers joined: Running, dust credited to the requester."""
    return h.start()
