"""Property tests for JobMarket: random sequences of post / join / checkpoint / claim / default / dispute /
slash / void / cancel / withdraw / time-advance actions on the real contract, once per escrow asset.

Invariants (ghost accounting: the test counts every wei deposited and withdrawn per job):
- after every action, the market's balance of the asset equals all deposits minus all withdrawals, and for
  the job the action touched, `escrowOf(job) + sum(owed(job, account))` equals its deposits minus its
  withdrawals: no wei is created, lost or double-credited;
- every withdraw pays exactly what `owed` said;
- at the end, driving every job to completion (cancel, close disputes, default, claim) leaves no escrow,
  and after everyone withdraws the market holds nothing: every wei can leave.

Run: `.venv/bin/ape test tests/market/test_job_market_fuzz.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import os
from typing import Any

from ape.exceptions import ContractLogicError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jobmarket_support import ZERO_ADDRESS, Harness, JobStatus, isolated, job_params

# Examples per run: 8 keeps `make test` in its time budget; FUZZ_EXAMPLES=60 explores further.
FUZZ_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))

KINDS = (
    "post",
    "join",
    "checkpoint",
    "checkpoint",
    "checkpoint",
    "claim",
    "default",
    "open_dispute",
    "close_dispute",
    "slash",
    "void",
    "cancel",
    "withdraw",
    "advance",
    "advance",
)
ADVANCE = (5, 30, 61, 250, 900)  # seconds; jobs here have a 60 s window, 600 s to join, 2 000 s to finish
ACTIONS = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(min_value=0, max_value=2**20)), min_size=3, max_size=12
)


class Driver:
    """Applies actions to the market and keeps the ghost ledger of deposits and withdrawals per job."""

    def __init__(self, h: Harness, lens: Any, *, requesters: tuple, solvers: tuple, outsiders: tuple) -> None:
        self.h = h
        self.lens = lens
        self.market = h.market
        self.requesters = requesters
        self.solvers = solvers
        self.accounts = tuple(dict.fromkeys(requesters + solvers + outsiders))
        self.by_address = {account.address: account for account in self.accounts}
        self.deposited: dict[int, int] = {}  # job -> wei (or token units) paid in
        self.withdrawn: dict[int, int] = {}  # job -> paid out

    # ---------------------------------------------------------------- helpers

    def _job(self, seed: int) -> int | None:
        return (seed % len(self.deposited)) + 1 if self.deposited else None

    def _pick(self, seq: tuple, seed: int) -> Any:
        return seq[seed % len(seq)]

    def _solver(self, job: int, seed: int) -> Any:
        """One of the job's solvers (most actions only make sense for them), else any solver of the pool."""
        joined = self.market.solversOf(job)
        return self.by_address[joined[seed % len(joined)]] if joined else self._pick(self.solvers, seed)

    def _party(self, job: int, seed: int) -> Any:
        """An account likely to hold a credit in the job: its requester, a solver, or anyone."""
        requester = self.by_address[self.market.jobOf(job).requester_]
        return self._pick(
            (requester,) + tuple(self.by_address[a] for a in self.market.solversOf(job)) + self.accounts, seed
        )

    def _send(self, fn, *args, **kwargs) -> Any | None:
        """Send a transaction; a revert is a legal outcome of a random action and changes nothing."""
        try:
            return fn(*args, **kwargs)
        except ContractLogicError:
            return None

    # ---------------------------------------------------------------- actions

    def step(self, kind: str, seed: int, *, job: int | None = None, solver: Any = None) -> None:
        """Apply one action chosen by `kind`, its targets drawn from `seed`; check the invariants if it landed."""
        job = job or self._job(seed)
        m, h = self.market, self.h
        who = seed // 5
        receipt = None
        if kind == "post" or job is None:
            receipt = self.post(seed)
            job = h.job_id(receipt)
        elif kind == "join":
            stake = m.jobOf(job).params_[6]
            solver = solver or self._pick(self.solvers, who)
            receipt = self._send(m.join, job, sender=solver, **h.asset.value(stake))
            if receipt is not None:
                self.deposited[job] += stake
        elif kind == "checkpoint":
            solver = self._solver(job, who)
            index = m.solverOf(job, solver).posted + 1
            receipt = self._send(m.postCheckpoint, job, index, seed.to_bytes(32, "big"), sender=solver)
        elif kind == "claim":
            receipt = self._send(m.claim, job, sender=self._solver(job, who))
        elif kind == "default":
            solver = self._solver(job, who)
            receipt = self._send(m.settleDefault, job, solver, sender=self._pick(self.accounts, seed))
        elif kind == "open_dispute":
            solver = self._solver(job, who)
            index = m.solverOf(job, solver).posted
            receipt = self._send(m.openDispute, job, solver, index, ZERO_ADDRESS, sender=h.referee)
        elif kind == "close_dispute":
            receipt = self._send(m.closeDispute, job, self._solver(job, who), sender=h.referee)
        elif kind == "slash":
            recipient = self._pick(self.accounts, seed // 11)
            bps = (seed * 37) % 10_001
            solver = self._solver(job, who)
            receipt = self._send(m.slash, job, solver, bps, sender=h.referee)
            if receipt is not None:  # the referee awards the held bounty once no dispute over it is live
                self.check(job)
                receipt = self._send(m.awardBounty, job, solver, recipient, sender=h.referee)
        elif kind == "void":
            receipt = self._send(m.voidResult, job, sender=h.referee)
        elif kind == "cancel":
            receipt = self._send(m.cancelJob, job, sender=self._pick(self.accounts, who))
        elif kind == "withdraw":
            receipt = self.withdraw(job, self._party(job, who))
        elif kind == "advance":
            h.warp(ADVANCE[seed % len(ADVANCE)])
        # A reverted action changes no state, and time alone moves no funds: check only what landed.
        if receipt is not None:
            self.check(job)

    def post(self, seed: int, *, num_solvers: int | None = None) -> Any:
        """Post a small job (1 to 3 checkpoints, 60 s window) shaped by `seed`; book its payment."""
        h = self.h
        num_solvers = num_solvers or 1 + seed % 2
        payment = 10**6 + (seed * 7_919) % 10**6
        now = h.chain.pending_timestamp
        params = job_params(
            h.chain,
            token=h.asset.address,
            steps=1 + (seed >> 2) % 5,
            checkpointInterval=2,
            numSolvers=num_solvers,
            payment=payment,
            stake=((seed >> 4) % 3) * 10**5,
            joinDeadline=now + 600,
            completionDeadline=now + 2_000,
            challengeWindow=60,
        )
        receipt = self.market.postJob(params, sender=self._pick(self.requesters, seed // 5), **h.asset.value(payment))
        self.deposited[h.job_id(receipt)], self.withdrawn[h.job_id(receipt)] = payment, 0
        return receipt

    def setup(self, seed: int) -> None:
        """Start from one Running job with 1 or 2 solvers and one Open job that still needs a solver."""
        running = self.h.job_id(self.post(seed))
        for solver in self.solvers[: self.market.jobOf(running).params_[3]]:
            self.step("join", 0, job=running, solver=solver)
        self.post(seed // 3, num_solvers=2)

    def withdraw(self, job: int, account: Any) -> Any | None:
        """Withdraw and book it; the payout must equal the credit and the caller's balance must grow by it."""
        owed = self.market.owed(job, account)
        before = self.h.asset.balance(account)
        receipt = self._send(self.market.withdraw, job, sender=account)
        if receipt is None:
            assert owed == 0, f"withdraw of a {owed} credit reverted"
            return None
        [event] = receipt.events.filter(self.market.Withdrawn)
        assert event.amount == owed
        assert self.h.asset.gained(account, before, receipt) == owed
        assert self.market.owed(job, account) == 0
        self.withdrawn[job] += owed
        return receipt

    # ---------------------------------------------------------------- invariants

    def holdings(self, job: int) -> tuple[int, int, dict[Any, int]]:
        """The market's asset balance, the job's escrow and every account's credit in it (one call)."""
        balance, escrow, owed = self.lens.holdings(self.market, self.h.asset.address, job, self.accounts)
        return balance, escrow, dict(zip(self.accounts, owed, strict=True))

    def check(self, job: int) -> dict[Any, int]:
        """Market balance == ghost total held; the job's escrow + credits == its ghost total held. Returns credits."""
        balance, escrow, owed = self.holdings(job)
        assert balance == sum(self.deposited.values()) - sum(self.withdrawn.values())
        assert escrow + sum(owed.values()) == self.deposited[job] - self.withdrawn[job]
        return owed

    def drain(self) -> None:
        """Drive every job to its end, withdraw every credit, and require an empty market."""
        m, h = self.market, self.h
        for job in self.deposited:
            params, _, status, _ = m.jobOf(job)
            if status == JobStatus.OPEN:
                h.warp_to(max(h.chain.pending_timestamp, params[7] + 1))
                m.cancelJob(job, sender=self.accounts[-1])
            elif status == JobStatus.RUNNING:
                for solver in m.solversOf(job):
                    for _ in range(m.solverOf(job, solver).disputes):
                        m.closeDispute(job, solver, sender=h.referee)
                h.warp_to(max(h.chain.pending_timestamp, params[8] + params[9] + 1))
                count = m.numCheckpoints(job)
                for solver in m.solversOf(job):
                    info = m.solverOf(job, solver)
                    if info.finished:
                        continue
                    if not info.defaulted and info.posted < count:
                        m.settleDefault(job, solver, sender=self.accounts[-1])
                        info = m.solverOf(job, solver)
                    if not info.finished:
                        m.claim(job, sender=self.by_address[solver])
                        assert m.solverOf(job, solver).finished
            assert m.escrowOf(job) == 0, f"job {job} still holds escrow after settling"
            for account, credit in self.check(job).items():
                if credit:
                    self.withdraw(job, account)
        for job in self.deposited:
            assert not any(self.check(job).values()), f"job {job} still owes credits after every withdrawal"
        assert h.asset.balance(m) == 0


@settings(
    max_examples=FUZZ_EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(start=st.integers(min_value=0, max_value=2**20), actions=ACTIONS)
def test_fuzz_random_actions_conserve_funds_and_drain(h, lens, chain, alice, bob, carol, dave, eve, start, actions):
    """Any sequence of actions keeps escrow plus credits equal to the market's balance, and everything can leave."""
    with isolated(chain):
        driver = Driver(h, lens, requesters=(alice, eve), solvers=(bob, carol, dave), outsiders=(h.referee,))
        driver.setup(start)
        for kind, seed in actions:
            driver.step(kind, seed)
        driver.drain()
