"""The dispute clients (`ape run challenge` / `ape run defend`: offchain/verde/challenge.py and game.py) through
what a real dispute throws at them: a refused move, a lost race to claim the timeout, a slashed solver, an
unknown job, a restart mid-game, and block time that runs at another pace than the local clock.

Real contracts on py-evm, real RepOps runs of the tiny job of test_verde_e2e.py.

Run: `.venv/bin/pytest tests/verde/test_verde_clients.py -q -p no:cacheprovider`
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from test_verde_e2e import INTERVAL, JOB, cheater, honest
from verde_support import BOND, Party, Phase

from offchain.chain.reverts import describe_revert
from offchain.verde.challenge import challenge, defend, play_dispute
from offchain.verde.game import CHALLENGER, DESCENT, DisputeAgent, program_of
from offchain.verde.job import spec_hash
from offchain.verde.market import JobError


def start(h, market, bob, carol, *, window: int = 100_000) -> int:
    """A running job with the tiny job's program: bob posts the honest roots, carol a cheater's (a wrong AdamW
    sqrt at step 3, so checkpoint 1 agrees and checkpoint 2 differs)."""
    tree, data, num_ops = program_of(JOB).job_fields
    job_id = h.start(specHash=spec_hash(JOB), steps=JOB.steps, checkpointInterval=INTERVAL, programTree=tree,
                     dataTree=data, numOps=num_ops, challengeWindow=window)  # fmt: skip
    for k in (1, 2):
        market.postCheckpoint(job_id, k, honest().roots[k * INTERVAL], sender=bob)
        market.postCheckpoint(job_id, k, cheater("optim_big").roots[k * INTERVAL], sender=carol)
    return job_id


def open_against_carol(referee, job_id: int, bob, carol) -> tuple[int, DisputeAgent, DisputeAgent]:
    """bob disputes carol's checkpoint 2; both agents, neither has moved."""
    r = referee.openSolverDispute(job_id, carol, 2, sender=bob, value=BOND)
    did = r.events.filter(referee.DisputeCreated)[0].disputeId
    a = DisputeAgent(referee, bob, honest(), role="challenger", dispute_id=did)
    b = DisputeAgent(referee, carol, cheater("optim_big"), role="defender", dispute_id=did)
    return did, a, b


class RaceLost:
    """The referee as the slower of two clients sees it: the other side's `timeout` is mined just before ours.
    Every call goes to the real contract."""

    def __init__(self, referee, rival) -> None:
        self._referee, self._rival = referee, rival

    def __getattr__(self, name: str):
        return getattr(self._referee, name)

    def timeout(self, did, *, sender):
        self._referee.timeout(did, sender=self._rival)
        return self._referee.timeout(did, sender=sender)


class BlockClock:
    """Another chain user: between two looks of the client, block time moves on by `step_s` seconds."""

    def __init__(self, chain, step_s: int) -> None:
        self.chain, self.step_s, self.receipts = chain, step_s, []

    def act(self) -> bool:
        self.chain.pending_timestamp = self.chain.pending_timestamp + self.step_s
        return False


def test_refused_move_is_named_by_its_error_and_not_sent_again(h, referee, market, chain, bob, carol):
    """A move past the mover's deadline is refused: the agent logs the contract's error by name (it used to log
    Ape's message, the error's arguments without its name) and does not send the same move again while the
    dispute stands where it stood (it used to, at every look)."""
    job_id = start(h, market, bob, carol)
    did, _, defender = open_against_carol(referee, job_id, bob, carol)
    lines: list[str] = []
    defender.log = lines.append
    deadline = referee.moveDeadline(did)
    chain.pending_timestamp = deadline + 1
    assert not defender.act()
    assert lines == [
        f"defender   move refused: RefereeClockExpired(disputeId={did}, party=Defender, deadline={deadline})"
    ]
    assert not defender.act() and not defender.act()
    assert len(defender.rejected) == 1 and len(lines) == 1


def test_refusal_from_the_market_under_the_referee_is_named(h, referee, market, chain, bob, carol, eve):
    """An error raised by the market one call under the referee (which Ape leaves as raw data) is named too."""
    job_id = start(h, market, bob, carol, window=100)
    chain.pending_timestamp = market.checkpointOf(job_id, carol, 2)[1] + 100
    with pytest.raises(Exception) as refused:
        referee.openWatcherDispute(job_id, carol, 2, honest().roots[4], sender=eve, value=BOND)
    assert (
        describe_revert(refused.value) == f"JobChallengeWindowClosed(jobId={job_id}, solver={carol.address}, index=2)"
    )


