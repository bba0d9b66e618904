"""Session fixtures shared by every test: named accounts and a reaper for stray child processes.

Contract fixtures live in each area's own conftest (tests/identity, tests/swarm, tests/market).
Ape isolates chain state per test, so function-scoped deployments are cheap snapshots.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest


@pytest.fixture(scope="session")
def deployer(accounts):
    """Deploys contracts and holds the admin roles."""
    return accounts[0]


@pytest.fixture(scope="session")
def alice(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def bob(accounts):
    return accounts[2]


@pytest.fixture(scope="session")
def carol(accounts):
    return accounts[3]


@pytest.fixture(scope="session")
def dave(accounts):
    return accounts[4]


@pytest.fixture(scope="session")
def eve(accounts):
    """An attacker or a third party with no special rights."""
    return accounts[5]


@pytest.fixture(scope="session", autouse=True)
def _deployments_in_tmp(tmp_path_factory):
    """Deployment records written by tests go to a temporary folder, never into deployments/."""
    import os

    os.environ["VERDE_DEPLOYMENTS_DIR"] = str(tmp_path_factory.mktemp("deployments"))
    yield
    os.environ.pop("VERDE_DEPLOYMENTS_DIR", None)


@pytest.fixture(scope="session", autouse=True)
def _reap_children():
    """Kill any child process a test leaves behind (hivemind daemons, anvil)."""
    yield
    for child in mp.active_children():
        child.kill()
