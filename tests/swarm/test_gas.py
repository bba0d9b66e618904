"""SwarmCoordinator gas: receipts of EOA transactions on the default test network, against the targets."""

from __future__ import annotations

from offchain.swarm.rewards import RewardTree

VOTE_PAIR_CAP = 196_595  # commitVote + revealVote together
REWARD_COMMITMENT_CAP = 90_000  # submitRewardCommitment


def test_commit_and_reveal_vote_gas_within_target(swarm, clock):
    """The first vote of a round (fresh leader slot, the dearest case) commits and reveals in <= 196,595 gas."""
    swarm.join("A", "B", "C")
    commit = swarm.commit(0, "A", "B")
    clock.tx_in(1)
    reveal = swarm.reveal(0, "A", "B")
    print(f"commitVote gas: {commit.gas_used}, revealVote gas: {reveal.gas_used}")
    assert commit.gas_used + reveal.gas_used <= VOTE_PAIR_CAP, (commit.gas_used, reveal.gas_used)


def test_reveal_vote_leader_change_gas_within_target(swarm, clock):
    """A vote that changes the leader stays within the same commit + reveal target."""
    swarm.join("A", "B", "C", "D")
    swarm.commit(0, "A", "B")
    swarm.commit(0, "B", "C")
    commit = swarm.commit(0, "D", "C")
    clock.tx_in(1)
    swarm.reveal(0, "A", "B")
    swarm.reveal(0, "B", "C")
    reveal = swarm.reveal(0, "D", "C")  # C overtakes B
    print(f"commitVote gas: {commit.gas_used}, revealVote (leader change) gas: {reveal.gas_used}")
    assert commit.gas_used + reveal.gas_used <= VOTE_PAIR_CAP, (commit.gas_used, reveal.gas_used)


def test_submit_reward_commitment_gas_within_target(swarm, coordinator, peers):
    """A peer's first reward commitment ever costs at most 90,000 gas."""
    swarm.join("A")
    tree = RewardTree([10**17] * 8)
    a = peers["A"]
    tx = coordinator.submitRewardCommitment(a.id, 0, tree.root, tree.total, 8, sender=a.owner)
    print(f"submitRewardCommitment gas: {tx.gas_used}")
    assert tx.gas_used <= REWARD_COMMITMENT_CAP, tx.gas_used


def test_join_round_and_advance_stage_gas_report(swarm, coordinator, clock, eve):
    """joinRound and a many-round advanceStage cost a bounded amount (reported, loosely capped)."""
    first, second = swarm.join("A", "B")
    clock.tx_in(1_000, 2, 5)
    advance = coordinator.advanceStage(sender=eve)
    print(f"joinRound gas: first {first.gas_used}, later {second.gas_used}; advanceStage gas: {advance.gas_used}")
    assert first.gas_used <= 110_000 and second.gas_used <= 90_000
    assert advance.gas_used <= 45_000  # O(1): a thousand skipped rounds cost what one does
