"""Unit tests for JobMarket: every external function's success path, custom errors, events, access control
and deadline paths. Each test runs once with ETH escrow and once with an ERC20 (the `asset` fixture).

Run: `.venv/bin/ape test tests/market/test_job_market.py -q -p no:cacheprovider`
"""

from __future__ import annotations

import ast

import ape
import pytest
from ape.exceptions import ContractLogicError
from eth_utils import keccak
from jobmarket_support import DEFAULTS, ZERO_ADDRESS, JobStatus, slash_to

D = DEFAULTS
N_CP = -(-D.steps // D.interval)  # 4 checkpoints
MILESTONES = D.num_solvers * N_CP  # 8
MILESTONE = D.payment // MILESTONES
DUST = D.payment % MILESTONES


def _events(receipt, event_type) -> list:
    return list(receipt.events.filter(event_type))


# ---------------------------------------------------------------- deployment and views


def test_constructor_zero_admin_reverts(project, deployer):
    """Deploying with no admin reverts, since nobody could ever appoint the referee."""
    with ape.reverts(project.JobMarket.JobZeroAddress, what="admin"):
        deployer.deploy(project.JobMarket, ZERO_ADDRESS)


def test_constructor_grants_admin_role(market, deployer, referee):
    """The constructor makes the admin DEFAULT_ADMIN_ROLE holder; the referee holds only DISPUTE_ROLE."""
    assert market.hasRole(market.DEFAULT_ADMIN_ROLE(), deployer)
    assert market.hasRole(market.DISPUTE_ROLE(), referee)
    assert not market.hasRole(market.DEFAULT_ADMIN_ROLE(), referee)
    assert market.version() == "2.0.0"


def test_supports_interface_reports_market_and_access_control(market):
    """ERC-165 reports IAccessControl and IERC165 and rejects the invalid id."""
    assert market.supportsInterface("0x7965db0b")  # IAccessControl
    assert market.supportsInterface("0x01ffc9a7")  # IERC165
    assert not market.supportsInterface("0xffffffff")


def test_views_of_unknown_job_revert(market):
    """numCheckpoints and milestoneOf revert JobUnknown for a job that does not exist."""
    with ape.reverts(market.JobUnknown, jobId=9):
        market.numCheckpoints(9)
    with ape.reverts(market.JobUnknown, jobId=9):
        market.milestoneOf(9)


def test_views_of_running_job(h, market, running_job, bob, carol):
    """The views report checkpoint count, milestone, solvers in join order and zeroed solver info."""
    assert market.numCheckpoints(running_job) == N_CP
    assert market.milestoneOf(running_job) == MILESTONE
    assert market.solversOf(running_job) == [bob.address, carol.address]
    assert market.jobCount() == 1
    info = market.solverOf(running_job, bob)
    assert info.joined and not info.slashed and not info.defaulted and not info.finished
    assert (info.disputes, info.posted, info.released) == (0, 0, 0)
    assert not market.solverOf(running_job, market.address).joined


# ---------------------------------------------------------------- postJob


def test_post_job_escrows_payment(h, market, alice):
    """postJob escrows the payment, stores the job Open and emits JobPosted."""
    before = h.asset.balance(market)
    receipt = h.post()
    job_id = h.job_id(receipt)
    assert job_id == 1 and market.jobCount() == 1
    [event] = _events(receipt, market.JobPosted)
    assert event.jobId == 1
    assert event.requester == alice.address
    assert event.specHash == b"\x5e" * 32
    assert event.token == h.asset.address
    assert event.payment == D.payment
    params, requester, status, joined = market.jobOf(job_id)
    assert params[0] == b"\x5e" * 32 and params[5] == D.payment and params[6] == D.stake
    assert (requester, status, joined) == (alice.address, JobStatus.OPEN, 0)
    assert h.asset.balance(market) - before == D.payment
    assert market.escrowOf(job_id) == D.payment


def test_post_job_ids_increase(h, market):
    """Job ids start at 1 and increase by one per post."""
    assert [h.job_id(h.post()) for _ in range(3)] == [1, 2, 3]
    assert market.jobCount() == 3


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"steps": 0}, "steps is zero"),
        ({"checkpointInterval": 0}, "checkpointInterval is zero"),
        ({"steps": 2**40, "checkpointInterval": 1}, "too many checkpoints"),
        ({"numSolvers": 0}, "numSolvers out of range"),
        ({"numSolvers": 65}, "numSolvers out of range"),
        ({"payment": MILESTONES - 1}, "payment below one wei per milestone"),
        ({"joinDeadline": 0}, "joinDeadline not in the future"),
        ({"completionDeadline": 1}, "completionDeadline not after joinDeadline"),
    ],
    ids=["steps", "interval", "checkpoints", "no-solvers", "many-solvers", "payment", "join", "completion"],
)
def test_post_job_invalid_params_reverts(h, market, overrides, reason):
    """postJob rejects parameters a job could not run or settle with, naming the rule."""
    params = h.params(**overrides)
    with ape.reverts(market.JobInvalidParams, reason=reason):
        market.postJob(params, sender=h.requester, **h.asset.value(params[5]))


def test_post_job_join_deadline_now_reverts(h, market):
    """A join deadline equal to the posting block's timestamp is rejected."""
    params = h.params(joinDeadline=h.chain.pending_timestamp)
    with ape.reverts(market.JobInvalidParams, reason="joinDeadline not in the future"):
        market.postJob(params, sender=h.requester, **h.asset.value(params[5]))