def test_losing_the_race_to_claim_the_timeout_reports_the_verdict(h, referee, market, chain, alice, bob, carol):
    """Both sides see the defender's deadline pass and claim the timeout; the other claim is mined first. The
    challenger's client used to crash on its refused claim; it now reads the verdict it won anyway."""
    job_id = start(h, market, bob, carol)
    did, challenger, _ = open_against_carol(referee, job_id, bob, carol)
    chain.pending_timestamp = referee.moveDeadline(did) + 1
    lines: list[str] = []
    report = play_dispute(RaceLost(referee, alice), challenger, poll_s=0, echo=lines.append)
    assert report.winner == "Challenger" and report.resolution == "Timeout"
    assert any(f"timeout not claimed: RefereeResolved(disputeId={did})" in line for line in lines)
    assert market.solverOf(job_id, carol).slashed


def test_client_waits_by_block_time_and_claims_the_timeout(h, referee, market, chain, bob, carol):
    """The client's patience is counted in block time past the on-chain deadline. It used to give up after
    `timeout_s` seconds of its own clock while the defender's on-chain clock still ran (block time running
    at its own pace: here 600 s between two looks), leaving the timeout it had won unclaimed."""
    job_id = start(h, market, bob, carol)
    did, challenger, _ = open_against_carol(referee, job_id, bob, carol)
    report = play_dispute(referee, challenger, partners=[BlockClock(chain, 600)], poll_s=0.1, timeout_s=0.2,
                          echo=lambda _m: None)  # fmt: skip
    assert report.winner == "Challenger" and report.resolution == "Timeout"
    assert chain.blocks.head.timestamp > referee.disputeOf(did).turnStartedAt


def test_challenge_skips_a_slashed_solver(h, referee, market, chain, bob, carol, dave, eve):
    """carol was slashed in eve's dispute; her wrong checkpoint stays on chain. A watcher's `challenge` used to
    pick her and have its opening refused (JobSolverSlashed); it now skips her and finds nothing to dispute."""
    job_id = start(h, market, bob, carol)
    r = referee.openWatcherDispute(job_id, carol, 2, honest().roots[4], sender=eve, value=BOND)
    first = r.events.filter(referee.DisputeCreated)[0].disputeId
    chain.pending_timestamp = referee.moveDeadline(first) + 1
    referee.timeout(first, sender=eve)
    assert market.solverOf(job_id, carol).slashed
    lines: list[str] = []
    deployment = SimpleNamespace(JobMarket=market, VerdeReferee=referee)
    assert challenge(deployment, job_id, dave, JOB, echo=lines.append) is None
    assert f"solver {carol.address}: slashed already, skipped" in lines
    assert referee.disputeCount() == first


def test_defend_an_unknown_job_says_so(market, referee, bob):
    """`defend` on a job id the market never had used to watch it silently (and forever without --once)."""
    deployment = SimpleNamespace(JobMarket=market, VerdeReferee=referee)
    with pytest.raises(JobError, match=f"job 999 does not exist: this market has {market.jobCount()} jobs?"):
        defend(deployment, 999, bob, honest(), once=True, echo=lambda _m: None)


def test_challenger_restarted_mid_game_plays_its_dispute_on(h, referee, market, bob, carol, eve):
    """eve's challenger opened a dispute and played into the descent, then stopped (a crash, Ctrl-C). Run again,
    `challenge` used to open a second dispute over the same checkpoint; it now finds eve's live dispute and
    plays it on, reading the defender's values revealed before the restart, to the verdict."""
    job_id = start(h, market, bob, carol)
    r = referee.openWatcherDispute(job_id, carol, 2, honest().roots[4], sender=eve, value=BOND)
    did = r.events.filter(referee.DisputeCreated)[0].disputeId
    first = DisputeAgent(referee, eve, honest(), role="challenger", dispute_id=did)
    carols = DisputeAgent(referee, carol, cheater("optim_big"), role="defender", dispute_id=did)
    while not (referee.disputeOf(did).phase == DESCENT and referee.disputeOf(did).turn == CHALLENGER):
        assert first.act() or carols.act()
    count = referee.disputeCount()

    def carol_defends(dispute_id, defender):
        assert dispute_id == did and defender == carol.address
        return [DisputeAgent(referee, carol, cheater("optim_big"), role="defender", dispute_id=dispute_id)]

    lines: list[str] = []
    deployment = SimpleNamespace(JobMarket=market, VerdeReferee=referee)
    report = challenge(deployment, job_id, eve, JOB, echo=lines.append, partners=carol_defends, poll_s=0)
    assert report is not None and report.dispute_id == did and referee.disputeCount() == count
    assert any(line.startswith(f"resuming dispute {did}") for line in lines)
    assert report.winner == "Challenger" and report.resolution == "Leaf"
    d = referee.disputeOf(did)
    assert d.phase == Phase.RESOLVED and d.winner == Party.CHALLENGER and market.solverOf(job_id, carol).slashed
