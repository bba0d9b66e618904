"""SwarmCoordinator votes: commit during round r, reveal in stage 0 of round r + 1, tally with a running leader."""

from __future__ import annotations

import pytest
from eth_abi import encode
from eth_utils import keccak

ZERO = b"\x00" * 32
OTHER_SALT = b"\x11" * 32


@pytest.fixture
def voting(swarm):
    """A, B, C, D joined round 0."""
    swarm.join("A", "B", "C", "D")
    return swarm


# ---------------------------------------------------------------- commitment


def test_vote_commitment_matches_offchain_hash(coordinator, peers, chain, commit_hash):
    """The on-chain commitment helper hashes chain id, coordinator, round, voter, candidate and salt."""
    a, b = peers["A"].id, peers["B"].id
    expected = commit_hash(chain.chain_id, coordinator.address, 7, a, b, OTHER_SALT)
    assert coordinator.voteCommitment(7, a, b, OTHER_SALT) == expected
    assert coordinator.voteCommitment(8, a, b, OTHER_SALT) != expected


def test_commit_vote_succeeds(voting, coordinator, peers, alice):
    """A participant commits once; the commitment is stored, counted and emitted."""
    commitment = voting.commitment(0, "A", "B")
    tx = coordinator.commitVote(peers["A"].id, commitment, sender=alice)
    [event] = tx.events.filter(coordinator.VoteCommitted)
    assert (event.round, event.voterPeerId, event.commitment) == (0, peers["A"].id, commitment)
    assert tuple(coordinator.voteOf(0, peers["A"].id)) == (commitment, False, ZERO)
    assert tuple(coordinator.voteCounts(0)) == (1, 0)


def test_commit_vote_in_last_stage_succeeds(voting, coordinator, clock, peers):
    """Commits are open in every stage of the round, the last second included."""
    clock.tx_at(clock.start(1) - 1)
    voting.commit(0, "A", "B")
    assert coordinator.voteOf(0, peers["A"].id).commitment_ == voting.commitment(0, "A", "B")


def test_commit_vote_not_owner_reverts(voting, coordinator, peers, bob, reverts):
    """Only the voter's owner commits for it."""
    with reverts(coordinator.SwarmNotPeerOwner, peerId=peers["A"].id, caller=bob.address):
        coordinator.commitVote(peers["A"].id, b"\x01" * 32, sender=bob)


def test_commit_vote_not_participant_reverts(voting, coordinator, peers, alice, reverts):
    """A peer that did not join the current round cannot vote in it."""
    with reverts(coordinator.SwarmNotParticipant, round=0, peerId=peers["A2"].id):
        coordinator.commitVote(peers["A2"].id, b"\x01" * 32, sender=alice)


def test_commit_vote_joined_earlier_round_only_reverts(voting, coordinator, clock, peers, alice, reverts):
    """Joining round 0 does not let a peer vote in round 1."""
    clock.tx_in(1, 1)
    with reverts(coordinator.SwarmNotParticipant, round=1, peerId=peers["A"].id):
        coordinator.commitVote(peers["A"].id, b"\x01" * 32, sender=alice)


def test_commit_vote_zero_commitment_reverts(voting, coordinator, peers, alice, reverts):
    """A zero commitment is rejected (zero means no vote)."""
    with reverts(coordinator.SwarmEmptyCommitment, voterPeerId=peers["A"].id):
        coordinator.commitVote(peers["A"].id, ZERO, sender=alice)


def test_commit_vote_twice_reverts(voting, coordinator, peers, alice, reverts):
    """One vote per peer per round: a second commit is rejected."""
    voting.commit(0, "A", "B")
    with reverts(coordinator.SwarmVoteAlreadyCommitted, round=0, voterPeerId=peers["A"].id):
        coordinator.commitVote(peers["A"].id, b"\x02" * 32, sender=alice)


# ---------------------------------------------------------------- reveal


