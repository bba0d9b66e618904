"""SwarmCoordinator reward commitments: bounded claims, once per peer and round, provable question by question."""

from __future__ import annotations

import pytest

from offchain.swarm.rewards import RewardTree

ADMIN_ROLE = b"\x00" * 32
UNIT = 10**17  # a tenth of the per-question cap


@pytest.fixture
def tree():
    """Rewards of five questions, one of them zero."""
    return RewardTree([3 * UNIT, 0, 10 * UNIT, UNIT, 7 * UNIT])


@pytest.fixture
def joined(swarm):
    swarm.join("A", "B")
    return swarm


def _submit(coordinator, peer, round_, tree, *, total=None, count=None):
    total = tree.total if total is None else total
    count = tree.num_questions if count is None else count
    return coordinator.submitRewardCommitment(peer.id, round_, tree.root, total, count, sender=peer.owner)


def test_submit_reward_commitment_succeeds(joined, coordinator, peers, tree):
    """A participant commits its reward root once; the commitment, stats and event carry every field."""
    a = peers["A"]
    tx = _submit(coordinator, a, 0, tree)
    [event] = tx.events.filter(coordinator.RewardCommitted)
    assert (event.round, event.peerId, event.rewardsRoot, event.claimedTotal, event.numQuestions) == (
        0,
        a.id,
        tree.root,
        tree.total,
        5,
    )
    assert tuple(coordinator.rewardCommitment(0, a.id)) == (tree.root, tree.total, 5)
    stats = coordinator.peerStats(a.id)
    assert (stats.totalClaimed, stats.rewardCommitments) == (tree.total, 1)


def test_submit_reward_commitment_in_reveal_window_succeeds(joined, coordinator, clock, peers, tree):
    """Rewards of round 0 may still be committed in stage 0 of round 1."""
    clock.tx_in(1, 0, 59)
    _submit(coordinator, peers["A"], 0, tree)
    assert coordinator.rewardCommitment(0, peers["A"].id).numQuestions == 5


def test_submit_reward_commitment_after_reveal_window_reverts(joined, coordinator, clock, peers, tree, reverts):
    """From stage 1 of round 1 on, round 0 takes no more reward commitments."""
    clock.tx_in(1, 1)
    with reverts(coordinator.SwarmNotRewardWindow, round=0, currentRound=1, stage=1):
        _submit(coordinator, peers["A"], 0, tree)


def test_submit_reward_commitment_future_round_reverts(joined, coordinator, peers, tree, reverts):
    """A commitment for a round that has not started is rejected."""
    with reverts(coordinator.SwarmNotRewardWindow, round=1, currentRound=0, stage=0):
        _submit(coordinator, peers["A"], 1, tree)


def test_submit_reward_commitment_huge_round_reverts(joined, coordinator, clock, peers, tree, reverts):
    """A round number at the top of uint256 gets the window error, not an overflow."""
    clock.tx_in(1)
    top = 2**256 - 1
    with reverts(coordinator.SwarmNotRewardWindow, round=top, currentRound=1, stage=0):
        _submit(coordinator, peers["A"], top, tree)


def test_submit_reward_commitment_not_owner_reverts(joined, coordinator, peers, tree, bob, reverts):
    """Only the peer's owner commits its rewards."""
    with reverts(coordinator.SwarmNotPeerOwner, peerId=peers["A"].id, caller=bob.address):
        coordinator.submitRewardCommitment(peers["A"].id, 0, tree.root, tree.total, 5, sender=bob)


def test_submit_reward_commitment_not_participant_reverts(joined, coordinator, peers, tree, reverts):
    """A peer that did not join the round has no rewards in it."""
    with reverts(coordinator.SwarmNotParticipant, round=0, peerId=peers["C"].id):
        _submit(coordinator, peers["C"], 0, tree)


def test_submit_reward_commitment_twice_reverts(joined, coordinator, clock, peers, tree, reverts):
    """One commitment per peer and round, also across the round boundary."""
    _submit(coordinator, peers["A"], 0, tree)
    clock.tx_in(1)
    with reverts(coordinator.SwarmRewardAlreadyCommitted, round=0, peerId=peers["A"].id):
        _submit(coordinator, peers["A"], 0, RewardTree([1]))


@pytest.mark.parametrize("count", [0, 65])
def test_submit_reward_commitment_question_count_out_of_range_reverts(joined, coordinator, peers, reverts, count):
    """The question count must be between 1 and maxQuestionsPerRound."""
    with reverts(coordinator.SwarmQuestionCountOutOfRange, numQuestions=count, maxQuestionsPerRound=64):
        _submit(coordinator, peers["A"], 0, RewardTree([0]), total=0, count=count)


def test_submit_reward_commitment_at_cap_succeeds(joined, coordinator, peers, tree, cfg):
    """A claim of exactly maxRewardPerQuestion per question is accepted."""
    _submit(coordinator, peers["A"], 0, tree, total=cfg.max_reward_per_question * 5)
    assert coordinator.rewardCommitment(0, peers["A"].id).claimedTotal == cfg.max_reward_per_question * 5