def test_post_job_token_without_code_reverts(h, market, eve):
    """A token address with no contract code is rejected."""
    params = h.params(token=eve.address)
    with ape.reverts(market.JobInvalidParams, reason="token has no code"):
        market.postJob(params, sender=h.requester)


def test_post_job_wrong_payment_reverts(h, market):
    """postJob reverts JobWrongPayment when msg.value is not the payment (ETH) or not zero (ERC20)."""
    sent = D.payment - 1 if h.asset.is_eth else 1
    expected = D.payment if h.asset.is_eth else 0
    with ape.reverts(market.JobWrongPayment, sent=sent, expected=expected):
        market.postJob(h.params(), sender=h.requester, value=sent)


def test_post_job_other_asset_style_reverts(h, market):
    """An ETH job posted token-style (no value) or an ERC20 job posted ETH-style (with value) reverts."""
    sent = 0 if h.asset.is_eth else D.payment
    expected = D.payment if h.asset.is_eth else 0
    with ape.reverts(market.JobWrongPayment, sent=sent, expected=expected):
        market.postJob(h.params(), sender=h.requester, **h.asset.wrong_value(D.payment))


# ---------------------------------------------------------------- join


def test_join_stakes_and_emits(h, market, open_job, bob):
    """join escrows the stake, records the solver and emits SolverJoined; the job stays Open."""
    before = h.asset.balance(market)
    receipt = h.join(open_job, bob)
    [event] = _events(receipt, market.SolverJoined)
    assert (event.jobId, event.solver, event.stake) == (open_job, bob.address, D.stake)
    assert not _events(receipt, market.JobStarted)
    assert h.asset.balance(market) - before == D.stake
    assert market.escrowOf(open_job) == D.payment + D.stake
    assert market.jobOf(open_job).status_ == JobStatus.OPEN
    assert market.jobOf(open_job).joined_ == 1
    assert market.solverOf(open_job, bob).joined


def test_join_last_solver_starts_job_and_credits_dust(h, market, open_job, alice, bob, carol):
    """The last join starts the job, emits JobStarted and credits the rounding dust to the requester."""
    h.join(open_job, bob)
    receipt = h.join(open_job, carol)
    [event] = _events(receipt, market.JobStarted)
    assert event.jobId == open_job
    assert market.jobOf(open_job).status_ == JobStatus.RUNNING
    assert DUST > 0
    assert market.owed(open_job, alice) == DUST
    assert market.escrowOf(open_job) == D.payment - DUST + 2 * D.stake


def test_join_unknown_job_reverts(h, market, bob):
    """Joining a job that does not exist reverts JobUnknown."""
    with ape.reverts(market.JobUnknown, jobId=5):
        market.join(5, sender=bob, **h.asset.value(D.stake))


def test_join_full_reverts(h, market, running_job, dave):
    """Joining a job that already has all its solvers reverts JobFull."""
    with ape.reverts(market.JobFull, jobId=running_job):
        h.join(running_job, dave)


def test_join_after_deadline_reverts(h, market, open_job, bob):
    """Joining after the join deadline reverts JobJoinClosed."""
    join_deadline, _ = h.deadlines(open_job)
    h.warp_to(join_deadline + 1)
    with ape.reverts(market.JobJoinClosed, jobId=open_job, joinDeadline=join_deadline):
        h.join(open_job, bob)


def test_join_at_deadline_succeeds(h, market, open_job, bob):
    """Joining in the block whose timestamp equals the join deadline still works."""
    join_deadline, _ = h.deadlines(open_job)
    h.warp_to(join_deadline)
    h.join(open_job, bob)
    assert market.solverOf(open_job, bob).joined


def test_join_twice_reverts(h, market, open_job, bob):
    """A solver cannot join the same job twice."""
    h.join(open_job, bob)
    with ape.reverts(market.JobAlreadyJoined, jobId=open_job, solver=bob.address):
        h.join(open_job, bob)


def test_join_cancelled_job_reverts(h, market, open_job, alice, bob):
    """Joining a cancelled job reverts JobNotOpen with its status."""
    market.cancelJob(open_job, sender=alice)
    with ape.reverts(market.JobNotOpen, jobId=open_job, status=JobStatus.CANCELLED):
        h.join(open_job, bob)


def test_join_wrong_stake_reverts(h, market, open_job, bob):
    """join reverts JobWrongPayment when msg.value is not the stake (ETH) or not zero (ERC20)."""
    sent = D.stake + 1
    expected = D.stake if h.asset.is_eth else 0
    with ape.reverts(market.JobWrongPayment, sent=sent, expected=expected):
        market.join(open_job, sender=bob, value=sent)


def test_join_other_asset_style_reverts(h, market, open_job, bob):
    """An ETH job joined token-style, or an ERC20 job joined ETH-style, reverts JobWrongPayment."""
    sent = 0 if h.asset.is_eth else D.stake
    expected = D.stake if h.asset.is_eth else 0
    with ape.reverts(market.JobWrongPayment, sent=sent, expected=expected):
        market.join(open_job, sender=bob, **h.asset.wrong_value(D.stake))


def test_join_zero_stake_job_succeeds(h, market, bob, carol):
    """A job with no stake can be joined without sending anything and starts."""
    job_id = h.start(stake=0)
    assert market.jobOf(job_id).status_ == JobStatus.RUNNING
    assert market.escrowOf(job_id) == D.payment - DUST


# ---------------------------------------------------------------- cancelJob