def test_reveal_vote_succeeds(voting, coordinator, clock, peers, alice):
    """A matching reveal in the window counts the vote, records it and emits the candidate's new total."""
    voting.commit(0, "A", "B")
    clock.tx_in(1, 0, 59)
    tx = voting.reveal(0, "A", "B")
    [event] = tx.events.filter(coordinator.VoteRevealed)
    assert (event.round, event.voterPeerId, event.candidatePeerId, event.candidateVotes) == (
        0,
        peers["A"].id,
        peers["B"].id,
        1,
    )
    assert tuple(coordinator.voteOf(0, peers["A"].id)) == (voting.commitment(0, "A", "B"), True, peers["B"].id)
    assert coordinator.votesFor(0, peers["B"].id) == 1
    assert tuple(coordinator.roundWinner(0)) == (peers["B"].id, 1)
    assert tuple(coordinator.voteCounts(0)) == (1, 1)
    assert coordinator.peerStats(peers["A"].id).votesCast == 1
    assert coordinator.peerStats(peers["B"].id).votesReceived == 1


def test_reveal_vote_after_skipped_stages_without_advance_succeeds(voting, coordinator, clock, peers):
    """The reveal window comes from block time; nobody has to advance the anchor first."""
    voting.commit(0, "A", "C")
    clock.tx_in(1, 0, 1)
    voting.reveal(0, "A", "C")
    assert coordinator.votesFor(0, peers["C"].id) == 1
    assert coordinator.anchor().round_ == 0


@pytest.mark.parametrize(
    "round_,stage,delta,current,current_stage",
    [(0, 2, 179, 0, 2), (1, 1, 0, 1, 1), (2, 0, 0, 2, 0)],
    ids=["same-round", "next-round-stage-1", "two-rounds-later"],
)
def test_reveal_vote_outside_window_reverts(
    voting, coordinator, clock, peers, alice, reverts, round_, stage, delta, current, current_stage
):
    """Reveals of round 0 are only accepted in stage 0 of round 1."""
    voting.commit(0, "A", "B")
    clock.tx_in(round_, stage, delta)
    with reverts(coordinator.SwarmNotRevealWindow, round=0, currentRound=current, stage=current_stage):
        voting.reveal(0, "A", "B")


def test_reveal_vote_huge_round_reverts(voting, coordinator, clock, peers, alice, reverts):
    """A round number at the top of uint256 gets the window error, not an overflow."""
    clock.tx_in(1)
    top = 2**256 - 1
    with reverts(coordinator.SwarmNotRevealWindow, round=top, currentRound=1, stage=0):
        coordinator.revealVote(peers["A"].id, top, peers["B"].id, OTHER_SALT, sender=alice)


def test_reveal_vote_not_owner_reverts(voting, coordinator, clock, peers, bob, reverts, cfg):
    """Only the voter's owner reveals for it."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    with reverts(coordinator.SwarmNotPeerOwner, peerId=peers["A"].id, caller=bob.address):
        coordinator.revealVote(peers["A"].id, 0, peers["B"].id, cfg.salt, sender=bob)


def test_reveal_vote_without_commit_reverts(voting, coordinator, clock, peers, reverts):
    """A vote that was never committed cannot be revealed."""
    clock.tx_in(1)
    with reverts(coordinator.SwarmNoVoteCommitted, round=0, voterPeerId=peers["A"].id):
        voting.reveal(0, "A", "B")


def test_reveal_vote_twice_reverts(voting, coordinator, clock, peers, reverts):
    """A vote is counted once."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    voting.reveal(0, "A", "B")
    with reverts(coordinator.SwarmVoteAlreadyRevealed, round=0, voterPeerId=peers["A"].id):
        voting.reveal(0, "A", "B")
    assert coordinator.votesFor(0, peers["B"].id) == 1


def test_reveal_vote_for_self_reverts(voting, coordinator, clock, peers, reverts):
    """A peer cannot vote for itself."""
    voting.commit(0, "A", "A")
    clock.tx_in(1)
    with reverts(coordinator.SwarmSelfVote, peerId=peers["A"].id):
        voting.reveal(0, "A", "A")