def test_submit_reward_commitment_claim_too_large_reverts(joined, coordinator, peers, tree, cfg, reverts):
    """A claim above maxRewardPerQuestion * numQuestions is rejected."""
    cap = cfg.max_reward_per_question * 5
    with reverts(coordinator.SwarmClaimTooLarge, claimedTotal=cap + 1, maxClaim=cap):
        _submit(coordinator, peers["A"], 0, tree, total=cap + 1)


def test_submit_reward_commitment_uint128_claim_reverts(joined, coordinator, peers, tree, cfg, reverts):
    """The largest uint128 claim is bounded like any other."""
    top = 2**128 - 1
    cap = cfg.max_reward_per_question * 5
    with reverts(coordinator.SwarmClaimTooLarge, claimedTotal=top, maxClaim=cap):
        _submit(coordinator, peers["A"], 0, tree, total=top)


def test_peer_stats_sum_claims_over_rounds(joined, coordinator, clock, peers, tree):
    """A peer's total claimed and commitment count add up over rounds."""
    _submit(coordinator, peers["A"], 0, tree)
    clock.tx_in(1, 1)
    coordinator.joinRound(peers["A"].id, sender=peers["A"].owner)
    second = RewardTree([UNIT, UNIT])
    _submit(coordinator, peers["A"], 1, second)
    stats = coordinator.peerStats(peers["A"].id)
    assert (stats.totalClaimed, stats.rewardCommitments, stats.roundsJoined) == (tree.total + 2 * UNIT, 2, 2)


# ---------------------------------------------------------------- limits


def test_set_reward_limits_succeeds(joined, coordinator, deployer, peers, reverts):
    """The admin changes both bounds; the event carries them and new commitments obey them."""
    tx = coordinator.setRewardLimits(5, 2, sender=deployer)
    [event] = tx.events.filter(coordinator.RewardLimitsUpdated)
    assert (event.maxRewardPerQuestion, event.maxQuestionsPerRound) == (5, 2)
    assert (coordinator.maxRewardPerQuestion(), coordinator.maxQuestionsPerRound()) == (5, 2)
    small = RewardTree([5, 6])
    with reverts(coordinator.SwarmClaimTooLarge, claimedTotal=11, maxClaim=10):
        _submit(coordinator, peers["A"], 0, small)
    with reverts(coordinator.SwarmQuestionCountOutOfRange, numQuestions=3, maxQuestionsPerRound=2):
        _submit(coordinator, peers["A"], 0, small, total=10, count=3)
    _submit(coordinator, peers["A"], 0, small, total=10)


def test_set_reward_limits_not_admin_reverts(coordinator, eve, reverts):
    """Only the default admin may change the bounds."""
    with reverts(coordinator.AccessControlUnauthorizedAccount, account=eve.address, neededRole=ADMIN_ROLE):
        coordinator.setRewardLimits(1, 1, sender=eve)


# ---------------------------------------------------------------- verifyReward


def test_verify_reward_every_question_succeeds(joined, coordinator, peers, tree):
    """Each (question, reward) of the committed tree verifies with its StandardMerkleTree proof."""
    _submit(coordinator, peers["A"], 0, tree)
    for index, reward in enumerate(tree.rewards):
        assert coordinator.verifyReward(0, peers["A"].id, index, reward, tree.proof(index))


def test_verify_reward_wrong_values_fail(joined, coordinator, peers, tree):
    """A changed reward, a moved index, another peer or another round does not verify."""
    _submit(coordinator, peers["A"], 0, tree)
    a = peers["A"].id
    assert not coordinator.verifyReward(0, a, 2, tree.rewards[2] + 1, tree.proof(2))
    assert not coordinator.verifyReward(0, a, 3, tree.rewards[2], tree.proof(2))
    assert not coordinator.verifyReward(0, a, 2, tree.rewards[2], tree.proof(1))
    assert not coordinator.verifyReward(0, peers["B"].id, 2, tree.rewards[2], tree.proof(2))
    assert not coordinator.verifyReward(1, a, 2, tree.rewards[2], tree.proof(2))


def test_verify_reward_inner_node_as_leaf_fails(joined, coordinator, peers, tree):
    """An inner node cannot pass as a leaf (leaves are double hashed)."""
    _submit(coordinator, peers["A"], 0, tree)
    inner = tree.tree.tree[1]
    assert not coordinator.verifyReward(0, peers["A"].id, int.from_bytes(inner, "big"), 0, [tree.tree.tree[2]])


def test_verify_reward_single_question_empty_proof_succeeds(joined, coordinator, peers):
    """With one question the root is the leaf and the proof is empty."""
    single = RewardTree([4 * UNIT])
    _submit(coordinator, peers["A"], 0, single)
    assert single.proof(0) == []
    assert coordinator.verifyReward(0, peers["A"].id, 0, 4 * UNIT, [])
    assert not coordinator.verifyReward(0, peers["A"].id, 0, 4 * UNIT + 1, [])


def test_verify_reward_without_commitment_fails(coordinator, peers):
    """Nothing verifies for a peer that committed nothing, not even against a zero root."""
    assert not coordinator.verifyReward(0, peers["A"].id, 0, 0, [])