def test_cancel_by_requester_refunds_everyone(h, market, open_job, alice, bob):
    """The requester's cancel credits the payment back, every stake to its solver, and emits events."""
    h.join(open_job, bob)
    receipt = market.cancelJob(open_job, sender=alice)
    [returned] = _events(receipt, market.StakeReturned)
    assert (returned.jobId, returned.solver, returned.amount) == (open_job, bob.address, D.stake)
    [cancelled] = _events(receipt, market.JobCancelled)
    assert cancelled.jobId == open_job
    assert market.jobOf(open_job).status_ == JobStatus.CANCELLED
    assert market.owed(open_job, alice) == D.payment
    assert market.owed(open_job, bob) == D.stake
    assert market.escrowOf(open_job) == 0
    assert market.solverOf(open_job, bob).finished
    market.withdraw(open_job, sender=alice)
    market.withdraw(open_job, sender=bob)
    assert h.asset.balance(market) == 0


def test_cancel_by_stranger_before_deadline_reverts(h, market, open_job, eve):
    """Before the join deadline only the requester may cancel."""
    join_deadline, _ = h.deadlines(open_job)
    h.warp_to(join_deadline)
    with ape.reverts(market.JobNotCancellable, jobId=open_job, caller=eve.address):
        market.cancelJob(open_job, sender=eve)


def test_cancel_unfilled_after_join_deadline_by_anyone_succeeds(h, market, open_job, alice, bob, eve):
    """Anyone can cancel a job that was not full by its join deadline; everyone is refunded."""
    h.join(open_job, bob)
    join_deadline, _ = h.deadlines(open_job)
    h.warp_to(join_deadline + 1)
    market.cancelJob(open_job, sender=eve)
    assert market.owed(open_job, alice) == D.payment
    assert market.owed(open_job, bob) == D.stake
    assert market.owed(open_job, eve) == 0


def test_cancel_running_job_reverts(h, market, running_job, alice):
    """A Running job cannot be cancelled."""
    with ape.reverts(market.JobNotOpen, jobId=running_job, status=JobStatus.RUNNING):
        market.cancelJob(running_job, sender=alice)


def test_cancel_twice_reverts(h, market, open_job, alice):
    """A cancelled job cannot be cancelled again."""
    market.cancelJob(open_job, sender=alice)
    with ape.reverts(market.JobNotOpen, jobId=open_job, status=JobStatus.CANCELLED):
        market.cancelJob(open_job, sender=alice)


def test_cancel_unknown_job_reverts(market, alice):
    """Cancelling a job that does not exist reverts JobUnknown."""
    with ape.reverts(market.JobUnknown, jobId=3):
        market.cancelJob(3, sender=alice)


# ---------------------------------------------------------------- postCheckpoint


def test_post_checkpoint_records_root_and_emits(h, market, running_job, bob):
    """postCheckpoint stores the root and time, bumps the solver's index and emits CheckpointPosted."""
    receipt = h.checkpoint(running_job, bob, 1)
    [event] = _events(receipt, market.CheckpointPosted)
    assert (event.jobId, event.solver, event.index) == (running_job, bob.address, 1)
    assert event.step == D.interval
    assert event.root == h.root(bob, 1)
    root, posted_at = market.checkpointOf(running_job, bob, 1)
    assert root == h.root(bob, 1)
    assert posted_at == receipt.timestamp
    assert market.solverOf(running_job, bob).posted == 1


def test_post_checkpoint_last_step_is_capped(h, market, running_job, bob):
    """The last checkpoint is taken after the final step, not after index * interval."""
    h.checkpoints(running_job, bob, N_CP - 1)
    receipt = h.checkpoint(running_job, bob, N_CP)
    [event] = _events(receipt, market.CheckpointPosted)
    assert event.step == D.steps


def test_post_checkpoint_out_of_order_reverts(h, market, running_job, bob):
    """Checkpoints must be posted in order, starting at 1."""
    with ape.reverts(market.JobCheckpointOutOfOrder, jobId=running_job, index=2, expected=1):
        h.checkpoint(running_job, bob, 2)
    h.checkpoint(running_job, bob, 1)
    with ape.reverts(market.JobCheckpointOutOfOrder, jobId=running_job, index=1, expected=2):
        h.checkpoint(running_job, bob, 1)


def test_post_checkpoint_not_solver_reverts(h, market, running_job, eve):
    """Only a solver of the job can post checkpoints."""
    with ape.reverts(market.JobNotSolver, jobId=running_job, account=eve.address):
        h.checkpoint(running_job, eve, 1)


def test_post_checkpoint_open_job_reverts(h, market, open_job, bob):
    """Checkpoints cannot be posted before the job starts."""
    h.join(open_job, bob)
    with ape.reverts(market.JobNotRunning, jobId=open_job, status=JobStatus.OPEN):
        h.checkpoint(open_job, bob, 1)


def test_post_checkpoint_after_completion_deadline_reverts(h, market, running_job, bob):
    """No checkpoint can be posted after the completion deadline; at the deadline it still can."""
    _, completion = h.deadlines(running_job)
    h.warp_to(completion)
    h.checkpoint(running_job, bob, 1)
    with ape.reverts(market.JobCompletionClosed, jobId=running_job, completionDeadline=completion):
        h.checkpoint(running_job, bob, 2)


