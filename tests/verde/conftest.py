"""Fixtures for VerdeReferee: JobMarket and the referee deployed once per session (Ape snapshots and restores
chain state around every test), a committee of 5 with threshold 3, and a running ETH job helper.

Roles: `deployer` is governance, `alice` posts jobs, `bob` and `carol` solve, `eve` watches.

Run: `.venv/bin/ape test tests/verde -q -p no:cacheprovider`
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "market"))

from jobmarket_support import Asset, Defaults, Harness  # noqa: E402
from verde_support import BOND, CLOCK, COMMITTEE, REWARD_BPS, THRESHOLD, Game, honest_root, liar  # noqa: E402

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"


@pytest.fixture(scope="session")
def market(project, deployer):
    return deployer.deploy(project.JobMarket, deployer)


@pytest.fixture(scope="session")
def adjudicator(project, deployer):
    return deployer.deploy(project.OpAdjudicator)


@pytest.fixture(scope="session")
def referee(project, deployer, market, adjudicator):
    """The Verde referee, sole holder of the market's DISPUTE_ROLE, with the committee set."""
    referee = deployer.deploy(project.VerdeReferee, market, adjudicator, deployer, BOND, CLOCK, REWARD_BPS)
    market.grantRole(market.DISPUTE_ROLE(), referee, sender=deployer)
    referee.setCommittee([m.address for m in COMMITTEE], THRESHOLD, sender=deployer)
    return referee


@pytest.fixture(scope="session")
def h(market, referee, chain, alice, bob, carol) -> Harness:
    """A market driver for ETH jobs (the referee stands where the market tests' referee account stood)."""
    return Harness(
        market=market,
        asset=Asset(name="eth", token=None, chain=chain),
        chain=chain,
        requester=alice,
        solvers=(bob, carol),
        referee=referee,
        d=Defaults(),
    )


@pytest.fixture(scope="session")
def post_roots(market):
    """Post a solver's checkpoints 1..upto from a step-root function: checkpoint k is the root after step(k)."""

    def post(job_id: int, solver, root_of, upto: int) -> None:
        p = market.jobOf(job_id).params_
        steps, interval = p[1], p[2]
        for k in range(market.solverOf(job_id, solver).posted + 1, upto + 1):
            market.postCheckpoint(job_id, k, root_of(min(k * interval, steps)), sender=solver)

    return post


@pytest.fixture(scope="session")
def open_solver(referee):
    """`challenger` opens a solver dispute against `defender` at checkpoint `index`; returns the Game."""

    def open_(job_id: int, challenger, defender, index: int) -> Game:
        r = referee.openSolverDispute(job_id, defender, index, sender=challenger, value=BOND)
        dispute_id = r.events.filter(referee.DisputeCreated)[0].disputeId
        return Game(referee=referee, dispute_id=dispute_id, challenger=challenger, defender=defender)

    return open_


@pytest.fixture(scope="session")
def open_watcher(referee):
    """Watcher `challenger` opens a dispute against `defender` at `index` claiming `root`; returns the Game."""

    def open_(job_id: int, challenger, defender, index: int, root: bytes) -> Game:
        r = referee.openWatcherDispute(job_id, defender, index, root, sender=challenger, value=BOND)
        dispute_id = r.events.filter(referee.DisputeCreated)[0].disputeId
        return Game(referee=referee, dispute_id=dispute_id, challenger=challenger, defender=defender)

    return open_


@pytest.fixture(scope="session")
def diverged_job(h, post_roots, bob, carol):
    """Start a job where bob is honest and carol diverges from step `bad` on, both posted through `upto`."""

    def start(bad: int, upto: int) -> int:
        job_id = h.start()
        post_roots(job_id, bob, honest_root, upto)
        post_roots(job_id, carol, liar(bad), upto)
        return job_id

    return start


@pytest.fixture
def job(diverged_job):
    """A running job: bob honest, carol diverging at step 40, both through checkpoint 2."""
    return diverged_job(40, 2)


@pytest.fixture
def game(job, open_solver, bob, carol):
    """carol (diverging at step 40) disputes honest bob's checkpoint 2; the Game carries `job_id`."""
    game = open_solver(job, carol, bob, 2)
    game.job_id = job
    return game


@pytest.fixture
def pinned(game):
    """That dispute bisected down to step 40 (Committee phase: the job has no program)."""
    game.play(honest_root, liar(40))
    return game


@pytest.fixture(scope="session", autouse=True)
def _verde_session_state(h, post_roots, open_solver, open_watcher, diverged_job):
    """Every session fixture above, made before the first Verde test changes the chain.

    Ape keeps one snapshot per fixture scope. A session fixture first requested by a later module (the clock
    tests' `diverged_job` after the clients' tests had only used `h`) makes Ape "rebase" its snapshots
    mid-session (InvalidIsolationWarning), and one fresh-clone run then kept an earlier test's state (credits,
    a block hours ahead) into the following modules: 27 failures and 55 errors from test_verde_clock on.
    (test_adjudicator.py's own module-scoped `adjudicator` went for the same reason: the referee depends on it.)
    """