def test_reveal_vote_for_peer_of_same_owner_reverts(voting, coordinator, clock, peers, reverts):
    """A vote for another peer of the same owner is a self vote too."""
    voting.join("A2")
    voting.commit(0, "A", "A2")
    clock.tx_in(1)
    with reverts(coordinator.SwarmSelfVote, peerId=peers["A2"].id):
        voting.reveal(0, "A", "A2")


def test_reveal_vote_wrong_salt_reverts(voting, coordinator, clock, peers, alice, reverts):
    """A reveal with another salt does not match the commitment."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    computed = voting.commitment(0, "A", "B", OTHER_SALT)
    with reverts(coordinator.SwarmCommitmentMismatch, committed=voting.commitment(0, "A", "B"), computed=computed):
        voting.reveal(0, "A", "B", OTHER_SALT)


def test_reveal_vote_other_candidate_reverts(voting, coordinator, clock, reverts):
    """A voter cannot switch candidate after committing."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    committed, computed = voting.commitment(0, "A", "B"), voting.commitment(0, "A", "C")
    with reverts(coordinator.SwarmCommitmentMismatch, committed=committed, computed=computed):
        voting.reveal(0, "A", "C")


def test_reveal_vote_commitment_for_other_coordinator_reverts(
    project, voting, coordinator, clock, peers, deployer, registry, alice, chain, commit_hash, reverts, cfg
):
    """A commitment made for another coordinator (or chain) does not open here."""
    other = deployer.deploy(project.SwarmCoordinator, registry, deployer, list(cfg.stages), 1, 1)
    a, b = peers["A"].id, peers["B"].id
    foreign = commit_hash(chain.chain_id, other.address, 0, a, b, cfg.salt)
    coordinator.commitVote(a, foreign, sender=alice)
    clock.tx_in(1)
    with reverts(coordinator.SwarmCommitmentMismatch, committed=foreign, computed=voting.commitment(0, "A", "B")):
        voting.reveal(0, "A", "B")


def test_reveal_vote_candidate_not_participant_reverts(voting, coordinator, clock, peers, reverts):
    """A registered peer that did not join the round cannot receive its votes."""
    voting.commit(0, "B", "A2")
    clock.tx_in(1)
    with reverts(coordinator.SwarmCandidateNotParticipant, round=0, candidatePeerId=peers["A2"].id):
        voting.reveal(0, "B", "A2")


def test_reveal_vote_candidate_deregistered_reverts(voting, coordinator, registry, clock, peers, carol, reverts):
    """A candidate that left the registry after the round gets no votes."""
    voting.commit(0, "A", "C")
    registry.deregisterPeer(peers["C"].id, sender=carol)
    clock.tx_in(1)
    with reverts(coordinator.SwarmPeerNotRegistered, peerId=peers["C"].id):
        voting.reveal(0, "A", "C")


def test_reveal_vote_unregistered_candidate_reverts(voting, coordinator, clock, peers, alice, reverts):
    """A vote for an id nobody registered is rejected."""
    unknown = b"\x42" * 32
    commitment = coordinator.voteCommitment(0, peers["A"].id, unknown, OTHER_SALT)
    coordinator.commitVote(peers["A"].id, commitment, sender=alice)
    clock.tx_in(1)
    with reverts(coordinator.SwarmPeerNotRegistered, peerId=unknown):
        coordinator.revealVote(peers["A"].id, 0, unknown, OTHER_SALT, sender=alice)


# ---------------------------------------------------------------- tally


def _tie_key(round_: int, peer_id: bytes) -> int:
    """The contract's tie-break order: keccak256(abi.encode(round, peerId)), lower wins."""
    return int.from_bytes(keccak(encode(["uint256", "bytes32"], [round_, peer_id])), "big")