def test_post_checkpoint_beyond_last_reverts(h, market, running_job, bob):
    """A solver that posted every checkpoint cannot post another."""
    h.checkpoints(running_job, bob)
    with ape.reverts(market.JobSolverFinished, jobId=running_job, solver=bob.address):
        h.checkpoint(running_job, bob, N_CP + 1)


def test_post_checkpoint_slashed_reverts(h, market, running_job, bob, carol, referee):
    """A slashed solver cannot post checkpoints."""
    slash_to(market, running_job, bob, carol, 0, referee)
    with ape.reverts(market.JobSolverSlashed, jobId=running_job, solver=bob.address):
        h.checkpoint(running_job, bob, 1)


# ---------------------------------------------------------------- claim


def test_claim_inside_window_credits_nothing(h, market, running_job, bob):
    """A checkpoint still inside its challenge window releases nothing."""
    receipt = h.checkpoint(running_job, bob, 1)
    h.warp_to(receipt.timestamp + D.window - 1)
    receipt = market.claim(running_job, sender=bob)
    assert not _events(receipt, market.MilestonesReleased)
    assert market.owed(running_job, bob) == 0
    assert not market.isVerified(running_job, bob, 1)


def test_claim_after_window_releases_milestones(h, market, running_job, bob):
    """Once their windows pass, claim credits the verified milestones in one MilestonesReleased."""
    h.checkpoint(running_job, bob, 1)
    receipt = h.checkpoint(running_job, bob, 2)
    h.warp_to(receipt.timestamp + D.window)
    receipt = market.claim(running_job, sender=bob)
    assert market.isVerified(running_job, bob, 2)
    [event] = _events(receipt, market.MilestonesReleased)
    assert (event.jobId, event.solver) == (running_job, bob.address)
    assert (event.fromIndex, event.toIndex, event.amount) == (1, 2, 2 * MILESTONE)
    assert market.owed(running_job, bob) == 2 * MILESTONE
    assert market.solverOf(running_job, bob).released == 2
    assert not _events(receipt, market.StakeReturned)


