"""Session fixtures shared by every test: named accounts, strict `ape.reverts`, a reaper for stray children.

The JobMarket with a stand-in referee is shared here; other contract fixtures live in each area's conftest.
Ape isolates chain state per test, so function-scoped deployments are cheap snapshots.
"""

from __future__ import annotations

import multiprocessing as mp

import pytest
from ape.exceptions import ContractLogicError, CustomError
from ape.pytest.contextmanagers import RevertsContextManager
from revert_support import decode_custom_error, same_value


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


@pytest.fixture(autouse=True)
def _chain_isolation_stays_on(request):
    """Fail the test after which Ape stopped isolating tests from each other.

    Ape restores a snapshot after every test; when a restore meets a provider without snapshots (a test that
    leaves anvil connected through Ape's `node` provider, same chain id 1337) it logs one warning and turns
    isolation off for the rest of the session, and every later module then runs on the state the earlier ones
    left: dozens of failures far from the cause. This names the cause instead.
    """
    yield
    fixtures = request.config.pluginmanager.get_plugin("ape-fixtures")
    if fixtures is not None and not fixtures.isolation_manager.supported:
        pytest.fail("Ape turned chain isolation off during this test: disconnect from anvil before the test ends")


@pytest.fixture(autouse=True)
def _strict_reverts(monkeypatch):
    """Make `ape.reverts(Error, **inputs)` fail on a revert that is not `Error` and on input names `Error` lacks.

    Ape silently skips both cases (an undecoded revert passes, a misspelt input is ignored). A revert Ape
    could not decode is decoded here from its raw data (see revert_support), so the check never depends on
    the bytes of the values it carries.
    """
    original_exit = RevertsContextManager.__exit__

    def strict_exit(self, exc_type, exc_value, traceback):
        expected = self.expected_message
        expects_custom = isinstance(expected, type) and issubclass(expected, CustomError)
        if not expects_custom or not isinstance(exc_value, ContractLogicError):
            return original_exit(self, exc_type, exc_value, traceback)
        if isinstance(exc_value, CustomError) and type(exc_value).__name__ == expected.__name__:
            actual = dict(exc_value.inputs)
        else:
            # By name above: error classes of a ContractContainer and of its instances are distinct types.
            actual = decode_custom_error(expected.abi, exc_value)
            if actual is None:
                raise AssertionError(f"expected revert {expected.__name__}, got {exc_value!r}") from exc_value
            exc_value.inputs = actual  # callers read `.inputs` however the error was decoded
        unknown = set(self.error_inputs) - set(actual)
        if unknown:
            raise AssertionError(f"{expected.__name__} has no inputs {sorted(unknown)}: {actual}")
        for name, want in self.error_inputs.items():
            if not same_value(want, actual[name]):
                raise AssertionError(f"{expected.__name__}.{name}: expected {want!r}, got {actual[name]!r}")
        if isinstance(exc_value, CustomError):
            return original_exit(self, exc_type, exc_value, traceback)  # also checks a dev message
        if self.revert_info is not None:
            self.revert_info.value = exc_value
        return True  # the expected revert happened: swallow it, as ape.reverts does

    monkeypatch.setattr(RevertsContextManager, "__exit__", strict_exit)


@pytest.fixture(scope="session")
def referee(accounts):
    """Stands in for the Verde referee: holds the JobMarket's DISPUTE_ROLE (tests/verde uses the real one)."""
    return accounts[8]


@pytest.fixture(scope="session")
def market(project, deployer, referee):
    """The real JobMarket, governed by `deployer`, with `referee` holding DISPUTE_ROLE."""
    market = deployer.deploy(project.JobMarket, deployer)
    market.grantRole(market.DISPUTE_ROLE(), referee, sender=deployer)
    return market


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