def test_round_winner_most_votes_then_lower_tie_key(voting, coordinator, clock, peers):
    """The leader is the peer with most votes; between peers with as many, the lower tie key leads."""
    for voter, candidate in (("A", "B"), ("C", "D"), ("B", "D"), ("D", "B")):
        voting.commit(0, voter, candidate)
    clock.tx_in(1)
    b, d = peers["B"].id, peers["D"].id
    tied = min((b, d), key=lambda p: _tie_key(0, p))
    voting.reveal(0, "A", "B")
    assert tuple(coordinator.roundWinner(0)) == (b, 1)
    voting.reveal(0, "C", "D")
    assert tuple(coordinator.roundWinner(0)) == (tied, 1)
    tx = voting.reveal(0, "B", "D")
    assert tx.events.filter(coordinator.VoteRevealed)[0].candidateVotes == 2
    assert tuple(coordinator.roundWinner(0)) == (d, 2)
    voting.reveal(0, "D", "B")
    assert tuple(coordinator.roundWinner(0)) == (tied, 2)
    assert coordinator.votesFor(0, b) == 2 and coordinator.votesFor(0, d) == 2
    assert tuple(coordinator.voteCounts(0)) == (4, 4)
    clock.view_at(clock.start(1, 1))
    assert coordinator.isRevealOver(0)


@pytest.mark.parametrize("order", [(0, 1, 2), (2, 1, 0), (1, 2, 0)])
def test_tie_winner_does_not_depend_on_reveal_order(voting, coordinator, clock, peers, order):
    """Three peers with one vote each: whoever reveals first, last or in between, the same peer wins, so a
    voter gains nothing by waiting to see the others' reveals before deciding on its own."""
    votes = [("A", "B"), ("B", "C"), ("C", "A")]
    for voter, candidate in votes:
        voting.commit(0, voter, candidate)
    clock.tx_in(1)
    for i in order:
        voting.reveal(0, *votes[i])
    expected = min((peers[n].id for n in "ABC"), key=lambda p: _tie_key(0, p))
    assert tuple(coordinator.roundWinner(0)) == (expected, 1)


def test_withheld_reveal_costs_the_next_vote(voting, coordinator, clock, peers, alice, reverts):
    """A voter that keeps its committed vote hidden cannot vote in the next round: in the reveal window it
    must reveal first, after it the next round's vote is lost; the round after that it votes again."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    voting.join("A", "B")
    with reverts(coordinator.SwarmVoteWithheld, round=0, voterPeerId=peers["A"].id):
        coordinator.commitVote(peers["A"].id, voting.commitment(1, "A", "B"), sender=alice)
    clock.tx_in(1, 1)  # the reveal window of round 0 is over and A never revealed
    with reverts(coordinator.SwarmVoteWithheld, round=0, voterPeerId=peers["A"].id):
        coordinator.commitVote(peers["A"].id, voting.commitment(1, "A", "B"), sender=alice)
    assert tuple(coordinator.voteOf(0, peers["A"].id))[1] is False
    clock.tx_in(2)
    voting.join("A", "B")
    voting.commit(2, "A", "B")
    assert coordinator.voteOf(2, peers["A"].id).commitment_ == voting.commitment(2, "A", "B")


def test_round_winner_without_votes_is_empty(coordinator):
    """A round with no revealed votes has no winner."""
    assert tuple(coordinator.roundWinner(0)) == (ZERO, 0)
    assert tuple(coordinator.roundWinner(99)) == (ZERO, 0)


def test_votes_of_consecutive_rounds_are_separate(voting, coordinator, clock, peers):
    """Stage 0 of round 1 both reveals round 0 and takes round 1's joins and commits; tallies stay apart."""
    voting.commit(0, "A", "B")
    clock.tx_in(1)
    voting.join("A", "C")
    voting.reveal(0, "A", "B")  # a committed vote is revealed before the next one is committed
    voting.commit(1, "A", "C")
    clock.tx_in(2)
    voting.reveal(1, "A", "C")
    assert tuple(coordinator.roundWinner(0)) == (peers["B"].id, 1)
    assert tuple(coordinator.roundWinner(1)) == (peers["C"].id, 1)
    assert coordinator.votesFor(1, peers["B"].id) == 0
    assert coordinator.peerStats(peers["A"].id).votesCast == 2