def test_claim_stops_at_first_unverified(h, market, running_job, bob):
    """claim releases the verified prefix and leaves a checkpoint still in its window for later."""
    first = h.checkpoint(running_job, bob, 1)
    h.warp(D.window // 2)
    h.checkpoint(running_job, bob, 2)
    h.warp_to(first.timestamp + D.window)
    receipt = market.claim(running_job, sender=bob)
    [event] = _events(receipt, market.MilestonesReleased)
    assert (event.fromIndex, event.toIndex) == (1, 1)
    h.warp(D.window)
    receipt = market.claim(running_job, sender=bob)
    [event] = _events(receipt, market.MilestonesReleased)
    assert (event.fromIndex, event.toIndex, event.amount) == (2, 2, MILESTONE)


def test_claim_last_milestone_returns_stake(h, market, running_job, bob):
    """The claim that releases the last milestone also credits the stake and finishes the solver."""
    h.checkpoints(running_job, bob)
    h.warp(D.window)
    receipt = market.claim(running_job, sender=bob)
    [released] = _events(receipt, market.MilestonesReleased)
    assert (released.fromIndex, released.toIndex, released.amount) == (1, N_CP, N_CP * MILESTONE)
    [returned] = _events(receipt, market.StakeReturned)
    assert (returned.jobId, returned.solver, returned.amount) == (running_job, bob.address, D.stake)
    assert market.owed(running_job, bob) == N_CP * MILESTONE + D.stake
    assert market.solverOf(running_job, bob).finished
    with ape.reverts(market.JobSolverFinished, jobId=running_job, solver=bob.address):
        market.claim(running_job, sender=bob)


def test_claim_not_solver_reverts(market, running_job, eve):
    """Only a solver can claim."""
    with ape.reverts(market.JobNotSolver, jobId=running_job, account=eve.address):
        market.claim(running_job, sender=eve)


def test_claim_open_job_reverts(market, open_job, bob):
    """Nothing can be claimed before the job runs."""
    with ape.reverts(market.JobNotRunning, jobId=open_job, status=JobStatus.OPEN):
        market.claim(open_job, sender=bob)


def test_claim_disputed_reverts(h, market, running_job, bob, referee):
    """An open dispute freezes the solver's claims even after the window has passed."""
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    h.chain.mine(deltatime=D.window * 3)
    assert not market.isVerified(running_job, bob, 1)
    with ape.reverts(market.JobSolverDisputed, jobId=running_job, solver=bob.address):
        market.claim(running_job, sender=bob)


def test_claim_after_dispute_closed_releases(h, market, running_job, bob, referee):
    """When the solver wins its dispute, checkpoints whose window closed meanwhile become claimable."""
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    h.warp(D.window * 3)
    market.closeDispute(running_job, bob, sender=referee)
    assert market.isVerified(running_job, bob, 1)
    market.claim(running_job, sender=bob)
    assert market.owed(running_job, bob) == MILESTONE


def test_claim_slashed_reverts(market, running_job, bob, carol, referee):
    """A slashed solver cannot claim."""
    slash_to(market, running_job, bob, carol, 0, referee)
    with ape.reverts(market.JobSolverSlashed, jobId=running_job, solver=bob.address):
        market.claim(running_job, sender=bob)


def test_claim_voided_job_reverts(market, running_job, bob, referee):
    """Nothing can be claimed from a voided job."""
    market.voidResult(running_job, sender=referee)
    with ape.reverts(market.JobNotRunning, jobId=running_job, status=JobStatus.VOIDED):
        market.claim(running_job, sender=bob)


# ---------------------------------------------------------------- settleDefault


def test_settle_default_credits_stake_and_unposted_share(h, market, running_job, alice, bob, eve):
    """After the deadline anyone can default a solver: its stake and unposted share go to the requester."""
    h.checkpoints(running_job, bob, 2)
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    receipt = market.settleDefault(running_job, bob, sender=eve)
    [event] = _events(receipt, market.SolverDefaulted)
    forfeited = D.stake + (N_CP - 2) * MILESTONE
    assert (event.jobId, event.solver, event.forfeited) == (running_job, bob.address, forfeited)
    assert market.owed(running_job, alice) == DUST + forfeited
    info = market.solverOf(running_job, bob)
    assert info.defaulted and not info.finished
    receipt = market.claim(running_job, sender=bob)
    [released] = _events(receipt, market.MilestonesReleased)
    assert (released.fromIndex, released.toIndex, released.amount) == (1, 2, 2 * MILESTONE)
    assert not _events(receipt, market.StakeReturned)
    assert market.owed(running_job, bob) == 2 * MILESTONE
    assert market.solverOf(running_job, bob).finished


def test_settle_default_without_checkpoints_finishes_solver(h, market, running_job, alice, bob):
    """A solver that posted nothing forfeits its stake and its whole share at once and is finished."""
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    market.settleDefault(running_job, bob, sender=alice)
    assert market.owed(running_job, alice) == DUST + D.stake + N_CP * MILESTONE
    assert market.solverOf(running_job, bob).finished


def test_settle_default_before_deadline_reverts(h, market, running_job, bob, eve):
    """A solver cannot be defaulted until the completion deadline has passed."""
    _, completion = h.deadlines(running_job)
    h.warp_to(completion)
    with ape.reverts(market.JobCompletionNotOver, jobId=running_job, completionDeadline=completion):
        market.settleDefault(running_job, bob, sender=eve)


def test_settle_default_complete_solver_reverts(h, market, running_job, bob, eve):
    """A solver that posted every checkpoint is not in default."""
    h.checkpoints(running_job, bob)
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    with ape.reverts(market.JobSolverFinished, jobId=running_job, solver=bob.address):
        market.settleDefault(running_job, bob, sender=eve)


def test_settle_default_twice_reverts(h, market, running_job, bob, eve):
    """A solver can be defaulted only once."""
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    market.settleDefault(running_job, bob, sender=eve)
    with ape.reverts(market.JobSolverFinished, jobId=running_job, solver=bob.address):
        market.settleDefault(running_job, bob, sender=eve)


def test_settle_default_disputed_reverts(h, market, running_job, bob, eve, referee):
    """A solver under dispute cannot be defaulted until the referee settles the dispute."""
    receipt = h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    _, completion = h.deadlines(running_job)
    h.warp_to(max(completion + 1, receipt.timestamp + 1))
    with ape.reverts(market.JobSolverDisputed, jobId=running_job, solver=bob.address):
        market.settleDefault(running_job, bob, sender=eve)


def test_settle_default_not_solver_reverts(h, market, running_job, eve):
    """Only a solver of the job can be defaulted."""
    with ape.reverts(market.JobNotSolver, jobId=running_job, account=eve.address):
        market.settleDefault(running_job, eve, sender=eve)


def test_settle_default_slashed_reverts(h, market, running_job, bob, carol, eve, referee):
    """A slashed solver has been settled by its slash and cannot be defaulted."""
    slash_to(market, running_job, bob, carol, 0, referee)
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    with ape.reverts(market.JobSolverSlashed, jobId=running_job, solver=bob.address):
        market.settleDefault(running_job, bob, sender=eve)


# ---------------------------------------------------------------- withdraw


def test_withdraw_pays_credit_and_zeroes_it(h, market, running_job, alice):
    """withdraw pays the caller's whole credit, zeroes it and emits Withdrawn."""
    before = h.asset.balance(alice)
    receipt = market.withdraw(running_job, sender=alice)
    [event] = _events(receipt, market.Withdrawn)
    assert (event.jobId, event.account, event.amount) == (running_job, alice.address, DUST)
    assert h.asset.gained(alice, before, receipt) == DUST
    assert market.owed(running_job, alice) == 0
    with ape.reverts(market.JobNothingToWithdraw, jobId=running_job, account=alice.address):
        market.withdraw(running_job, sender=alice)


def test_withdraw_nothing_reverts(market, running_job, eve):
    """An account with no credit cannot withdraw."""
    with ape.reverts(market.JobNothingToWithdraw, jobId=running_job, account=eve.address):
        market.withdraw(running_job, sender=eve)


def test_withdraw_unknown_job_reverts(market, eve):
    """Withdrawing from a job that does not exist reverts JobUnknown."""
    with ape.reverts(market.JobUnknown, jobId=4):
        market.withdraw(4, sender=eve)


def test_full_job_pays_everyone_and_empties_market(h, market, running_job, alice, bob, carol):
    """A job run to completion pays each solver its share plus stake, the requester the dust, and leaves 0."""
    for solver in (bob, carol):
        h.checkpoints(running_job, solver)
    h.warp(D.window)
    for solver in (bob, carol):
        market.claim(running_job, sender=solver)
    assert market.escrowOf(running_job) == 0
    for account, expected in ((alice, DUST), (bob, N_CP * MILESTONE + D.stake), (carol, N_CP * MILESTONE + D.stake)):
        before = h.asset.balance(account)
        receipt = market.withdraw(running_job, sender=account)
        assert h.asset.gained(account, before, receipt) == expected
    assert h.asset.balance(market) == 0


def test_jobs_do_not_share_funds(h, market, alice, bob, carol):
    """Credits are per job: a credit in one job cannot be withdrawn from another."""
    first = h.start()
    second = h.job_id(h.post())
    assert market.owed(first, alice) == DUST
    with ape.reverts(market.JobNothingToWithdraw, jobId=second, account=alice.address):
        market.withdraw(second, sender=alice)
    assert market.escrowOf(second) == D.payment


# ---------------------------------------------------------------- disputes


def test_open_dispute_freezes_and_emits(h, market, running_job, bob, referee):
    """openDispute counts a dispute against the solver and emits DisputeOpened."""
    h.checkpoint(running_job, bob, 1)
    receipt = market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    [event] = _events(receipt, market.DisputeOpened)
    assert (event.jobId, event.solver, event.index) == (running_job, bob.address, 1)
    assert market.solverOf(running_job, bob).disputes == 1


def test_open_dispute_window_closed_reverts(h, market, running_job, bob, referee):
    """A checkpoint cannot be disputed once its challenge window has passed."""
    receipt = h.checkpoint(running_job, bob, 1)
    h.warp_to(receipt.timestamp + D.window)
    with ape.reverts(market.JobChallengeWindowClosed, jobId=running_job, solver=bob.address, index=1):
        market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)


