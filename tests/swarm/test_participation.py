"""SwarmCoordinator participation: registered peers join the round block time says is current."""

from __future__ import annotations


def test_join_round_succeeds(coordinator, peers, alice):
    """The owner joins its peer; the round records it and the event names round, peer and owner."""
    peer = peers["A"]
    tx = coordinator.joinRound(peer.id, sender=alice)
    [event] = tx.events.filter(coordinator.PeerJoinedRound)
    assert (event.round, event.peerId, event.owner) == (0, peer.id, alice.address)
    assert coordinator.participated(0, peer.id)
    assert not coordinator.participated(1, peer.id)
    assert coordinator.participantCount(0) == 1
    assert coordinator.peerStats(peer.id).roundsJoined == 1


def test_join_round_counts_each_peer(swarm, coordinator, peers):
    """Each joining peer adds one to the round's participant count."""
    swarm.join("A", "B", "C", "A2")
    assert coordinator.participantCount(0) == 4
    assert not coordinator.participated(0, peers["D"].id)


def test_join_round_not_owner_reverts(coordinator, peers, eve, reverts):
    """A caller that does not own the peer cannot join with it."""
    with reverts(coordinator.SwarmNotPeerOwner, peerId=peers["A"].id, caller=eve.address):
        coordinator.joinRound(peers["A"].id, sender=eve)


def test_join_round_unregistered_peer_reverts(coordinator, eve, reverts):
    """An unregistered peer id has no owner, so nobody can join with it."""
    unknown = b"\x42" * 32
    with reverts(coordinator.SwarmNotPeerOwner, peerId=unknown, caller=eve.address):
        coordinator.joinRound(unknown, sender=eve)


def test_join_round_after_deregister_reverts(coordinator, registry, peers, bob, reverts):
    """A peer released in the registry can no longer join, even by its former owner."""
    registry.deregisterPeer(peers["B"].id, sender=bob)
    with reverts(coordinator.SwarmNotPeerOwner, peerId=peers["B"].id, caller=bob.address):
        coordinator.joinRound(peers["B"].id, sender=bob)


def test_join_round_twice_reverts(coordinator, peers, alice, reverts):
    """A peer joins a round once."""
    coordinator.joinRound(peers["A"].id, sender=alice)
    with reverts(coordinator.SwarmAlreadyJoined, round=0, peerId=peers["A"].id):
        coordinator.joinRound(peers["A"].id, sender=alice)


def test_join_round_uses_time_not_anchor(coordinator, clock, peers, alice):
    """With rounds skipped and no advance, a join lands in the round block time is in."""
    clock.tx_in(5, 2, 3)
    tx = coordinator.joinRound(peers["A"].id, sender=alice)
    [event] = tx.events.filter(coordinator.PeerJoinedRound)
    assert event.round == 5
    assert coordinator.participated(5, peers["A"].id)
    assert coordinator.anchor().round_ == 0


def test_join_next_round_again_succeeds(coordinator, clock, peers, alice):
    """A peer joins every round anew; its stats count the rounds."""
    coordinator.joinRound(peers["A"].id, sender=alice)
    clock.tx_in(1)
    coordinator.joinRound(peers["A"].id, sender=alice)
    assert coordinator.participated(0, peers["A"].id) and coordinator.participated(1, peers["A"].id)
    assert coordinator.participantCount(1) == 1
    assert coordinator.peerStats(peers["A"].id).roundsJoined == 2
