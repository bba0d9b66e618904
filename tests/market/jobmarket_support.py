"""Shared helpers for the JobMarket tests: constants, the default job, the escrow asset and a driver.

Imported by tests/market/conftest.py and the test modules (the folder is on sys.path under pytest's
default import mode); named uniquely so it cannot clash with another suite's helper module.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

ZERO_ADDRESS = "0x0000000000000000000000000000000000000000"
MAX_UINT256 = 2**256 - 1


class JobStatus:
    """Mirror of IJobMarket.JobStatus."""

    NONE = 0
    OPEN = 1
    RUNNING = 2
    CANCELLED = 3
    VOIDED = 4


@dataclasses.dataclass(frozen=True)
class Defaults:
    """The default job: 2 solvers, 4 checkpoints (steps 30, 60, 90, 100), 8 milestones with dust."""

    steps: int = 100  # training steps
    interval: int = 30  # steps per checkpoint -> ceil(100 / 30) = 4 checkpoints
    num_solvers: int = 2  # solvers needed to start
    payment: int = 10**18 + 7  # wei or token units; 7 wei of dust over 8 milestones
    stake: int = 10**17  # per solver
    join_in: int = 1_000  # seconds from posting to the join deadline
    complete_in: int = 10_000  # seconds from posting to the completion deadline
    window: int = 100  # challenge window, seconds


DEFAULTS = Defaults()


def job_params(chain: Any, d: Defaults = DEFAULTS, **overrides: Any) -> tuple:
    """A JobParams tuple (ETH unless `token` is given); deadlines relative to the next block's timestamp."""
    now = chain.pending_timestamp
    p = {
        "specHash": b"\x5e" * 32,
        "steps": d.steps,
        "checkpointInterval": d.interval,
        "numSolvers": d.num_solvers,
        "token": ZERO_ADDRESS,
        "payment": d.payment,
        "stake": d.stake,
        "joinDeadline": now + d.join_in,
        "completionDeadline": now + d.complete_in,
        "challengeWindow": d.window,
        "programTree": b"\x00" * 32,  # no on-chain program: committee-judged
        "dataTree": b"\x00" * 32,
        "numOps": 0,
    }
    unknown = set(overrides) - set(p)
    assert not unknown, f"not JobParams fields: {sorted(unknown)}"
    p.update(overrides)
    return tuple(p.values())


def slash_to(market: Any, job_id: int, solver: Any, recipient: Any, bps: int, referee: Any) -> Any:
    """What the referee does once a dispute shows `solver` wrong and no other dispute over it is live: slash
    it (its bounty, `bps` of the stake, is held) and award the bounty to `recipient`. Returns the slash."""
    receipt = market.slash(job_id, solver, bps, sender=referee)
    market.awardBounty(job_id, solver, recipient, sender=referee)
    return receipt


@dataclasses.dataclass(frozen=True)
class Asset:
    """The escrow asset of a suite run: ETH (token is None) or an ERC20."""

    name: str  # "eth" or "erc20"; the parametrize id
    token: Any  # the TestToken ContractInstance, or None for ETH
    chain: Any  # Ape's ChainManager (ETH balances)

    @property
    def is_eth(self) -> bool:
        return self.token is None

    @property
    def address(self) -> str:
        return ZERO_ADDRESS if self.token is None else self.token.address

    def balance(self, who: Any) -> int:
        """`who`'s balance of the asset."""
        address = who if isinstance(who, str) else who.address
        if self.token is None:
            return self.chain.provider.get_balance(address)
        return self.token.balanceOf(address)

    def value(self, amount: int) -> dict[str, int]:
        """Transaction kwargs that pay `amount` the right way: msg.value for ETH, nothing for a token."""
        return {"value": amount} if self.token is None else {}

    def wrong_value(self, amount: int) -> dict[str, int]:
        """Transaction kwargs of the other asset's style: no msg.value for ETH, msg.value for a token."""
        return {} if self.token is None else {"value": amount}

    def gained(self, who: Any, before: int, receipt: Any) -> int:
        """How much `who`'s balance grew over `receipt`, adding back the gas it paid for ETH."""
        fees = receipt.total_fees_paid if self.token is None and receipt.sender == who.address else 0
        return self.balance(who) - before + fees


@dataclasses.dataclass
class Harness:
    """Drives one market with one asset: builds params, posts, joins, posts checkpoints, moves time."""

    market: Any  # JobMarket ContractInstance
    asset: Asset
    chain: Any  # ChainManager
    requester: Any  # alice
    solvers: tuple  # (bob, carol)
    referee: Any  # DISPUTE_ROLE holder
    d: Defaults = DEFAULTS

    def params(self, **overrides: Any) -> tuple:
        """A JobParams tuple in this harness's asset; deadlines relative to the next block unless overridden."""
        return job_params(self.chain, self.d, **{"token": self.asset.address, **overrides})

    def post(self, sender: Any = None, **overrides: Any) -> Any:
        """Post a job paid by `sender` (default the requester); returns the receipt."""
        params = self.params(**overrides)
        return self.market.postJob(params, sender=sender or self.requester, **self.asset.value(params[5]))

    def job_id(self, receipt: Any) -> int:
        """The id of the job a postJob receipt created (ape's return_value re-runs the call, so read the event)."""
        return receipt.events.filter(self.market.JobPosted)[0].jobId

    def join(self, job_id: int, solver: Any) -> Any:
        stake = self.market.jobOf(job_id).params_[6]
        return self.market.join(job_id, sender=solver, **self.asset.value(stake))

    def start(self, **overrides: Any) -> int:
        """Post a job and have the solvers join it; returns the Running job's id."""
        job_id = self.job_id(self.post(**overrides))
        count = overrides.get("numSolvers", self.d.num_solvers)
        for solver in self.solvers[:count]:
            self.join(job_id, solver)
        return job_id

    @staticmethod
    def root(solver: Any, index: int) -> bytes:
        """A deterministic checkpoint root per solver and index."""
        return bytes([index % 256]) * 12 + bytes.fromhex(solver.address[2:])

    def checkpoint(self, job_id: int, solver: Any, index: int) -> Any:
        return self.market.postCheckpoint(job_id, index, self.root(solver, index), sender=solver)

    def checkpoints(self, job_id: int, solver: Any, upto: int | None = None) -> None:
        """Post the solver's checkpoints from its next one through `upto` (default: all of them)."""
        upto = self.market.numCheckpoints(job_id) if upto is None else upto
        for index in range(self.market.solverOf(job_id, solver).posted + 1, upto + 1):
            self.checkpoint(job_id, solver, index)

    def deadlines(self, job_id: int) -> tuple[int, int]:
        p = self.market.jobOf(job_id).params_
        return p[7], p[8]

    def warp(self, seconds: int) -> None:
        """Move the next block's timestamp forward by `seconds`."""
        self.chain.pending_timestamp += seconds

    def warp_to(self, timestamp: int) -> None:
        """Make the next block's timestamp exactly `timestamp`."""
        self.chain.pending_timestamp = timestamp


@contextmanager
def isolated(chain: Any) -> Iterator[None]:
    """Run a block on a snapshot of the chain and restore it afterwards, letting exceptions propagate.

    Use this instead of `chain.isolate()`: Ape 0.8.52's `isolate` catches and drops every Exception raised
    inside it, so a failing assertion in a hypothesis example would silently pass.
    """
    snapshot = chain.snapshot()
    try:
        yield
    finally:
        chain.restore(snapshot)