def test_open_dispute_last_second_of_window_succeeds(h, market, running_job, bob, referee):
    """A checkpoint can be disputed in the last second of its window."""
    receipt = h.checkpoint(running_job, bob, 1)
    h.warp_to(receipt.timestamp + D.window - 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    assert market.solverOf(running_job, bob).disputes == 1


def test_open_dispute_unposted_checkpoint_reverts(h, market, running_job, bob, referee):
    """A checkpoint that was never posted cannot be disputed."""
    with ape.reverts(market.JobCheckpointNotPosted, jobId=running_job, solver=bob.address, index=1):
        market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)


def test_open_dispute_not_solver_reverts(market, running_job, eve, referee):
    """Only a solver of the job can be disputed."""
    with ape.reverts(market.JobNotSolver, jobId=running_job, account=eve.address):
        market.openDispute(running_job, eve, 1, ZERO_ADDRESS, sender=referee)


def test_open_dispute_slashed_solver_reverts(h, market, running_job, bob, carol, referee):
    """A slashed solver cannot be disputed again."""
    h.checkpoint(running_job, bob, 1)
    slash_to(market, running_job, bob, carol, 0, referee)
    with ape.reverts(market.JobSolverSlashed, jobId=running_job, solver=bob.address):
        market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)


def test_open_dispute_open_job_reverts(h, market, open_job, bob, referee):
    """Nothing can be disputed in a job that is not running."""
    with ape.reverts(market.JobNotRunning, jobId=open_job, status=JobStatus.OPEN):
        market.openDispute(open_job, bob, 1, ZERO_ADDRESS, sender=referee)


def test_close_dispute_unfreezes_and_emits(h, market, running_job, bob, referee):
    """closeDispute decrements the solver's disputes and emits DisputeClosed."""
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    receipt = market.closeDispute(running_job, bob, sender=referee)
    [event] = _events(receipt, market.DisputeClosed)
    assert (event.jobId, event.solver) == (running_job, bob.address)
    assert market.solverOf(running_job, bob).disputes == 0


def test_disputes_are_counted(h, market, running_job, bob, referee):
    """Two open disputes need two closes before the solver's claims unfreeze."""
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    market.closeDispute(running_job, bob, sender=referee)
    h.warp(D.window)
    with ape.reverts(market.JobSolverDisputed, jobId=running_job, solver=bob.address):
        market.claim(running_job, sender=bob)
    market.closeDispute(running_job, bob, sender=referee)
    market.claim(running_job, sender=bob)
    assert market.owed(running_job, bob) == MILESTONE


def test_close_dispute_not_disputed_reverts(market, running_job, bob, referee):
    """Closing a dispute that is not open reverts JobSolverNotDisputed."""
    with ape.reverts(market.JobSolverNotDisputed, jobId=running_job, solver=bob.address):
        market.closeDispute(running_job, bob, sender=referee)


@pytest.mark.parametrize("function", ["openDispute", "closeDispute", "slash", "awardBounty", "voidResult"])
def test_dispute_functions_from_anyone_but_the_jobs_referee_revert(h, market, running_job, bob, carol, eve, function):
    """Every dispute function of a job rejects anyone but that job's referee with JobNotReferee."""
    h.checkpoint(running_job, bob, 1)
    args = {
        "openDispute": (running_job, bob, 1, ZERO_ADDRESS),
        "closeDispute": (running_job, bob),
        "slash": (running_job, bob, 10_000),
        "awardBounty": (running_job, bob, eve),
        "voidResult": (running_job,),
    }[function]
    for caller in (eve, h.requester, bob):
        with ape.reverts(market.JobNotReferee, jobId=running_job, caller=caller.address):
            getattr(market, function)(*args, sender=caller)


def test_new_referee_judges_only_jobs_posted_after_it(h, market, running_job, deployer, referee, bob, dave, eve):
    """Only the admin appoints a referee; the new one replaces the old for the jobs posted from then on, while
    a job solvers already staked in keeps the referee it was posted with. Without a referee nothing is posted."""
    role = market.DISPUTE_ROLE()
    with ape.reverts(market.AccessControlUnauthorizedAccount, account=eve.address, neededRole=b"\x00" * 32):
        market.grantRole(role, eve, sender=eve)
    receipt = market.grantRole(role, dave, sender=deployer)
    [event] = _events(receipt, market.RefereeAppointed)
    assert event.referee == dave.address and market.referee() == dave.address
    assert not market.hasRole(role, referee) and market.refereeOf(running_job) == referee.address
    with ape.reverts(market.JobNotReferee, jobId=running_job, caller=dave.address):
        market.voidResult(running_job, sender=dave)
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)  # the old job's judge still judges it
    newer = h.start()
    assert market.refereeOf(newer) == dave.address
    market.voidResult(newer, sender=dave)
    market.revokeRole(role, dave, sender=deployer)
    assert market.referee() == ZERO_ADDRESS
    with ape.reverts(market.JobNoReferee):
        h.post()


# ---------------------------------------------------------------- slash


def test_slash_splits_stake_and_refunds_unreleased(h, market, running_job, alice, bob, carol, referee):
    """slash holds rewardBps of the stake as the bounty (awarded to the winner), the rest and the unreleased pay
    go to the requester."""
    h.checkpoint(running_job, bob, 1)
    h.warp(D.window)
    market.claim(running_job, sender=bob)
    h.checkpoint(running_job, bob, 2)
    market.openDispute(running_job, bob, 2, ZERO_ADDRESS, sender=referee)
    receipt = slash_to(market, running_job, bob, carol, 2_500, referee)
    to_recipient = D.stake * 2_500 // 10_000
    to_requester = D.stake - to_recipient + (N_CP - 1) * MILESTONE
    [event] = _events(receipt, market.SolverSlashed)
    assert (event.jobId, event.solver) == (running_job, bob.address)
    assert (event.bounty, event.toRequester) == (to_recipient, to_requester)
    assert market.owed(running_job, carol) == to_recipient
    assert market.owed(running_job, alice) == DUST + to_requester
    assert market.owed(running_job, bob) == MILESTONE  # what it earned before stays its own
    info = market.solverOf(running_job, bob)
    assert info.slashed and info.finished and info.disputes == 0
    assert market.jobOf(running_job).status_ == JobStatus.RUNNING
    assert not _events(receipt, market.JobVoided)


def test_slash_every_solver_voids_job(h, market, running_job, alice, bob, carol, eve, referee):
    """Slashing the last unslashed solver voids the job with nothing left to refund."""
    slash_to(market, running_job, bob, eve, 10_000, referee)
    receipt = slash_to(market, running_job, carol, eve, 10_000, referee)
    [event] = _events(receipt, market.JobVoided)
    assert (event.jobId, event.refunded) == (running_job, 0)
    assert market.jobOf(running_job).status_ == JobStatus.VOIDED
    assert market.owed(running_job, eve) == 2 * D.stake
    assert market.owed(running_job, alice) == D.payment
    assert market.escrowOf(running_job) == 0


def test_slash_defaulted_solver_refunds_posted_share(h, market, running_job, alice, bob, eve, referee):
    """A defaulted solver caught in a dispute loses its posted, unreleased milestones; its stake is gone already."""
    h.checkpoints(running_job, bob, 2)
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    market.settleDefault(running_job, bob, sender=eve)
    owed_before = market.owed(running_job, alice)
    receipt = slash_to(market, running_job, bob, eve, 5_000, referee)
    [event] = _events(receipt, market.SolverSlashed)
    assert (event.bounty, event.toRequester) == (0, 2 * MILESTONE)
    assert market.owed(running_job, alice) == owed_before + 2 * MILESTONE


def test_slash_bad_bps_reverts(market, running_job, bob, carol, referee):
    """A reward above 10 000 basis points is rejected."""
    with ape.reverts(market.JobBadBps, bps=20_000):
        slash_to(market, running_job, bob, carol, 20_000, referee)


def test_slash_bps_just_above_max_reverts(market, running_job, bob, carol, referee):
    """10 001 basis points, the first value above the maximum, is rejected with JobBadBps(10001)."""
    # Ape 0.8.52 cannot decode revert data containing the byte 0x27 (a quote: 10_001 is 0x2711); it
    # raises a plain ContractLogicError whose message is the data's Python repr, so compare the raw bytes.
    with pytest.raises(ContractLogicError) as info:
        slash_to(market, running_job, bob, carol, 10_001, referee)
    raw = ast.literal_eval(info.value.revert_message)
    assert raw == keccak(text="JobBadBps(uint16)")[:4] + (10_001).to_bytes(32, "big")


def test_slash_holds_bounty_until_awarded(market, running_job, alice, bob, carol, referee):
    """The bounty stays in escrow after slash (nobody is credited it yet) until awardBounty credits it once."""
    escrow = market.escrowOf(running_job)
    market.slash(running_job, bob, 4_000, sender=referee)
    bounty = D.stake * 4_000 // 10_000
    assert market.bountyOf(running_job, bob) == bounty
    assert market.escrowOf(running_job) == escrow - (D.stake - bounty + N_CP * MILESTONE)
    receipt = market.awardBounty(running_job, bob, carol, sender=referee)
    [event] = _events(receipt, market.BountyAwarded)
    assert (event.solver, event.recipient, event.amount) == (bob.address, carol.address, bounty)
    assert market.owed(running_job, carol) == bounty and market.bountyOf(running_job, bob) == 0
    assert market.solverOf(running_job, bob).bountyAwarded
    with ape.reverts(market.JobNoBounty, jobId=running_job, solver=bob.address):
        market.awardBounty(running_job, bob, carol, sender=referee)


def test_award_bounty_to_zero_address_credits_requester(market, running_job, alice, bob, referee):
    """No winner (address(0)): the bounty goes to the requester; nothing is ever credited to address(0)."""
    owed = market.owed(running_job, alice)
    market.slash(running_job, bob, 10_000, sender=referee)
    market.awardBounty(running_job, bob, ZERO_ADDRESS, sender=referee)
    assert market.owed(running_job, ZERO_ADDRESS) == 0
    assert market.owed(running_job, alice) == owed + D.stake + N_CP * MILESTONE


def test_award_bounty_unslashed_or_unauthorised_reverts(market, running_job, bob, carol, eve, referee):
    """Only a slashed solver has a bounty, and only the referee awards it."""
    with ape.reverts(market.JobNoBounty, jobId=running_job, solver=bob.address):
        market.awardBounty(running_job, bob, carol, sender=referee)
    market.slash(running_job, bob, 1, sender=referee)
    with ape.reverts():
        market.awardBounty(running_job, bob, eve, sender=eve)


def test_slash_twice_reverts(market, running_job, bob, carol, referee):
    """A solver can be slashed only once."""
    slash_to(market, running_job, bob, carol, 1, referee)
    with ape.reverts(market.JobSolverSlashed, jobId=running_job, solver=bob.address):
        slash_to(market, running_job, bob, carol, 1, referee)


def test_slash_finished_solver_reverts(h, market, running_job, bob, carol, referee):
    """A solver paid in full keeps what it was paid."""
    h.checkpoints(running_job, bob)
    h.warp(D.window)
    market.claim(running_job, sender=bob)
    with ape.reverts(market.JobSolverFinished, jobId=running_job, solver=bob.address):
        slash_to(market, running_job, bob, carol, 1, referee)


def test_slash_not_solver_reverts(market, running_job, carol, eve, referee):
    """Only a solver of the job can be slashed."""
    with ape.reverts(market.JobNotSolver, jobId=running_job, account=eve.address):
        slash_to(market, running_job, eve, carol, 1, referee)


def test_slash_open_job_reverts(market, open_job, bob, carol, referee):
    """Nobody can be slashed in a job that is not running."""
    with ape.reverts(market.JobNotRunning, jobId=open_job, status=JobStatus.OPEN):
        slash_to(market, open_job, bob, carol, 1, referee)


# ---------------------------------------------------------------- voidResult


def test_void_refunds_unreleased_and_returns_stakes(h, market, running_job, alice, bob, carol, referee):
    """voidResult credits unreleased pay to the requester, stakes back, and emits JobVoided."""
    h.checkpoint(running_job, bob, 1)
    h.warp(D.window)
    market.claim(running_job, sender=bob)
    receipt = market.voidResult(running_job, sender=referee)
    refunded = (MILESTONES - 1) * MILESTONE
    [voided] = _events(receipt, market.JobVoided)
    assert (voided.jobId, voided.refunded) == (running_job, refunded)
    returned = _events(receipt, market.StakeReturned)
    assert [(e.solver, e.amount) for e in returned] == [(bob.address, D.stake), (carol.address, D.stake)]
    assert market.jobOf(running_job).status_ == JobStatus.VOIDED
    assert market.owed(running_job, alice) == DUST + refunded
    assert market.owed(running_job, bob) == MILESTONE + D.stake
    assert market.owed(running_job, carol) == D.stake
    assert market.escrowOf(running_job) == 0
    for account in (alice, bob, carol):
        market.withdraw(running_job, sender=account)
    assert h.asset.balance(market) == 0


def test_void_skips_slashed_and_defaulted_stakes(h, market, running_job, alice, bob, carol, eve, referee):
    """After a slash and a default, voiding returns no stake to either: both were already redistributed."""
    slash_to(market, running_job, bob, eve, 10_000, referee)
    _, completion = h.deadlines(running_job)
    h.warp_to(completion + 1)
    market.settleDefault(running_job, carol, sender=eve)
    receipt = market.voidResult(running_job, sender=referee)
    assert not _events(receipt, market.StakeReturned)
    [voided] = _events(receipt, market.JobVoided)
    assert voided.refunded == 0
    assert market.escrowOf(running_job) == 0


def test_void_not_running_reverts(market, open_job, referee):
    """Only a Running job can be voided."""
    with ape.reverts(market.JobNotRunning, jobId=open_job, status=JobStatus.OPEN):
        market.voidResult(open_job, sender=referee)


def test_void_twice_reverts(market, running_job, referee):
    """A voided job cannot be voided again."""
    market.voidResult(running_job, sender=referee)
    with ape.reverts(market.JobNotRunning, jobId=running_job, status=JobStatus.VOIDED):
        market.voidResult(running_job, sender=referee)


def test_withdraw_after_void_and_close_dispute_still_works(h, market, running_job, bob, referee):
    """The referee can still close a dispute after a void, and credits stay withdrawable."""
    h.checkpoint(running_job, bob, 1)
    market.openDispute(running_job, bob, 1, ZERO_ADDRESS, sender=referee)
    market.voidResult(running_job, sender=referee)
    market.closeDispute(running_job, bob, sender=referee)
    market.withdraw(running_job, sender=bob)
    assert market.owed(running_job, bob) == 0
